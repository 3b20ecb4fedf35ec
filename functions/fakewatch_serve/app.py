"""The ASGI application: one app, served behind SageMaker, Vertex AI or Azure ML routes.

    app = create_app("vertex", manifest="/models/detector/manifest.json")

- **predict** (``/invocations``, ``AIP_PREDICT_ROUTE``, ``/score``): media bytes or
  ``{"instances": [...]}`` → ``{"predictions": [signal, ...]}`` (see :mod:`.wire`).
  Larger than the limit → 413; not JSON / no instances / bad base64 → 400; model not ready,
  draining or overloaded → 503 (callers retry). Unreadable media → a ``failed`` reading.
- **readiness** (``/ping``, ``AIP_HEALTH_ROUTE``, ``/ready``): 503 until the model is loaded
  and verified, 200 while it serves, 503 again once shutdown begins. The body says which
  model, which execution provider, and how batching has gone.
- **liveness** (Azure ML ``/live``): 200 while the process can recover; 500 once loading
  failed for good, so the platform restarts the container.
- **jobs** (``POST /jobs``, only with ``FAKEWATCH_SERVE_ANSWER_PREFIXES``): one queued
  escalation job per Pub/Sub push delivery, answered into the answers bucket (:mod:`.jobs`).

Lifespan: the model loads on a background thread at start-up (the port is open at once, so
platforms' TCP liveness probes pass while a large model loads). On shutdown (SIGTERM) uvicorn
stops accepting connections and lets in-flight requests finish; the engine then finishes every
queued batch before the process exits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakewatch.signals.base import SignalResult
from fakewatch_serve.batching import BatcherClosed, Overloaded
from fakewatch_serve.config import ServeConfig
from fakewatch_serve.engine import Engine, NotReady, RunnerLoader, State
from fakewatch_serve.jobs import JobRunner, jobs_route
from fakewatch_serve.wire import (
    Instance,
    PayloadError,
    PayloadTooLarge,
    parse_payload,
    predictions_document,
)

JOBS_ROUTE = "/jobs"


def create_app(
    contract: str = "sagemaker",
    manifest: str | None = None,
    *,
    config: ServeConfig | None = None,
    loader: RunnerLoader | None = None,
    **options: Any,
) -> Starlette:
    """The serving app for ``contract``; ``options`` go to :meth:`ServeConfig.build`."""
    cfg = config or ServeConfig.build(contract, manifest=manifest, **options)
    engine = Engine(cfg.engine, loader)
    routes = [
        Route(cfg.contract.predict_route, _predict, methods=["POST"]),
        Route(cfg.contract.readiness_route, _readiness, methods=["GET"]),
    ]
    if cfg.contract.liveness_route:
        routes.append(Route(cfg.contract.liveness_route, _liveness, methods=["GET"]))
    if cfg.answer_prefixes:  # the queued, scale-to-zero mode: Pub/Sub pushes jobs here
        routes.append(Route(JOBS_ROUTE, jobs_route, methods=["POST"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine.start()
        yield
        engine.drain()
        await asyncio.get_running_loop().run_in_executor(None, engine.close, cfg.shutdown_timeout_s)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.engine = engine
    app.state.config = cfg
    app.state.jobs = JobRunner(engine, cfg.answer_prefixes, endpoint=f"{cfg.contract.name}-worker")
    return app


# -- routes -----------------------------------------------------------------------------------
async def _predict(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    cfg: ServeConfig = request.app.state.config
    start = time.perf_counter()
    try:
        engine.accepting()
        body = await _read_body(request, cfg.max_request_bytes)
        instances = parse_payload(
            request.headers.get("content-type"), body, max_instances=cfg.max_instances
        )
        read = time.perf_counter()
        engine.timings.add("read", read - start)
        results = await _score(engine, instances)
    except PayloadError as exc:
        return _error(exc.status, str(exc))
    except (NotReady, BatcherClosed, Overloaded) as exc:
        return _error(503, str(exc), retry_after=1)
    scored = time.perf_counter()
    response = JSONResponse(predictions_document(results))
    done = time.perf_counter()
    engine.timings.add("encode", done - scored)
    engine.timings.request(len(instances), done - start)
    return response


async def _score(engine: Engine, instances: list[Instance]) -> list[SignalResult]:
    """Score instances in the worker pool (decode and model wait never block the loop)."""
    loop = asyncio.get_running_loop()
    if len(instances) == 1:  # the common case: no gather, one hand-off each way
        return [await loop.run_in_executor(engine.pool, engine.score, instances[0])]
    jobs = (loop.run_in_executor(engine.pool, engine.score, item) for item in instances)
    return list(await asyncio.gather(*jobs))


async def _readiness(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    status = 200 if engine.state is State.READY else 503
    return JSONResponse(engine.describe(), status_code=status)


async def _liveness(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    failed = engine.state is State.FAILED
    doc = {"status": "failed" if failed else "alive", "model": engine.state.value}
    return JSONResponse(doc, status_code=500 if failed else 200)


# -- helpers ----------------------------------------------------------------------------------
async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes before reading them where possible."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise PayloadError(f"Content-Length {declared!r} is not a number") from exc
        if size > limit:
            raise PayloadTooLarge(f"request of {size} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


__all__ = ["create_app"]
