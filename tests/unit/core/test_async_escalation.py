"""Asynchronous escalation on the in-memory ports: a pending verdict, then the endpoint's
answer folded in as revision 2 — once, never lost, never on a changed object."""

from __future__ import annotations

import json

import pytest

from fakewatch.errors import TransientError
from fakewatch.policy import Escalation, Policy
from fakewatch.ports.escalation import (
    EscalationAnswer,
    EscalationClient,
    EscalationJob,
    EscalationRequest,
    QueuedEscalation,
    answer_document,
    pending_reading,
)
from fakewatch.ports.memory import MemoryAuditLog, MemoryJobQueue, MemoryNotificationSink
from fakewatch.samples import photo_like_jpeg
from fakewatch.scanner import Scanner
from fakewatch.service import ObjectEvent, Outcome, ScanService
from fakewatch.signals.base import SignalResult, Status
from fakewatch.testing.fakes import FixedSignal, FlakyStore
from fakewatch.verdict import validate_verdict

IN, OUT, QUAR = "uploads", "results", "quarantine"
GREY = Policy(escalation=Escalation(enabled=True, low=0.2, high=0.8))


class QueueingEndpoint(EscalationClient):
    """An asynchronous endpoint that only queues (no emulator exists for one; this fake
    records the requests the way SageMaker's queue would)."""

    name = "sagemaker:fw-async"

    def __init__(self) -> None:
        self.requests: list[EscalationRequest] = []

    def escalate(self, request: EscalationRequest) -> SignalResult:
        self.requests.append(request)
        return pending_reading(
            "learned:endpoint", request, self.name, "queued", output_location="s3://out/x.out"
        )


def make() -> tuple[ScanService, FlakyStore, QueueingEndpoint]:
    store = FlakyStore([IN, OUT, QUAR])
    endpoint = QueueingEndpoint()
    service = ScanService(
        store=store,
        scanner=Scanner([FixedSignal(0.5, 0.6)], GREY, escalation=endpoint),
        results_bucket=OUT,
        quarantine_bucket=QUAR,
        audit=MemoryAuditLog(),
        notifier=MemoryNotificationSink(),
    )
    return service, store, endpoint


def scan(service: ScanService, store: FlakyStore, key: str = "x.jpg") -> str:
    info = store.put(IN, key, photo_like_jpeg())
    outcome = service.handle(ObjectEvent(IN, key, etag=info.etag, size=info.size))
    assert outcome.verdict is not None and "pending" in outcome.steps
    return outcome.verdict_key or ""


def reading(score: float) -> SignalResult:
    return SignalResult(
        "learned:endpoint", Status.OK, "image", score=score, confidence=0.95, evidence=("gpu",)
    )


def test_a_queued_escalation_leaves_a_pending_verdict_that_says_so() -> None:
    service, store, endpoint = make()
    vkey = scan(service, store)
    (request,) = endpoint.requests
    doc = store.get_json(OUT, vkey)
    validate_verdict(doc)
    assert doc["escalation"]["status"] == "pending" and doc["revision"] == 1
    assert doc["escalation"]["request_id"] == request.request_id == doc["id"]
    assert "pending" in doc["explanation"]
    assert doc["label"] == "no_evidence"  # decided from the cheap signal meanwhile
    pending = store.get_json(OUT, service.pending_key(request.request_id))
    assert pending["verdict_key"] == vkey and pending["event"]["key"] == "x.jpg"


def test_the_answer_revises_the_verdict_tags_and_quarantines() -> None:
    service, store, endpoint = make()
    scan(service, store)
    answer = EscalationAnswer(endpoint.requests[0].request_id, endpoint.name, reading(0.97))
    outcome = service.complete(answer)
    v = outcome.verdict
    assert v is not None and v.revision == 2 and v.label.value == "suspicious"
    assert (
        v.action.value == "quarantine" and outcome.quarantined_to == f"memory://{QUAR}/{IN}/x.jpg"
    )
    doc = store.get_json(OUT, outcome.verdict_key or "")
    validate_verdict(doc)
    assert doc["supersedes"] == endpoint.requests[0].request_id != doc["id"]
    assert doc["escalation"]["status"] == "used" and doc["escalation"]["mode"] == "async"
    names = [s["name"] for s in doc["signals"]]
    assert names.count("learned:endpoint") == 1 and "fixed" in names[0]
    assert not store.exists(IN, "x.jpg")
    kinds = [e["record"]["kind"] for e in service.audit.entries()]
    assert kinds == ["scan", "escalation"] and service.audit.verify().ok
    assert [e["data"]["label"] for e in service.notifier.events] == ["no_evidence", "suspicious"]  # type: ignore[attr-defined]


def test_a_repeated_answer_does_nothing() -> None:
    service, store, endpoint = make()
    scan(service, store)
    answer = EscalationAnswer(endpoint.requests[0].request_id, endpoint.name, reading(0.1))
    first, second = service.complete(answer), service.complete(answer)
    assert not first.duplicate and second.duplicate
    assert store.get_tags(IN, "x.jpg")["fakewatch-label"] == "no_evidence"
    assert len(list(service.audit.entries())) == 2


def test_an_answer_before_its_verdict_is_retried_not_dropped() -> None:
    service, _, _ = make()
    with pytest.raises(TransientError, match="no pending escalation"):
        service.complete(EscalationAnswer("unknown-id", "sagemaker:fw", reading(0.9)))


def test_a_failed_inference_is_recorded_and_the_cheap_decision_stands() -> None:
    service, store, endpoint = make()
    scan(service, store)
    answer = EscalationAnswer(
        endpoint.requests[0].request_id, endpoint.name, failure="ModelError: container exited"
    )
    v = service.complete(answer).verdict
    assert v is not None and v.label.value == "no_evidence" and v.revision == 2
    assert v.escalation is not None and v.escalation["status"] == "failed"
    assert "container exited" in str(v.escalation["reason"])
    assert all(s["name"] != "learned:endpoint" for s in v.signals)


def test_an_object_overwritten_meanwhile_keeps_its_new_version_untouched() -> None:
    service, store, endpoint = make()
    scan(service, store)
    store.put(IN, "x.jpg", b"a different upload")  # new version, its own event and verdict
    answer = EscalationAnswer(endpoint.requests[0].request_id, endpoint.name, reading(0.99))
    outcome = service.complete(answer)
    assert "object-gone" in outcome.steps and "tagged" not in outcome.steps
    assert store.get(IN, "x.jpg") == b"a different upload"
    assert outcome.verdict is not None and outcome.verdict.label.value == "suspicious"


def test_a_crash_after_the_revision_resumes_its_side_effects() -> None:
    service, store, endpoint = make()
    scan(service, store)
    store.fail["set_tags"] = 1
    answer = EscalationAnswer(endpoint.requests[0].request_id, endpoint.name, reading(0.6))
    with pytest.raises(TransientError):
        service.complete(answer)
    retry = service.complete(answer)
    assert retry.steps[:2] == ("resumed", "tagged")
    assert store.get_tags(IN, "x.jpg")["fakewatch-label"] == "suspicious"
    assert len(list(service.audit.entries())) == 2


def test_an_answer_must_be_a_reading_or_a_failure() -> None:
    with pytest.raises(ValueError):
        EscalationAnswer("id", "ep")
    with pytest.raises(ValueError):
        EscalationAnswer("id", "ep", reading(0.5), failure="both")


# -- answers that arrive as objects (the queued-job mode on GCP and Azure) -----------------------
def land(service: ScanService, store: FlakyStore, doc: object, name: str) -> Outcome:
    key = f"escalations/{name}.json"
    store.put(OUT, key, json.dumps(doc).encode())
    return service.handle(ObjectEvent(OUT, key))


def test_an_answer_document_in_the_results_bucket_completes_the_verdict() -> None:
    service, store, endpoint = make()
    scan(service, store)
    request_id = endpoint.requests[0].request_id
    doc = answer_document(request_id, "worker:gpu", reading(0.9))
    outcome = land(service, store, doc, request_id)
    assert outcome.verdict is not None and outcome.verdict.revision == 2
    assert outcome.verdict.label.value == "suspicious"
    assert land(service, store, doc, request_id).duplicate  # the event, redelivered


def test_a_worker_error_document_is_a_failed_escalation() -> None:
    service, store, endpoint = make()
    scan(service, store)
    request_id = endpoint.requests[0].request_id
    doc = answer_document(request_id, "worker:gpu", error="CorruptMedia: truncated PNG")
    v = land(service, store, doc, request_id).verdict
    assert v is not None and v.escalation is not None and v.escalation["status"] == "failed"
    assert "truncated" in str(v.escalation["reason"])


@pytest.mark.parametrize(
    "doc",
    [
        ["not", "an", "object"],
        {"predictions": [{"name": "x"}]},  # names no request: nothing to complete
    ],
)
def test_a_document_that_names_no_request_is_ignored_not_retried(doc: object) -> None:
    service, store, _ = make()
    outcome = land(service, store, doc, "junk")
    assert outcome.steps == ("ignored-malformed-answer",) and outcome.verdict is None


def test_a_hostile_reading_is_a_failed_escalation_not_a_crash() -> None:
    service, store, endpoint = make()
    scan(service, store)
    request_id = endpoint.requests[0].request_id
    bad = {"request_id": request_id, "predictions": [{"name": "x", "status": "ok", "score": 7}]}
    v = land(service, store, bad, request_id).verdict
    assert v is not None and v.escalation is not None and v.escalation["status"] == "failed"
    assert "unusable reading" in str(v.escalation["reason"])


def test_other_objects_in_the_results_bucket_are_still_ignored() -> None:
    service, store, _ = make()
    store.put(OUT, "verdicts/x.json", b"{}")
    assert service.handle(ObjectEvent(OUT, "verdicts/x.json")).steps == ("ignored-own-output",)


def test_queued_escalation_sends_a_job_whose_answer_completes_the_verdict() -> None:
    queue = MemoryJobQueue("jobs")
    store = FlakyStore([IN, OUT, QUAR])
    service = ScanService(
        store=store,
        scanner=Scanner(
            [FixedSignal(0.5, 0.6)],
            GREY,
            escalation=QueuedEscalation(queue, f"memory://{OUT}/escalations"),
        ),
        results_bucket=OUT,
        quarantine_bucket=QUAR,
        audit=MemoryAuditLog(),
        notifier=MemoryNotificationSink(),
    )
    scan(service, store)
    (job,) = queue.jobs
    assert EscalationJob.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    assert job.uri == f"memory://{IN}/x.jpg" and job.media_kind == "image"
    assert job.output == f"memory://{OUT}/escalations/{job.request_id}.json"
    outcome = land(
        service, store, answer_document(job.request_id, "worker", reading(0.99)), job.request_id
    )
    assert outcome.verdict is not None and outcome.verdict.action.value == "quarantine"


@pytest.mark.parametrize(
    "doc", [None, {}, {"request_id": "r", "uri": "s3://b/k"}, {"request_id": 3, "uri": "x"}]
)
def test_malformed_jobs_are_refused_with_the_field_named(doc: object) -> None:
    with pytest.raises(ValueError):
        EscalationJob.from_dict(doc)
