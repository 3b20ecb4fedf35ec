"""fakewatch_serve: the GPU inference endpoint, one application behind three clouds' contracts.

The same ASGI application answers SageMaker (``/ping``, ``/invocations``, port 8080), Vertex AI
custom containers (``AIP_HTTP_PORT``, ``AIP_HEALTH_ROUTE``, ``AIP_PREDICT_ROUTE``) and Azure ML
online endpoints (liveness, readiness and scoring routes). It loads an ONNX detector by model
manifest, micro-batches concurrent requests into one inference call, and answers every instance
with the core's signal schema (:meth:`fakewatch.signals.base.SignalResult.to_dict`).

Importing this package is cheap and needs neither Starlette nor uvicorn: the escalation clients
in the provider packages import :mod:`fakewatch_serve.wire` only. The server lives in
:mod:`fakewatch_serve.app` (``create_app``) and :mod:`fakewatch_serve.server`.
"""

from __future__ import annotations

WIRE_VERSION = "1"

__all__ = ["WIRE_VERSION"]
