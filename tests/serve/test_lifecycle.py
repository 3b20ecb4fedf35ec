"""Readiness that reflects the model, failure that the platform can see, and a graceful
shutdown that finishes in-flight requests — in-process and as the container runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fakewatch.errors import ModelIntegrityError
from fakewatch_serve.app import create_app
from fakewatch_serve.server import LoopbackServer
from fakewatch_serve.wire import decode_predictions

from .conftest import CPU, png, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def test_readiness_is_503_until_the_model_is_loaded(serve, counting) -> None:
    gate = threading.Event()
    runner = counting()

    def slow_load():  # a large model still loading
        gate.wait(10)
        return runner

    _, client = serve("azureml", ready=False, loader=slow_load)
    assert client.get("/live").status_code == 200  # the process is alive meanwhile
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "loading"
    refused = client.post("/score", content=png(), headers={"content-type": "image/png"})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "loading" in refused.json()["error"]
    gate.set()
    assert wait_ready(client, "/ready").status_code == 200
    assert client.post("/score", content=png(), headers={"content-type": "image/png"}).is_success


def test_a_model_that_fails_to_load_is_reported_not_served(serve, tmp_path: Path) -> None:
    def tampered():
        raise ModelIntegrityError("sha256 is abc, the manifest says def; refusing to load it")

    _, client = serve("azureml", ready=False, loader=tampered)
    deadline = time.monotonic() + 5
    while client.get("/ready").json()["status"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.02)
    ready = client.get("/ready")
    assert ready.status_code == 503 and "refusing to load" in ready.json()["error"]
    assert client.get("/live").status_code == 500  # so the platform restarts the container
    assert client.post("/score", json={"instances": [{"b64": "AA=="}]}).status_code == 503


def test_a_missing_manifest_fails_the_load_with_its_path(serve, tmp_path: Path) -> None:
    _, client = serve("sagemaker", ready=False, manifest=str(tmp_path / "nope.json"))
    deadline = time.monotonic() + 5
    while client.get("/ping").json()["status"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.02)
    ping = client.get("/ping")
    assert ping.status_code == 503 and "nope.json" in ping.json()["error"]


def test_graceful_shutdown_finishes_in_flight_requests(counting) -> None:
    runner = counting(delay_s=0.3)
    app = create_app("sagemaker", loader=lambda: runner, env={}, max_batch=2, max_wait_ms=0)
    server = LoopbackServer(app).start()
    client = httpx.Client(base_url=server.url, timeout=30)
    assert wait_ready(client, "/ping").status_code == 200

    def call(seed: int) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            r = c.post(
                "/invocations", content=png(seed=seed), headers={"content-type": "image/png"}
            )
            assert decode_predictions(r.content, expected=1)[0].status == "ok"
            return r.status_code

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(call, s) for s in range(6)]
        deadline = time.monotonic() + 10
        while len(server.server.server_state.tasks) < 6:  # wait until all six are in flight
            assert time.monotonic() < deadline, "requests did not arrive"
            time.sleep(0.01)
        assert sum(runner.calls) < 6  # ... and not yet answered
        assert server.stop(timeout=30)  # SIGTERM's path: stop accepting, drain, exit
        statuses = [f.result(30) for f in futures]
    assert statuses == [200] * 6  # nobody was cut off
    assert sum(runner.calls) == 6
    assert app.state.engine.state.value == "stopped"
    with pytest.raises(httpx.ConnectError):
        client.get("/ping")  # and nothing new is accepted
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_container_entrypoint_serves_and_exits_cleanly_on_sigterm(
    cnn_manifest: Path,
) -> None:
    """``python -m fakewatch_serve run`` — what the Dockerfiles start — as a real process."""
    port = _free_port()
    env = {**os.environ, "FAKEWATCH_MODEL_MANIFEST": str(cnn_manifest)}
    env["FAKEWATCH_SERVE_PROVIDERS"] = CPU[0]
    args = ["run", "--contract", "azureml", "--port", str(port), "--log-level", "info"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakewatch_serve", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "did not start"
                time.sleep(0.1)
            scored = client.post("/score", content=png(), headers={"content-type": "image/png"})
            assert decode_predictions(scored.content, expected=1)[0].status == "ok"
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert f"azureml on port {port}" in output
    assert "Application shutdown complete" in output  # the lifespan drain ran
