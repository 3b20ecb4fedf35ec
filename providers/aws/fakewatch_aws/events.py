"""AWS event payloads → the core's :class:`ObjectEvent`, with everything else ignored out loud.

Shapes handled (fixtures of each are in ``tests/events/aws/``):

* S3 event notifications (``{"Records": [{"eventSource": "aws:s3", ...}]}``), sent straight
  to Lambda or as the body of an SQS message (S3 → SQS), or wrapped by SNS (S3 → SNS → SQS);
* EventBridge "Object Created" events (``source: aws.s3``), direct or via an SQS target;
* backfill messages (``eventSource: fakewatch:backfill``), the S3 shape written by
  :mod:`fakewatch_aws.backfill` so existing objects travel the same path.

S3 URL-encodes keys in notifications ("red flower.jpg" arrives as "red+flower.jpg"): keys are
decoded with ``unquote_plus`` (Powertools decodes EventBridge keys the same way). The S3 test
event, deletes, restores, tagging, lifecycle and replication events are not object-created
events: they are logged with the reason and produce no ObjectEvent. A payload that is none of
these raises :class:`MalformedEvent` (the message is kept, and lands in the DLQ, for a person).

The typed read-only views are Powertools' event source data classes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSRecord
from aws_lambda_powertools.utilities.data_classes.s3_event import (
    S3EventBridgeNotificationEvent,
    S3EventRecord,
)

from fakewatch.errors import FakewatchError
from fakewatch.service import ObjectEvent

log = logging.getLogger("fakewatch_aws.events")

S3_SOURCE = "aws:s3"
BACKFILL_SOURCE = "fakewatch:backfill"
CREATED_PREFIX = "ObjectCreated:"
EVENTBRIDGE_SOURCE = "aws.s3"
EVENTBRIDGE_CREATED = "Object Created"
TEST_EVENT = "s3:TestEvent"


class MalformedEvent(FakewatchError, ValueError):
    """A payload that is not an event this function understands (permanent; kept in the DLQ)."""


def ignored(reason: str, **context: Any) -> list[ObjectEvent]:
    """Log an event that is deliberately not scanned, and return no ObjectEvents."""
    log.info("ignoring event: %s", reason, extra={"ignored": reason, **context})
    return []


# -- S3 event notifications -------------------------------------------------------------------
def parse_s3_notification(payload: Mapping[str, Any]) -> list[ObjectEvent]:
    """``{"Records": [...]}`` from S3 (or a backfill) → one ObjectEvent per created object."""
    records = payload.get("Records")
    if not isinstance(records, list):
        raise MalformedEvent("an S3 notification needs a Records list")
    events: list[ObjectEvent] = []
    for raw in records:
        if not isinstance(raw, Mapping):
            raise MalformedEvent("an S3 notification record must be a JSON object")
        events += _s3_record(S3EventRecord(dict(raw)))
    return events


def _s3_record(record: S3EventRecord) -> list[ObjectEvent]:
    source = record.get("eventSource")
    name = str(record.get("eventName", ""))
    if source not in (S3_SOURCE, BACKFILL_SOURCE):
        raise MalformedEvent(f"record eventSource {source!r} is not {S3_SOURCE}")
    if not name.startswith(CREATED_PREFIX):
        return ignored(f"S3 {name or 'unnamed'} event is not an object creation")
    try:
        bucket = record.s3.bucket.name
        obj = record.s3.get_object
        key = unquote_plus(obj.key)
        size = obj.get("size")
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedEvent(f"S3 record lacks {exc}") from exc
    if not bucket or not key:
        raise MalformedEvent("S3 record names no bucket or no key")
    response = record.get("responseElements") or {}
    return [
        ObjectEvent(
            bucket=str(bucket),
            key=key,
            etag=obj.etag or None,
            version=obj.version_id or None,
            size=_size(size),
            event_id=response.get("x-amz-request-id") or obj.get("sequencer"),
            event_time=record.get("eventTime"),
            source="backfill" if source == BACKFILL_SOURCE else "s3",
        )
    ]


# -- EventBridge --------------------------------------------------------------------------------
def parse_eventbridge(payload: Mapping[str, Any]) -> list[ObjectEvent]:
    """An EventBridge event from S3 → one ObjectEvent for "Object Created", none otherwise."""
    event = EventBridgeEvent(dict(payload))
    if event.get("source") != EVENTBRIDGE_SOURCE:
        return ignored(f"EventBridge event from {event.get('source')!r}, not {EVENTBRIDGE_SOURCE}")
    if event.detail_type != EVENTBRIDGE_CREATED:
        return ignored(f"EventBridge S3 {event.detail_type!r} event is not an object creation")
    s3 = S3EventBridgeNotificationEvent(dict(payload))
    try:
        bucket = s3.detail.bucket.name
        obj = s3.detail.object
        key = obj.key
        version = obj.get("version-id")
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedEvent(f"EventBridge S3 event lacks {exc}") from exc
    if not bucket or not key:
        raise MalformedEvent("EventBridge S3 event names no bucket or no key")
    return [
        ObjectEvent(
            bucket=str(bucket),
            key=key,
            etag=obj.etag or None,
            version=version or None,
            size=_size(obj.size),
            event_id=event.get("id"),
            event_time=event.get("time"),
            source="eventbridge",
        )
    ]


# -- dispatch -------------------------------------------------------------------------------------
def parse_payload(payload: Any) -> list[ObjectEvent]:
    """Any supported payload (already decoded from JSON) → ObjectEvents."""
    if not isinstance(payload, Mapping):
        raise MalformedEvent(f"an event is a JSON object, not {type(payload).__name__}")
    if payload.get("Event") == TEST_EVENT:
        return ignored("S3 test event (sent when a notification is configured)")
    if "Records" in payload:
        return parse_s3_notification(payload)
    if "detail-type" in payload and "source" in payload:
        return parse_eventbridge(payload)
    if payload.get("Type") == "Notification" and isinstance(payload.get("Message"), str):
        return parse_body(payload["Message"])  # S3 → SNS → SQS
    raise MalformedEvent(f"unrecognised event with keys {sorted(payload)[:8]}")


def parse_body(body: str | bytes) -> list[ObjectEvent]:
    """A JSON message body (an SQS message, an SNS message) → ObjectEvents."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"message body is not JSON: {exc}") from exc
    return parse_payload(payload)


def parse_sqs_record(record: SQSRecord | Mapping[str, Any]) -> list[ObjectEvent]:
    """One record of a Lambda SQS event → the ObjectEvents its body carries."""
    view = record if isinstance(record, SQSRecord) else SQSRecord(dict(record))
    body = view.get("body")
    if not isinstance(body, str):
        raise MalformedEvent("SQS record has no body")
    return parse_body(body)


def is_sqs_event(event: Any) -> bool:
    """Whether a Lambda payload is an SQS batch (rather than S3 or EventBridge, direct)."""
    if not isinstance(event, Mapping):
        return False
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def parse_direct(event: Any) -> list[ObjectEvent]:
    """A Lambda payload sent straight by S3 or EventBridge (no queue in between)."""
    return parse_payload(event)


def _size(value: Any) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise MalformedEvent(f"object size {value!r} is not a number") from None
    if size < 0:
        raise MalformedEvent(f"object size {size} is negative")
    return size


__all__ = [
    "MalformedEvent",
    "is_sqs_event",
    "parse_body",
    "parse_direct",
    "parse_eventbridge",
    "parse_payload",
    "parse_s3_notification",
    "parse_sqs_record",
]
