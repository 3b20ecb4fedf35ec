"""The escalation port: send grey-zone media to a heavier model on a GPU endpoint."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from fakewatch.media.types import MediaKind
from fakewatch.signals.base import SignalResult


@dataclass(frozen=True)
class EscalationRequest:
    """What the endpoint gets: the object's identity and, for real-time mode, its bytes."""

    uri: str
    sha256: str
    media_kind: MediaKind
    mime: str
    data: bytes | None = None  # None in asynchronous mode: the endpoint reads ``uri`` itself


class EscalationClient(ABC):
    """Calls a cloud's inference endpoint and answers with the core's signal schema."""

    name: str = "escalation"

    @abstractmethod
    def escalate(self, request: EscalationRequest) -> SignalResult:
        """Return the endpoint's reading. Raises EscalationUnavailable or TransientError."""
