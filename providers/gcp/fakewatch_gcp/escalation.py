"""Escalation to a Vertex AI endpoint running fakewatch's serving container.

``POST https://{region}-aiplatform.googleapis.com/v1/{endpoint}:predict`` with
``{"instances": [...]}``; Vertex forwards the body to the container's ``AIP_PREDICT_ROUTE``
and returns its ``{"predictions": [...]}`` (plus ``deployedModelId`` and friends, ignored).
The session is google-auth's ``AuthorizedSession`` on Application Default Credentials (the
function's service account), or one injected for tests.

Online requests are capped at 1.5 MB, so an object too large to inline (or ``by_reference``)
sends ``{"uri": "gs://...", "sha256": ...}`` and the container reads the object itself, which
it allows for the prefixes in ``FAKEWATCH_SERVE_URI_PREFIXES``.

:func:`vertex_escalation` adds the deadline, retries and circuit breaker of
:class:`fakewatch.resilience.ResilientEscalation`. The asynchronous (scale-to-zero) mode
queues jobs instead: see :mod:`fakewatch_gcp.jobs`.
"""

from __future__ import annotations

import base64
from typing import Any

from fakewatch import settings as fw_settings
from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.ports.escalation import (
    ANSWER_PREFIX,
    EscalationClient,
    EscalationRequest,
    QueuedEscalation,
)
from fakewatch.resilience import CircuitBreaker, ResilientEscalation
from fakewatch.settings import Settings
from fakewatch.signals.base import SignalResult
from fakewatch_gcp.jobs import PubSubJobQueue
from fakewatch_gcp.notify import Publisher
from fakewatch_serve.wire import decode_predictions, request_document

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
INLINE_LIMIT = 1_500_000  # Vertex AI online prediction's request limit
_TRANSIENT = {429, 500, 502, 503, 504}


class VertexEscalation(EscalationClient):
    """One Vertex AI endpoint, ``projects/{p}/locations/{region}/endpoints/{id}``."""

    def __init__(
        self,
        endpoint: str,
        *,
        session: Any = None,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        by_reference: bool = False,
    ) -> None:
        parts = endpoint.strip("/").split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations":
            raise ConfigError(
                f"Vertex endpoint {endpoint!r}: expected projects/P/locations/R/endpoints/ID"
            )
        region = parts[3]
        self.endpoint = "/".join(parts)
        self.url = f"{(base_url or f'https://{region}-aiplatform.googleapis.com').rstrip('/')}"
        self.url += f"/v1/{self.endpoint}:predict"
        self.name = f"vertex:{parts[5]}"
        self.timeout_s = timeout_s
        self.by_reference = by_reference
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=[SCOPE])
            self._session = AuthorizedSession(credentials)
        return self._session

    def escalate(self, request: EscalationRequest) -> SignalResult:
        body = request_document([request], by_reference=self._by_reference(request))
        if len(body) > INLINE_LIMIT:
            raise EscalationUnavailable(f"{self.name}: request of {len(body)} bytes is over 1.5 MB")
        import requests

        try:
            response = self.session.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            message = f"{self.name}: HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code in _TRANSIENT:
                raise TransientError(message)
            raise EscalationUnavailable(message)
        (result,) = decode_predictions(response.content, expected=1)
        return result

    def _by_reference(self, request: EscalationRequest) -> bool:
        if request.data is None or self.by_reference:
            return True
        return len(base64.b64encode(request.data)) + 256 > INLINE_LIMIT  # too large to inline


def vertex_escalation(
    endpoint: str,
    *,
    session: Any = None,
    base_url: str | None = None,
    timeout_s: float = 10.0,
    retries: int = 2,
    by_reference: bool = False,
    breaker: CircuitBreaker | None = None,
) -> ResilientEscalation:
    """A Vertex AI escalation client with a deadline, retries and a circuit breaker."""
    inner = VertexEscalation(
        endpoint, session=session, base_url=base_url, timeout_s=timeout_s, by_reference=by_reference
    )
    return ResilientEscalation(inner, timeout_s=timeout_s, retries=retries, breaker=breaker)


def escalation_from_settings(
    settings: Settings, *, publisher: Publisher | None = None, project: str | None = None
) -> EscalationClient | None:
    """The escalation client ``FAKEWATCH_ESCALATION_*`` asks for, or None.

    ``realtime`` (default): the Vertex AI endpoint ``FAKEWATCH_ESCALATION_ENDPOINT``
    (``projects/P/locations/R/endpoints/ID``). ``async``: jobs on the Pub/Sub topic
    ``FAKEWATCH_ESCALATION_QUEUE`` for the scale-to-zero GPU worker, answers under
    ``gs://<FAKEWATCH_ANSWERS_BUCKET or the results bucket>/escalations/``."""
    mode = settings.escalation_mode
    if mode not in ("realtime", "async"):
        raise ConfigError(f"{fw_settings.ESCALATION_MODE}: {mode!r} is not 'realtime' or 'async'")
    timeout_s = settings.escalation_timeout_s
    if mode == "async":
        if not settings.escalation_queue:
            raise ConfigError(
                f"{fw_settings.ESCALATION_MODE}=async needs {fw_settings.ESCALATION_QUEUE} "
                "(the Pub/Sub topic of the GPU worker's jobs)"
            )
        answers = settings.answers_bucket or settings.results_bucket
        queue = PubSubJobQueue(
            settings.escalation_queue, publisher, project=project, timeout_s=timeout_s
        )
        inner = QueuedEscalation(queue, f"gs://{answers}/{ANSWER_PREFIX}")
        return ResilientEscalation(inner, timeout_s=timeout_s, retries=2)
    if not settings.escalation_endpoint:
        return None
    return vertex_escalation(settings.escalation_endpoint, timeout_s=timeout_s)


__all__ = ["VertexEscalation", "escalation_from_settings", "vertex_escalation"]
