"""Result events on Amazon EventBridge.

Each outcome becomes one ``PutEvents`` entry on the bus named by ``FAKEWATCH_RESULT_TOPIC``:
``Source`` and ``DetailType`` from the event (``fakewatch`` / ``fakewatch.scan.completed``),
``Detail`` the whole event as JSON, so a rule can match ``detail.data.label`` or
``detail.data.action``. ``PutEvents`` can fail per entry with HTTP 200: a non-zero
``FailedEntryCount`` raises TransientError, so the record is retried, not lost.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from fakewatch.errors import TransientError
from fakewatch.ports.notify import (
    RESULT_EVENT_SOURCE,
    RESULT_EVENT_TYPE,
    NotificationSink,
    encode_event,
)
from fakewatch_aws.errors import aws_errors
from fakewatch_aws.store import make_client


class EventBridgeSink(NotificationSink):
    """``EventBridgeSink("my-bus")``; the ``events`` client is injected or built lazily."""

    def __init__(self, bus: str, client: Any = None, **client_kwargs: Any) -> None:
        if not bus:
            raise ValueError("an EventBridge sink needs an event bus name or ARN")
        self.bus = bus
        self._client = client
        self._client_kwargs = client_kwargs
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client("events", **self._client_kwargs)
        return self._client

    def entry(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The PutEvents entry for one event (checked: JSON-safe, within 256 KiB)."""
        detail = encode_event(event).decode()
        return {
            "EventBusName": self.bus,
            "Source": str(event.get("source") or RESULT_EVENT_SOURCE),
            "DetailType": str(event.get("type") or RESULT_EVENT_TYPE),
            "Detail": detail,
        }

    def publish(self, event: Mapping[str, Any]) -> None:
        entry = self.entry(event)
        with aws_errors(f"event bus {self.bus}"):
            resp = self.client.put_events(Entries=[entry])
        if resp.get("FailedEntryCount", 0):
            failed: dict[str, Any] = next(
                (e for e in resp.get("Entries", []) if e.get("ErrorCode")), {}
            )
            raise TransientError(
                f"EventBridge refused the result event on {self.bus}: "
                f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            )
