"""Escalation to a SageMaker endpoint running fakewatch's serving container.

- **real-time**: ``sagemaker-runtime`` ``InvokeEndpoint`` with the object's bytes (up to
  6 MB); the container answers ``{"predictions": [signal]}`` and the reading joins the verdict.
- **async** (SageMaker Asynchronous Inference, scale-to-zero): ``InvokeEndpointAsync`` with the
  object's S3 URI as ``InputLocation``; SageMaker queues it, reads the object itself, runs the
  same container, writes the answer to the endpoint's S3 output path and notifies SNS, whose
  message reaches the function through the scan queue (:mod:`fakewatch_aws.async_results`).
  ``InferenceId`` is the verdict's id, so the answer finds the verdict it revises; until then
  the verdict records ``escalation: pending``.

:func:`sagemaker_escalation` wraps the client in :class:`fakewatch.resilience.ResilientEscalation`
(deadline, retries with backoff, circuit breaker): when the endpoint is down, slow or
refusing, the scan records "escalation unavailable" and carries on. botocore's own retries are
off so the two do not multiply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from fakewatch import settings
from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.ports.escalation import EscalationClient, EscalationRequest, pending_reading
from fakewatch.resilience import CircuitBreaker, ResilientEscalation
from fakewatch.signals.base import SignalResult
from fakewatch_serve.engine import SIGNAL_LABEL
from fakewatch_serve.wire import decode_predictions

Mode = Literal["realtime", "async"]
SIGNAL_NAME = f"learned:{SIGNAL_LABEL}"
_TRANSIENT_CODES = {
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalDependencyException",
    "ModelNotReadyException",
}


class SageMakerEscalation(EscalationClient):
    """One SageMaker endpoint, real-time or asynchronous."""

    def __init__(
        self,
        endpoint_name: str,
        *,
        client: Any = None,
        mode: Mode = "realtime",
        timeout_s: float = 10.0,
    ) -> None:
        if mode not in ("realtime", "async"):
            raise ConfigError(f"escalation mode {mode!r} is not 'realtime' or 'async'")
        self.endpoint_name = endpoint_name
        self.mode = mode
        self.name = f"sagemaker:{endpoint_name}"
        self._client = client or _runtime_client(timeout_s)

    def escalate(self, request: EscalationRequest) -> SignalResult:
        if self.mode == "async":
            return self._submit(request)
        if request.data is None:
            raise EscalationUnavailable(f"{self.name}: real-time escalation needs the bytes")
        response = self._call(
            "invoke_endpoint",
            EndpointName=self.endpoint_name,
            Body=request.data,
            ContentType=request.mime or "application/octet-stream",
            Accept="application/json",
        )
        body = response["Body"].read()
        (result,) = decode_predictions(body, expected=1)
        return result

    def _submit(self, request: EscalationRequest) -> SignalResult:
        if not request.uri.startswith("s3://"):
            raise EscalationUnavailable(
                f"{self.name}: asynchronous inference reads from S3; {request.uri} is not s3://"
            )
        response = self._call(
            "invoke_endpoint_async",
            EndpointName=self.endpoint_name,
            InputLocation=request.uri,
            ContentType=request.mime or "application/octet-stream",
            Accept="application/json",
            InferenceId=(request.request_id or request.sha256)[:64] or None,
        )
        output, inference_id = response.get("OutputLocation"), response.get("InferenceId")
        return pending_reading(
            SIGNAL_NAME,
            request,
            self.name,
            f"Queued on the asynchronous endpoint {self.endpoint_name} (inference "
            f"{inference_id}); its reading will revise this verdict. Not evidence until then.",
            output_location=output,
            inference_id=inference_id,
        )

    def _call(self, operation: str, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        params = {k: v for k, v in params.items() if v is not None}
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            raise _translate(self.name, exc) from exc
        except BotoCoreError as exc:  # connection refused, read timeout, DNS
            raise TransientError(f"{self.name}: {type(exc).__name__}: {exc}") from exc


def _translate(name: str, exc: Any) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    original = int(exc.response.get("OriginalStatusCode", 0) or 0)
    message = f"{name}: {code or status}: {error.get('Message', exc)}"
    if code in _TRANSIENT_CODES or status >= 500 or status == 429 or original in (429, 503):
        return TransientError(message)
    return EscalationUnavailable(message)


def _runtime_client(timeout_s: float) -> Any:
    from botocore.config import Config

    from fakewatch_aws.store import make_client

    config = Config(
        retries={"total_max_attempts": 1},  # ResilientEscalation retries, with a breaker
        connect_timeout=min(5.0, timeout_s),
        read_timeout=timeout_s,
    )
    return make_client("sagemaker-runtime", config=config)


def sagemaker_escalation(
    endpoint_name: str,
    *,
    client: Any = None,
    mode: Mode = "realtime",
    timeout_s: float = 10.0,
    retries: int = 2,
    breaker: CircuitBreaker | None = None,
) -> ResilientEscalation:
    """A SageMaker escalation client with a deadline, retries and a circuit breaker."""
    inner = SageMakerEscalation(endpoint_name, client=client, mode=mode, timeout_s=timeout_s)
    return ResilientEscalation(inner, timeout_s=timeout_s, retries=retries, breaker=breaker)


def escalation_from_settings(
    endpoint: str | None, timeout_s: float, env: Mapping[str, str] | None = None
) -> ResilientEscalation | None:
    """From ``FAKEWATCH_ESCALATION_ENDPOINT`` (the endpoint name), ``..._TIMEOUT_S`` and
    ``FAKEWATCH_ESCALATION_MODE``; None when no endpoint is configured."""
    if not endpoint:
        return None
    env = os.environ if env is None else env
    mode = env.get(settings.ESCALATION_MODE, "realtime") or "realtime"
    if mode not in ("realtime", "async"):
        raise ConfigError(f"{settings.ESCALATION_MODE}: {mode!r} is not 'realtime' or 'async'")
    return sagemaker_escalation(endpoint, mode=mode, timeout_s=timeout_s)  # type: ignore[arg-type]


__all__ = ["SageMakerEscalation", "escalation_from_settings", "sagemaker_escalation"]
