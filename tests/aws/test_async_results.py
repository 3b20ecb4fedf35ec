"""SageMaker asynchronous notifications (fixtures in the shape SageMaker posts to SNS) and
reading the answer from S3 (moto server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakewatch_aws.async_results import answer_for, async_result_from_body, parse_async_result
from fakewatch_aws.events import MalformedEvent
from fakewatch_aws.store import S3Store

from .test_aws_events import load

COMPLETED, FAILED = "sagemaker_async_completed.json", "sagemaker_async_failed.json"


def test_raw_delivery_completed() -> None:
    result = async_result_from_body(json.dumps(load(COMPLETED)))
    assert result is not None and result.status == "Completed"
    assert result.inference_id == "235e3e85940daa4abac0806adac775c4"
    assert result.client_name == "sagemaker:fakewatch-prod-gpu"
    assert str(result.output_location).endswith("/escalations/235e3e85940daa4abac0806adac775c4.out")


def test_sns_envelope_without_raw_delivery() -> None:
    envelope = {"Type": "Notification", "Message": json.dumps(load(FAILED)), "TopicArn": "arn"}
    result = async_result_from_body(json.dumps(envelope))
    assert result is not None and result.status == "Failed"
    assert "model not loaded" in str(result.failure_reason)


def test_other_messages_are_not_answers() -> None:
    assert async_result_from_body(json.dumps(load("sqs_s3_object_created.json"))) is None
    assert async_result_from_body("not json aws:sagemaker") is None
    assert parse_async_result(["aws:sagemaker"]) is None


def test_an_answer_without_an_inference_id_is_malformed() -> None:
    doc = load(COMPLETED)
    del doc["inferenceId"]
    with pytest.raises(MalformedEvent, match="inferenceId"):
        parse_async_result(doc)


def test_failed_inference_is_an_answer_with_its_reason(s3_client: Any) -> None:
    result = parse_async_result(load(FAILED))
    assert result is not None
    answer = answer_for(result, S3Store(client=s3_client))
    assert answer.reading is None and "Failed: ClientError" in str(answer.failure)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (None, "unusable answer"),  # the output object is missing
        (b"<html>oops</html>", "non-JSON"),
        (b'{"predictions": []}', "0 predictions"),
        (b'{"predictions": [{"status": "ok"}]}', "unusable answer"),
    ],
)
def test_unusable_outputs_are_failures_not_crashes(
    s3_client: Any, new_bucket: Any, body: bytes | None, why: str
) -> None:
    bucket = new_bucket("out")
    if body is not None:
        s3_client.put_object(Bucket=bucket, Key="escalations/x.out", Body=body)
    doc = load(COMPLETED)
    doc["responseParameters"]["outputLocation"] = f"s3://{bucket}/escalations/x.out"
    result = parse_async_result(doc)
    assert result is not None
    answer = answer_for(result, S3Store(client=s3_client))
    assert answer.reading is None and why in str(answer.failure)
