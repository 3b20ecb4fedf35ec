"""The Pub/Sub result sink (core contract, fake publisher) and Cloud Logging's JSON shape."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from fakewatch.errors import TransientError
from fakewatch.testing import NotificationSinkContract
from fakewatch_gcp.handler import handle_cloud_event
from fakewatch_gcp.logs import (
    CloudLoggingFormatter,
    Trace,
    configure_logging,
    parse_trace,
    trace_context,
)
from fakewatch_gcp.notify import PubSubNotificationSink, attributes_for, topic_path

from .fakes import FakePublisher

TOPIC = "projects/p/topics/results"


class TestPubSubSinkContract(NotificationSinkContract):
    """The core's sink contract; the publisher is a fake (no Pub/Sub emulator: see fakes.py)."""

    @pytest.fixture
    def publisher(self) -> FakePublisher:
        return FakePublisher()

    @pytest.fixture
    def notification_sink(self, publisher: FakePublisher) -> PubSubNotificationSink:
        return PubSubNotificationSink(TOPIC, publisher)

    @pytest.fixture
    def published_events(self, publisher: FakePublisher) -> Any:
        return publisher.events


def test_attributes_carry_the_verdict_key_fields() -> None:
    event = {
        "type": "fakewatch.scan.completed",
        "source": "fakewatch",
        "data": {"label": "error", "action": "review", "error_reason": "corrupt", "bucket": "b",
                 "risk_score": None, "key": "k" * 5000},
    }  # fmt: skip
    attrs = attributes_for(event)
    assert attrs == {
        "type": "fakewatch.scan.completed",
        "source": "fakewatch",
        "label": "error",
        "action": "review",
        "error_reason": "corrupt",
        "bucket": "b",
    }


def test_publish_failure_is_transient() -> None:
    sink = PubSubNotificationSink(TOPIC, FakePublisher(fail=1))
    with pytest.raises(TransientError, match="injected"):
        sink.publish({"type": "t", "source": "s", "data": {}})


@pytest.mark.parametrize(
    ("topic", "project", "expected"),
    [
        ("results", "p", "projects/p/topics/results"),
        ("projects/q/topics/r", None, "projects/q/topics/r"),
    ],
)
def test_topic_path(topic: str, project: str | None, expected: str) -> None:
    assert topic_path(topic, project) == expected


@pytest.mark.parametrize(("topic", "project"), [("results", None), ("projects/q/subs/r", "p")])
def test_bad_topic_is_refused(topic: str, project: str | None) -> None:
    with pytest.raises(ValueError, match="topic"):
        topic_path(topic, project)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            Trace("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True),
        ),
        (
            {"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"},
            Trace("105445aa7843bc8bf206b12000100000", "0000000000000001", True),
        ),
        ({"X-Cloud-Trace-Context": "garbage"}, None),
        ({}, None),
    ],
)
def test_parse_trace(headers: dict[str, str], expected: Trace | None) -> None:
    assert parse_trace(headers) == expected


def test_log_lines_are_cloud_logging_json_with_trace_and_labels() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter(project="my-project"))
    logger = logging.getLogger("fakewatch_gcp.test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        trace = Trace("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True)
        with trace_context(trace, {"event_id": "e1"}):
            logger.warning("changed before scan", extra={"key": "a/b.jpg"})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["severity"] == "WARNING"
    assert first["message"] == "changed before scan"
    assert first["logging.googleapis.com/trace"] == (
        "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert first["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert first["logging.googleapis.com/trace_sampled"] is True
    assert first["logging.googleapis.com/labels"] == {"event_id": "e1"}
    assert first["key"] == "a/b.jpg"
    assert first["logging.googleapis.com/sourceLocation"]["function"]
    assert "logging.googleapis.com/trace" not in second  # the context ended with the request


def test_configure_logging_installs_one_handler() -> None:
    stream = io.StringIO()
    first = configure_logging("p", stream=stream)
    try:
        assert configure_logging("p", stream=stream) is first
    finally:
        logging.getLogger().removeHandler(first)


def test_malformed_event_is_logged_at_error_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """A malformed event is answered 2xx (no retry loop) and leaves an ERROR line."""
    doc = {
        "id": "e9",
        "type": "google.cloud.storage.object.v1.finalized",
        "source": "//storage.googleapis.com/projects/_/buckets/b",
        "data": {"bucket": "b"},
    }
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    formatter = CloudLoggingFormatter(project="p")
    with caplog.at_level(logging.INFO, logger="fakewatch_gcp.handler"):
        assert handle_cloud_event(doc, headers=headers, runtime=object()) == []  # type: ignore[arg-type]
    (record,) = [r for r in caplog.records if r.name == "fakewatch_gcp.handler"]
    line = json.loads(formatter.format(record))
    assert line["severity"] == "ERROR"
    assert "malformed storage event" in line["message"]
    assert line["cloudevent_id"] == "e9"
