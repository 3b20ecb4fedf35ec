"""Escalation to an Azure ML managed online endpoint running fakewatch's serving container.

``POST <scoring URI>`` (``https://<endpoint>.<region>.inference.ml.azure.com/score``) with
``{"instances": [...]}`` and ``Authorization: Bearer <credential>``: the endpoint's key
(``auth_mode: key``) or a Microsoft Entra token for ``https://ml.azure.com/.default``
(``auth_mode: aad_token``, from the function's managed identity through azure-identity).
``azureml-model-deployment`` pins a deployment when traffic is split (blue/green).

:func:`azureml_escalation` adds the deadline, retries and circuit breaker of
:class:`fakewatch.resilience.ResilientEscalation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fakewatch import settings
from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.ports.escalation import EscalationClient, EscalationRequest
from fakewatch.resilience import CircuitBreaker, ResilientEscalation
from fakewatch.signals.base import SignalResult
from fakewatch_serve.wire import decode_predictions, request_document

SCOPE = "https://ml.azure.com/.default"
KEY_SETTING = settings.ESCALATION_KEY  # read through Settings.extra
DEPLOYMENT_SETTING = settings.ESCALATION_DEPLOYMENT
_TRANSIENT = {408, 429, 500, 502, 503, 504}


class AzureMLEscalation(EscalationClient):
    """One online endpoint's scoring URI, with a key or an Entra ID credential."""

    def __init__(
        self,
        scoring_uri: str,
        *,
        key: str | None = None,
        credential: Any = None,
        deployment: str | None = None,
        session: Any = None,
        timeout_s: float = 10.0,
        by_reference: bool = False,
    ) -> None:
        if not scoring_uri.startswith(("https://", "http://")):
            raise ConfigError(f"Azure ML scoring URI {scoring_uri!r} is not an http(s) URL")
        self.scoring_uri = scoring_uri
        self.name = f"azureml:{scoring_uri.split('//', 1)[1].split('.', 1)[0].split('/', 1)[0]}"
        self._key = key
        self._credential = credential
        self.deployment = deployment
        self.timeout_s = timeout_s
        self.by_reference = by_reference
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def _bearer(self) -> str:
        if self._key:
            return self._key
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        try:
            return str(self._credential.get_token(SCOPE).token)
        except Exception as exc:  # no identity, token endpoint down: not worth a retry here
            raise EscalationUnavailable(f"{self.name}: no Entra ID token: {exc}") from exc

    def escalate(self, request: EscalationRequest) -> SignalResult:
        import requests

        body = request_document([request], by_reference=self.by_reference)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._bearer()}"}
        if self.deployment:
            headers["azureml-model-deployment"] = self.deployment
        try:
            response = self.session.post(
                self.scoring_uri, data=body, headers=headers, timeout=self.timeout_s
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


def azureml_escalation(
    scoring_uri: str,
    *,
    key: str | None = None,
    credential: Any = None,
    deployment: str | None = None,
    session: Any = None,
    timeout_s: float = 10.0,
    retries: int = 2,
    by_reference: bool = False,
    breaker: CircuitBreaker | None = None,
) -> ResilientEscalation:
    """An Azure ML escalation client with a deadline, retries and a circuit breaker."""
    inner = AzureMLEscalation(
        scoring_uri,
        key=key,
        credential=credential,
        deployment=deployment,
        session=session,
        timeout_s=timeout_s,
        by_reference=by_reference,
    )
    return ResilientEscalation(inner, timeout_s=timeout_s, retries=retries, breaker=breaker)


def escalation_from_settings(
    endpoint: str | None, timeout_s: float, env: Mapping[str, str] | None = None
) -> ResilientEscalation | None:
    """From ``FAKEWATCH_ESCALATION_ENDPOINT`` (the scoring URI), ``..._TIMEOUT_S``,
    ``..._MODE`` (``async``: send blob URIs), and optionally ``FAKEWATCH_ESCALATION_KEY``
    (else the managed identity's token) and ``FAKEWATCH_ESCALATION_DEPLOYMENT``."""
    if not endpoint:
        return None
    env = os.environ if env is None else env
    mode = env.get(settings.ESCALATION_MODE, "realtime") or "realtime"
    if mode not in ("realtime", "async"):
        raise ConfigError(f"{settings.ESCALATION_MODE}: {mode!r} is not 'realtime' or 'async'")
    return azureml_escalation(
        endpoint,
        key=env.get(KEY_SETTING) or None,
        deployment=env.get(DEPLOYMENT_SETTING) or None,
        timeout_s=timeout_s,
        by_reference=mode == "async",
    )


__all__ = ["AzureMLEscalation", "azureml_escalation", "escalation_from_settings"]
