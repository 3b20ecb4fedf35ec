"""Helpers shared by the commands: loading the policy and scanner with clear errors."""

from __future__ import annotations

from pathlib import Path

import typer

from fakewatch.cli.exitcodes import USAGE
from fakewatch.errors import ConfigError, ModelIntegrityError
from fakewatch.policy import Policy, load_policy
from fakewatch.scanner import Scanner

POLICY_HELP = "Policy file (YAML/JSON); default: the built-in policy."
MODEL_HELP = "Model manifest (path or store URI) of an ONNX detector to run as well."


def fail(message: str, code: int = USAGE) -> typer.Exit:
    typer.echo(f"fakewatch: {message}", err=True)
    return typer.Exit(code)


def policy_or_exit(path: Path | None) -> Policy:
    try:
        return load_policy(path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc


def scanner_or_exit(policy: Policy, model: str | None) -> Scanner:
    from fakewatch.scanner import build_scanner

    try:
        return build_scanner(policy, model)
    except (ConfigError, ModelIntegrityError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
