"""Log records carry the invocation's ids (what Application Insights correlates on)."""

from __future__ import annotations

import logging
import threading

import pytest

from fakewatch_azure.local import LocalContext
from fakewatch_azure.logs import (
    configure_logging,
    invocation_context,
    invocation_of,
    parse_traceparent,
)


def test_traceparent_parsing() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert parse_traceparent(trace) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") == (None, None)
    assert parse_traceparent("garbage") == (None, None)
    assert parse_traceparent(None) == (None, None)


def test_records_carry_invocation_fields_and_do_not_mix(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("INFO")
    caplog.set_level("INFO", logger="fakewatch_azure.test")
    logger = logging.getLogger("fakewatch_azure.test")
    contexts = [LocalContext(), LocalContext()]

    def work(ctx: LocalContext, n: int) -> None:
        with invocation_context(invocation_of(ctx, f"event-{n}")):
            logger.info("inside %d", n)

    threads = [threading.Thread(target=work, args=(c, i)) for i, c in enumerate(contexts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.info("outside")
    by_msg = {r.getMessage(): r for r in caplog.records if r.name == "fakewatch_azure.test"}
    for i, ctx in enumerate(contexts):
        record = by_msg[f"inside {i}"]
        assert record.invocation_id == ctx.invocation_id  # type: ignore[attr-defined]
        trace_id, span_id = parse_traceparent(ctx.trace_context.trace_parent)
        assert record.operation_id == trace_id  # type: ignore[attr-defined]
        assert record.parent_id == span_id  # type: ignore[attr-defined]
        assert record.event_id == f"event-{i}"  # type: ignore[attr-defined]
    assert by_msg["outside"].invocation_id is None  # type: ignore[attr-defined]
