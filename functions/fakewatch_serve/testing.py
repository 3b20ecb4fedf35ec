"""Run the serving app on loopback for a test or a local trial, ready to answer.

    with running("vertex", manifest="/models/det/manifest.json") as server:
        httpx.post(server.url + "/predict", json={"instances": [...]})

Used by the escalation clients' tests in every provider package: they escalate to this
app, on real HTTP, instead of to a cloud endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from fakewatch_serve.app import create_app
from fakewatch_serve.server import LoopbackServer

CPU_ONLY = ("CPUExecutionProvider",)


@contextmanager
def running(
    contract: str,
    *,
    manifest: str | None = None,
    env: Mapping[str, str] | None = None,
    wrap: Any = None,
    ready_timeout_s: float = 30.0,
    **options: Any,
) -> Iterator[LoopbackServer]:
    """Serve ``contract`` on a free 127.0.0.1 port until the block ends, waiting for the
    model to be ready first. ``wrap(app)`` may put a fake platform front end around it."""
    options.setdefault("providers", CPU_ONLY)
    app = create_app(contract, manifest, env=dict(env or {}), **options)
    route = app.state.config.contract.readiness_route
    server = LoopbackServer(wrap(app) if wrap else app).start()
    try:
        deadline = time.monotonic() + ready_timeout_s
        while httpx.get(server.url + route, timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{contract} app not ready after {ready_timeout_s:g}s")
            time.sleep(0.02)
        yield server
    finally:
        server.stop()


__all__ = ["CPU_ONLY", "running"]
