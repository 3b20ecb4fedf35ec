"""Where the server's time goes: the readiness document's ``timings`` and ``batching`` sums,
which the serving benchmark reads, and the thread settings behind them."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from typer.testing import CliRunner

from fakewatch.models.runner import ModelRunner
from fakewatch.testing.onnx_models import tiny_cnn_classifier, write_model
from fakewatch_serve.app import create_app
from fakewatch_serve.batching import BatchConfig
from fakewatch_serve.cli import app as cli
from fakewatch_serve.engine import EngineConfig
from fakewatch_serve.timings import PHASES

from .conftest import CountingRunner, png


def test_readiness_reports_where_the_request_time_went(serve, cnn_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(cnn_manifest), max_batch=4)
    for seed in range(3):
        raw = client.post(
            "/invocations", content=png(seed=seed), headers={"content-type": "image/png"}
        )
        assert raw.status_code == 200
    two = [{"b64": base64.b64encode(png(seed=s)).decode()} for s in (5, 6)]
    assert client.post("/invocations", json={"instances": two}).status_code == 200
    doc = client.get("/ping").json()
    timings, batching = doc["timings"], doc["batching"]
    assert timings["requests"] == 4 and timings["items"] == 5
    seconds = timings["seconds"]
    assert set(seconds) == set(PHASES)
    assert all(seconds[p] > 0 for p in ("read", "decode", "preprocess", "batch", "encode"))
    assert seconds["signal"] >= seconds["preprocess"] + seconds["batch"]  # signal contains both
    assert timings["wall_s"] >= seconds["read"] + seconds["encode"]
    assert batching["rows"] == 5 and 0 < batching["run_s"] <= seconds["batch"]
    assert sum(int(k) * v for k, v in batching["histogram"].items()) == 5


def test_refused_requests_are_not_counted_and_unreadable_media_is(serve, cnn_manifest) -> None:
    _, client = serve("sagemaker", manifest=str(cnn_manifest))
    assert (
        client.post(
            "/invocations", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    corrupt = client.post("/invocations", content=png()[:40], headers={"content-type": "image/png"})
    assert corrupt.status_code == 200 and corrupt.json()["predictions"][0]["status"] == "failed"
    doc = client.get("/ping").json()
    assert doc["timings"]["requests"] == 1  # the 400 was not served; the corrupt image was
    assert doc["timings"]["seconds"]["decode"] > 0 and doc["batching"]["rows"] == 0


def test_request_threads_follow_the_batch_size() -> None:
    assert EngineConfig(batch=BatchConfig(max_batch=40)).worker_threads() >= 80
    assert EngineConfig(batch=BatchConfig(max_batch=40), workers=3).worker_threads() == 3


class HeldRunner(CountingRunner):
    """A counting runner over the real session whose first ``predict`` waits on a gate."""

    def __init__(self, base: ModelRunner, gate: threading.Event) -> None:
        super().__init__(base)
        self.gate = gate
        self.held = 0  # rows in the held first batch

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if not self.calls:
            self.held = int(batch.shape[0])
            self.gate.wait(30)
        return super().predict(batch)


def test_a_large_max_batch_fills_beyond_the_old_fixed_pool(serve, counting) -> None:
    """40 concurrent requests behind one held batch share the next call: with a fixed pool
    of 32 request threads at most 31 could be queued behind it."""
    gate = threading.Event()
    runner = HeldRunner(counting(), gate)
    server, _ = serve("sagemaker", loader=lambda: runner, max_batch=40, max_wait_ms=0)
    engine = server.app.state.engine
    images = [png(seed=s) for s in range(40)]

    def call(data: bytes) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            headers = {"content-type": "image/png"}
            return c.post("/invocations", content=data, headers=headers).status_code

    with ThreadPoolExecutor(40) as pool:
        answers = pool.map(call, images)
        deadline = time.monotonic() + 20
        while runner.held + engine.batcher.pending < 40 and time.monotonic() < deadline:
            time.sleep(0.02)  # every other request decoded and queued behind the held batch
        gate.set()
        assert set(answers) == {200}
    assert sum(runner.calls) == 40 and runner.calls[1] == 40 - runner.held > 32


def test_intra_op_threads_reach_the_session(tmp_path: Path) -> None:
    manifest = write_model(tmp_path / "one-thread", tiny_cnn_classifier())  # its own session
    app = create_app(
        "sagemaker", str(manifest), env={}, providers=("CPUExecutionProvider",), intra_op_threads=1
    )
    engine = app.state.engine
    engine.load()
    try:
        assert engine.runner is not None
        assert engine.runner.loaded.session.get_session_options().intra_op_num_threads == 1
    finally:
        engine.close(5)


def test_the_cli_refuses_zero_threads() -> None:
    result = CliRunner().invoke(cli, ["run", "--contract", "vertex", "--threads", "0"], env={})
    assert result.exit_code == 2 and "intra_op_threads" in result.output
