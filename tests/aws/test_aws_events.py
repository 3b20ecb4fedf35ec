"""Event parsing against payloads in the exact shapes AWS publishes (tests/events/aws/)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fakewatch.service import ObjectEvent
from fakewatch_aws.events import (
    MalformedEvent,
    is_sqs_event,
    parse_body,
    parse_direct,
    parse_sqs_record,
)

EVENTS = Path(__file__).parent.parent / "events" / "aws"


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def test_s3_put_straight_to_lambda_decodes_the_key() -> None:
    (event,) = parse_direct(load("s3_object_created_put.json"))
    assert event == ObjectEvent(
        bucket="fakewatch-input",
        key="uploads/red flower été (1).jpg",
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        size=48213,
        event_id="C3D13FE58DE4C810",
        event_time="2025-03-14T09:26:53.123Z",
        source="s3",
    )


def test_plus_in_a_key_arrives_as_percent_2b() -> None:
    (event,) = parse_direct(load("s3_object_created_multipart.json"))
    assert event.key == "video/clip+1.mp4"
    assert event.etag == "3858f62230ac3c915f300c664312c11f-9"  # multipart ETag, kept as sent
    assert event.version is None


def test_s3_notifications_through_sqs() -> None:
    payload = load("sqs_s3_object_created.json")
    assert is_sqs_event(payload)
    keys = [e.key for r in payload["Records"] for e in parse_sqs_record(r)]
    assert keys == ["uploads/red flower été (1).jpg", "video/clip+1.mp4"]


def test_s3_through_sns_through_sqs() -> None:
    (record,) = load("sqs_sns_s3_object_created.json")["Records"]
    (event,) = parse_sqs_record(record)
    assert (event.bucket, event.key) == ("fakewatch-input", "uploads/red flower été (1).jpg")


def test_eventbridge_object_created_direct_and_via_sqs() -> None:
    (direct,) = parse_direct(load("eventbridge_object_created.json"))
    assert direct == ObjectEvent(
        bucket="fakewatch-input",
        key="uploads/gen image+1.png",
        etag="b1946ac92492d2347c6235b4d2611184",
        version="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        size=5576,
        event_id="17793124-05d4-b198-2fde-7ededc63b103",
        event_time="2025-03-14T09:26:53Z",
        source="eventbridge",
    )
    (record,) = load("sqs_eventbridge_object_created.json")["Records"]
    assert parse_sqs_record(record) == [direct]
    assert not is_sqs_event(load("eventbridge_object_created.json"))


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("s3_test_event.json", "S3 test event"),
        ("s3_object_removed.json", "ObjectRemoved:Delete"),
        ("s3_object_tagging.json", "ObjectTagging:Put"),
        ("s3_object_restore_completed.json", "ObjectRestore:Completed"),
        ("eventbridge_object_deleted.json", "Object Deleted"),
    ],
)
def test_other_events_are_ignored_and_logged(
    fixture: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fakewatch_aws.events"):
        assert parse_direct(load(fixture)) == []
    assert any(reason in r.getMessage() for r in caplog.records), caplog.text


def test_s3_test_event_via_sqs_is_ignored() -> None:
    (record,) = load("sqs_s3_test_event.json")["Records"]
    assert parse_sqs_record(record) == []


def test_eventbridge_event_from_another_source_is_ignored() -> None:
    payload = {**load("eventbridge_object_created.json"), "source": "aws.ec2"}
    assert parse_direct(payload) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        "",
        '["a", "list"]',
        "42",
        '{"hello": "world"}',
        '{"Records": "nope"}',
        '{"Records": ["nope"]}',
        '{"Records": [{"eventSource": "aws:dynamodb", "eventName": "INSERT"}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",'
        ' "s3": {"bucket": {"name": "b"}, "object": {"key": ""}}}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",'
        ' "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": "big"}}}]}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",'
        ' "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": -1}}}]}',
        '{"detail-type": "Object Created", "source": "aws.s3", "detail": {}}',
        b"\xff\xfe\x00binary",
    ],
)
def test_malformed_bodies_raise_a_clear_error(body: str | bytes) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_body(body)
    assert str(caught.value)


def test_sqs_record_without_body_is_malformed() -> None:
    with pytest.raises(MalformedEvent, match="no body"):
        parse_sqs_record({"messageId": "m", "eventSource": "aws:sqs"})


def test_is_sqs_event_needs_every_record_from_sqs() -> None:
    assert not is_sqs_event(load("s3_object_created_put.json"))
    assert not is_sqs_event({"Records": []})
    assert not is_sqs_event("text")
