"""What the Cloud Run function does with one CloudEvent (``main.py`` only forwards to this).

Outcomes and what Eventarc sees:

- a ``finalized`` event → the core handles the object: a verdict (scanned, skipped, error,
  deleted or overwritten before the scan), a duplicate, or the scanner's own output ignored —
  all **2xx**: recorded, never retried;
- any other storage event type → ignored and logged, **2xx**;
- a malformed event (no bucket or object name) → logged at ERROR, **2xx**: a retry cannot
  fix it, and a retry loop is the one thing worse than dropping it;
- :class:`~fakewatch.errors.TransientError` (throttling, 5xx, timeouts of storage or Pub/Sub)
  → re-raised: functions-framework answers **500** and Eventarc redelivers the same event,
  which the core's write-once verdict and ``.done`` marker make idempotent;
- any other exception escaping the core (a bug, a 400 from an API) → logged at ERROR with its
  traceback, **2xx**: it is not worth retrying for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fakewatch.errors import TransientError
from fakewatch.service import Outcome
from fakewatch_gcp.events import MalformedEvent, parse_cloud_event
from fakewatch_gcp.logs import parse_trace, trace_context
from fakewatch_gcp.runtime import Runtime, get_runtime

log = logging.getLogger("fakewatch_gcp.handler")


def request_headers() -> Mapping[str, str]:
    """The current HTTP request's headers, when called inside functions-framework's request."""
    try:
        import flask
    except ImportError:  # pragma: no cover - flask comes with functions-framework
        return {}
    return dict(flask.request.headers) if flask.has_request_context() else {}


def handle_cloud_event(
    event: Any,
    headers: Mapping[str, str] | None = None,
    runtime: Runtime | None = None,
) -> list[Outcome]:
    """Scan what one CloudEvent announces. Raises TransientError when Eventarc should retry."""
    headers = request_headers() if headers is None else headers
    rt = runtime or get_runtime()
    event_id = _attr(event, "id")
    with trace_context(parse_trace(headers), {"event_id": event_id} if event_id else None):
        try:
            objects = parse_cloud_event(event)
        except MalformedEvent as exc:
            log.error("malformed storage event dropped: %s", exc, extra={"cloudevent_id": event_id})
            return []
        outcomes = []
        for obj in objects:
            try:
                outcome = rt.service.handle(obj)
            except TransientError as exc:
                log.warning(
                    "transient failure; answering 500 so Eventarc retries: %s",
                    exc,
                    extra={"bucket": obj.bucket, "key": obj.key, "generation": obj.version},
                )
                raise
            except Exception:
                log.exception(
                    "unexpected failure; not retried",
                    extra={"bucket": obj.bucket, "key": obj.key, "generation": obj.version},
                )
                continue
            log.info("outcome", extra=outcome_fields(outcome))
            outcomes.append(outcome)
        return outcomes


def outcome_fields(outcome: Outcome) -> dict[str, Any]:
    """What a log line says about an outcome: identity and decision, never content."""
    verdict = outcome.verdict
    return {
        "bucket": outcome.event.bucket,
        "key": outcome.event.key,
        "generation": outcome.event.version,
        "label": outcome.label,
        "action": verdict.action.value if verdict else None,
        "error_reason": verdict.error["reason"] if verdict and verdict.error else None,
        "duplicate": outcome.duplicate,
        "steps": list(outcome.steps),
        "verdict_key": outcome.verdict_key,
        "quarantined_to": outcome.quarantined_to,
    }


def _attr(event: Any, name: str) -> str | None:
    try:
        value = event.get(name) if isinstance(event, Mapping) else event[name]
    except (KeyError, TypeError):
        return None
    return None if value is None else str(value)


__all__ = ["handle_cloud_event", "outcome_fields", "request_headers"]
