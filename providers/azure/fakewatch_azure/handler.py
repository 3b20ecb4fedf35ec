"""What the ``scan_blob`` function does with one Event Grid event (``function_app`` forwards).

The Event Grid trigger answers Event Grid's delivery with the function's result: returning
normally is **200** (delivered, never retried); raising is a **500**, which Event Grid
retries with exponential backoff (up to the subscription's max attempts / event TTL) and then
dead-letters. (Event Grid never retries 400, 401, 403, 404 and 413; it does retry 408, 429,
500, 503 and other 5xx — so a failure worth retrying must surface as an exception.) Hence:

- a ``BlobCreated`` event → the core handles the blob: a verdict (scanned, skipped, error,
  deleted or overwritten before the scan), a duplicate, or the scanner's own output ignored —
  all return normally: recorded, never retried;
- any other event type, a Data Lake ``CreateFile`` placeholder, or an event from another
  storage account → ignored and logged, returns normally;
- a malformed event (no blob named) → logged at ERROR, returns normally: a retry cannot fix
  it, and a retry loop is the one thing worse than dropping it;
- :class:`~fakewatch.errors.TransientError` (throttling, 5xx, timeouts of Blob Storage or the
  result topic) → re-raised: Event Grid redelivers, and the core's write-once verdict and
  ``.done`` marker make the redelivery idempotent;
- any other exception escaping the core (a bug, a configuration error at cold start) →
  logged with its traceback and re-raised, so the event is retried and finally dead-lettered
  for a person instead of silently dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from fakewatch.errors import TransientError
from fakewatch.service import ObjectEvent, Outcome
from fakewatch_azure.events import MalformedEvent, as_dict, parse_storage_event
from fakewatch_azure.logs import invocation_context, invocation_of
from fakewatch_azure.runtime import Runtime, get_runtime

log = logging.getLogger("fakewatch_azure.handler")


def handle_event(event: Any, context: Any = None, runtime: Runtime | None = None) -> list[Outcome]:
    """Scan what one Event Grid event announces. Raises when Event Grid should retry."""
    try:
        storage_event = as_dict(event)
    except MalformedEvent as exc:
        log.error("malformed event dropped: %s", exc)
        return []
    with invocation_context(invocation_of(context, storage_event.id)):
        try:
            objects = parse_storage_event(storage_event)
        except MalformedEvent as exc:
            log.error("malformed storage event dropped: %s", exc)
            return []
        if not objects:
            return []
        rt = runtime or get_runtime()
        if storage_event.account and storage_event.account != rt.account:
            log.warning(
                "ignoring event from storage account %s; this function reads %s",
                storage_event.account,
                rt.account,
            )
            return []
        return [handle_object(rt, obj) for obj in objects]


def handle_object(rt: Runtime, obj: ObjectEvent) -> Outcome:
    where = {"container": obj.bucket, "blob": obj.key, "etag": obj.etag}
    try:
        outcome = rt.service.handle(obj)
    except TransientError as exc:
        log.warning("transient failure; raising so Event Grid retries: %s", exc, extra=where)
        raise
    except Exception:
        log.exception("unexpected failure; raising so Event Grid retries, then dead-letters")
        raise
    log.info("outcome", extra=outcome_fields(outcome))
    return outcome


def outcome_fields(outcome: Outcome) -> dict[str, Any]:
    """What a log line says about an outcome: identity and decision, never content."""
    verdict = outcome.verdict
    return {
        "container": outcome.event.bucket,
        "blob": outcome.event.key,
        "etag": outcome.event.etag,
        "label": outcome.label,
        "action": verdict.action.value if verdict else None,
        "error_reason": verdict.error["reason"] if verdict and verdict.error else None,
        "duplicate": outcome.duplicate,
        "steps": list(outcome.steps),
        "verdict_key": outcome.verdict_key,
        "quarantined_to": outcome.quarantined_to,
    }


__all__ = ["handle_event", "handle_object", "outcome_fields"]
