"""Queued (asynchronous, scale-to-zero) escalation on GCP, end to end.

The function publishes a job; Pub/Sub's push delivery is POSTed to the real serving app's
``/jobs`` route exactly as a push subscription sends it; the worker reads the object from
gcp-storage-emulator, scores it with the ONNX model and writes the answer to the answers
bucket; that object's ``finalized`` CloudEvent goes to the real functions-framework app, which
revises the verdict. Pub/Sub itself is the fake publisher (no emulator can run here, see
tests/gcp/fakes.py); everything else is real.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from fakewatch import stores
from fakewatch.settings import Settings
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch.verdict import validate_verdict
from fakewatch_gcp.emulator import EMULATOR_HOST_ENV, LOCAL_PROJECT, emulator_client
from fakewatch_gcp.local import FunctionServer
from fakewatch_gcp.runtime import Runtime, build_runtime, set_runtime
from fakewatch_gcp.store import GcsStore
from fakewatch_serve.testing import running

from .events import aimed_binary
from .fakes import FakePublisher
from .test_escalation import ENV, GREY_EVERYWHERE, RED

pytestmark = pytest.mark.integration

JOBS = "projects/fakewatch-local/topics/escalation-jobs"
SUBSCRIPTION = "projects/fakewatch-local/subscriptions/escalation-jobs-push"


@dataclass
class World:
    function: str
    worker: str
    runtime: Runtime
    client: Any
    publisher: FakePublisher
    inbox: str
    results: str
    answers: str

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        blob = self.client.bucket(self.inbox).blob(key)
        blob.upload_from_string(data, content_type="image/png")
        return dict(blob._properties)

    def deliver(self, resource: dict[str, Any]) -> requests.Response:
        event = aimed_binary(resource, uuid.uuid4().hex)
        return requests.post(self.function, data=event.body, headers=event.headers, timeout=60)

    def jobs(self) -> list[bytes]:
        return [m.data for m in self.publisher.messages if m.topic == JOBS]

    def push(self, data: bytes, message_id: str = "1") -> requests.Response:
        envelope = {
            "message": {
                "data": base64.b64encode(data).decode(),
                "messageId": message_id,
                "publishTime": "2026-11-22T08:00:00Z",
                "attributes": {},
            },
            "subscription": SUBSCRIPTION,
        }
        return requests.post(self.worker + "/jobs", json=envelope, timeout=60)

    def answer_resource(self, request_id: str) -> dict[str, Any] | None:
        blob = self.client.bucket(self.answers).get_blob(f"escalations/{request_id}.json")
        return None if blob is None else dict(blob._properties)


@pytest.fixture(scope="module")
def world(gcs_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    client = emulator_client(gcs_endpoint)
    suffix = uuid.uuid4().hex[:8]
    inbox, results, answers, quarantine = (
        f"{n}-{suffix}" for n in ("inbox", "results", "answers", "quarantine")
    )
    for name in (inbox, results, answers, quarantine):
        client.create_bucket(name)
    manifest = write_model(tmp_path_factory.mktemp("worker"), statistic_classifier())
    worker_env = {
        **ENV,
        "FAKEWATCH_SERVE_URI_PREFIXES": f"gs://{inbox}/",
        "FAKEWATCH_SERVE_ANSWER_PREFIXES": f"gs://{answers}/escalations/",
    }
    publisher = FakePublisher()
    settings = Settings(
        results_bucket=results,
        quarantine_bucket=quarantine,
        answers_bucket=answers,
        escalation_mode="async",
        escalation_queue=JOBS,
        policy=GREY_EVERYWHERE,
    )
    with pytest.MonkeyPatch.context() as mp:
        # the worker opens gs:// URIs with a default client: point the SDK at the emulator
        mp.setenv(EMULATOR_HOST_ENV, gcs_endpoint)
        mp.setenv("GOOGLE_CLOUD_PROJECT", LOCAL_PROJECT)
        stores.register("gs", "fakewatch_gcp.store:GcsStore", "gcp", clobber=True)
        runtime = build_runtime(
            settings, store=GcsStore(emulator_client(gcs_endpoint)), publisher=publisher
        )
        server = FunctionServer(runtime)
        url = server.start()
        try:
            with running("vertex", manifest=str(manifest), env=worker_env) as worker:
                yield World(url, worker.url, runtime, client, publisher, inbox, results, answers)
        finally:
            server.stop()
            set_runtime(None)
            stores.register("gs", "fakewatch_gcp.store:GcsStore", "gcp", clobber=True)


def test_a_pushed_job_answers_and_the_answer_revises_the_verdict(world: World) -> None:
    resource = world.upload("grey/red.png", RED)
    assert world.deliver(resource).status_code == 200
    vkey = world.runtime.service.verdict_key(world.inbox, "grey/red.png", resource["generation"])
    pending = dict(world.runtime.store.get_json(world.results, vkey))
    assert pending["escalation"]["status"] == "pending" and pending["label"] == "no_evidence"
    (data,) = world.jobs()
    job = json.loads(data)
    assert job["request_id"] == pending["id"] and job["uri"] == f"gs://{world.inbox}/grey/red.png"
    assert job["output"] == f"gs://{world.answers}/escalations/{pending['id']}.json"

    assert world.push(data).status_code == 204
    answer = world.answer_resource(pending["id"])
    assert answer is not None
    assert world.deliver(answer).status_code == 200

    revised = dict(world.runtime.store.get_json(world.results, vkey[: -len(".json")] + ".r2.json"))
    validate_verdict(revised)
    assert revised["revision"] == 2 and revised["supersedes"] == pending["id"]
    assert revised["escalation"]["status"] == "used" and revised["label"] == "suspicious"
    reading = next(s for s in revised["signals"] if s["name"] == "learned:endpoint")
    assert reading["score"] > 0.9
    audit = world.runtime.service.audit
    kinds = [e["record"]["kind"] for e in audit.entries()]  # type: ignore[attr-defined]
    assert kinds[-2:] == ["scan", "escalation"]
    # the same push redelivered, and the answer's event redelivered: nothing new
    assert world.push(data, message_id="2").status_code == 204
    assert world.deliver(answer).status_code == 200
    assert [e["record"]["kind"] for e in audit.entries()][-2:] == ["scan", "escalation"]  # type: ignore[attr-defined]


def test_unusable_and_forged_jobs_are_acknowledged_and_write_nothing(world: World) -> None:
    before = {b.name for b in world.client.list_blobs(world.answers)}
    assert world.push(b"not json").status_code == 204
    forged = {
        "request_id": "forged",
        "uri": f"gs://{world.inbox}/grey/red.png",
        "mime": "image/png",
        "media_kind": "image",
        "output": f"gs://{world.results}/verdicts/overwritten.json",
    }
    assert world.push(json.dumps(forged).encode()).status_code == 204
    assert {b.name for b in world.client.list_blobs(world.answers)} == before
    assert world.client.bucket(world.results).get_blob("verdicts/overwritten.json") is None


def test_media_the_worker_cannot_read_is_answered_as_a_failed_escalation(world: World) -> None:
    job = {
        "request_id": "not-pending-anywhere",
        "uri": f"gs://{world.inbox}/missing.png",
        "mime": "image/png",
        "media_kind": "image",
        "output": f"gs://{world.answers}/escalations/not-pending-anywhere.json",
    }
    assert world.push(json.dumps(job).encode()).status_code == 204
    blob = world.client.bucket(world.answers).get_blob("escalations/not-pending-anywhere.json")
    assert blob is not None
    doc = json.loads(blob.download_as_bytes())
    assert doc["predictions"][0]["status"] == "failed"
