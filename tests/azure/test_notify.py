"""EventGridSink through the real azure-eventgrid client over a real HTTP round trip to a
loopback server standing in for the topic endpoint (no Event Grid emulator exists): what it
records is exactly what Event Grid would receive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from fakewatch.errors import TransientError
from fakewatch.ports.notify import RESULT_EVENT_SOURCE, RESULT_EVENT_TYPE
from fakewatch.testing.contracts import NotificationSinkContract
from fakewatch_azure.notify import EventGridSink

from .topic import TopicRecorder

KEY = "dGVzdC1rZXk="


def as_core_event(received: dict[str, Any]) -> dict[str, Any]:
    """Invert the sink's mapping: Event Grid schema → the core's result event."""
    data = received["data"]
    if "type" in data:  # a flat event travels whole as data
        return dict(data)
    return {
        "type": received["eventType"],
        "source": RESULT_EVENT_SOURCE,
        "id": received["id"],
        "data": data,
    }


def sink(topic: TopicRecorder, **kw: Any) -> EventGridSink:
    return EventGridSink(topic.endpoint, key=KEY, retry_total=0, **kw)


class TestEventGridSinkContract(NotificationSinkContract):
    @pytest.fixture
    def notification_sink(self, topic: TopicRecorder) -> EventGridSink:
        return sink(topic)

    @pytest.fixture
    def published_events(self, topic: TopicRecorder) -> Callable[[], list[dict[str, Any]]]:
        return lambda: [as_core_event(e) for e in topic.events]


def core_event() -> dict[str, Any]:
    return {
        "type": RESULT_EVENT_TYPE,
        "source": RESULT_EVENT_SOURCE,
        "id": "verdict-1",
        "data": {
            "bucket": "inbox",
            "key": "a/b c.jpg",
            "label": "synthetic",
            "action": "quarantine",
        },
    }


def test_event_grid_schema_with_key_and_subject(topic: TopicRecorder) -> None:
    sink(topic).publish(core_event())
    (request,) = topic.requests
    assert request["path"] == "/api/events?api-version=2018-01-01"
    assert request["headers"]["aeg-sas-key"] == KEY
    (event,) = topic.events
    assert event["eventType"] == RESULT_EVENT_TYPE
    assert event["id"] == "verdict-1"
    assert event["subject"] == "/blobServices/default/containers/inbox/blobs/a/b c.jpg"
    assert event["dataVersion"] == "1.0"
    assert event["data"]["label"] == "synthetic"


def test_cloudevents_schema(topic: TopicRecorder) -> None:
    sink(topic, schema="cloudevents").publish(core_event())
    (request,) = topic.requests
    assert request["headers"]["Content-Type"].startswith("application/cloudevents-batch+json")
    (event,) = topic.events
    assert (event["type"], event["source"], event["id"]) == (
        RESULT_EVENT_TYPE,
        RESULT_EVENT_SOURCE,
        "verdict-1",
    )
    assert event["specversion"] == "1.0"
    assert event["data"]["action"] == "quarantine"


@pytest.mark.parametrize("status", [429, 500, 503, 401, 403])
def test_retryable_answers_raise_transient(topic: TopicRecorder, status: int) -> None:
    """Throttling, server errors and a missing role: the delivery is retried, nothing lost."""
    topic.statuses.append(status)
    with pytest.raises(TransientError):
        sink(topic).publish(core_event())
    assert topic.events == []


def test_invalid_request_is_a_bug_not_a_retry(topic: TopicRecorder) -> None:
    topic.statuses.append(400)
    with pytest.raises(HttpResponseError) as caught:
        sink(topic).publish(core_event())
    assert not isinstance(caught.value, TransientError)


def test_unreachable_topic_is_transient() -> None:
    gone = EventGridSink("http://127.0.0.1:9/api/events", key=KEY, retry_total=0)
    with pytest.raises(TransientError):
        gone.publish(core_event())


def test_bad_schema_is_refused() -> None:
    with pytest.raises(ValueError):
        EventGridSink("http://127.0.0.1:9/api/events", key=KEY, schema="xml")
