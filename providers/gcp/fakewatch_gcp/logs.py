"""Structured logs in the shape Cloud Logging parses: one JSON object per line on stdout.

``severity`` and ``message`` become the entry's severity and summary;
``logging.googleapis.com/trace`` (``projects/P/traces/T``), ``.../spanId`` and
``.../trace_sampled`` link the entry to the request's trace; ``.../labels`` are indexed;
``.../sourceLocation`` points at the code. Any ``extra={...}`` fields land in the JSON payload.

The trace comes from the request's ``traceparent`` (W3C) or ``X-Cloud-Trace-Context``
header, set per request with :func:`trace_context` and kept in a context variable, so log
lines of concurrent requests on one instance never mix. Nothing here logs media: callers pass
object names and outcomes only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

TRACE = "logging.googleapis.com/trace"
SPAN = "logging.googleapis.com/spanId"
SAMPLED = "logging.googleapis.com/trace_sampled"
LABELS = "logging.googleapis.com/labels"
SOURCE = "logging.googleapis.com/sourceLocation"

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SEVERITY = {"WARN": "WARNING", "FATAL": "CRITICAL"}


@dataclass(frozen=True)
class Trace:
    trace_id: str
    span_id: str | None = None
    sampled: bool = False


_current: ContextVar[tuple[Trace | None, Mapping[str, str]]] = ContextVar(
    "fakewatch_gcp_trace", default=(None, {})
)


def parse_trace(headers: Mapping[str, str]) -> Trace | None:
    """The trace of a request, from ``traceparent`` or else ``X-Cloud-Trace-Context``."""
    lower = {k.lower(): v for k, v in headers.items()}
    match = _TRACEPARENT.match(lower.get("traceparent", "").strip())
    if match and match.group(1) != "0" * 32:
        return Trace(match.group(1), match.group(2), int(match.group(3), 16) & 1 == 1)
    match = _CLOUD_TRACE.match(lower.get("x-cloud-trace-context", "").strip())
    if match:
        span = format(int(match.group(2)), "016x") if match.group(2) else None
        return Trace(match.group(1).lower(), span, match.group(3) == "1")
    return None


@contextmanager
def trace_context(trace: Trace | None, labels: Mapping[str, str] | None = None) -> Iterator[None]:
    """Attach ``trace`` and ``labels`` to every log line written inside the block."""
    token = _current.set((trace, dict(labels or {})))
    try:
        yield
    finally:
        _current.reset(token)


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as one line of JSON with Cloud Logging's special fields."""

    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
            SOURCE: {
                "file": record.pathname,
                "line": str(record.lineno),
                "function": record.funcName,
            },
        }
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        trace, labels = _current.get()
        if trace is not None and self.project:
            entry[TRACE] = f"projects/{self.project}/traces/{trace.trace_id}"
            if trace.span_id:
                entry[SPAN] = trace.span_id
            entry[SAMPLED] = trace.sampled
        if labels:
            entry[LABELS] = dict(labels)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


_HANDLER_NAME = "fakewatch-gcp-cloud-logging"


def configure_logging(
    project: str | None, level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Route the root logger to stdout as Cloud Logging JSON, once per process."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(CloudLoggingFormatter(project))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


__all__ = [
    "CloudLoggingFormatter",
    "Trace",
    "configure_logging",
    "parse_trace",
    "trace_context",
]
