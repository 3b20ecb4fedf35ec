"""Tracing follows Powertools' rule (only in Lambda, unless disabled) without importing the
X-Ray SDK when it is off."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fakewatch_aws.telemetry import NoTracer, make_tracer, tracing_enabled


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
    ],
)
def test_tracing_rule(env: dict[str, str], expected: bool) -> None:
    assert tracing_enabled(env) is expected


def test_no_tracer_decorates_both_ways() -> None:
    def handler() -> int:
        return 7

    tracer = NoTracer()
    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_method(capture_response=False)(handler)() == 7


def test_in_lambda_the_real_tracer_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools import Tracer

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert isinstance(make_tracer(), Tracer)


def test_outside_lambda_the_xray_sdk_is_not_imported() -> None:
    code = (
        "import sys, fakewatch_aws.handler; "
        "print('aws_xray_sdk.core' in sys.modules, 'fakewatch_serve.engine' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert out.stdout.split() == ["False", "False"]
