"""Each cloud's container contract, over real HTTP on loopback.

Routes, ports and payloads follow the providers' documentation (see
``fakewatch_serve/contracts.py``): SageMaker ``GET /ping`` + ``POST /invocations`` on 8080;
Vertex AI ``AIP_HTTP_PORT`` / ``AIP_HEALTH_ROUTE`` / ``AIP_PREDICT_ROUTE`` with
``{"instances"}`` → ``{"predictions"}``; Azure ML liveness, readiness and scoring routes.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fakewatch_serve.contracts import contract_for
from fakewatch_serve.wire import decode_predictions

from .conftest import png

RED, BLUE = png((230, 20, 20)), png((20, 20, 230))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_sagemaker_ping_and_invocations_with_raw_image(serve, stat_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(stat_manifest))
    ping = client.get("/ping")
    assert ping.status_code == 200
    assert ping.json()["status"] == "ready"
    assert ping.json()["provider"] == "CPUExecutionProvider"

    red = client.post("/invocations", content=RED, headers={"content-type": "image/png"})
    blue = client.post(
        "/invocations", content=BLUE, headers={"content-type": "application/octet-stream"}
    )
    assert red.status_code == blue.status_code == 200
    (r,) = decode_predictions(red.content, expected=1)
    (b,) = decode_predictions(blue.content, expected=1)
    assert r.name == "learned:endpoint" and r.status == "ok" and r.modality == "image"
    assert r.score is not None and b.score is not None
    assert r.score > 0.9 > 0.1 > b.score  # the statistic model: red leans synthetic, blue not
    assert r.details["model"]["name"] == "test-model"
    assert "leans synthetic" in r.evidence[0]


def test_sagemaker_invocations_with_json_instances(serve, stat_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(stat_manifest))
    body = {"instances": [{"b64": b64(RED)}, {"b64": b64(BLUE)}]}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200
    red, blue = decode_predictions(response.content, expected=2)
    assert red.score is not None and blue.score is not None and red.score > blue.score


def test_sagemaker_contract_port_and_bind_override() -> None:
    assert contract_for("sagemaker", {}).port == 8080
    assert contract_for("sagemaker", {"SAGEMAKER_BIND_TO_PORT": "9090"}).port == 9090
    with pytest.raises(ValueError, match="out of range"):
        contract_for("sagemaker", {"SAGEMAKER_BIND_TO_PORT": "70000"})


def test_vertex_routes_come_from_aip_variables(serve, stat_manifest: Path) -> None:
    env = {
        "AIP_HTTP_PORT": "8123",
        "AIP_HEALTH_ROUTE": "/v1/endpoints/42/deployedModels/7",
        "AIP_PREDICT_ROUTE": "/v1/endpoints/42/deployedModels/7:predict",
    }
    assert contract_for("vertex", env).port == 8123
    _, client = serve("vertex", manifest=str(stat_manifest), env=env, port=None)
    health = client.get("/v1/endpoints/42/deployedModels/7")
    assert health.status_code == 200
    response = client.post(
        "/v1/endpoints/42/deployedModels/7:predict",
        json={"instances": [{"b64": b64(BLUE), "mime": "image/png"}], "parameters": {}},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"predictions"}
    (blue,) = decode_predictions(response.content, expected=1)
    assert blue.status == "ok" and blue.score is not None and blue.score < 0.1
    # the routes of other contracts are not served
    assert client.post("/invocations", json={"instances": []}).status_code == 404
    assert client.get("/ping").status_code == 404


def test_vertex_defaults_without_aip_variables() -> None:
    spec = contract_for("vertex", {})
    assert (spec.port, spec.predict_route, spec.readiness_route) == (8080, "/predict", "/health")
    assert spec.max_request_bytes == 1_500_000
    gcs = contract_for("vertex", {"AIP_STORAGE_URI": "gs://models/det"})
    assert gcs.default_manifest() == "gs://models/det/manifest.json"


def test_azureml_liveness_readiness_and_score(serve, stat_manifest: Path) -> None:
    _, client = serve("azureml", manifest=str(stat_manifest))
    live, ready = client.get("/live"), client.get("/ready")
    assert live.status_code == ready.status_code == 200
    assert live.json() == {"status": "alive", "model": "ready"}
    response = client.post("/score", json={"instances": [{"b64": b64(RED)}]})
    assert response.status_code == 200
    (red,) = decode_predictions(response.content, expected=1)
    assert red.score is not None and red.score > 0.9
    raw = client.post("/score", content=RED, headers={"content-type": "image/png"})
    assert decode_predictions(raw.content, expected=1)[0].score == red.score


def test_azureml_model_dir_gives_the_default_manifest() -> None:
    spec = contract_for("azureml", {"AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/d/1"})
    assert spec.default_manifest() == "/var/azureml-app/azureml-models/d/1/manifest.json"
    assert contract_for("sagemaker", {}).default_manifest() == "/opt/ml/model/manifest.json"
    with pytest.raises(ValueError, match="unknown contract"):
        contract_for("lambda", {})
