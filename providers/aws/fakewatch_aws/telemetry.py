"""Powertools Logger, Metrics and Tracer, one of each per process, and what they record.

Metrics go out as CloudWatch Embedded Metric Format (namespace ``fakewatch``): ``records``
(SQS messages handled), ``scans``,
``label_<label>``, ``errors``, ``quarantined``, ``duplicates``, ``duration`` (ms),
``ignored_events``, ``malformed_events``, ``transient_failures``. Tracing is off outside
Lambda (no ``LAMBDA_TASK_ROOT``) or with ``POWERTOOLS_TRACE_DISABLED=true`` — Powertools'
own rule — and then the X-Ray SDK is not even imported (a disabled Powertools ``Tracer``
still imports it: ~0.4 s of cold start for nothing).
Nothing here logs media, frames or faces: only object identities and outcomes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from fakewatch.service import Outcome

SERVICE_NAME = "fakewatch-scanner"
NAMESPACE = "fakewatch"


def tracing_enabled(env: Any = None) -> bool:
    env = os.environ if env is None else env
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower()
    return bool(env.get("LAMBDA_TASK_ROOT")) and disabled not in ("1", "true", "yes", "on")


class NoTracer:
    """The decorators of Powertools' Tracer, doing nothing: for processes that do not trace."""

    def capture_lambda_handler(self, fn: Any = None, **_: Any) -> Any:
        return fn if fn is not None else _identity

    def capture_method(self, fn: Any = None, **_: Any) -> Any:
        return fn if fn is not None else _identity


def _identity(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


def make_tracer() -> Any:
    if not tracing_enabled():
        return NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE_NAME)


logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE_NAME)
tracer = make_tracer()

# The core and the adapter log through the standard library: give them the same JSON format.
copy_config_to_registered_loggers(source_logger=logger, include={"fakewatch", "fakewatch_aws"})


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_outcome(outcome: Outcome, duration_ms: float) -> None:
    """Metrics and one structured log line for one handled object event."""
    metrics.add_metric(name="duration", unit=MetricUnit.Milliseconds, value=duration_ms)
    if outcome.duplicate:
        count("duplicates")
    if outcome.verdict is None:
        logger.info("no new verdict", extra=outcome_summary(outcome))
        return
    revised = outcome.verdict.revision > 1  # an asynchronous escalation's answer
    count("revisions" if revised else "scans")
    count(f"label_{outcome.verdict.label.value}")
    if outcome.verdict.error:
        count("errors")
    if outcome.quarantined_to:
        count("quarantined")
    logger.info("revised" if revised else "scanned", extra=outcome_summary(outcome))


def outcome_summary(outcome: Outcome) -> dict[str, Any]:
    """The outcome as small JSON: what the handler returns and idempotency stores."""
    verdict = outcome.verdict
    return {
        "bucket": outcome.event.bucket,
        "key": outcome.event.key,
        "label": verdict.label.value if verdict else None,
        "action": verdict.action.value if verdict else None,
        "error_reason": (verdict.error or {}).get("reason") if verdict else None,
        "verdict_key": outcome.verdict_key,
        "duplicate": outcome.duplicate,
        "quarantined_to": outcome.quarantined_to,
        "steps": list(outcome.steps),
    }
