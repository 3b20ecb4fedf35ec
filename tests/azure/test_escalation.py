"""Escalation from the Azure function to an Azure ML online endpoint, over real HTTP.

The serving app runs with the Azure ML contract on loopback. An Azure ML endpoint checks the
caller's bearer credential in its front end, before the container sees the request; a small
ASGI wrapper plays that front end (401 without the right key or token) — there is no
emulator for Azure ML. Entra ID tokens come from a fake credential with azure-identity's
``get_token`` shape, since no token service can be reached here.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from azure.core.credentials import AccessToken
from PIL import Image
from starlette.types import ASGIApp, Receive, Scope, Send

from fakewatch.errors import ConfigError, EscalationUnavailable
from fakewatch.media.types import MediaKind
from fakewatch.policy import load_policy
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.scanner import build_scanner
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch.verdict import ObjectIdentity
from fakewatch_azure.escalation import AzureMLEscalation, azureml_escalation
from fakewatch_serve.testing import running

KEY, TOKEN = "endpoint-primary-key", "entra-token-for-ml"
GREY_EVERYWHERE = "escalation:\n  enabled: true\n  low: 0.0\n  high: 1.0\n"


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 48, 3), rgb, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


RED = png((230, 20, 20))


class FrontEnd:
    """Azure ML's endpoint front end, as far as auth and deployment routing go."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.deployments: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/score":
            headers = dict(scope["headers"])
            auth = headers.get(b"authorization", b"").decode()
            if auth not in (f"Bearer {KEY}", f"Bearer {TOKEN}"):
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
            deployment = headers.get(b"azureml-model-deployment")
            self.deployments.append(deployment.decode() if deployment else None)
        await self.app(scope, receive, send)


class FakeCredential:
    """azure-identity's credential shape: ``get_token(*scopes) -> AccessToken``."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, 2_000_000_000)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FrontEnd]]:
    manifest = write_model(tmp_path_factory.mktemp("stat"), statistic_classifier())
    fronts: list[FrontEnd] = []

    def wrap(app: ASGIApp) -> FrontEnd:
        fronts.append(FrontEnd(app))
        return fronts[0]

    with running("azureml", manifest=str(manifest), wrap=wrap) as server:
        yield server.url + "/score", fronts[0]


def request_for(data: bytes) -> EscalationRequest:
    return EscalationRequest("az://inbox/red.png", "ab" * 32, MediaKind.IMAGE, "image/png", data)


def test_key_auth_and_deployment_header(endpoint: tuple[str, FrontEnd]) -> None:
    uri, front = endpoint
    client = AzureMLEscalation(uri, key=KEY, deployment="blue")
    reading = client.escalate(request_for(RED))
    assert reading.name == "learned:endpoint" and reading.score is not None and reading.score > 0.9
    assert front.deployments[-1] == "blue"
    assert client.name == "azureml:127"


def test_entra_token_auth_asks_for_the_ml_scope(endpoint: tuple[str, FrontEnd]) -> None:
    uri, _ = endpoint
    credential = FakeCredential()
    reading = AzureMLEscalation(uri, credential=credential).escalate(request_for(RED))
    assert reading.status == "ok"
    assert credential.scopes == [("https://ml.azure.com/.default",)]


def test_a_wrong_key_is_unavailable_not_retried(endpoint: tuple[str, FrontEnd]) -> None:
    uri, _ = endpoint
    sleeps: list[float] = []
    client = azureml_escalation(uri, key="stale-key")
    client._sleep = sleeps.append
    with pytest.raises(EscalationUnavailable, match="HTTP 401"):
        client.escalate(request_for(RED))
    assert sleeps == []  # a 401 is not retried


def test_grey_zone_scan_uses_the_endpoint(endpoint: tuple[str, FrontEnd]) -> None:
    uri, _ = endpoint
    client = azureml_escalation(uri, key=KEY)
    verdict = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client).scan(RED, _ident())
    assert verdict.escalation is not None and verdict.escalation["status"] == "used"
    assert any(s["name"] == "learned:endpoint" for s in verdict.signals)


def test_endpoint_down_is_recorded_and_the_scan_is_still_decided() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/score"
    sleeps: list[float] = []
    client = azureml_escalation(closed, key=KEY)
    client._sleep = sleeps.append
    verdict = build_scanner(load_policy(GREY_EVERYWHERE), escalation=client).scan(RED, _ident())
    assert verdict.escalation is not None and verdict.escalation["status"] == "unavailable"
    assert "failed 3 times" in verdict.escalation["reason"] and len(sleeps) == 2
    assert verdict.label.value in ("no_evidence", "suspicious")


def test_scoring_uri_must_be_a_url() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        AzureMLEscalation("my-endpoint")


def _ident() -> ObjectIdentity:
    return ObjectIdentity(uri="az://inbox/red.png", bucket="inbox", key="red.png")
