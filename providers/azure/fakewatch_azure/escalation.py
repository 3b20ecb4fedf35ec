"""Escalation to an Azure ML managed online endpoint running fakewatch's serving container.

``POST <scoring URI>`` (``https://<endpoint>.<region>.inference.ml.azure.com/score``) with
``{"instances": [...]}`` and ``Authorization: Bearer <credential>``: the endpoint's key
(``auth_mode: key``) or a Microsoft Entra token for ``https://ml.azure.com/.default``
(``auth_mode: aad_token``, from the function's managed identity through azure-identity).
``azureml-model-deployment`` pins a deployment when traffic is split (blue/green).

:func:`azureml_escalation` adds the deadline, retries and circuit breaker of
:class:`fakewatch.resilience.ResilientEscalation`. An object too large to inline (over the
container's default request limit of 25 MiB once Base64-encoded) is sent by reference,
``{"uri": "az://...", "sha256": ...}``, and the container reads it itself.

The asynchronous (scale-to-zero) mode queues jobs for a GPU worker instead:
:func:`queued_escalation`, :mod:`fakewatch_azure.jobs`, :mod:`fakewatch_azure.worker`.
"""

from __future__ import annotations

import base64
import logging
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
from fakewatch_azure.jobs import StorageJobQueue
from fakewatch_serve.contracts import contract_for
from fakewatch_serve.wire import decode_predictions, request_document

log = logging.getLogger(__name__)

SCOPE = "https://ml.azure.com/.default"
KEY_SETTING = fw_settings.ESCALATION_KEY  # read through Settings.extra
DEPLOYMENT_SETTING = fw_settings.ESCALATION_DEPLOYMENT
# Larger bodies go by reference: the serving container's default request limit on Azure ML.
INLINE_LIMIT = contract_for("azureml").max_request_bytes
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

        body = request_document([request], by_reference=self._by_reference(request))
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

    def _by_reference(self, request: EscalationRequest) -> bool:
        """By reference when asked, when there are no bytes, or when they are too large to
        inline (the container reads ``az://`` URIs under ``FAKEWATCH_SERVE_URI_PREFIXES``)."""
        if request.data is None or self.by_reference:
            return True
        return len(base64.b64encode(request.data)) + 256 > INLINE_LIMIT


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
    settings: Settings, *, credential: Any = None
) -> EscalationClient | None:
    """The escalation client ``FAKEWATCH_ESCALATION_*`` asks for, or None.

    ``realtime`` (default): the Azure ML scoring URI ``FAKEWATCH_ESCALATION_ENDPOINT``, with
    ``FAKEWATCH_ESCALATION_KEY`` (else a managed-identity token) and optionally
    ``FAKEWATCH_ESCALATION_DEPLOYMENT``; objects too large to inline go by reference.
    ``async``: jobs on the Storage queue ``FAKEWATCH_ESCALATION_QUEUE`` (its URL, used with the
    managed identity, or its name with ``FAKEWATCH_AZURE_CONNECTION_STRING``) for the
    scale-to-zero GPU worker, answers under
    ``az://<FAKEWATCH_ANSWERS_BUCKET or the results container>/escalations/``.
    ``credential`` replaces ``DefaultAzureCredential`` (tests)."""
    mode = settings.escalation_mode
    if mode not in ("realtime", "async"):
        raise ConfigError(f"{fw_settings.ESCALATION_MODE}: {mode!r} is not 'realtime' or 'async'")
    timeout_s = settings.escalation_timeout_s
    if mode == "async":
        return queued_escalation(settings, credential=credential)
    if not settings.escalation_endpoint:
        return None
    return azureml_escalation(
        settings.escalation_endpoint,
        key=settings.extra.get(KEY_SETTING) or None,
        credential=credential,
        deployment=settings.extra.get(DEPLOYMENT_SETTING) or None,
        timeout_s=timeout_s,
    )


def queued_escalation(settings: Settings, *, credential: Any = None) -> ResilientEscalation:
    """``async`` mode: a :class:`QueuedEscalation` on a :class:`StorageJobQueue`, with the
    deadline, retries and circuit breaker of :class:`ResilientEscalation`."""
    if not settings.escalation_queue:
        raise ConfigError(
            f"{fw_settings.ESCALATION_MODE}=async needs {fw_settings.ESCALATION_QUEUE} "
            "(the Storage queue of the GPU worker's jobs: its URL, or its name with "
            f"{fw_settings.AZURE_CONNECTION_STRING})"
        )
    if settings.escalation_endpoint:
        log.warning(
            "%s is not used in async mode; jobs go to the queue %s",
            fw_settings.ESCALATION_ENDPOINT,
            settings.escalation_queue,
        )
    timeout_s = settings.escalation_timeout_s
    queue = StorageJobQueue(
        settings.escalation_queue,
        connection_string=settings.extra.get(fw_settings.AZURE_CONNECTION_STRING) or None,
        credential=credential,
        timeout_s=timeout_s,
    )
    answers = settings.answers_bucket or settings.results_bucket
    inner = QueuedEscalation(queue, f"az://{answers}/{ANSWER_PREFIX}")
    return ResilientEscalation(inner, timeout_s=timeout_s, retries=2)


__all__ = [
    "AzureMLEscalation",
    "azureml_escalation",
    "escalation_from_settings",
    "queued_escalation",
]
