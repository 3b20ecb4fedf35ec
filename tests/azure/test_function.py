"""The Azure path end to end against Azurite: ``function_app.py``'s registered ``scan_blob``
called the way the Functions host calls it (event JSON decoded by the worker's own converter
into ``EventGridEvent`` / ``CloudEvent``, a ``func.Context``), with the blob store behind a
fault-injecting loopback proxy and result events POSTed to a loopback topic endpoint through
the real Event Grid client. Status 200 = the function returned; 500 = it raised (retried)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from azure.storage.blob import BlobServiceClient

from fakewatch import samples
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.ports.store import ObjectInfo
from fakewatch.settings import Settings
from fakewatch_azure.emulator import Azurite, connection_string, ensure_containers
from fakewatch_azure.local import (
    Delivery,
    Watcher,
    blob_created,
    deliver,
    load_function_app,
    registered_function,
)
from fakewatch_azure.notify import EventGridSink
from fakewatch_azure.runtime import Runtime, build_runtime, set_runtime
from fakewatch_azure.store import BlobStore

from .faults import FaultProxy
from .topic import TopicRecorder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def scan_blob() -> Callable[..., Any]:
    module = load_function_app()  # providers/azure/function_app.py, as the worker imports it
    return registered_function(module.app, "scan_blob")


@dataclass
class Stack:
    runtime: Runtime
    direct: BlobServiceClient
    function: Callable[..., Any]
    topic: TopicRecorder
    proxy: FaultProxy
    inbox: str
    results: str
    quarantine: str

    @property
    def store(self) -> BlobStore:
        return self.runtime.store

    def upload(self, name: str, data: bytes) -> ObjectInfo:
        return self.store.put(self.inbox, name, data)

    def deliver(self, info: ObjectInfo, schema: str = "eventgrid", **kw: Any) -> Delivery:
        return deliver(self.function, blob_created(self.store, info, schema=schema, **kw))

    def verdicts(self, name: str) -> list[dict[str, Any]]:
        prefix = f"verdicts/{self.inbox}/{name}/"
        keys = [i.key for i in self.store.list(self.results, prefix) if i.key.endswith(".json")]
        return [self.store.get_json(self.results, k) for k in keys]

    def verdict(self, info: ObjectInfo) -> dict[str, Any]:
        fingerprint = self.runtime.service.scanner.fingerprint
        etag = quote(info.etag or "", safe="")
        key = f"verdicts/{self.inbox}/{info.key}/{etag}/{fingerprint}.json"
        doc: dict[str, Any] = self.store.get_json(self.results, key)
        return doc

    def audit(self) -> StoreAuditLog:
        return StoreAuditLog(self.store, self.results, "audit/")


@pytest.fixture
def stack(
    azurite: Azurite,
    blob_service: BlobServiceClient,
    topic: TopicRecorder,
    scan_blob: Callable[..., Any],
) -> Iterator[Stack]:
    run = uuid.uuid4().hex[:8]
    inbox, results, quarantine = f"inbox-{run}", f"results-{run}", f"quarantine-{run}"
    ensure_containers(blob_service, inbox, results, quarantine)
    proxy = FaultProxy(azurite.port).start()
    client = BlobServiceClient.from_connection_string(
        connection_string(proxy.endpoint), retry_total=0
    )
    runtime = build_runtime(
        Settings(results_bucket=results, quarantine_bucket=quarantine),
        store=BlobStore(client),
        notifier=EventGridSink(topic.endpoint, key="a2V5", retry_total=0),
    )
    set_runtime(runtime)
    try:
        yield Stack(runtime, blob_service, scan_blob, topic, proxy, inbox, results, quarantine)
    finally:
        set_runtime(None)
        proxy.stop()


MIXED_BATCH: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("batch/a1111.png", samples.a1111_png, "synthetic", "quarantine"),
    ("batch/comfyui.png", samples.comfyui_png, "synthetic", "quarantine"),
    ("batch/photo été (1).jpg", samples.photo_like_jpeg, "no_evidence", "allow"),
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


@pytest.mark.parametrize("schema", ["eventgrid", "cloudevents"])
def test_mixed_batch_end_to_end(stack: Stack, schema: str) -> None:
    uploaded = {name: stack.upload(name, make()) for name, make, _, _ in MIXED_BATCH}
    for info in uploaded.values():
        result = stack.deliver(info, schema)
        assert result.status == 200, result.error

    for name, _, label, action in MIXED_BATCH:
        info = uploaded[name]
        verdict = stack.verdict(info)
        assert (verdict["label"], verdict["action"]) == (label, action), name
        assert verdict["object"]["uri"] == f"az://{stack.inbox}/{name}"
        assert verdict["object"]["etag"] == info.etag
        if action == "quarantine":
            assert not stack.store.exists(stack.inbox, name)
            qkey = f"{stack.inbox}/{name}"
            assert (
                stack.store.get(stack.quarantine, qkey)
                == dict((n, m) for n, m, _, _ in MIXED_BATCH)[name]()
            )
            assert stack.store.get_json(stack.quarantine, qkey + ".verdict.json")["label"] == label
            continue
        tags = stack.direct.get_blob_client(stack.inbox, name).get_blob_tags()
        assert tags["fakewatch-label"] == label
        assert tags["fakewatch-action"] == action
        assert tags["fakewatch-scanned-at"] == verdict["scanned_at"]
        assert tags["fakewatch-fingerprint"] == stack.runtime.service.scanner.fingerprint
        assert stack.store.head(stack.inbox, name).etag == info.etag  # tags moved no ETag

    report = stack.audit().verify()
    assert report.ok, report.problem
    assert report.entries == len(MIXED_BATCH)
    published = {e["data"]["key"]: e for e in stack.topic.events}
    assert set(published) == {name for name, _, _, _ in MIXED_BATCH}
    for name, _, label, action in MIXED_BATCH:
        event = published[name]
        assert event["eventType"] == "fakewatch.scan.completed"
        assert (event["data"]["label"], event["data"]["action"]) == (label, action)
        assert event["subject"] == f"/blobServices/default/containers/{stack.inbox}/blobs/{name}"


def test_duplicate_delivery_scans_and_writes_once(stack: Stack) -> None:
    info = stack.upload("dup/photo.jpg", samples.photo_like_jpeg())
    payload = blob_created(stack.store, info)
    first = deliver(stack.function, payload)
    second = deliver(stack.function, payload)  # Event Grid redelivers the same event
    third = stack.deliver(info, "cloudevents")  # or the other schema's subscription sends it
    assert [first.status, second.status, third.status] == [200, 200, 200]
    assert first.outcome and not first.outcome["duplicate"]
    assert second.outcome and second.outcome["duplicate"]
    assert third.outcome and third.outcome["duplicate"]
    assert len(stack.verdicts("dup/photo.jpg")) == 1
    assert stack.audit().verify().entries == 1
    assert len(stack.topic.events) == 1


def test_transient_storage_fault_is_retried_and_lands_once(stack: Stack) -> None:
    """503 ServerBusy on the verdict write → 500 (Event Grid retries) → one verdict."""
    info = stack.upload("flaky/a1111.png", samples.a1111_png())
    stack.proxy.fail("PUT", f"/{stack.results}/verdicts/")
    failed = stack.deliver(info)
    assert failed.status == 500
    assert "ServerBusy" in (failed.error or "")
    assert stack.proxy.injected
    assert stack.verdicts("flaky/a1111.png") == []
    retried = stack.deliver(info)
    assert retried.status == 200, retried.error
    assert retried.outcome and retried.outcome["label"] == "synthetic"
    assert len(stack.verdicts("flaky/a1111.png")) == 1
    assert stack.audit().verify().entries == 1
    assert len(stack.topic.events) == 1


def test_result_topic_outage_is_retried_without_rescanning(stack: Stack) -> None:
    """The topic answers 503: 500 → the redelivery resumes from the written verdict."""
    info = stack.upload("topic/photo.jpg", samples.photo_like_jpeg())
    stack.topic.statuses.append(503)
    failed = stack.deliver(info)
    assert failed.status == 500
    (verdict,) = stack.verdicts("topic/photo.jpg")
    retried = stack.deliver(info)
    assert retried.status == 200, retried.error
    assert retried.outcome and retried.outcome["steps"][0] == "resumed"
    (again,) = stack.verdicts("topic/photo.jpg")
    assert again["id"] == verdict["id"]  # not scanned twice
    assert [e["data"]["verdict_id"] for e in stack.topic.events] == [verdict["id"]]


def test_blob_deleted_before_scan_is_a_recorded_outcome(stack: Stack) -> None:
    info = stack.upload("gone/photo.jpg", samples.photo_like_jpeg())
    stack.store.delete(stack.inbox, "gone/photo.jpg")
    result = stack.deliver(info)
    assert result.status == 200  # permanent: no retry
    assert result.outcome and result.outcome["error_reason"] == "deleted_before_scan"
    (verdict,) = stack.verdicts("gone/photo.jpg")
    assert verdict["error"]["reason"] == "deleted_before_scan"
    assert stack.topic.events[0]["data"]["error_reason"] == "deleted_before_scan"


def test_blob_overwritten_before_scan_is_a_recorded_outcome(stack: Stack) -> None:
    old = stack.upload("over/pic.png", samples.a1111_png())
    new = stack.upload("over/pic.png", samples.photo_like_jpeg())
    stale = stack.deliver(old)
    assert stale.status == 200
    assert stale.outcome and stale.outcome["error_reason"] == "changed_before_scan"
    fresh = stack.deliver(new)
    assert fresh.outcome and fresh.outcome["label"] == "no_evidence"
    assert stack.store.exists(stack.inbox, "over/pic.png")  # the new blob was not quarantined


def test_scanner_outputs_and_other_accounts_never_trigger(stack: Stack) -> None:
    info = stack.upload("own/photo.jpg", samples.photo_like_jpeg())
    stack.deliver(info)
    for out in stack.store.list(stack.results):
        result = stack.deliver(out)  # an event on the results container itself
        assert (result.status == 200 and result.outcome is None) or result.outcome["steps"] == [
            "ignored-own-output"
        ]
    foreign = blob_created(stack.store, stack.upload("own/other.jpg", b"x"))
    foreign["topic"] = foreign["topic"].replace("devstoreaccount1", "someoneelse")
    assert deliver(stack.function, foreign).outcome is None
    assert stack.verdicts("own/other.jpg") == []
    assert stack.audit().verify().entries == 1


def test_data_lake_placeholder_waits_for_flush(stack: Stack) -> None:
    info = stack.upload("lake/file.png", samples.a1111_png())
    placeholder = deliver(stack.function, blob_created(stack.store, info, api="CreateFile"))
    assert placeholder.status == 200 and placeholder.outcome is None
    assert stack.verdicts("lake/file.png") == []
    flushed = deliver(stack.function, blob_created(stack.store, info, api="FlushWithClose"))
    assert flushed.outcome and flushed.outcome["label"] == "synthetic"


def test_malformed_event_is_dropped_with_200(stack: Stack) -> None:
    info = stack.upload("bad/x.jpg", b"x")
    payload = blob_created(stack.store, info)
    payload["subject"], payload["data"]["url"] = "/nowhere", None
    result = deliver(stack.function, payload)
    assert (result.status, result.outcome) == (200, None)


def test_local_watcher_delivers_each_version_once_and_dead_letters(stack: Stack) -> None:
    stack.upload("w/a.png", samples.a1111_png())
    stack.upload("w/b.jpg", samples.photo_like_jpeg())
    watcher = Watcher(stack.store, stack.function, [stack.inbox], schema="cloudevents")
    first = watcher.poll_once()
    assert sorted((d.blob, d.status) for d in first) == [("w/a.png", 200), ("w/b.jpg", 200)]
    assert watcher.poll_once() == []  # tags and quarantine do not look like new blobs
    stack.upload("w/b.jpg", samples.comfyui_png())  # a new version of b
    (again,) = watcher.poll_once()
    assert again.outcome and again.outcome["label"] == "synthetic"

    watcher.max_attempts = 2
    stack.upload("w/c.jpg", samples.photo_like_jpeg())
    stack.proxy.fail("PUT", f"/{stack.results}/verdicts/", times=2)
    assert [d.status for d in watcher.poll_once()] == [500]
    assert [d.status for d in watcher.poll_once()] == [500]
    assert [d.blob for d in watcher.dead_letters] == ["w/c.jpg"]
    assert watcher.poll_once() == []


def test_backfill_stale_and_untagged_then_nothing_left(stack: Stack) -> None:
    from fakewatch_azure.backfill import backfill_events, deliver_local

    fingerprint = stack.runtime.service.scanner.fingerprint
    scanned = stack.upload("old/scanned.jpg", samples.photo_like_jpeg())
    assert stack.deliver(scanned).status == 200
    stack.upload("old/never.png", samples.a1111_png())
    stale = stack.upload("old/stale.jpg", samples.photo_like_jpeg())
    stack.store.set_tags(stack.inbox, stale.key, {"fakewatch-label": "no_evidence",
                                                  "fakewatch-fingerprint": "model-v0"})  # fmt: skip

    def names(mode: str) -> list[str]:
        events = backfill_events(
            stack.store, stack.inbox, "old/", mode=mode, fingerprint=fingerprint
        )
        return [e["subject"].rsplit("/blobs/", 1)[-1] for e in events]

    assert names("all") == ["old/never.png", "old/scanned.jpg", "old/stale.jpg"]
    assert names("untagged") == ["old/never.png"]
    assert names("stale") == ["old/never.png", "old/stale.jpg"]

    events = list(backfill_events(stack.store, stack.inbox, "old/", fingerprint=fingerprint))
    assert {e["data"]["api"] for e in events} == {"FakewatchBackfill"}
    results = deliver_local(events, stack.function)
    assert [(r.blob, r.status, r.outcome and r.outcome["label"]) for r in results] == [
        ("old/never.png", 200, "synthetic"),
        ("old/stale.jpg", 200, "no_evidence"),
    ]
    (verdict,) = stack.verdicts("old/stale.jpg")
    assert verdict["object"]["etag"] == stale.etag
    assert names("stale") == []  # everything now carries the current fingerprint


def test_backfill_publishes_to_a_custom_topic(stack: Stack) -> None:
    """Through the real EventGridPublisherClient to the loopback topic: Event Grid sets
    ``topic`` on custom-topic events itself, so it is left out."""
    from azure.core.credentials import AzureKeyCredential
    from azure.eventgrid import EventGridPublisherClient

    from fakewatch_azure.backfill import backfill_events, publish

    for i in range(3):
        stack.upload(f"pub/{i}.jpg", b"x")
    client = EventGridPublisherClient(stack.topic.endpoint, AzureKeyCredential("a2V5"))
    events = backfill_events(stack.store, stack.inbox, "pub/", mode="all")
    assert publish(events, client, batch=2) == 3
    assert [len(stack.topic.events)] == [3]
    assert len(stack.topic.requests) == 2
    assert all("topic" not in e for e in stack.topic.events)
    assert {e["eventType"] for e in stack.topic.events} == {"Microsoft.Storage.BlobCreated"}
    assert sorted(e["data"]["url"].rsplit("/", 1)[-1] for e in stack.topic.events) == [
        "0.jpg", "1.jpg", "2.jpg",
    ]  # fmt: skip
