"""ScanService end to end on the in-memory ports: once-only, never lost, every outcome recorded."""

from __future__ import annotations

import pytest

from fakewatch.errors import EscalationUnavailable, TransientError
from fakewatch.policy import Escalation, Policy, load_policy
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.ports.memory import CallableEscalationClient, MemoryAuditLog, MemoryNotificationSink
from fakewatch.samples import corrupt_file, photo_like_jpeg
from fakewatch.scanner import Scanner
from fakewatch.service import ObjectEvent, ScanService
from fakewatch.signals.base import SignalResult, Status
from fakewatch.testing.fakes import FixedSignal, FlakyStore
from fakewatch.verdict import validate_verdict

IN, OUT, QUAR = "uploads", "results", "quarantine"


def make(signal: FixedSignal, policy: Policy | None = None, escalation=None, fail=None):  # type: ignore[no-untyped-def]
    store = FlakyStore([IN, OUT, QUAR], fail=fail)
    service = ScanService(
        store=store,
        scanner=Scanner([signal], policy or Policy(), escalation=escalation),
        results_bucket=OUT,
        quarantine_bucket=QUAR,
        audit=MemoryAuditLog(),
        notifier=MemoryNotificationSink(),
    )
    return service, store


def upload(store: FlakyStore, key: str, data: bytes) -> ObjectEvent:
    info = store.put(IN, key, data)
    return ObjectEvent(IN, key, etag=info.etag, size=info.size)


def test_clean_object_gets_verdict_tags_audit_and_event() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    outcome = service.handle(upload(store, "a/photo 1.jpg", photo_like_jpeg()))
    assert outcome.label == "no_evidence" and not outcome.duplicate
    doc = store.get_json(OUT, outcome.verdict_key or "")
    validate_verdict(doc)
    assert doc["object"]["key"] == "a/photo 1.jpg" and len(doc["object"]["sha256"]) == 64
    tags = store.get_tags(IN, "a/photo 1.jpg")
    assert tags["fakewatch-label"] == "no_evidence" and tags["fakewatch-action"] == "allow"
    assert tags["fakewatch-fingerprint"] == service.scanner.fingerprint
    assert [e["record"]["label"] for e in service.audit.entries()] == ["no_evidence"]
    assert service.notifier.events[0]["data"]["verdict_id"] == doc["id"]  # type: ignore[attr-defined]
    assert service.audit.verify().ok


def test_redelivery_scans_and_writes_nothing_twice() -> None:
    signal = FixedSignal(0.9, 0.9)
    service, store = make(signal)
    event = upload(store, "x.jpg", photo_like_jpeg())
    first, second = service.handle(event), service.handle(event)
    assert not first.duplicate and second.duplicate and signal.calls == 1
    assert len(list(service.audit.entries())) == 1 and len(service.notifier.events) == 1  # type: ignore[attr-defined]


def test_crash_between_verdict_and_tags_resumes_without_rescanning() -> None:
    signal = FixedSignal(0.6, 0.9)
    service, store = make(signal, fail={"set_tags": 1})
    event = upload(store, "x.jpg", photo_like_jpeg())
    with pytest.raises(TransientError):
        service.handle(event)
    retry = service.handle(event)
    assert "resumed" in retry.steps and "tagged" in retry.steps and signal.calls == 1
    assert store.get_tags(IN, "x.jpg")["fakewatch-label"] == "suspicious"
    assert len(list(service.audit.entries())) == 1


def test_transient_fetch_failure_raises_and_leaves_no_verdict() -> None:
    service, store = make(FixedSignal(0.0, 0.0), fail={"get": 1})
    event = upload(store, "x.jpg", photo_like_jpeg())
    with pytest.raises(TransientError):
        service.handle(event)
    assert list(store.list(OUT)) == []
    assert service.handle(event).label == "no_evidence"


def test_strong_evidence_quarantines_without_losing_the_object() -> None:
    service, store = make(FixedSignal(0.99, 0.95, strong=True))
    data = photo_like_jpeg()
    outcome = service.handle(upload(store, "dir/fake.jpg", data))
    assert outcome.label == "synthetic" and outcome.quarantined_to == store.uri(
        QUAR, "uploads/dir/fake.jpg"
    )
    assert not store.exists(IN, "dir/fake.jpg")
    assert store.get(QUAR, "uploads/dir/fake.jpg") == data
    assert store.get_json(QUAR, "uploads/dir/fake.jpg.verdict.json")["label"] == "synthetic"


def test_high_risk_without_strong_evidence_is_quarantined_by_threshold() -> None:
    service, store = make(
        FixedSignal(0.95, 0.95), load_policy("thresholds: {review: 0.5, quarantine: 0.8}")
    )
    outcome = service.handle(upload(store, "x.jpg", photo_like_jpeg()))
    assert (outcome.label, outcome.verdict.action.value) == ("suspicious", "quarantine")  # type: ignore[union-attr]


def test_deleted_before_scan_is_an_outcome_not_a_failure() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    event = upload(store, "gone.jpg", photo_like_jpeg())
    store.delete(IN, "gone.jpg")
    outcome = service.handle(event)
    assert outcome.verdict is not None and outcome.verdict.error == {
        "reason": "deleted_before_scan",
        "detail": "the object was deleted before it could be scanned",
    }
    assert service.handle(event).duplicate


def test_overwritten_before_scan_defers_to_the_new_version() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    event = upload(store, "x.jpg", photo_like_jpeg())
    store.put(IN, "x.jpg", corrupt_file("png"))
    outcome = service.handle(event)
    assert outcome.verdict is not None and outcome.verdict.error_reason == "changed_before_scan"
    assert "fakewatch-label" not in store.get_tags(IN, "x.jpg")


def test_bad_input_is_a_recorded_error_and_never_retried() -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    outcome = service.handle(upload(store, "bad.jpg", corrupt_file("jpeg")))
    assert outcome.verdict is not None and outcome.verdict.error_reason == "corrupt"
    assert store.get_tags(IN, "bad.jpg")["fakewatch-label"] == "error"
    assert service.handle(ObjectEvent(IN, "bad.jpg")).duplicate


def test_too_large_is_refused_before_download() -> None:
    service, store = make(FixedSignal(0.0, 0.0), load_policy("limits: {max_bytes: 1000}"))
    outcome = service.handle(upload(store, "big.jpg", photo_like_jpeg()))
    assert outcome.verdict is not None and outcome.verdict.error_reason == "too_large"


def test_skip_tag_gives_a_skipped_record() -> None:
    signal = FixedSignal(0.9, 0.9)
    service, store = make(signal)
    event = upload(store, "x.jpg", photo_like_jpeg())
    store.set_tags(IN, "x.jpg", {"fakewatch-skip": "true", "owner": "ops"})
    outcome = service.handle(event)
    assert outcome.label == "skipped" and signal.calls == 0
    assert store.get_tags(IN, "x.jpg")["owner"] == "ops"  # other tools' tags are kept


def test_events_on_own_outputs_are_ignored() -> None:
    service, store = make(FixedSignal(0.9, 0.9))
    store.put(OUT, "verdicts/x.json", b"{}")
    assert service.handle(ObjectEvent(OUT, "verdicts/x.json")).steps == ("ignored-own-output",)


def _endpoint(score: float):  # type: ignore[no-untyped-def]
    def call(request: EscalationRequest) -> SignalResult:
        assert request.data and len(request.sha256) == 64
        return SignalResult(
            "escalation", Status.OK, "image", score=score, confidence=0.9, evidence=("gpu",)
        )

    return call


def test_grey_zone_escalates_and_the_heavier_model_decides() -> None:
    policy = Policy(escalation=Escalation(enabled=True, low=0.2, high=0.8))
    client = CallableEscalationClient(_endpoint(0.95), name="sagemaker:fw")
    service, store = make(FixedSignal(0.5, 0.6), policy, escalation=client)
    outcome = service.handle(upload(store, "x.jpg", photo_like_jpeg()))
    v = outcome.verdict
    assert v is not None and v.escalation == {
        "status": "used",
        "endpoint": "sagemaker:fw",
        "reason": None,
    }
    assert v.risk_score is not None and v.risk_score > 0.8


def test_escalation_down_is_recorded_and_the_object_still_handled() -> None:
    def down(request: EscalationRequest) -> SignalResult:
        raise EscalationUnavailable("circuit open after 5 failures")

    policy = Policy(escalation=Escalation(enabled=True, low=0.2, high=0.8))
    service, store = make(FixedSignal(0.5, 0.6), policy, escalation=CallableEscalationClient(down))
    outcome = service.handle(upload(store, "x.jpg", photo_like_jpeg()))
    v = outcome.verdict
    assert v is not None and v.label.value == "no_evidence" and "tagged" in outcome.steps
    assert v.escalation is not None and v.escalation["status"] == "unavailable"
    assert "circuit open" in v.escalation["reason"]


class FlakyNotifier(MemoryNotificationSink):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def publish(self, event):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise TransientError("event bus throttled")
        super().publish(event)


@pytest.mark.parametrize("gone", [False, True])
def test_a_failed_publish_is_retried_without_a_second_audit_entry(gone: bool) -> None:
    service, store = make(FixedSignal(0.0, 0.0))
    service.notifier = FlakyNotifier(failures=1)
    event = upload(store, "x.jpg", photo_like_jpeg())
    if gone:
        store.delete(IN, "x.jpg")
    with pytest.raises(TransientError):
        service.handle(event)
    retry = service.handle(event)
    assert not retry.duplicate and retry.verdict is not None
    assert len(list(service.audit.entries())) == 1 and len(service.notifier.events) == 1
    assert service.handle(event).duplicate
