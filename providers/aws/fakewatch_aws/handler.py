"""The Lambda function: ``fakewatch_aws.handler.lambda_handler``.

Triggered by the SQS queue S3 notifies (the deployed path), it processes the batch with
Powertools' ``BatchProcessor`` and reports partial failures, so only the records that failed
come back (after the visibility timeout) and a record that keeps failing reaches the DLQ after
the queue's ``maxReceiveCount``. It also accepts S3 notifications and EventBridge events sent
straight to the function (then a failure fails the invocation and Lambda's async retries apply).

Failures are classified by the core: bad media is a verdict (the record succeeds);
``TransientError`` (throttling, 5xx, timeouts) fails the record so SQS retries it; a message
that is not an event at all (``MalformedEvent``) fails too and ends in the DLQ for a person.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fakewatch import settings as fw_settings
from fakewatch.errors import TransientError
from fakewatch.service import ObjectEvent
from fakewatch_aws.async_results import AsyncInferenceResult, async_result_from_body
from fakewatch_aws.events import MalformedEvent, is_sqs_event, parse_direct, parse_sqs_record
from fakewatch_aws.runtime import get_runtime, run_completion
from fakewatch_aws.telemetry import count, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Powertools prints the cold-start metric even when metrics are disabled: honour the switch.
COLD_START_METRIC = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true")


def scan_events(events: list[ObjectEvent]) -> list[dict[str, Any]]:
    runtime = get_runtime()
    if not events:
        count("ignored_events")
    results = []
    for event in events:
        logger.append_keys(object_uri=f"s3://{event.bucket}/{event.key}", event_source=event.source)
        try:
            results.append(runtime.scan(event))
        except TransientError as exc:
            count("transient_failures")
            logger.warning(
                "transient failure; the record will be retried", extra={"error": str(exc)}
            )
            raise
        finally:
            logger.remove_keys(["object_uri", "event_source"])
    return results


def complete_escalation(result: AsyncInferenceResult) -> dict[str, Any]:
    """A SageMaker asynchronous answer: fold it into the verdict that awaits it."""
    count("escalation_answers")
    logger.append_keys(inference_id=result.inference_id)
    try:
        return run_completion(get_runtime().service, result)
    except TransientError as exc:
        count("transient_failures")
        logger.warning("transient failure; the answer will be retried", extra={"error": str(exc)})
        raise
    finally:
        logger.remove_keys(["inference_id"])


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
    """One SQS message: the S3 / EventBridge / backfill event(s) in its body, or a SageMaker
    asynchronous answer (SNS → the same queue)."""
    logger.set_correlation_id(record.message_id)
    count("records")
    try:
        answer = async_result_from_body(record.body)
    except MalformedEvent as exc:
        count("malformed_events")
        logger.error(
            "malformed SageMaker notification; kept for the DLQ", extra={"error": str(exc)}
        )
        raise
    if answer is not None:
        return [complete_escalation(answer)]
    try:
        events = parse_sqs_record(record)
    except MalformedEvent as exc:
        count("malformed_events")
        logger.error("malformed message; kept for the DLQ", extra={"error": str(exc)})
        raise
    return scan_events(events)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=COLD_START_METRIC)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_runtime().bind(context)
    if is_sqs_event(event):
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)
    events = parse_direct(event)  # S3 or EventBridge straight to the function
    if events and events[0].event_id:
        logger.set_correlation_id(events[0].event_id)
    return {"outcomes": scan_events(events)}


def _warm_in_init_phase() -> None:
    """In Lambda, build the runtime during init (more CPU, not billed for on-demand)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get(fw_settings.RESULTS_BUCKET):
        try:
            get_runtime()
        except Exception:  # the first invocation raises it again, with its context
            logger.exception("cold-start initialisation failed")


_warm_in_init_phase()
