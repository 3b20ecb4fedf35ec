"""The three clouds' container contracts: which port, which routes, which request limit.

- **SageMaker** (real-time and Asynchronous Inference; "Custom Inference Code with Hosting
  Services"): the platform runs ``docker run <image> serve``; the server listens on port 8080
  (``SAGEMAKER_BIND_TO_PORT`` when the platform sets it), answers ``GET /ping`` with 200 once
  it can serve and ``POST /invocations`` with the prediction. Real-time requests are capped at
  6 MB by ``InvokeEndpoint``; in async mode the platform reads the input from S3 (up to 1 GB)
  and POSTs it to the same ``/invocations``, then writes the answer to S3 itself.
- **Vertex AI** custom container: listen on ``AIP_HTTP_PORT`` (8080 when unset), answer health
  checks on ``AIP_HEALTH_ROUTE`` and predictions on ``AIP_PREDICT_ROUTE``, body
  ``{"instances": [...]}`` → ``{"predictions": [...]}``; online requests are capped at 1.5 MB,
  so large media go by reference (``{"uri": "gs://..."}``). Model artifacts are at
  ``AIP_STORAGE_URI``.
- **Azure ML** online endpoint, custom container: the environment's ``inference_config``
  names ``liveness_route``, ``readiness_route`` and ``scoring_route`` (port and path each);
  fakewatch's defaults are port 5001, ``/live``, ``/ready`` and ``/score``. The registered
  model is mounted at ``AZUREML_MODEL_DIR``.

Each contract also says where the model manifest is by default when
``FAKEWATCH_MODEL_MANIFEST`` is not set (``/opt/ml/model``, ``AIP_STORAGE_URI``,
``AZUREML_MODEL_DIR``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ContractName = Literal["sagemaker", "vertex", "azureml"]
CONTRACTS: tuple[ContractName, ...] = ("sagemaker", "vertex", "azureml")
MB = 1_000_000
MiB = 1024 * 1024

SAGEMAKER_PORT = "SAGEMAKER_BIND_TO_PORT"
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
AIP_HTTP_PORT = "AIP_HTTP_PORT"
AIP_HEALTH_ROUTE = "AIP_HEALTH_ROUTE"
AIP_PREDICT_ROUTE = "AIP_PREDICT_ROUTE"
AIP_STORAGE_URI = "AIP_STORAGE_URI"
AZUREML_MODEL_DIR = "AZUREML_MODEL_DIR"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Contract:
    """Port, routes and request limit one cloud expects of a custom container."""

    name: ContractName
    port: int
    predict_route: str
    readiness_route: str
    liveness_route: str | None
    max_request_bytes: int
    async_max_request_bytes: int
    model_dir: str | None = None  # where the platform puts model artifacts, if anywhere

    def routes(self) -> dict[str, str]:
        out = {"predict": self.predict_route, "readiness": self.readiness_route}
        if self.liveness_route:
            out["liveness"] = self.liveness_route
        return out

    def default_manifest(self) -> str | None:
        if not self.model_dir:
            return None
        return f"{self.model_dir.rstrip('/')}/{MANIFEST_FILE}"


def contract_for(name: str, env: Mapping[str, str] | None = None) -> Contract:
    """The contract ``name`` as this environment configures it."""
    env = env or {}
    if name == "sagemaker":
        return Contract(
            name="sagemaker",
            port=_port(env.get(SAGEMAKER_PORT), 8080),
            predict_route="/invocations",
            readiness_route="/ping",
            liveness_route=None,
            max_request_bytes=6 * MB,  # InvokeEndpoint's payload limit
            async_max_request_bytes=1000 * MB,  # InvokeEndpointAsync reads up to 1 GB from S3
            model_dir=SAGEMAKER_MODEL_DIR,
        )
    if name == "vertex":
        return Contract(
            name="vertex",
            port=_port(env.get(AIP_HTTP_PORT), 8080),
            predict_route=_route(env.get(AIP_PREDICT_ROUTE), "/predict"),
            readiness_route=_route(env.get(AIP_HEALTH_ROUTE), "/health"),
            liveness_route=None,  # Vertex probes liveness with a TCP connect
            max_request_bytes=1_500_000,  # online prediction request limit (1.5 MB)
            async_max_request_bytes=1_500_000,  # large media go by reference instead
            model_dir=env.get(AIP_STORAGE_URI) or None,
        )
    if name == "azureml":
        return Contract(
            name="azureml",
            port=5001,
            predict_route="/score",
            readiness_route="/ready",
            liveness_route="/live",
            max_request_bytes=25 * MiB,  # our default: FAKEWATCH_SERVE_MAX_REQUEST_BYTES
            async_max_request_bytes=200 * MiB,
            model_dir=env.get(AZUREML_MODEL_DIR) or None,
        )
    raise ValueError(f"unknown contract {name!r}; choose one of {', '.join(CONTRACTS)}")


def _port(value: str | None, default: int) -> int:
    if not value:
        return default
    try:
        port = int(value)
    except ValueError as exc:
        raise ValueError(f"port {value!r} is not a number") from exc
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return port


def _route(value: str | None, default: str) -> str:
    route = (value or default).strip()
    return route if route.startswith("/") else f"/{route}"


__all__ = ["CONTRACTS", "Contract", "ContractName", "contract_for"]
