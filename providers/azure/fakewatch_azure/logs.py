"""Logs Application Insights correlates with the invocation that wrote them.

In Azure Functions the Python worker forwards every record of the root logger to the host,
which sends it to Application Insights as a trace of the current invocation (same
``operation_Id`` as the request and its dependencies). What this module adds, once per
worker (:func:`configure_logging`):

- every record carries ``invocation_id`` (``func.Context.invocation_id``), ``operation_id``
  and ``parent_id`` (the trace and span ids of ``context.trace_context.trace_parent``, W3C
  ``traceparent``) and the Event Grid ``event_id`` as attributes — the custom dimensions an
  OpenTelemetry / Azure Monitor exporter records, and what a JSON formatter prints locally;
- they are taken from a context variable set per invocation by :func:`invocation_context`,
  so records of concurrent invocations on one worker never mix, and records written from
  other threads of the invocation keep them.

Nothing here logs media: callers pass blob names and outcomes only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
FIELDS = ("invocation_id", "operation_id", "parent_id", "event_id")


@dataclass(frozen=True)
class Invocation:
    invocation_id: str | None = None
    operation_id: str | None = None
    parent_id: str | None = None
    event_id: str | None = None


_NONE = Invocation()
_current: ContextVar[Invocation | None] = ContextVar("fakewatch_azure_invocation", default=None)


def parse_traceparent(value: str | None) -> tuple[str | None, str | None]:
    """(trace id, span id) of a W3C ``traceparent``; (None, None) when absent or invalid."""
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match.group(1) == "0" * 32:
        return None, None
    return match.group(1), match.group(2)


def invocation_of(context: Any, event_id: str | None = None) -> Invocation:
    """What to stamp on log records, from a ``func.Context`` (None outside the host)."""
    if context is None:
        return Invocation(event_id=event_id)
    trace = getattr(context, "trace_context", None)
    trace_id, span_id = parse_traceparent(getattr(trace, "trace_parent", None))
    return Invocation(
        invocation_id=getattr(context, "invocation_id", None),
        operation_id=trace_id,
        parent_id=span_id,
        event_id=event_id,
    )


@contextmanager
def invocation_context(invocation: Invocation) -> Iterator[Invocation]:
    token = _current.set(invocation)
    try:
        yield invocation
    finally:
        _current.reset(token)


def current() -> Invocation:
    return _current.get() or _NONE


class _Factory:
    installed = False


def configure_logging(level: str = "INFO") -> None:
    """Once per worker: stamp invocation fields on every record and set fakewatch's level."""
    if not _Factory.installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            inv = current()
            for name in FIELDS:
                if not hasattr(record, name):
                    setattr(record, name, getattr(inv, name))
            return record

        logging.setLogRecordFactory(factory)
        _Factory.installed = True
    for name in ("fakewatch", "fakewatch_azure"):
        logging.getLogger(name).setLevel(level.upper())


__all__ = [
    "Invocation",
    "configure_logging",
    "current",
    "invocation_context",
    "invocation_of",
    "parse_traceparent",
]
