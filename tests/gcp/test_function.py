"""End to end: gcp-storage-emulator + the real functions-framework app serving main.py on
loopback; CloudEvents POSTed exactly as Eventarc sends them (binary and structured modes).

Result events go to a fake Pub/Sub publisher (see tests/gcp/fakes.py for why); everything
else is real: the storage SDK against the emulator, the core service, the hash-chained audit
log in the results bucket, the HTTP status codes Eventarc acts on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests
from google.cloud.storage.retry import DEFAULT_RETRY

from fakewatch import samples
from fakewatch.errors import ObjectNotFound
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.settings import Settings
from fakewatch_gcp.delivery import HttpEvent
from fakewatch_gcp.emulator import emulator_client
from fakewatch_gcp.local import FunctionServer
from fakewatch_gcp.runtime import Runtime, build_runtime, set_runtime
from fakewatch_gcp.store import GcsStore

from .events import aimed_binary, aimed_structured, binary_fixture
from .fakes import FakePublisher
from .faults import FaultProxy

if TYPE_CHECKING:
    from google.cloud.storage import Client

pytestmark = pytest.mark.integration

TOPIC = "projects/fakewatch-local/topics/scan-results"


@dataclass
class Stack:
    url: str
    runtime: Runtime
    client: Client  # straight to the emulator (the "user" side)
    proxy: FaultProxy  # the function's storage traffic goes through this
    publisher: FakePublisher
    inbox: str
    results: str
    quarantine: str

    def upload(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
        blob = self.client.bucket(self.inbox).blob(key)
        blob.upload_from_string(data, content_type=content_type)
        return blob._properties

    def post(self, event: HttpEvent, **headers: str) -> requests.Response:
        return requests.post(
            self.url, data=event.body, headers={**event.headers, **headers}, timeout=60
        )

    def verdict(self, key: str, generation: str) -> dict[str, Any]:
        vkey = self.runtime.service.verdict_key(self.inbox, key, generation)
        return dict(self.runtime.store.get_json(self.results, vkey))

    def audit(self) -> StoreAuditLog:
        return StoreAuditLog(self.runtime.store, self.results, self.runtime.settings.audit_prefix)

    def metadata(self, bucket: str, key: str) -> dict[str, str]:
        blob = self.client.bucket(bucket).get_blob(key)
        assert blob is not None, f"gs://{bucket}/{key} is missing"
        return {k: v for k, v in (blob.metadata or {}).items() if v is not None}


@pytest.fixture(scope="module")
def stack(gcs_endpoint: str) -> Iterator[Stack]:
    client = emulator_client(gcs_endpoint)
    suffix = uuid.uuid4().hex[:8]
    inbox, results, quarantine = (f"{n}-{suffix}" for n in ("inbox", "results", "quarantine"))
    for name in (inbox, results, quarantine):
        client.create_bucket(name)
    publisher = FakePublisher()
    with FaultProxy(gcs_endpoint) as proxy:
        quick = DEFAULT_RETRY.with_delay(initial=0.05, maximum=0.2).with_timeout(1.0)
        store = GcsStore(emulator_client(proxy.url), retry=quick, timeout=10)
        settings = Settings(
            results_bucket=results, quarantine_bucket=quarantine, result_topic=TOPIC
        )
        runtime = build_runtime(settings, store=store, publisher=publisher)
        server = FunctionServer(runtime)
        url = server.start()
        try:
            yield Stack(url, runtime, client, proxy, publisher, inbox, results, quarantine)
        finally:
            server.stop()
            set_runtime(None)


MIXED_BATCH: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("batch/a1111.png", samples.a1111_png, "synthetic", "quarantine"),
    ("batch/comfyui.png", samples.comfyui_png, "synthetic", "quarantine"),
    ("batch/photo.jpg", samples.photo_like_jpeg, "no_evidence", "allow"),
    ("batch/corrupt.png", samples.corrupt_file, "error", "review"),
    (
        "batch/truncated.jpg",
        lambda: samples.truncated(samples.photo_like_jpeg()),
        "error",
        "review",
    ),
    ("batch/notes.txt", lambda: b"just some text, not media", "error", "review"),
    ("batch/empty.jpg", lambda: b"", "skipped", "allow"),
]


def test_mixed_batch_end_to_end(stack: Stack) -> None:
    audit_before = stack.audit().verify().entries
    published_before = len(stack.publisher.messages)
    uploaded = {key: stack.upload(key, make()) for key, make, _, _ in MIXED_BATCH}
    for i, resource in enumerate(uploaded.values()):
        response = stack.post(aimed_binary(resource, event_id=f"batch-{i}"))
        assert response.status_code == 200, response.text

    for key, _, label, action in MIXED_BATCH:
        generation = uploaded[key]["generation"]
        verdict = stack.verdict(key, generation)
        assert (verdict["label"], verdict["action"]) == (label, action), key
        assert verdict["object"]["version"] == generation
        assert verdict["object"]["uri"] == f"gs://{stack.inbox}/{key}"
        if action == "quarantine":
            # moved: copy checked, then source deleted; the copy keeps the scanner's labels
            assert stack.client.bucket(stack.inbox).get_blob(key) is None
            qkey = f"{stack.inbox}/{key}"
            meta = stack.metadata(stack.quarantine, qkey)
            assert meta["fakewatch-label"] == "synthetic"
            assert stack.runtime.store.exists(stack.quarantine, qkey + ".verdict.json")
        else:
            meta = stack.metadata(stack.inbox, key)
            assert meta["fakewatch-label"] == label
            assert meta["fakewatch-action"] == action
            assert meta["fakewatch-scanned-at"] == verdict["scanned_at"]
            assert meta["fakewatch-fingerprint"] == stack.runtime.service.scanner.fingerprint
    assert (
        stack.verdict("batch/corrupt.png", uploaded["batch/corrupt.png"]["generation"])["error"][
            "reason"
        ]
        == "corrupt"
    )
    assert (
        stack.verdict("batch/notes.txt", uploaded["batch/notes.txt"]["generation"])["error"][
            "reason"
        ]
        == "unsupported"
    )

    report = stack.audit().verify()
    assert report.ok, report.problem
    assert report.entries == audit_before + len(MIXED_BATCH)
    messages = stack.publisher.messages[published_before:]
    assert len(messages) == len(MIXED_BATCH)
    assert {m.topic for m in messages} == {TOPIC}
    by_key = {m.event["data"]["key"]: m for m in messages}
    for key, _, label, action in MIXED_BATCH:
        attrs = by_key[key].attributes
        assert (attrs["label"], attrs["action"], attrs["bucket"]) == (label, action, stack.inbox)
        assert attrs["type"] == "fakewatch.scan.completed"
    assert by_key["batch/corrupt.png"].attributes["error_reason"] == "corrupt"


def test_structured_mode_delivery(stack: Stack) -> None:
    resource = stack.upload("structured/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    response = stack.post(aimed_structured(resource, event_id="structured-1"))
    assert response.status_code == 200, response.text
    assert stack.verdict("structured/photo.jpg", resource["generation"])["label"] == "no_evidence"


def test_duplicate_delivery_scans_and_writes_once(stack: Stack) -> None:
    resource = stack.upload("dup/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    event = aimed_binary(resource, event_id="dup-1")
    assert stack.post(event).status_code == 200
    first = stack.verdict("dup/photo.jpg", resource["generation"])
    audit_entries = stack.audit().verify().entries
    published = len(stack.publisher.messages)
    metageneration = stack.client.bucket(stack.inbox).get_blob("dup/photo.jpg").metageneration

    for _ in range(3):  # Eventarc delivers at least once
        assert stack.post(event).status_code == 200
    assert stack.verdict("dup/photo.jpg", resource["generation"]) == first
    assert stack.audit().verify().entries == audit_entries
    assert len(stack.publisher.messages) == published
    blob = stack.client.bucket(stack.inbox).get_blob("dup/photo.jpg")
    assert blob.metageneration == metageneration  # not even re-tagged


def test_transient_storage_fault_then_successful_retry(stack: Stack) -> None:
    """Storage answers 503 (injected by the proxy the function's client goes through): the
    function must answer non-2xx so Eventarc retries, write nothing, and the retried delivery
    must then produce exactly one verdict."""
    resource = stack.upload("flaky/a1111.png", samples.a1111_png(), "image/png")
    event = aimed_binary(resource, event_id="flaky-1")
    published = len(stack.publisher.messages)
    stack.proxy.down = True
    try:
        response = stack.post(event)
    finally:
        stack.proxy.down = False
    assert response.status_code == 500
    assert stack.proxy.refused > 0
    with pytest.raises(ObjectNotFound):
        stack.verdict("flaky/a1111.png", resource["generation"])
    assert len(stack.publisher.messages) == published

    retried = stack.post(event)  # Eventarc's redelivery of the same event
    assert retried.status_code == 200, retried.text
    verdict = stack.verdict("flaky/a1111.png", resource["generation"])
    assert verdict["label"] == "synthetic"
    assert stack.runtime.store.exists(stack.quarantine, f"{stack.inbox}/flaky/a1111.png")
    assert len(stack.publisher.messages) == published + 1


def test_publish_failure_is_retried_and_resumes_without_rescanning(stack: Stack) -> None:
    resource = stack.upload("pubfail/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    event = aimed_binary(resource, event_id="pubfail-1")
    stack.publisher.fail = 1
    assert stack.post(event).status_code == 500
    first = stack.verdict("pubfail/photo.jpg", resource["generation"])  # written before publish
    assert stack.post(event).status_code == 200
    assert stack.verdict("pubfail/photo.jpg", resource["generation"]) == first  # not rescanned
    assert any(m.event["data"]["key"] == "pubfail/photo.jpg" for m in stack.publisher.messages)


def test_deleted_before_scan_is_a_recorded_outcome(stack: Stack) -> None:
    resource = stack.upload("gone/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    stack.client.bucket(stack.inbox).blob("gone/photo.jpg").delete()
    response = stack.post(aimed_binary(resource, event_id="gone-1"))
    assert response.status_code == 200
    last = stack.publisher.messages[-1].event["data"]
    assert (last["key"], last["label"], last["error_reason"]) == (
        "gone/photo.jpg",
        "error",
        "deleted_before_scan",
    )


def test_overwritten_before_scan_is_a_recorded_outcome(stack: Stack) -> None:
    old = stack.upload("over/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    new = stack.upload("over/photo.jpg", samples.a1111_png(), "image/png")
    assert old["generation"] != new["generation"]
    assert stack.post(aimed_binary(old, event_id="over-1")).status_code == 200
    last = stack.publisher.messages[-1].event["data"]
    assert (last["version"], last["error_reason"]) == (old["generation"], "changed_before_scan")
    assert "fakewatch-label" not in stack.metadata(stack.inbox, "over/photo.jpg")  # new untouched
    assert stack.post(aimed_binary(new, event_id="over-2")).status_code == 200
    assert stack.verdict("over/photo.jpg", new["generation"])["label"] == "synthetic"


def test_metadata_updated_event_never_retriggers(stack: Stack) -> None:
    resource = stack.upload("meta/photo.jpg", samples.photo_like_jpeg(), "image/jpeg")
    headers, _ = binary_fixture("metadata_updated.binary.json")
    event = aimed_binary(resource, event_id="meta-1", **{"ce-type": headers["ce-type"]})
    published = len(stack.publisher.messages)
    assert stack.post(event).status_code == 200
    assert len(stack.publisher.messages) == published
    assert "fakewatch-label" not in stack.metadata(stack.inbox, "meta/photo.jpg")


def test_events_on_the_scanners_own_buckets_are_ignored(stack: Stack) -> None:
    blob = stack.client.bucket(stack.results).blob("verdicts/x.json")
    blob.upload_from_string(b"{}", content_type="application/json")
    published = len(stack.publisher.messages)
    assert stack.post(aimed_binary(blob._properties, event_id="own-1")).status_code == 200
    assert len(stack.publisher.messages) == published


def test_malformed_event_is_answered_2xx_and_not_retried(stack: Stack) -> None:
    headers, _ = binary_fixture()
    response = requests.post(
        stack.url, data=b'{"kind": "storage#object"}', headers=headers, timeout=30
    )
    assert response.status_code == 200


def test_not_a_cloud_event_is_refused_by_the_framework(stack: Stack) -> None:
    """Not Eventarc's doing: functions-framework itself answers 415 before our code runs."""
    response = requests.post(stack.url, data=b"garbage", timeout=30)
    assert response.status_code == 415
