"""Escalation from the AWS function to a SageMaker endpoint, over real HTTP on loopback.

Real-time: boto3's ``sagemaker-runtime`` calls ``POST /endpoints/<name>/invocations``, the
public runtime API, while the container serves ``POST /invocations``. No emulator implements
the runtime API in front of a real container (moto answers with canned data), so a tiny
loopback shim plays SageMaker's front end: it forwards the body to the fakewatch serving app
running locally and, like SageMaker, turns a container's non-200 answer into a 424
``ModelError`` carrying ``OriginalStatusCode``. Everything else is real: boto3, signing,
HTTP, the serving app, the ONNX model, the core's Scanner and ScanService.

Asynchronous mode (``InvokeEndpointAsync``) is tested against the moto server, which
accepts the call and returns an output location the way SageMaker does.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakewatch.errors import EscalationUnavailable, TransientError
from fakewatch.media.types import MediaKind
from fakewatch.models.runner import ModelRunner
from fakewatch.policy import load_policy
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.ports.memory import MemoryAuditLog, MemoryNotificationSink, MemoryStore
from fakewatch.resilience import CircuitBreaker
from fakewatch.scanner import build_scanner
from fakewatch.service import ObjectEvent, ScanService
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch_aws.emulator import REGION
from fakewatch_aws.escalation import SageMakerEscalation, sagemaker_escalation
from fakewatch_aws.store import make_client
from fakewatch_serve.server import LoopbackServer
from fakewatch_serve.testing import CPU_ONLY, running

ENDPOINT = "fakewatch-gpu"
GREY_EVERYWHERE = "escalation:\n  enabled: true\n  low: 0.0\n  high: 1.0\n"


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 48, 3), rgb, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


RED = png((230, 20, 20))


def sagemaker_front_end(container: str) -> Starlette:
    """SageMaker's runtime API in front of a container (see the module docstring)."""

    async def invoke(request: Request) -> Response:
        if request.path_params["name"] != ENDPOINT:
            msg = {"message": f"Endpoint {request.path_params['name']} not found."}
            return JSONResponse(msg, 400, headers={"x-amzn-ErrorType": "ValidationError"})
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(
                container + "/invocations",
                content=await request.body(),
                headers={"content-type": request.headers.get("content-type", "")},
            )
        if answer.status_code == 200:
            return Response(answer.content, media_type="application/json")
        error = {
            "message": f"Received server error ({answer.status_code}) from primary",
            "OriginalStatusCode": answer.status_code,
            "OriginalMessage": answer.text,
        }
        return JSONResponse(error, 424, headers={"x-amzn-ErrorType": "ModelError"})

    return Starlette(routes=[Route("/endpoints/{name}/invocations", invoke, methods=["POST"])])


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("stat"), statistic_classifier())


@pytest.fixture(scope="module")
def sagemaker(manifest: Path) -> Iterator[str]:
    """The runtime API's URL, in front of the serving app with the SageMaker contract."""
    with (
        running("sagemaker", manifest=str(manifest)) as container,
        LoopbackServer(sagemaker_front_end(container.url)) as front,
    ):
        yield front.url


def runtime(url: str, aws: dict[str, Any], **config: Any) -> Any:
    from botocore.config import Config

    cfg = Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=2)
    return make_client("sagemaker-runtime", endpoint_url=url, region_name=REGION, config=cfg)


def request_for(data: bytes, uri: str = "s3://inbox/red.png") -> EscalationRequest:
    return EscalationRequest(uri, "ab" * 32, MediaKind.IMAGE, "image/png", data)


def test_realtime_escalation_returns_the_endpoint_reading(sagemaker: str, aws: Any) -> None:
    client = SageMakerEscalation(ENDPOINT, client=runtime(sagemaker, aws))
    reading = client.escalate(request_for(RED))
    assert reading.name == "learned:endpoint" and reading.status == "ok"
    assert reading.score is not None and reading.score > 0.9
    assert reading.details["model"]["name"] == "test-model"


def test_grey_zone_scan_uses_the_endpoint(sagemaker: str, aws: Any) -> None:
    client = sagemaker_escalation(ENDPOINT, client=runtime(sagemaker, aws), timeout_s=10)
    scanner = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client)
    verdict = scanner.scan(RED, _identity())
    assert verdict.escalation == {
        "status": "used",
        "endpoint": f"sagemaker:{ENDPOINT}",
        "reason": None,
    }
    names = [s["name"] for s in verdict.signals]
    assert "learned:endpoint" in names
    assert verdict.risk_score is not None and verdict.risk_score > 0


def test_unknown_endpoint_is_unavailable_without_retries(sagemaker: str, aws: Any) -> None:
    client = SageMakerEscalation("no-such-endpoint", client=runtime(sagemaker, aws))
    with pytest.raises(EscalationUnavailable, match="ValidationError"):
        client.escalate(request_for(RED))


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_endpoint_down_the_object_is_still_handled(aws: Any) -> None:
    sleeps: list[float] = []
    client = sagemaker_escalation(
        ENDPOINT, client=runtime(_closed_port(), aws), timeout_s=5, retries=2
    )
    client._sleep = sleeps.append  # no real waiting between retries
    store = MemoryStore(["inbox", "results"])
    store.put("inbox", "red.png", RED)
    service = ScanService(
        store=store,
        scanner=build_scanner(load_policy(GREY_EVERYWHERE), escalation=client),
        results_bucket="results",
        audit=MemoryAuditLog(),
        notifier=MemoryNotificationSink(),
    )
    outcome = service.handle(ObjectEvent("inbox", "red.png"))
    assert outcome.verdict is not None and outcome.verdict_key is not None
    escalation = outcome.verdict.escalation
    assert escalation is not None and escalation["status"] == "unavailable"
    assert (
        "failed 3 times" in escalation["reason"]
        and "EndpointConnectionError" in escalation["reason"]
    )
    assert len(sleeps) == 2  # two backed-off retries
    assert outcome.verdict.label.value in ("no_evidence", "suspicious")  # still decided
    assert store.head("results", outcome.verdict_key).size > 0  # and recorded


class SlowRunner(ModelRunner):
    """The real model, one second slower per batch: an overloaded GPU."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        import time

        time.sleep(1.0)
        return super().predict(batch)


def test_slow_endpoint_times_out_and_opens_the_breaker(manifest: Path, aws: Any) -> None:
    base = ModelRunner.load(str(manifest), providers=CPU_ONLY)
    slow = SlowRunner(base.manifest, base.loaded, base.location)
    with (
        running("sagemaker", loader=lambda: slow) as container,
        LoopbackServer(sagemaker_front_end(container.url)) as front,
    ):
        breaker = CircuitBreaker(failure_threshold=1, reset_after_s=60)
        client = sagemaker_escalation(
            ENDPOINT, client=runtime(front.url, aws), timeout_s=0.3, breaker=breaker
        )
        scanner = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client)
        first = scanner.scan(RED, _identity())
        second = scanner.scan(RED, _identity())
    assert first.escalation is not None and "timed out" in first.escalation["reason"]
    assert (
        second.escalation is not None and "circuit breaker is open" in second.escalation["reason"]
    )
    assert first.label == second.label  # both still decided from the cheap signals


def test_a_container_not_ready_is_a_transient_model_error(aws: Any) -> None:
    import threading

    gate = threading.Event()
    app_loaded: list[bool] = []

    def never() -> ModelRunner:
        gate.wait(30)
        app_loaded.append(True)
        raise RuntimeError("test over")

    from fakewatch_serve.app import create_app

    app = create_app("sagemaker", loader=never, env={})
    with (
        LoopbackServer(app) as container,
        LoopbackServer(sagemaker_front_end(container.url)) as front,
    ):
        client = SageMakerEscalation(ENDPOINT, client=runtime(front.url, aws))
        with pytest.raises(TransientError, match="ModelError"):
            client.escalate(request_for(RED))
        gate.set()


def test_async_mode_submits_the_s3_uri(aws: dict[str, Any]) -> None:
    client = SageMakerEscalation(
        ENDPOINT, client=make_client("sagemaker-runtime", **aws), mode="async"
    )
    reading = client.escalate(request_for(b"", uri="s3://inbox/big/video.mp4"))
    assert reading.status == "not_applicable" and reading.details["pending"] is True
    assert str(reading.details["output_location"]).startswith("s3://")
    assert "asynchronous endpoint" in reading.evidence[0]
    with pytest.raises(EscalationUnavailable, match="reads from S3"):
        client.escalate(request_for(b"", uri="gs://elsewhere/x.mp4"))


def _identity() -> Any:
    from fakewatch.verdict import ObjectIdentity

    return ObjectIdentity(uri="s3://inbox/red.png", bucket="inbox", key="red.png")
