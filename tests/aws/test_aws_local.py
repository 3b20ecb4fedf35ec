"""The local SQS event source mapping, on moto's SQS, and the ``fakewatch aws`` CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fakewatch_aws.local import LocalLambdaContext, SqsEventSourceMapping

from .aws_helpers import unique

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).parent.parent / "events" / "aws" / "sqs_s3_object_created.json"


@pytest.fixture
def queue(sqs_client: Any) -> str:
    url = sqs_client.create_queue(QueueName=unique("q"), Attributes={"VisibilityTimeout": "2"})
    return str(url["QueueUrl"])


def _send(sqs: Any, url: str, n: int) -> list[str]:
    return [
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"n": i}),
            MessageAttributes={
                "origin": {"DataType": "String", "StringValue": "test"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )["MessageId"]
        for i in range(n)
    ]


def test_event_has_the_shape_lambda_sends(sqs_client: Any, queue: str) -> None:
    _send(sqs_client, queue, 1)
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        assert 0 < context.get_remaining_time_in_millis() <= 2000
        assert context.invoked_function_arn.startswith("arn:aws:lambda:us-east-1:")
        return {"batchItemFailures": []}

    report = SqsEventSourceMapping(sqs_client, queue, handler, wait_time_s=0).poll()
    assert report is not None and report.received == 1 and report.failed == ()
    (record,) = seen[0]["Records"]
    lambda_record = json.loads(FIXTURE.read_text())["Records"][0]
    assert set(record) == set(lambda_record)
    assert set(record["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId"}
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def test_only_reported_failures_stay_on_the_queue(sqs_client: Any, queue: str) -> None:
    ids = _send(sqs_client, queue, 3)
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        got = [r["messageId"] for r in event["Records"]]
        calls.append(got)
        failing = [{"itemIdentifier": i} for i in got if i == ids[1] and len(calls) == 1]
        return {"batchItemFailures": failing}

    mapping = SqsEventSourceMapping(sqs_client, queue, handler, wait_time_s=1)
    reports = list(mapping.batches())
    assert sorted(calls[0]) == sorted(ids)
    assert reports[0].failed == (ids[1],)
    assert [r.received for r in reports[1:]] == [1]  # back after the visibility timeout
    assert calls[1] == [ids[1]]
    assert mapping.idle()


def test_an_invocation_error_fails_the_whole_batch(sqs_client: Any, queue: str) -> None:
    ids = _send(sqs_client, queue, 2)

    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("function crashed")

    mapping = SqsEventSourceMapping(sqs_client, queue, handler, wait_time_s=0)
    report = mapping.poll()
    assert report is not None and sorted(report.failed) == sorted(ids)
    assert not mapping.idle()  # still there, in flight until the visibility timeout


def test_a_response_naming_unknown_records_fails_the_whole_batch(
    sqs_client: Any, queue: str
) -> None:
    ids = _send(sqs_client, queue, 2)
    mapping = SqsEventSourceMapping(
        sqs_client,
        queue,
        lambda e, c: {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        wait_time_s=0,
    )
    report = mapping.poll()
    assert report is not None and sorted(report.failed) == sorted(ids)


def test_function_timeout_never_exceeds_the_visibility_timeout(sqs_client: Any, queue: str) -> None:
    mapping = SqsEventSourceMapping(sqs_client, queue, lambda e, c: None, function_timeout_s=900)
    assert mapping.function_timeout_s == 2.0
    with pytest.raises(ValueError, match="batch_size"):
        SqsEventSourceMapping(sqs_client, queue, lambda e, c: None, batch_size=11)


def test_context_counts_down() -> None:
    context = LocalLambdaContext(timeout_s=0.2)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    assert 0 <= context.get_remaining_time_in_millis() < first <= 200


def _fakewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "fakewatch"
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=240, env=env, check=False
    )


def test_cli_local_runs_the_whole_path_on_its_own_moto() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAKEWATCH_"))}
    done = _fakewatch("aws", "local", "--start-moto", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "uploaded 4 sample objects" in out
    assert "4 messages handled, 0 record failures" in out
    assert "audit log: 4 entries, chain intact" in out
    for key in ("generated-with-a1111.png", "c2pa-declared-ai.jpg", "broken-upload.jpg"):
        assert key in out


def test_cli_backfill_dry_run(
    aws: dict[str, Any], new_bucket: Any, s3_client: Any, queue: str
) -> None:
    bucket = new_bucket()
    for i in range(3):
        s3_client.put_object(Bucket=bucket, Key=f"old/{i}.jpg", Body=b"x")
    done = _fakewatch(
        "aws", "backfill", bucket, "--queue-url", queue, "--prefix", "old/", "--mode", "all",
        "--dry-run", "--endpoint-url", aws["endpoint_url"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        f"listed 3 objects under s3://{bucket}/old/; 3 selected (all); would enqueue 3"
        in done.stdout
    )
    bad = _fakewatch("aws", "backfill", bucket, "--queue-url", queue, "--mode", "sometimes")
    assert bad.returncode != 0 and "mode must be one of" in bad.stderr + bad.stdout
