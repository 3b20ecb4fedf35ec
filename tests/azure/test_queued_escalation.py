"""Queued (asynchronous, scale-to-zero) escalation on Azure, end to end against Azurite.

The path a deployment takes, with the real parts: ``function_app.py``'s registered
``scan_blob`` is called with real ``azure.functions`` events (the local runner plays Event
Grid and the host, tests/azure/test_function.py explains why); the runtime is wired from
``Settings`` exactly as in Azure (``FAKEWATCH_ESCALATION_MODE=async``, the job queue by name
with the development account's connection string); jobs go through azure-storage-queue to
``azurite-queue``; the GPU worker's side is the real serving ``Engine`` with a small ONNX model
(``statistic_classifier``: red leans synthetic), the real ``JobRunner`` and ``drain``, reading
the object from and writing the answer to ``azurite-blob``; the answer's ``BlobCreated``
event goes back to the same function, which writes revision 2.

No part is mocked. A queue that is down is a closed loopback port; a worker whose model failed
to load is a real Engine given no manifest.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from fakewatch import settings as fw
from fakewatch import stores
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.ports.store import ObjectInfo
from fakewatch.settings import Settings
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch.verdict import validate_verdict
from fakewatch_azure.emulator import Azurite, AzuriteQueue, connection_string, ensure_containers
from fakewatch_azure.local import Delivery, Watcher, load_function_app, registered_function
from fakewatch_azure.runtime import Runtime, build_runtime, set_runtime
from fakewatch_azure.store import BlobStore
from fakewatch_azure.worker import StorageJobSource, parser, run, worker_config
from fakewatch_serve.config import ServeConfig
from fakewatch_serve.engine import Engine, EngineConfig
from fakewatch_serve.jobs import Delivery as JobDelivery
from fakewatch_serve.jobs import JobRunner, JobSource, drain

from .queues import azurite_queue, new_queue, waiting
from .test_escalation import GREY_EVERYWHERE, RED

__all__ = ["azurite_queue"]  # the module-scoped fixture, imported for pytest

pytestmark = pytest.mark.integration

CPU = ("CPUExecutionProvider",)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """logit(synthetic) = 8·R − 8·B: the red test image leans synthetic."""
    return write_model(tmp_path_factory.mktemp("worker"), statistic_classifier())


@pytest.fixture(scope="module")
def scan_blob() -> Callable[..., Any]:
    set_runtime(None)
    return registered_function(load_function_app().app, "scan_blob")


class UntilEmpty:
    """A JobSource that sets ``stop`` the first time the queue it wraps comes back empty:
    "drain once, stop after the queue empties" (what KEDA's scale-in does, sooner)."""

    def __init__(self, source: JobSource, stop: threading.Event) -> None:
        self.source, self.stop = source, stop

    def receive(self, max_messages: int) -> list[JobDelivery]:
        got = list(self.source.receive(max_messages))
        if not got:
            self.stop.set()
        return got

    def ack(self, delivery: JobDelivery) -> None:
        self.source.ack(delivery)


@dataclass
class World:
    runtime: Runtime
    watcher: Watcher
    blob: BlobServiceClient
    queue: QueueClient
    engine: Engine
    env: dict[str, str]
    inbox: str
    results: str
    answers: str
    quarantine: str
    engines: list[Engine] = field(default_factory=list)

    @property
    def store(self) -> BlobStore:
        return self.runtime.store

    @property
    def answer_prefix(self) -> str:
        return f"az://{self.answers}/escalations/"

    def upload(self, key: str, data: bytes) -> ObjectInfo:
        return self.store.put(self.inbox, key, data)

    def events(self) -> list[Delivery]:
        """One pass of Event Grid over the input and answers containers."""
        return self.watcher.poll_once()

    def verdict_key(self, info: ObjectInfo) -> str:
        etag = quote(info.etag or "", safe="")
        fingerprint = self.runtime.service.scanner.fingerprint
        return f"verdicts/{self.inbox}/{info.key}/{etag}/{fingerprint}.json"

    def verdict(self, info: ObjectInfo, revision: int = 1) -> dict[str, Any]:
        key = self.verdict_key(info)
        if revision == 2:
            key = key.removesuffix(".json") + ".r2.json"
        return dict(self.store.get_json(self.results, key))

    def answer(self, request_id: str) -> dict[str, Any]:
        return dict(self.store.get_json(self.answers, f"escalations/{request_id}.json"))

    def runner(self, engine: Engine | None = None) -> JobRunner:
        return JobRunner(engine or self.engine, [self.answer_prefix], endpoint="azure-worker:test")

    def source(self, visibility_timeout_s: int = 60) -> StorageJobSource:
        return StorageJobSource(
            self.queue.queue_name,
            connection_string=self.env[fw.AZURE_CONNECTION_STRING],
            visibility_timeout_s=visibility_timeout_s,
        )

    def drain_once(self, runner: JobRunner | None = None) -> dict[str, int]:
        stop = threading.Event()
        return drain(
            UntilEmpty(self.source(), stop), runner or self.runner(), idle_s=0, stop=stop.is_set
        )

    def queued(self) -> int:
        return int(self.queue.get_queue_properties().approximate_message_count or 0)

    def audit_kinds(self) -> list[str]:
        audit = StoreAuditLog(self.store, self.results, "audit/")
        assert audit.verify().ok
        return [e["record"]["kind"] for e in audit.entries()]

    def broken_engine(self) -> Engine:
        """A worker whose model failed to load: a real Engine with no manifest."""
        engine = Engine(EngineConfig(manifest=None, providers=CPU))
        engine.start()
        assert engine.wait_loaded(10) and engine.error
        self.engines.append(engine)
        return engine


def build_world(
    azurite: Azurite,
    queue_service: AzuriteQueue,
    manifest: Path,
    scan_blob: Callable[..., Any],
    mp: pytest.MonkeyPatch,
    *,
    queue_endpoint: str | None = None,
    queue_name: str | None = None,
) -> World:
    run_id = uuid.uuid4().hex[:8]
    inbox, results, answers, quarantine = (
        f"{n}-{run_id}" for n in ("inbox", "results", "answers", "quarantine")
    )
    blob = BlobServiceClient.from_connection_string(connection_string(azurite.endpoint))
    ensure_containers(blob, inbox, results, answers, quarantine)
    queue = new_queue(queue_service)
    conn = connection_string(azurite.endpoint, queue_endpoint or queue_service.endpoint)
    env = {
        fw.AZURE_CONNECTION_STRING: conn,
        fw.SERVE_URI_PREFIXES: f"az://{inbox}/",
        fw.SERVE_ANSWER_PREFIXES: f"az://{answers}/escalations/",
    }
    # The worker opens az:// URIs with a default BlobStore, which reads the environment.
    mp.setenv(fw.AZURE_CONNECTION_STRING, conn)
    stores.clear_cache()
    settings = Settings(
        results_bucket=results,
        quarantine_bucket=quarantine,
        answers_bucket=answers,
        escalation_mode="async",
        escalation_queue=queue_name or queue.queue_name,
        policy=GREY_EVERYWHERE,
        extra={fw.AZURE_CONNECTION_STRING: conn},
    )
    runtime = build_runtime(settings, blob_client=blob)
    set_runtime(runtime)
    watcher = Watcher(runtime.store, scan_blob, [inbox, answers])
    config = ServeConfig.build("azureml", manifest=str(manifest), providers=CPU, env=env)
    engine = Engine(config.engine)
    engine.start()
    assert engine.wait_loaded(30)
    return World(runtime, watcher, blob, queue, engine, env, inbox, results, answers, quarantine)


@pytest.fixture
def world(
    azurite: Azurite,
    azurite_queue: AzuriteQueue,
    manifest: Path,
    scan_blob: Callable[..., Any],
) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        built = build_world(azurite, azurite_queue, manifest, scan_blob, mp)
        try:
            yield built
        finally:
            for engine in (built.engine, *built.engines):
                engine.close(5)
            set_runtime(None)
            stores.clear_cache()


def upload_pending(world: World, key: str) -> tuple[ObjectInfo, dict[str, Any]]:
    """Upload a grey-zone image, deliver its event, return it and its pending verdict."""
    info = world.upload(key, RED)
    (delivery,) = world.events()
    assert delivery.status == 200 and delivery.outcome is not None
    assert "pending" in delivery.outcome["steps"]
    pending = world.verdict(info)
    validate_verdict(pending)
    assert pending["escalation"]["status"] == "pending"
    return info, pending


# -- the whole round trip -----------------------------------------------------------------------
def test_a_queued_job_is_answered_and_the_answer_revises_the_verdict(world: World) -> None:
    info, pending = upload_pending(world, "grey/red square.png")
    assert pending["label"] == "no_evidence" and pending["revision"] == 1
    (text,) = waiting(world.queue)
    job = json.loads(text)
    assert job == {
        "request_id": pending["id"],
        "uri": f"az://{world.inbox}/grey/red square.png",
        "mime": "image/png",
        "media_kind": "image",
        "output": f"az://{world.answers}/escalations/{pending['id']}.json",
        "sha256": pending["object"]["sha256"],
    }

    assert world.drain_once() == {"done": 1, "dropped": 0, "retry": 0}
    assert world.queued() == 0
    answer = world.answer(pending["id"])
    assert answer["request_id"] == pending["id"] and answer["endpoint"] == "azure-worker:test"
    assert answer["predictions"][0]["score"] > 0.9

    (delivery,) = world.events()  # the answer's BlobCreated, on the answers container
    assert delivery.status == 200 and delivery.outcome is not None
    assert delivery.outcome["steps"][0] == "revised"
    revised = world.verdict(info, revision=2)
    validate_verdict(revised)
    assert revised["revision"] == 2 and revised["supersedes"] == pending["id"]
    assert revised["escalation"]["status"] == "used"
    assert revised["escalation"]["endpoint"] == "azure-worker:test"
    reading = next(s for s in revised["signals"] if s["name"] == "learned:endpoint")
    assert reading["status"] == "ok" and reading["score"] > 0.9
    assert revised["label"] == "suspicious"
    tags = world.store.get_tags(world.inbox, "grey/red square.png")
    assert tags["fakewatch-label"] == "suspicious"
    assert tags["fakewatch-action"] == revised["action"]
    assert world.audit_kinds() == ["scan", "escalation"]


def test_a_repeated_job_and_a_repeated_answer_change_nothing(world: World) -> None:
    info, pending = upload_pending(world, "grey/twice.png")
    (text,) = waiting(world.queue)
    world.drain_once()
    world.events()
    first = world.verdict(info, revision=2)
    assert first["supersedes"] == pending["id"]

    world.queue.send_message(text)  # the queue delivered the job twice
    assert world.drain_once() == {"done": 1, "dropped": 0, "retry": 0}
    (again,) = world.events()  # the answer, written again: a new ETag, a new event
    assert again.status == 200 and again.outcome is not None and again.outcome["duplicate"]
    assert world.verdict(info, revision=2) == first
    assert world.audit_kinds() == ["scan", "escalation"]


# -- when the worker cannot answer ------------------------------------------------------------
def test_a_job_retried_until_its_last_attempt_is_answered_with_the_error(world: World) -> None:
    info, pending = upload_pending(world, "grey/poison.png")
    runner = world.runner(world.broken_engine())
    source = world.source(visibility_timeout_s=1)
    deadline = time.monotonic() + 30

    def answered() -> bool:
        assert time.monotonic() < deadline, "the job was never answered"
        return world.store.exists(world.answers, f"escalations/{pending['id']}.json")

    counts = drain(source, runner, max_attempts=2, idle_s=0.2, stop=answered)
    assert counts == {"done": 1, "dropped": 0, "retry": 1}  # attempt 1 retried, 2 answered
    assert world.queued() == 0
    assert "worker busy" in world.answer(pending["id"])["error"]

    (delivery,) = world.events()
    assert delivery.status == 200
    revised = world.verdict(info, revision=2)
    assert revised["escalation"]["status"] == "failed"
    assert "model is failed" in revised["escalation"]["reason"]
    assert revised["label"] == pending["label"]  # the cheap decision stands
    assert world.audit_kinds() == ["scan", "escalation"]


def test_a_job_the_worker_died_on_is_given_up_without_scoring(world: World) -> None:
    """The worker crashed on each delivery (simulated by receiving without acknowledging):
    past ``--max-attempts`` the worker's GiveUp answers with an error and deletes it."""
    info, pending = upload_pending(world, "grey/crash.png")
    crashed = world.source(visibility_timeout_s=1)
    for attempt in (1, 2):
        deadline = time.monotonic() + 10
        got: list[JobDelivery] = []
        while not got:
            assert time.monotonic() < deadline
            got = crashed.receive(1)
            time.sleep(0 if got else 0.2)
        assert got[0].attempt == attempt
    time.sleep(1.1)  # the second delivery's visibility timeout runs out

    argv = ["--queue", world.queue.queue_name, "--max-attempts", "2", "--idle", "0.1"]
    args = parser().parse_args(argv)
    config = worker_config(args, {**world.env, fw.MODEL_MANIFEST: "/nowhere/manifest.json"})
    stop = threading.Event()
    counts = run(config, stop, source=UntilEmpty(world.source(), stop), engine=world.engine)
    assert counts == {"done": 0, "dropped": 0, "retry": 0}  # nothing was scored
    assert world.queued() == 0
    answer = world.answer(pending["id"])
    assert "gave up after 2 deliveries" in answer["error"]
    assert answer["endpoint"] == f"azure-worker:{world.queue.queue_name}"

    world.events()
    revised = world.verdict(info, revision=2)
    escalation = revised["escalation"]
    assert escalation["status"] == "failed" and "gave up" in escalation["reason"]


def test_forged_and_unusable_jobs_are_dropped_and_deleted(world: World) -> None:
    forged = {
        "request_id": "forged",
        "uri": f"az://{world.inbox}/grey/red.png",
        "mime": "image/png",
        "media_kind": "image",
        "output": f"az://{world.results}/verdicts/overwritten.json",
    }
    world.queue.send_message(json.dumps(forged))
    world.queue.send_message("not json at all")
    world.queue.send_message(json.dumps({"request_id": "no-output"}))
    assert world.drain_once() == {"done": 0, "dropped": 3, "retry": 0}
    assert world.queued() == 0
    assert not world.store.exists(world.results, "verdicts/overwritten.json")
    assert list(world.store.list(world.answers)) == []


def test_media_outside_the_input_prefixes_is_answered_as_a_failed_reading(world: World) -> None:
    job = {
        "request_id": "elsewhere",
        "uri": f"az://{world.results}/audit/000000.json",  # readable, but not an input
        "mime": "image/png",
        "media_kind": "image",
        "output": f"az://{world.answers}/escalations/elsewhere.json",
    }
    world.queue.send_message(json.dumps(job))
    assert world.drain_once() == {"done": 1, "dropped": 0, "retry": 0}
    (reading,) = world.answer("elsewhere")["predictions"]
    assert reading["status"] == "failed" and "not under a prefix" in reading["evidence"][0]


# -- when the queue is down ---------------------------------------------------------------------
def _closed_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("fault", ["down", "missing"])
def test_a_queue_that_cannot_take_the_job_is_recorded_and_the_object_handled(
    azurite: Azurite,
    azurite_queue: AzuriteQueue,
    manifest: Path,
    scan_blob: Callable[..., Any],
    fault: str,
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        world = build_world(
            azurite,
            azurite_queue,
            manifest,
            scan_blob,
            mp,
            queue_endpoint=_closed_endpoint() if fault == "down" else None,
            queue_name="never-created" if fault == "missing" else None,
        )
        try:
            info = world.upload("grey/unqueued.png", RED)
            (delivery,) = world.events()
            assert delivery.status == 200 and delivery.outcome is not None
            assert "pending" not in delivery.outcome["steps"]
            verdict = world.verdict(info)
            validate_verdict(verdict)
            escalation = verdict["escalation"]
            assert escalation["status"] == "unavailable"
            queue = world.runtime.settings.escalation_queue
            assert escalation["endpoint"] == f"queue:azqueue:{queue}"
            if fault == "down":
                assert "failed 3 times" in escalation["reason"]  # transient: retried twice
            else:
                assert "QueueNotFound" in escalation["reason"]  # permanent: not retried
                assert "failed 3 times" not in escalation["reason"]
            assert verdict["label"] in ("no_evidence", "suspicious")
            tags = world.store.get_tags(world.inbox, "grey/unqueued.png")
            assert tags["fakewatch-label"] == verdict["label"]
            assert world.audit_kinds() == ["scan"]
            assert not world.store.exists(world.results, f"pending/{verdict['id']}.json")
        finally:
            world.engine.close(5)
            set_runtime(None)
            stores.clear_cache()
