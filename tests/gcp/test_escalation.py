"""Escalation from the GCP function to a Vertex AI endpoint, over real HTTP on loopback.

The serving app runs with the Vertex contract and ``AIP_PREDICT_ROUTE`` set to the public
API's path (``/v1/projects/.../endpoints/ID:predict``): Vertex forwards the request body to
the container unchanged and returns its answer, so the client talks to the container
directly, through google-auth's real ``AuthorizedSession`` (anonymous credentials — there is
no emulator for Vertex AI or its token endpoint).
"""

from __future__ import annotations

import hashlib
import io
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from PIL import Image

from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.media.types import MediaKind
from fakewatch.models.runner import ModelRunner
from fakewatch.policy import load_policy
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.scanner import build_scanner
from fakewatch.stores import get_store
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch.verdict import ObjectIdentity
from fakewatch_gcp.escalation import VertexEscalation, vertex_escalation
from fakewatch_serve.app import create_app
from fakewatch_serve.server import LoopbackServer
from fakewatch_serve.testing import running

ENDPOINT = "projects/demo/locations/us-central1/endpoints/1234"
ENV = {"AIP_PREDICT_ROUTE": f"/v1/{ENDPOINT}:predict", "AIP_HEALTH_ROUTE": "/health"}
GREY_EVERYWHERE = "escalation:\n  enabled: true\n  low: 0.0\n  high: 1.0\n"


def png(rgb: tuple[int, int, int] | None, size: int = 48) -> bytes:
    if rgb is None:
        pixels = (np.random.default_rng(1).random((size, size, 3)) * 255).astype(np.uint8)
    else:
        pixels = np.full((size, size, 3), rgb, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


RED, BLUE = png((230, 20, 20)), png((20, 20, 230))


def anonymous() -> AuthorizedSession:
    return AuthorizedSession(AnonymousCredentials())


@pytest.fixture(scope="module")
def vertex(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manifest = write_model(tmp_path_factory.mktemp("stat"), statistic_classifier())
    env = {**ENV, "FAKEWATCH_SERVE_URI_PREFIXES": "memory://vertex-media/"}
    with running("vertex", manifest=str(manifest), env=env) as server:
        yield server.url


def request_for(data: bytes | None, uri: str = "gs://inbox/red.png") -> EscalationRequest:
    sha = hashlib.sha256(data or b"").hexdigest()
    return EscalationRequest(uri, sha, MediaKind.IMAGE, "image/png", data)


def test_predict_returns_the_endpoint_reading(vertex: str) -> None:
    client = VertexEscalation(ENDPOINT, session=anonymous(), base_url=vertex)
    assert client.url == f"{vertex}/v1/{ENDPOINT}:predict"
    red, blue = client.escalate(request_for(RED)), client.escalate(request_for(BLUE))
    assert red.name == "learned:endpoint" and red.status == "ok"
    assert red.score is not None and blue.score is not None and red.score > 0.9 > 0.1 > blue.score


def test_the_public_url_is_regional() -> None:
    client = VertexEscalation(ENDPOINT, session=anonymous())
    assert client.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/"
        "projects/demo/locations/us-central1/endpoints/1234:predict"
    )
    with pytest.raises(ConfigError, match="projects/P/locations/R/endpoints/ID"):
        VertexEscalation("endpoints/1234")


def test_grey_zone_scan_uses_the_endpoint(vertex: str) -> None:
    client = vertex_escalation(ENDPOINT, session=anonymous(), base_url=vertex)
    verdict = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client).scan(RED, _ident())
    assert verdict.escalation == {"status": "used", "endpoint": "vertex:1234", "reason": None}
    assert any(s["name"] == "learned:endpoint" for s in verdict.signals)


def test_large_media_go_by_reference_and_the_container_reads_them(vertex: str) -> None:
    big = png(None, size=900)  # noise does not compress: over 1.5 MB once base64-encoded
    assert len(big) > 1_100_000
    store = get_store("memory")
    store.make_bucket("vertex-media")  # type: ignore[attr-defined]
    store.put("vertex-media", "big.png", big)
    client = VertexEscalation(ENDPOINT, session=anonymous(), base_url=vertex)
    reading = client.escalate(request_for(big, uri="memory://vertex-media/big.png"))
    assert reading.status == "ok" and reading.details["frames_scored"] == 1
    refused = client.escalate(request_for(big, uri="memory://other/big.png"))
    assert refused.status == "failed" and "not under a prefix" in refused.evidence[0]


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_endpoint_down_is_recorded_and_the_scan_is_still_decided() -> None:
    sleeps: list[float] = []
    client = vertex_escalation(ENDPOINT, session=anonymous(), base_url=_closed_port())
    client._sleep = sleeps.append
    verdict = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client).scan(RED, _ident())
    assert verdict.escalation is not None and verdict.escalation["status"] == "unavailable"
    assert "failed 3 times" in verdict.escalation["reason"]
    assert "ConnectionError" in verdict.escalation["reason"]
    assert len(sleeps) == 2 and verdict.label.value in ("no_evidence", "suspicious")


def test_not_ready_is_transient_and_a_wrong_route_is_not(vertex: str) -> None:
    gate = threading.Event()

    def loading() -> ModelRunner:
        gate.wait(30)
        raise RuntimeError("test over")

    app = create_app("vertex", loader=loading, env=ENV)
    with LoopbackServer(app) as server:
        client = VertexEscalation(ENDPOINT, session=anonymous(), base_url=server.url)
        with pytest.raises(TransientError, match="HTTP 503"):
            client.escalate(request_for(RED))
        gate.set()
    other = VertexEscalation(
        "projects/demo/locations/us-central1/endpoints/9", session=anonymous(), base_url=vertex
    )
    with pytest.raises(EscalationUnavailable, match="HTTP 404"):
        other.escalate(request_for(RED))


def _ident() -> ObjectIdentity:
    return ObjectIdentity(uri="gs://inbox/red.png", bucket="inbox", key="red.png")
