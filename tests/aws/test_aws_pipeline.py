"""The whole AWS path on a moto server: S3 upload → S3 notification → SQS → the local event
source mapping → ``lambda_handler`` → verdicts, tags, quarantine, audit log, result events
on EventBridge, idempotency in DynamoDB, retries and the dead-letter queue.

Only one thing is not the emulator: ``FlakyS3`` injects throttling errors (moto cannot be
made to answer 503 SlowDown), wrapping the real client so everything else stays real.
"""

from __future__ import annotations

import json

import pytest

from fakewatch.verdict import validate_verdict
from fakewatch_aws import handler as handler_module
from fakewatch_aws import runtime as runtime_module
from fakewatch_aws.local import upload
from fakewatch_aws.runtime import reset_runtime

from .aws_helpers import A1111, C2PA, CORRUPT, PHOTO, FlakyS3, Stack, use_flaky_s3

pytestmark = pytest.mark.integration


# -- the mixed batch -----------------------------------------------------------------------------
def test_mixed_batch_end_to_end(
    stack: Stack, uploads: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    d = stack.deployment
    upload(stack.s3, d.input_bucket, uploads)
    reports = stack.run()
    assert sum(r.received for r in reports) == 4
    assert all(not r.failed for r in reports)

    verdicts = stack.verdicts()
    assert set(verdicts) == set(uploads)
    for doc in verdicts.values():
        validate_verdict(doc)
    labels = {k: (v["label"], v["action"]) for k, v in verdicts.items()}
    assert labels[A1111] == ("synthetic", "quarantine")
    assert labels[C2PA] == ("synthetic", "quarantine")
    assert labels[PHOTO] == ("no_evidence", "allow")
    assert labels[CORRUPT] == ("error", "review")
    assert verdicts[CORRUPT]["error"]["reason"] == "corrupt"

    # quarantine: object and verdict copied, then deleted from the input bucket
    assert stack.keys(d.input_bucket) == sorted([CORRUPT, PHOTO])
    q = d.quarantine_bucket
    for key in (A1111, C2PA):
        assert stack.store.get(q, f"{d.input_bucket}/{key}") == uploads[key]
        assert stack.store.get_json(q, f"{d.input_bucket}/{key}.verdict.json")["label"] == (
            "synthetic"
        )

    # tags on what stays
    tags = stack.store.get_tags(d.input_bucket, PHOTO)
    assert tags["fakewatch-label"] == "no_evidence"
    assert tags["fakewatch-action"] == "allow"
    assert tags["fakewatch-score"] == f"{verdicts[PHOTO]['risk_score']:.3f}"
    assert tags["fakewatch-scanned-at"] == verdicts[PHOTO]["scanned_at"]
    assert stack.store.get_tags(d.input_bucket, CORRUPT)["fakewatch-label"] == "error"

    # verdict keys are predictable: verdicts/<bucket>/<key>/<etag>/<fingerprint>.json
    etag = stack.store.head(d.input_bucket, PHOTO).etag
    fingerprint = verdicts[PHOTO]["fingerprint"]
    assert stack.store.exists(
        d.results_bucket, f"verdicts/{d.input_bucket}/{PHOTO}/{etag}/{fingerprint}.json"
    )

    # audit: one chained entry per scan
    report = stack.audit().verify()
    assert report.ok and report.entries == 4
    assert {e["record"]["key"] for e in stack.audit().entries()} == set(uploads)

    # result events on EventBridge, one per outcome, with the verdict's key fields
    events = stack.result_events()
    assert sorted(e["detail"]["data"]["key"] for e in events) == sorted(uploads)
    assert {e["detail-type"] for e in events} == {"fakewatch.scan.completed"}
    by_key = {e["detail"]["data"]["key"]: e["detail"]["data"] for e in events}
    assert by_key[CORRUPT]["error_reason"] == "corrupt"
    assert by_key[A1111]["label"] == "synthetic"

    # nothing re-triggered: the queue is empty and idle, nothing went to the DLQ
    assert stack.dlq() == []

    # EMF metrics were printed for CloudWatch
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {
        m["Name"] for doc in emf for d_ in doc["_aws"]["CloudWatchMetrics"] for m in d_["Metrics"]
    }
    assert {"scans", "label_synthetic", "label_error", "errors", "quarantined", "duration"} <= names
    assert {doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in emf} == {"fakewatch"}


# -- duplicates ---------------------------------------------------------------------------------
def _notification_body(stack: Stack, key: str, data: bytes) -> str:
    """Upload an object and take S3's own notification off the queue, unprocessed."""
    stack.s3.put_object(Bucket=stack.deployment.input_bucket, Key=key, Body=data)
    (msg,) = stack.sqs.receive_message(QueueUrl=stack.deployment.queue_url)["Messages"]
    stack.sqs.delete_message(
        QueueUrl=stack.deployment.queue_url, ReceiptHandle=msg["ReceiptHandle"]
    )
    return str(msg["Body"])


def test_the_same_message_twice_does_the_work_once(stack: Stack, uploads: dict[str, bytes]) -> None:
    body = _notification_body(stack, PHOTO, uploads[PHOTO])
    stack.send(body)
    stack.send(body)
    reports = stack.run()
    assert sum(r.received for r in reports) == 2 and not any(r.failed for r in reports)
    assert all(r.response == {"batchItemFailures": []} for r in reports)
    d = stack.deployment
    assert len([k for k in stack.keys(d.results_bucket, "verdicts/") if k.endswith(".json")]) == 1
    assert stack.audit().verify().entries == 1
    assert len(stack.result_events()) == 1
    items = stack.ddb.scan(TableName=d.table)["Items"]
    assert len(items) == 1 and items[0]["status"]["S"] == "COMPLETED"


def test_redelivery_after_the_idempotency_record_expired_is_still_harmless(
    stack: Stack, uploads: dict[str, bytes]
) -> None:
    body = _notification_body(stack, PHOTO, uploads[PHOTO])
    stack.send(body)
    stack.run()
    d = stack.deployment
    for item in stack.ddb.scan(TableName=d.table)["Items"]:  # as if its TTL had passed
        stack.ddb.delete_item(TableName=d.table, Key={"id": item["id"]})
    stack.send(body)
    stack.run()
    assert stack.audit().verify().entries == 1  # the .done marker stopped it
    assert len(stack.result_events()) == 1


# -- failures, retries, DLQ ---------------------------------------------------------------------
def test_one_failing_record_is_the_only_one_retried(
    stack: Stack, uploads: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyS3(stack.s3, {CORRUPT}, times=1)
    use_flaky_s3(stack, monkeypatch, flaky)
    upload(
        stack.s3, stack.deployment.input_bucket, {k: uploads[k] for k in (PHOTO, CORRUPT, A1111)}
    )
    first, *rest = stack.run()
    assert first.received == 3
    assert len(first.failed) == 1 and len(first.succeeded) == 2
    assert flaky.failures == 1
    assert [r.received for r in rest] == [1]  # only the failed record came back
    assert rest[0].failed == ()
    assert set(stack.verdicts()) == {PHOTO, CORRUPT, A1111}
    assert stack.audit().verify().entries == 3
    assert stack.dlq() == []


def test_a_record_that_keeps_failing_reaches_the_dlq(
    stack: Stack, uploads: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_flaky_s3(stack, monkeypatch, FlakyS3(stack.s3, {PHOTO}, times=None))
    upload(stack.s3, stack.deployment.input_bucket, {PHOTO: uploads[PHOTO]})
    reports = stack.run()
    assert [len(r.failed) for r in reports] == [1, 1]  # maxReceiveCount = 2
    (dead,) = stack.dlq()
    assert json.loads(dead)["Records"][0]["s3"]["object"]["key"].startswith("uploads%2Fholiday")
    assert stack.verdicts() == {}  # a transient failure is not a verdict
    assert stack.ddb.scan(TableName=stack.deployment.table)["Items"] == []  # lease released


def test_a_poison_message_reaches_the_dlq(stack: Stack) -> None:
    stack.send("this is not an event")
    reports = stack.run()
    assert [len(r.failed) for r in reports] == [1, 1]
    assert stack.dlq() == ["this is not an event"]


def test_s3_test_event_is_consumed_without_work(stack: Stack) -> None:
    stack.send(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "x"}))
    (report,) = stack.run()
    assert report.failed == () and len(report.succeeded) == 1
    assert stack.verdicts() == {}


# -- objects that moved on before the scan --------------------------------------------------------
def test_deleted_before_scan_is_a_recorded_outcome(stack: Stack, uploads: dict[str, bytes]) -> None:
    d = stack.deployment
    upload(stack.s3, d.input_bucket, {PHOTO: uploads[PHOTO]})
    stack.s3.delete_object(Bucket=d.input_bucket, Key=PHOTO)
    (report,) = stack.run()
    assert report.failed == ()
    (verdict,) = stack.verdicts().values()
    assert verdict["error"]["reason"] == "deleted_before_scan"
    assert [e["detail"]["data"]["error_reason"] for e in stack.result_events()] == [
        "deleted_before_scan"
    ]


def test_overwritten_before_scan_scans_only_the_new_version(
    stack: Stack, uploads: dict[str, bytes]
) -> None:
    d = stack.deployment
    upload(stack.s3, d.input_bucket, {PHOTO: uploads[A1111]})
    upload(stack.s3, d.input_bucket, {PHOTO: uploads[PHOTO]})
    reports = stack.run()
    assert not any(r.failed for r in reports)
    docs = [
        stack.store.get_json(d.results_bucket, k)
        for k in stack.keys(d.results_bucket, "verdicts/")
        if k.endswith(".json")
    ]
    reasons = sorted((doc.get("error") or {}).get("reason", doc["label"]) for doc in docs)
    assert reasons == ["changed_before_scan", "no_evidence"]


def test_oversized_object_gets_an_error_verdict_not_a_retry(
    stack: Stack, uploads: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakewatch.policy import load_policy
    from fakewatch.scanner import build_scanner

    small = build_scanner(load_policy('{"limits": {"max_bytes": 1000}}'))
    monkeypatch.setattr(runtime_module, "build_scanner", lambda settings, store: small)
    reset_runtime()
    upload(stack.s3, stack.deployment.input_bucket, {PHOTO: uploads[PHOTO]})
    (report,) = stack.run()
    assert report.failed == ()
    (verdict,) = stack.verdicts().values()
    assert verdict["error"]["reason"] == "too_large"


def test_events_on_the_scanners_own_buckets_are_ignored(
    stack: Stack, uploads: dict[str, bytes]
) -> None:
    """Even if someone wires the results bucket's notifications to the queue."""
    d = stack.deployment
    stack.store.put(d.results_bucket, "verdicts/x.json", b"{}")
    body = json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": d.results_bucket},
                        "object": {
                            "key": "verdicts/x.json",
                            "size": 2,
                            "eTag": "99914b932bd37a50b983c5e7c90ae93b",
                        },
                    },
                }
            ]
        }
    )
    stack.send(body)
    (report,) = stack.run()
    assert report.failed == ()
    assert stack.keys(d.results_bucket) == ["verdicts/x.json"]
    assert stack.result_events() == []


# -- S3 and EventBridge straight to the function ------------------------------------------------
def test_direct_s3_and_eventbridge_invocations(stack: Stack, uploads: dict[str, bytes]) -> None:
    from pathlib import Path

    from fakewatch_aws.local import LocalLambdaContext

    d = stack.deployment
    events_dir = Path(__file__).parent.parent / "events" / "aws"
    stack.s3.put_object(
        Bucket=d.input_bucket, Key="uploads/red flower été (1).jpg", Body=uploads[PHOTO]
    )
    s3_event = json.loads((events_dir / "s3_object_created_put.json").read_text())
    record = s3_event["Records"][0]
    record["s3"]["bucket"]["name"] = d.input_bucket
    record["s3"]["object"]["eTag"] = stack.store.head(
        d.input_bucket, "uploads/red flower été (1).jpg"
    ).etag
    del record["s3"]["object"]["versionId"]
    out = handler_module.lambda_handler(s3_event, LocalLambdaContext(timeout_s=30))
    assert [o["label"] for o in out["outcomes"]] == ["no_evidence"]

    stack.s3.put_object(Bucket=d.input_bucket, Key="uploads/gen image+1.png", Body=uploads[A1111])
    eb_event = json.loads((events_dir / "eventbridge_object_created.json").read_text())
    eb_event["detail"]["bucket"]["name"] = d.input_bucket
    eb_event["detail"]["object"]["etag"] = stack.store.head(
        d.input_bucket, "uploads/gen image+1.png"
    ).etag
    del eb_event["detail"]["object"]["version-id"]
    out = handler_module.lambda_handler(eb_event, LocalLambdaContext(timeout_s=30))
    assert [(o["label"], o["action"]) for o in out["outcomes"]] == [("synthetic", "quarantine")]
