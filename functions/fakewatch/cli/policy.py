"""``fakewatch policy``: check a policy file and show the effective policy for an object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fakewatch.cli.common import policy_or_exit
from fakewatch.policy import dump_policy

app = typer.Typer(help="Check and explain policies.", no_args_is_help=True)


@app.command()
def check(
    path: Annotated[Path | None, typer.Argument(help="Policy file; default: built-in.")] = None,
    bucket: Annotated[str, typer.Option(help="Show the effective policy for this bucket...")] = "",
    key: Annotated[str, typer.Option(help="...and this key.")] = "",
) -> None:
    """Validate a policy (exit 2 with the field at fault) and print it, resolved."""
    policy = policy_or_exit(path)
    if bucket or key:
        effective = policy.for_object(bucket, key)
        typer.echo(json.dumps(effective.summary(), indent=2))
    else:
        typer.echo(dump_policy(policy), nl=False)
