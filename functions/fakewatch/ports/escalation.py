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


# -- queued jobs: the asynchronous mode where no managed async-inference service exists -----------
# The function queues an EscalationJob (Pub/Sub on GCP, a Storage queue on Azure); a GPU worker
# that scales to zero reads the object, runs the model and writes an answer document to
# ``job.output`` — under the results bucket's ``escalations/`` prefix — whose "object created"
# event brings it back to the function, which completes the verdict.
ANSWER_PREFIX = "escalations/"


@dataclass(frozen=True)
class EscalationJob:
    request_id: str
    uri: str
    mime: str
    media_kind: str
    output: str  # store URI where the worker writes the answer document
    sha256: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "request_id": self.request_id,
            "uri": self.uri,
            "mime": self.mime,
            "media_kind": self.media_kind,
            "output": self.output,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> EscalationJob:
        """A job from untrusted JSON; ValueError naming what is wrong."""
        if not isinstance(doc, Mapping):
            raise ValueError(f"a job is a JSON object, not {type(doc).__name__}")
        fields = ("request_id", "uri", "mime", "media_kind", "output")
        missing = [f for f in fields if not isinstance(doc.get(f), str) or not doc.get(f)]
        if missing:
            raise ValueError(f"job lacks {', '.join(missing)}")
        return cls(**{f: str(doc[f]) for f in fields}, sha256=str(doc.get("sha256") or ""))


def answer_document(
    request_id: str,
    endpoint: str,
    reading: SignalResult | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """What a job worker writes: the reading (the serving app's prediction) or the error."""
    doc: dict[str, Any] = {"request_id": request_id, "endpoint": endpoint}
    if reading is not None:
        doc["predictions"] = [reading.to_dict()]
    else:
        doc["error"] = error or "no reading"
    return doc


def answer_from_document(doc: Any) -> EscalationAnswer:
    """An answer document (untrusted JSON) → EscalationAnswer; a document that names its
    request but holds no usable reading is a failure answer, one that names none raises
    ValueError (nothing to complete)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("request_id"), str):
        raise ValueError("an answer document names its request_id")
    request_id, endpoint = doc["request_id"], str(doc.get("endpoint") or "queued-endpoint")
    predictions = doc.get("predictions")
    if isinstance(predictions, list) and len(predictions) == 1:
        try:
            reading = SignalResult.from_dict(predictions[0])
        except (KeyError, TypeError, ValueError) as exc:
            return EscalationAnswer(request_id, endpoint, failure=f"unusable reading: {exc}")
        return EscalationAnswer(request_id, endpoint, reading=reading)
    error = doc.get("error") or f"answer holds {len(predictions or [])} predictions, not 1"
    return EscalationAnswer(request_id, endpoint, failure=str(error)[:500])


class JobQueue(ABC):
    """Where queued escalation jobs go (a Pub/Sub topic, a Storage queue, a list in tests)."""

    name: str = "queue"

    @abstractmethod
    def send(self, job: EscalationJob) -> None:
        """Queue one job. Raises TransientError (retry) or EscalationUnavailable."""


class QueuedEscalation(EscalationClient):
    """Asynchronous escalation through a job queue and a scale-to-zero GPU worker: the
    verdict is pending until the worker's answer lands under ``answers_uri``."""

    def __init__(self, queue: JobQueue, answers_uri: str) -> None:
        if not answers_uri.endswith("/"):
            answers_uri += "/"
        self.queue, self.answers_uri = queue, answers_uri
        self.name = f"queue:{queue.name}"

    def escalate(self, request: EscalationRequest) -> SignalResult:
        job = EscalationJob(
            request_id=request.request_id,
            uri=request.uri,
            mime=request.mime,
            media_kind=request.media_kind.value,
            output=f"{self.answers_uri}{request.request_id}.json",
            sha256=request.sha256,
        )
        self.queue.send(job)
        return pending_reading(
            "learned:endpoint",
            request,
            self.name,
            f"Queued for the GPU worker on {self.queue.name}; its reading will revise this "
            "verdict. Not evidence until then.",
            output_location=job.output,
        )
