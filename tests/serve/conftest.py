"""Fixtures for the serving app: small real ONNX models, real images, servers on loopback.

Every test talks HTTP to a real uvicorn server bound to a free 127.0.0.1 port (see
:class:`fakewatch_serve.server.LoopbackServer`); nothing is mocked. Where a test needs a
slow or counting model it subclasses the real :class:`ModelRunner` (a fake over a real ONNX
session), and says so.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from fakewatch.models.runner import ModelRunner
from fakewatch.testing.onnx_models import statistic_classifier, tiny_cnn_classifier, write_model
from fakewatch_serve.app import create_app
from fakewatch_serve.server import LoopbackServer

CPU = ("CPUExecutionProvider",)


def png(rgb: tuple[int, int, int] | None = None, size: int = 48, seed: int = 0) -> bytes:
    """A PNG: a flat colour, or seeded noise."""
    if rgb is None:
        pixels = (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)
    else:
        pixels = np.full((size, size, 3), rgb, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def cnn_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("cnn"), tiny_cnn_classifier())


@pytest.fixture(scope="session")
def stat_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """logit(synthetic) = 8·R − 8·B: a red image leans synthetic, a blue one does not."""
    return write_model(tmp_path_factory.mktemp("stat"), statistic_classifier())


class CountingRunner(ModelRunner):
    """A real runner that counts ``predict`` calls and rows, optionally slowed down, so tests
    can see batching and in-flight work (a fake wrapped around a real ONNX session)."""

    delay_s: float = 0.0

    def __init__(self, base: ModelRunner, delay_s: float = 0.0) -> None:
        super().__init__(base.manifest, base.loaded, base.location)
        self.delay_s = delay_s
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.calls.append(int(batch.shape[0]))
        return super().predict(batch)


@pytest.fixture
def counting(cnn_manifest: Path) -> Callable[..., CountingRunner]:
    def make(delay_s: float = 0.0, manifest: Path | None = None) -> CountingRunner:
        base = ModelRunner.load(str(manifest or cnn_manifest), providers=CPU)
        return CountingRunner(base, delay_s)

    return make


def wait_ready(client: httpx.Client, route: str, timeout: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(route)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[LoopbackServer, httpx.Client]]]:
    """``server, client = serve("vertex", manifest=..., **options)``: started and ready."""
    started: list[tuple[LoopbackServer, httpx.Client]] = []

    def start(
        contract: str = "sagemaker", *, ready: bool = True, **options: Any
    ) -> tuple[LoopbackServer, httpx.Client]:
        options.setdefault("providers", CPU)
        options.setdefault("env", {})
        app = create_app(contract, **options)
        server = LoopbackServer(app).start()
        client = httpx.Client(base_url=server.url, timeout=30.0)
        started.append((server, client))
        if ready:
            route = app.state.config.contract.readiness_route
            assert wait_ready(client, route).status_code == 200
        return server, client

    yield start
    for server, client in started:
        client.close()
        server.stop()
