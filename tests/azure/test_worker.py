"""``python -m fakewatch_azure.worker``: configuration, start-up, draining and a clean stop.

The worker runs as a real subprocess against real Azurite (blob + queue) with a small real
ONNX model, and is stopped with a real SIGTERM; the in-process tests call its ``run`` with
the same configuration to show what a stop request does to the job in hand.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from fakewatch import settings as fw
from fakewatch import stores
from fakewatch.errors import ConfigError
from fakewatch.ports.escalation import EscalationJob
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch_azure.emulator import Azurite, AzuriteQueue, connection_string, ensure_containers
from fakewatch_azure.store import BlobStore
from fakewatch_azure.worker import (
    EXIT_CONFIG,
    StorageJobSource,
    WorkerFailed,
    main,
    parser,
    run,
    worker_config,
)
from fakewatch_serve.jobs import Delivery

from .queues import azurite_queue, new_queue
from .test_escalation import RED

__all__ = ["azurite_queue"]  # the module-scoped fixture, imported for pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("worker-model"), statistic_classifier())


class Setup:
    def __init__(self, azurite: Azurite, queue_service: AzuriteQueue, manifest: Path) -> None:
        run_id = uuid.uuid4().hex[:8]
        self.inbox, self.answers = f"inbox-{run_id}", f"answers-{run_id}"
        blob = BlobServiceClient.from_connection_string(connection_string(azurite.endpoint))
        ensure_containers(blob, self.inbox, self.answers)
        self.store = BlobStore(blob)
        self.queue: QueueClient = new_queue(queue_service)
        self.env = {
            fw.AZURE_CONNECTION_STRING: connection_string(azurite.endpoint, queue_service.endpoint),
            fw.ESCALATION_QUEUE: self.queue.queue_name,
            fw.MODEL_MANIFEST: str(manifest),
            fw.SERVE_PROVIDERS: "CPUExecutionProvider",
            fw.SERVE_URI_PREFIXES: f"az://{self.inbox}/",
            fw.SERVE_ANSWER_PREFIXES: f"az://{self.answers}/escalations/",
        }

    def job(self, request_id: str, key: str = "grey/red.png") -> EscalationJob:
        self.store.put(self.inbox, key, RED)
        output = f"az://{self.answers}/escalations/{request_id}.json"
        return EscalationJob(request_id, f"az://{self.inbox}/{key}", "image/png", "image", output)

    def send(self, job: EscalationJob) -> None:
        self.queue.send_message(json.dumps(job.to_dict()))

    def answered(self, request_id: str) -> bool:
        return self.store.exists(self.answers, f"escalations/{request_id}.json")

    def queued(self) -> int:
        return int(self.queue.get_queue_properties().approximate_message_count or 0)


@pytest.fixture
def setup(azurite: Azurite, azurite_queue: AzuriteQueue, manifest: Path) -> Iterator[Setup]:
    built = Setup(azurite, azurite_queue, manifest)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(fw.AZURE_CONNECTION_STRING, built.env[fw.AZURE_CONNECTION_STRING])
        stores.clear_cache()  # the in-process worker opens az:// URIs from the environment
        try:
            yield built
        finally:
            stores.clear_cache()


# -- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (fw.SERVE_ANSWER_PREFIXES, "refusing to start"),
        (fw.SERVE_URI_PREFIXES, "refusing to start"),
        (fw.ESCALATION_QUEUE, "must name the job queue"),
    ],
)
def test_the_worker_refuses_to_start_without(
    setup: Setup, missing: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {k: v for k, v in setup.env.items() if k != missing}
    with caplog.at_level(logging.ERROR, "fakewatch_azure.worker"):
        assert main([], env) == EXIT_CONFIG
    assert message in caplog.text and missing in caplog.text
    assert setup.queued() == 0


@pytest.mark.parametrize(
    "prefixes", ["s3://answers/escalations/", "az:///escalations/", "https://x/escalations/"]
)
def test_answer_prefixes_must_name_a_container(setup: Setup, prefixes: str) -> None:
    env = {**setup.env, fw.SERVE_ANSWER_PREFIXES: prefixes}
    with pytest.raises(ConfigError, match="not az://"):
        worker_config(parser().parse_args([]), env)


def test_a_model_that_does_not_load_fails_the_worker(setup: Setup, tmp_path: Path) -> None:
    env = {**setup.env, fw.MODEL_MANIFEST: str(tmp_path / "absent" / "manifest.json")}
    config = worker_config(parser().parse_args(["--load-timeout", "30"]), env)
    setup.send(setup.job("never"))
    with pytest.raises(WorkerFailed, match="model failed to load"):
        run(config, threading.Event())
    assert setup.queued() == 1  # the job stays for a worker that can answer it


# -- stopping ---------------------------------------------------------------------------------
class StopWhenTaken:
    """A stop request (SIGTERM) that arrives just as a job is handed out."""

    def __init__(self, source: StorageJobSource, stop: threading.Event) -> None:
        self.source, self.stop = source, stop

    def receive(self, max_messages: int) -> list[Delivery]:
        got = self.source.receive(max_messages)
        if got:
            self.stop.set()
        return got

    def ack(self, delivery: Delivery) -> None:
        self.source.ack(delivery)


def test_a_stop_finishes_the_job_in_hand_and_takes_nothing_new(setup: Setup) -> None:
    first, second = setup.job("first"), setup.job("second", "grey/red-2.png")
    setup.send(first)
    setup.send(second)
    config = worker_config(parser().parse_args(["--idle", "0.1"]), setup.env)
    stop = threading.Event()
    source = StorageJobSource(
        setup.queue.queue_name, connection_string=setup.env[fw.AZURE_CONNECTION_STRING]
    )
    counts = run(config, stop, source=StopWhenTaken(source, stop))
    assert counts == {"done": 1, "dropped": 0, "retry": 0}
    assert setup.answered("first") and not setup.answered("second")
    assert setup.queued() == 1  # the second job waits, visible, for the next replica


# -- the real process -------------------------------------------------------------------------
def test_the_worker_process_answers_jobs_and_stops_cleanly_on_sigterm(setup: Setup) -> None:
    env = {**os.environ, **setup.env, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fakewatch_azure.worker", "--idle", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        setup.send(setup.job("from-process"))
        deadline = time.monotonic() + 90
        while not setup.answered("from-process"):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the worker never answered"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "worker ready" in output and "SIGTERM: stopping after the job in hand" in output
    assert "worker stopped: 1 done, 0 dropped, 0 retry" in output
    assert "http_logging_policy" not in output  # no log line per poll of the queue
    doc = setup.store.get_json(setup.answers, "escalations/from-process.json")
    assert doc["endpoint"] == f"azure-worker:{setup.queue.queue_name}"
    assert doc["predictions"][0]["score"] > 0.9
    assert setup.queued() == 0
