"""Result events on Pub/Sub: one message per outcome, for downstream systems.

The message data is the result event as compact JSON (checked by the core's
:func:`~fakewatch.ports.notify.encode_event`); its attributes carry the verdict's key fields
so subscriptions can filter (``attributes.label = "synthetic"``) without parsing the body.
Publishing waits for the server's acknowledgement: an outcome is not done until its event is
out, and a failure raises TransientError so Eventarc redelivers and the core resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from fakewatch.errors import TransientError
from fakewatch.ports.notify import NotificationSink, encode_event

log = logging.getLogger(__name__)

# Pub/Sub limits: attribute keys 256 bytes, values 1024 bytes.
MAX_ATTRIBUTE_VALUE = 1024
ATTRIBUTE_FIELDS = (
    "verdict_id",
    "label",
    "action",
    "error_reason",
    "bucket",
    "version",
    "fingerprint",
    "pipeline_version",
)


class PublishFuture(Protocol):
    def result(self, timeout: float | None = None) -> Any: ...


class Publisher(Protocol):
    """What this sink needs of ``google.cloud.pubsub_v1.PublisherClient``."""

    def publish(self, topic: str, data: bytes, **attrs: str) -> PublishFuture: ...


def topic_path(topic: str, project: str | None) -> str:
    """``projects/P/topics/T`` from a full path, or from a bare topic name and a project."""
    if topic.startswith("projects/"):
        parts = topic.split("/")
        if len(parts) != 4 or parts[2] != "topics" or not parts[1] or not parts[3]:
            raise ValueError(f"topic {topic!r} is not projects/<project>/topics/<topic>")
        return topic
    if not project:
        raise ValueError(f"topic {topic!r} needs a project: give projects/<project>/topics/...")
    return f"projects/{project}/topics/{topic}"


def attributes_for(event: Mapping[str, Any]) -> dict[str, str]:
    """String attributes from the event's envelope and its verdict summary (``data``)."""
    attrs = {"type": str(event.get("type", "")), "source": str(event.get("source", ""))}
    data = event.get("data")
    if isinstance(data, Mapping):
        for name in ATTRIBUTE_FIELDS:
            value = data.get(name)
            if value is not None:
                attrs[name] = _clip(str(value))
    return {k: v for k, v in attrs.items() if v}


def _clip(value: str) -> str:
    raw = value.encode()
    if len(raw) <= MAX_ATTRIBUTE_VALUE:
        return value
    return raw[:MAX_ATTRIBUTE_VALUE].decode("utf-8", "ignore")


class PubSubNotificationSink(NotificationSink):
    """Publishes result events to one Pub/Sub topic and waits for each to be accepted."""

    def __init__(
        self,
        topic: str,
        publisher: Publisher | None = None,
        *,
        project: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._topic, self._project = topic, project
        self._publisher = publisher
        self.timeout_s = timeout_s

    @property
    def topic(self) -> str:
        return topic_path(self._topic, self._project)

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            self._publisher = pubsub_v1.PublisherClient()
        return self._publisher

    def publish(self, event: Mapping[str, Any]) -> None:
        data = encode_event(event)  # TypeError/ValueError/LimitExceeded: a bug, not transient
        attrs = attributes_for(event)
        topic = self.topic
        try:
            message_id = self.publisher.publish(topic, data, **attrs).result(self.timeout_s)
        except Exception as exc:  # any publish failure: retry the delivery, the core resumes
            raise TransientError(f"publishing to {topic}: {type(exc).__name__}: {exc}") from exc
        log.debug("result event published", extra={"topic": topic, "message_id": message_id})


__all__ = ["PubSubNotificationSink", "attributes_for", "topic_path"]
