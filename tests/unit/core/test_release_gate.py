"""Fail-closed read gating by copy: readers get only the release bucket, and only the exact
bytes that were scanned and allowed ever reach it."""

from __future__ import annotations

from fakewatch.policy import Escalation, Policy
from fakewatch.ports.escalation import EscalationAnswer
from fakewatch.ports.memory import MemoryAuditLog, MemoryNotificationSink
from fakewatch.samples import photo_like_jpeg
from fakewatch.scanner import Scanner
from fakewatch.service import RELEASE_SHA256, ObjectEvent, ScanService
from fakewatch.signals.base import SignalResult, Status
from fakewatch.testing.fakes import FixedSignal, FlakyStore

from .test_async_escalation import QueueingEndpoint

IN, OUT, QUAR, CLEAN = "uploads", "results", "quarantine", "released"


def make(
    signal: FixedSignal, escalation: QueueingEndpoint | None = None
) -> tuple[ScanService, FlakyStore]:
    store = FlakyStore([IN, OUT, QUAR, CLEAN])
    policy = (
        Policy(escalation=Escalation(enabled=True, low=0.2, high=0.8)) if escalation else Policy()
    )
    service = ScanService(
        store=store,
        scanner=Scanner([signal], policy, escalation=escalation),
        results_bucket=OUT,
        quarantine_bucket=QUAR,
        release_bucket=CLEAN,
        audit=MemoryAuditLog(),
        notifier=MemoryNotificationSink(),
    )
    return service, store


def upload(store: FlakyStore, key: str, data: bytes) -> ObjectEvent:
    info = store.put(IN, key, data)
    return ObjectEvent(IN, key, etag=info.etag, size=info.size)


def test_an_allowed_object_is_released_byte_for_byte() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    data = photo_like_jpeg()
    outcome = service.handle(upload(store, "a/b.jpg", data))
    assert "released" in outcome.steps
    assert store.get(CLEAN, "a/b.jpg") == data
    meta = store.head(CLEAN, "a/b.jpg").metadata
    assert outcome.verdict is not None and meta[RELEASE_SHA256] == outcome.verdict.object.sha256


def test_a_suspicious_or_failed_object_is_never_released() -> None:
    for signal in (FixedSignal(0.6, 0.9), FixedSignal(0.95, 0.95)):
        service, store = make(signal)
        outcome = service.handle(upload(store, "x.jpg", photo_like_jpeg()))
        assert outcome.label in ("suspicious", "synthetic") and not store.exists(CLEAN, "x.jpg")
    service, store = make(FixedSignal(0.0, 0.0))
    service.handle(upload(store, "bad.jpg", b"\xff\xd8 not really a jpeg"))
    assert not store.exists(CLEAN, "bad.jpg")


def test_an_object_replaced_after_its_scan_is_not_released() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    event = upload(store, "x.jpg", photo_like_jpeg())

    real_get = store.get

    def swap_then_get(bucket: str, key: str, **kw: object) -> bytes:
        if bucket == IN and kw.get("if_match") and not swapped:
            swapped.append(True)
            store.put(IN, key, b"unscanned bytes from a second upload")
        return real_get(bucket, key, **kw)  # type: ignore[arg-type]

    swapped: list[bool] = []
    service.handle(event)  # scans and releases the first version
    store.delete(CLEAN, "x.jpg")
    store.get = swap_then_get  # type: ignore[method-assign]
    store.delete(OUT, next(i.key for i in store.list(OUT) if i.key.endswith(".done")))
    outcome = service.handle(event)  # a crash-resume: releasing now must not copy the new bytes
    assert "not-released-changed" in outcome.steps
    assert not store.exists(CLEAN, "x.jpg")


def test_a_revision_that_is_not_allow_withdraws_the_release() -> None:
    endpoint = QueueingEndpoint()
    service, store = make(FixedSignal(0.5, 0.4), endpoint)  # grey zone, allowed meanwhile
    outcome = service.handle(upload(store, "g.jpg", photo_like_jpeg()))
    assert outcome.label == "no_evidence" and store.exists(CLEAN, "g.jpg")
    reading = SignalResult("learned:endpoint", Status.OK, "image", score=0.97, confidence=0.95)
    revised = service.complete(EscalationAnswer(endpoint.requests[0].request_id, "gpu", reading))
    assert "withdrawn" in revised.steps and not store.exists(CLEAN, "g.jpg")


def test_events_on_the_release_bucket_never_retrigger() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    store.put(CLEAN, "x.jpg", b"x")
    assert service.handle(ObjectEvent(CLEAN, "x.jpg")).steps == ("ignored-own-output",)
