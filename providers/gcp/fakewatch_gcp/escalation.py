"""Escalation to a Vertex AI endpoint running fakewatch's serving container.

``POST https://{region}-aiplatform.googleapis.com/v1/{endpoint}:predict`` with
``{"instances": [...]}``; Vertex forwards the body to the container's ``AIP_PREDICT_ROUTE``
and returns its ``{"predictions": [...]}`` (plus ``deployedModelId`` and friends, ignored).
The session is google-auth's ``AuthorizedSession`` on Application Default Credentials (the
function's service account), or one injected for tests.

Online requests are capped at 1.5 MB, so ``by_reference`` (or an object too large to inline)
sends ``{"uri": "gs://...", "sha256": ...}`` and the container reads the object itself, which
it allows for the prefixes in ``FAKEWATCH_SERVE_URI_PREFIXES``.

:func:`vertex_escalation` adds the deadline, retries and circuit breaker of
:class:`fakewatch.resilience.ResilientEscalation`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

from fakewatch import settings
from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.ports.escalation import EscalationClient, EscalationRequest
from fakewatch.resilience import CircuitBreaker, ResilientEscalation
from fakewatch.signals.base import SignalResult
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
    endpoint: str | None, timeout_s: float, env: Mapping[str, str] | None = None
) -> ResilientEscalation | None:
    """From ``FAKEWATCH_ESCALATION_ENDPOINT`` (the endpoint's resource name),
    ``..._TIMEOUT_S`` and ``FAKEWATCH_ESCALATION_MODE`` (``async``: send gs:// URIs)."""
    if not endpoint:
        return None
    env = os.environ if env is None else env
    mode = env.get(settings.ESCALATION_MODE, "realtime") or "realtime"
    if mode not in ("realtime", "async"):
        raise ConfigError(f"{settings.ESCALATION_MODE}: {mode!r} is not 'realtime' or 'async'")
    return vertex_escalation(endpoint, timeout_s=timeout_s, by_reference=mode == "async")


__all__ = ["VertexEscalation", "escalation_from_settings", "vertex_escalation"]
