"""``fakewatch audit verify``: check the hash chain of an audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from fakewatch.cli.exitcodes import FLAGGED, OK

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@app.command()
def verify(
    target: Annotated[
        str, typer.Argument(help="A .jsonl audit file, or a store URI such as s3://results/audit/")
    ],
) -> None:
    """Verify every entry links to the one before: exit 0 if intact, 3 if tampered with."""
    from fakewatch.ports.audit_store import open_audit_log

    report = open_audit_log(target).verify()
    if report.ok:
        typer.echo(f"intact: {report.entries} entries, hash chain verified")
        raise typer.Exit(OK)
    typer.echo(f"TAMPERED at entry {report.first_bad_seq}: {report.problem}", err=True)
    raise typer.Exit(FLAGGED)
