"""Optional GPU escalation endpoint on Vertex AI.

The Vertex AI endpoint is a native resource; uploading a custom-container model and deploying it
to the endpoint has no resource in pulumi-gcp (the Terraform provider has none), so
:class:`VertexModelDeployment` is a Pulumi dynamic resource that calls the Vertex AI REST API
(``models:upload``, ``endpoints.deployModel``, ``undeployModel``, ``models.delete``) with
Application Default Credentials, waiting on each long-running operation.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import pulumi
import pulumi_gcp as gcp
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import physical

SERVING_PORT = 8080
PREDICT_ROUTE = "/predict"
HEALTH_ROUTE = "/health"
OPERATION_TIMEOUT_S = 3600


class HttpResponse(Protocol):
    status_code: int

    def json(self) -> Any: ...


class HttpSession(Protocol):
    def request(self, method: str, url: str, json: Any = None) -> HttpResponse: ...


def default_session() -> HttpSession:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session: HttpSession = AuthorizedSession(credentials)  # type: ignore[assignment]
    return session


class VertexApiError(RuntimeError):
    pass


class VertexApi:
    """The handful of Vertex AI v1 calls the deployment needs."""

    def __init__(
        self,
        region: str,
        session: HttpSession,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = f"https://{region}-aiplatform.googleapis.com/v1"
        self.session = session
        self.sleep = sleep

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.session.request(method, f"{self.base}/{path}", json=body)
        payload = response.json() if response.status_code != 204 else {}
        if response.status_code >= 400:
            message = payload.get("error", {}).get("message", payload)
            raise VertexApiError(f"Vertex AI {method} {path}: {response.status_code} {message}")
        return dict(payload)

    def wait(self, operation: dict[str, Any]) -> dict[str, Any]:
        """Poll a long-running operation until done; its ``response`` or an error."""
        deadline, delay = OPERATION_TIMEOUT_S, 2.0
        waited = 0.0
        while not operation.get("done"):
            if waited >= deadline:
                raise VertexApiError(f"operation {operation.get('name')} still running")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 30.0)
            operation = self.call("GET", str(operation["name"]))
        if "error" in operation:
            raise VertexApiError(f"operation {operation.get('name')}: {operation['error']}")
        return dict(operation.get("response", {}))


def upload_body(props: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "imageUri": props["image_uri"],
        "predictRoute": PREDICT_ROUTE,
        "healthRoute": HEALTH_ROUTE,
        "ports": [{"containerPort": SERVING_PORT}],
    }
    model: dict[str, Any] = {"displayName": props["display_name"], "containerSpec": container}
    if props.get("artifact_uri"):
        model["artifactUri"] = props["artifact_uri"]
    return {"model": model}


def deploy_body(props: dict[str, Any], model: str) -> dict[str, Any]:
    machine: dict[str, Any] = {"machineType": props["machine_type"]}
    metric = "aiplatform.googleapis.com/prediction/online/cpu/utilization"
    if props.get("accelerator_type"):
        machine.update(acceleratorType=props["accelerator_type"], acceleratorCount=1)
        metric = "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
    return {
        "deployedModel": {
            "model": model,
            "displayName": props["display_name"],
            "dedicatedResources": {
                "machineSpec": machine,
                "minReplicaCount": int(props["min_replicas"]),
                "maxReplicaCount": int(props["max_replicas"]),
                "autoscalingMetricSpecs": [{"metricName": metric, "target": 60}],
            },
        },
        "trafficSplit": {"0": 100},
    }


class VertexModelProvider(ResourceProvider):
    """Upload + deploy on create, undeploy + delete on delete; any change replaces."""

    def __init__(
        self,
        session_factory: Callable[[], HttpSession] = default_session,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session_factory = session_factory
        self.sleep = sleep

    def _api(self, props: dict[str, Any]) -> VertexApi:
        return VertexApi(str(props["region"]), self.session_factory(), self.sleep)

    def create(self, props: dict[str, Any]) -> CreateResult:
        api = self._api(props)
        parent = f"projects/{props['project']}/locations/{props['region']}"
        uploaded = api.wait(api.call("POST", f"{parent}/models:upload", upload_body(props)))
        model = str(uploaded["model"])
        deployed = api.wait(
            api.call("POST", f"{props['endpoint']}:deployModel", deploy_body(props, model))
        )
        deployed_id = str(deployed["deployedModel"]["id"])
        return CreateResult(
            id_=f"{props['endpoint']}/deployedModels/{deployed_id}",
            outs={**props, "model": model, "deployed_model_id": deployed_id},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in news if not k.startswith("__") and olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        api = self._api(props)
        body = {"deployedModelId": props["deployed_model_id"]}
        api.wait(api.call("POST", f"{props['endpoint']}:undeployModel", body))
        api.wait(api.call("DELETE", str(props["model"])))


class VertexModelDeployment(pulumi.dynamic.Resource):
    model: pulumi.Output[str]
    deployed_model_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: dict[str, pulumi.Input[Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            VertexModelProvider(),
            name,
            {**props, "model": None, "deployed_model_id": None},
            opts,
        )


def endpoint_id(cfg: ScannerConfig) -> str:
    """Vertex endpoint ids are numeric (at most 10 digits, no leading zero): derive a stable one."""
    digest = int(hashlib.sha256(cfg.base_name.encode()).hexdigest(), 16)
    return str(1_000_000_000 + digest % 8_999_999_999)


class VertexEndpoint(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        project: str,
        labels: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:VertexEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gpu = cfg.gpu
        self.endpoint = gcp.vertex.AiEndpoint(
            name,
            project=project,
            location=cfg.region,
            region=cfg.region,
            name=endpoint_id(cfg),
            display_name=physical(cfg, "escalation"),
            labels=labels,
            opts=child,
        )
        self.deployment = VertexModelDeployment(
            f"{name}-model",
            {
                "project": project,
                "region": cfg.region,
                "endpoint": self.endpoint.id,
                "display_name": physical(cfg, "escalation-model"),
                "image_uri": gpu.image_uri,
                "artifact_uri": gpu.model_data_url,
                "machine_type": gpu.instance_type,
                "accelerator_type": gpu.accelerator_type,
                "min_replicas": gpu.min_instances,
                "max_replicas": gpu.max_instances,
            },
            opts=child,
        )
        self.resource_name = self.endpoint.id
        self.register_outputs({"resource_name": self.resource_name})
