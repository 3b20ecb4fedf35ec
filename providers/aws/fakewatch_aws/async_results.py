"""SageMaker Asynchronous Inference answers → the verdict they revise.

SageMaker writes the container's answer to the endpoint's S3 output path and posts a
notification to the endpoint config's success or error SNS topic; the stack subscribes the
scan queue to both with raw message delivery, so the function receives, in an SQS body::

    {"eventSource": "aws:sagemaker", "eventName": "InferenceResult",
     "invocationStatus": "Completed" | "Failed", "failureReason": "...",
     "inferenceId": "<the verdict id>",
     "requestParameters": {"endpointName": ..., "inputLocation": ...},
     "responseParameters": {"outputLocation": "s3://.../<id>.out"}, ...}

(an SNS envelope — ``{"Type": "Notification", "Message": "<that JSON>"}`` — is accepted too,
for subscriptions without raw delivery). The ``inferenceId`` is the id of the verdict that
awaits the answer (see :mod:`fakewatch_aws.escalation`), so the core's
:meth:`~fakewatch.service.ScanService.complete` finds it.

A failed inference, a missing or unreadable output is an answer too (``failure``): the verdict's
revision records it and keeps the cheap signals' decision. Only storage hiccups are transient.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakewatch.errors import AccessDenied, LimitExceeded, ObjectNotFound
from fakewatch.ports.escalation import EscalationAnswer
from fakewatch.ports.store import ObjectStore
from fakewatch_aws.events import MalformedEvent
from fakewatch_serve.wire import decode_predictions

SAGEMAKER_SOURCE = "aws:sagemaker"
COMPLETED = "Completed"
MAX_ANSWER_BYTES = 1024 * 1024  # one prediction is a few hundred bytes


@dataclass(frozen=True)
class AsyncInferenceResult:
    """The fields of a SageMaker async notification the function uses."""

    inference_id: str
    status: str
    endpoint: str
    output_location: str | None = None
    failure_reason: str | None = None

    @property
    def client_name(self) -> str:
        return f"sagemaker:{self.endpoint}"  # as SageMakerEscalation names itself


def parse_async_result(payload: Any) -> AsyncInferenceResult | None:
    """A SageMaker notification (raw, or in an SNS envelope) → its result; None otherwise."""
    if not isinstance(payload, Mapping):
        return None
    if payload.get("Type") == "Notification" and isinstance(payload.get("Message"), str):
        try:
            return parse_async_result(json.loads(payload["Message"]))
        except ValueError:
            return None
    if payload.get("eventSource") != SAGEMAKER_SOURCE:
        return None
    inference_id = payload.get("inferenceId")
    request = payload.get("requestParameters") or {}
    response = payload.get("responseParameters") or {}
    if not isinstance(inference_id, str) or not inference_id:
        raise MalformedEvent("SageMaker notification without an inferenceId")
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise MalformedEvent("SageMaker notification parameters must be objects")
    return AsyncInferenceResult(
        inference_id=inference_id,
        status=str(payload.get("invocationStatus", "")),
        endpoint=str(request.get("endpointName", "")),
        output_location=response.get("outputLocation"),
        failure_reason=payload.get("failureReason"),
    )


def async_result_from_body(body: str | None) -> AsyncInferenceResult | None:
    """An SQS message body → a SageMaker result, or None when it is something else."""
    if not body or "aws:sagemaker" not in body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return parse_async_result(payload)


def answer_for(result: AsyncInferenceResult, store: ObjectStore) -> EscalationAnswer:
    """Read the endpoint's answer from S3 and turn it into the core's EscalationAnswer."""
    name = result.client_name
    if result.status != COMPLETED:
        why = result.failure_reason or "no reason given"
        return EscalationAnswer(result.inference_id, name, failure=f"{result.status}: {why}")
    location = result.output_location or ""
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not location.startswith("s3://") or not bucket or not key:
        return EscalationAnswer(result.inference_id, name, failure=f"bad output {location!r}")
    try:
        body = store.get(bucket, key, max_bytes=MAX_ANSWER_BYTES)
        (reading,) = decode_predictions(body, expected=1)
    except (ObjectNotFound, AccessDenied, LimitExceeded, ValueError) as exc:
        return EscalationAnswer(result.inference_id, name, failure=f"unusable answer: {exc}")
    return EscalationAnswer(result.inference_id, name, reading=reading)


__all__ = ["AsyncInferenceResult", "answer_for", "async_result_from_body", "parse_async_result"]
