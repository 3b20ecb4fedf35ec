"""EventBridgeSink against moto: a rule on the bus delivers every event to an SQS queue,
where the test reads what downstream systems would receive."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fakewatch.errors import TransientError
from fakewatch.testing.contracts import NotificationSinkContract
from fakewatch_aws.notify import EventBridgeSink
from fakewatch_aws.store import make_client

from .aws_helpers import unique

pytestmark = pytest.mark.integration


@pytest.fixture
def bus_and_queue(aws: dict[str, Any], sqs_client: Any) -> tuple[str, str]:
    events = make_client("events", **aws)
    bus, rule = unique("bus"), unique("rule")
    events.create_event_bus(Name=bus)
    url = sqs_client.create_queue(QueueName=unique("results"))["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    events.put_targets(
        Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
    )
    return bus, url


def drain(sqs_client: Any, url: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        msgs = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return got
        for msg in msgs:
            got.append(json.loads(msg["Body"]))
            sqs_client.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])


class TestEventBridgeSinkContract(NotificationSinkContract):
    @pytest.fixture
    def notification_sink(
        self, aws: dict[str, Any], bus_and_queue: tuple[str, str]
    ) -> EventBridgeSink:
        return EventBridgeSink(bus_and_queue[0], **aws)

    @pytest.fixture
    def published_events(
        self, sqs_client: Any, bus_and_queue: tuple[str, str]
    ) -> Callable[[], list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []

        def read() -> list[dict[str, Any]]:
            seen.extend(e["detail"] for e in drain(sqs_client, bus_and_queue[1]))
            return list(seen)

        return read


def test_envelope_carries_source_and_detail_type(
    aws: dict[str, Any], sqs_client: Any, bus_and_queue: tuple[str, str]
) -> None:
    bus, url = bus_and_queue
    EventBridgeSink(bus, **aws).publish(
        {
            "type": "fakewatch.scan.completed",
            "source": "fakewatch",
            "id": "v1",
            "data": {"label": "synthetic"},
        }
    )
    (got,) = drain(sqs_client, url)
    assert got["source"] == "fakewatch"
    assert got["detail-type"] == "fakewatch.scan.completed"
    assert got["detail"]["data"] == {"label": "synthetic"}


def test_failed_entries_raise_transient() -> None:
    """A fake client: moto never reports per-entry failures, which EventBridge does under
    throttling with HTTP 200."""

    class Refusing:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}],
            }

    with pytest.raises(TransientError, match="ThrottlingException"):
        EventBridgeSink("bus", client=Refusing()).publish({"id": "x"})


def test_a_bus_is_required() -> None:
    with pytest.raises(ValueError, match="bus"):
        EventBridgeSink("")
