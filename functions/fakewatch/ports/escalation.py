"""The escalation port: send grey-zone media to a heavier model on a GPU endpoint.

Real-time endpoints answer in the call. Asynchronous ones (scale-to-zero) accept the request
and answer later: the client then returns a *pending* reading (:func:`pending_reading`), the
verdict records ``escalation: pending``, and when the cloud delivers the answer the adapter
hands an :class:`EscalationAnswer` to :meth:`fakewatch.service.ScanService.complete`, which
folds it into a second revision of the verdict.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakewatch.media.types import MediaKind
from fakewatch.signals.base import SignalResult, Status

PENDING = "pending"


@dataclass(frozen=True)
class EscalationRequest:
    """What the endpoint gets: the object's identity and, for real-time mode, its bytes.

    ``request_id`` is the id of the verdict being decided: an asynchronous endpoint echoes it
    back with its answer (SageMaker's ``InferenceId``), which is how the answer finds its
    verdict."""

    uri: str
    sha256: str
    media_kind: MediaKind
    mime: str
    data: bytes | None = None  # None in asynchronous mode: the endpoint reads ``uri`` itself
    request_id: str = ""


@dataclass(frozen=True)
class EscalationAnswer:
    """An asynchronous endpoint's answer, as the adapter received it: the reading, or why
    there is none (``failure``)."""

    request_id: str
    endpoint: str
    reading: SignalResult | None = None
    failure: str | None = None

    def __post_init__(self) -> None:
        if (self.reading is None) == (self.failure is None):
            raise ValueError("an escalation answer carries a reading or a failure, not both")


class EscalationClient(ABC):
    """Calls a cloud's inference endpoint and answers with the core's signal schema."""

    name: str = "escalation"

    @abstractmethod
    def escalate(self, request: EscalationRequest) -> SignalResult:
        """Return the endpoint's reading, or a :func:`pending_reading` when the endpoint
        answers later. Raises EscalationUnavailable or TransientError."""


def pending_reading(
    name: str, request: EscalationRequest, endpoint: str, evidence: str, **details: Any
) -> SignalResult:
    """The placeholder an asynchronous client returns: not evidence, says where the answer
    will come from."""
    return SignalResult(
        name,
        Status.NOT_APPLICABLE,
        request.media_kind.value,
        evidence=(evidence,),
        details={PENDING: True, "request_id": request.request_id, "endpoint": endpoint, **details},
    )


def is_pending(reading: SignalResult | Mapping[str, Any]) -> bool:
    details = reading.details if isinstance(reading, SignalResult) else reading.get("details")
    return bool(details and details.get(PENDING))
