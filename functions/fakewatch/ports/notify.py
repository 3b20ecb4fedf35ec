"""Result events for downstream systems (EventBridge, Pub/Sub, Event Grid; a file locally)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from fakewatch.errors import LimitExceeded

RESULT_EVENT_TYPE = "fakewatch.scan.completed"
RESULT_EVENT_SOURCE = "fakewatch"
MAX_EVENT_BYTES = 256 * 1024  # EventBridge's limit, the smallest of the three clouds' buses


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The event as compact UTF-8 JSON, checked the way every sink must check it.

    Raises TypeError when it holds something JSON cannot carry, ValueError for NaN or
    infinities, and LimitExceeded("event bytes", ...) above MAX_EVENT_BYTES.
    """
    if not isinstance(event, Mapping):
        raise TypeError(f"an event is a mapping, not {type(event).__name__}")
    body = json.dumps(dict(event), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    data = body.encode()
    if len(data) > MAX_EVENT_BYTES:
        raise LimitExceeded("event bytes", len(data), MAX_EVENT_BYTES)
    return data


class NotificationSink(ABC):
    """Publishes one small event per outcome: the verdict's key fields, never media."""

    @abstractmethod
    def publish(self, event: Mapping[str, Any]) -> None:
        """Publish one result event. Raises TransientError when worth retrying."""


class NullNotificationSink(NotificationSink):
    """For deployments that want no result events."""

    def publish(self, event: Mapping[str, Any]) -> None:
        return None
