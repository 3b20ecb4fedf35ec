"""Result events for downstream systems (EventBridge, Pub/Sub, Event Grid; a file locally)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

RESULT_EVENT_TYPE = "fakewatch.scan.completed"
RESULT_EVENT_SOURCE = "fakewatch"


class NotificationSink(ABC):
    """Publishes one small event per outcome: the verdict's key fields, never media."""

    @abstractmethod
    def publish(self, event: Mapping[str, Any]) -> None:
        """Publish one result event. Raises TransientError when worth retrying."""


class NullNotificationSink(NotificationSink):
    """For deployments that want no result events."""

    def publish(self, event: Mapping[str, Any]) -> None:
        return None
