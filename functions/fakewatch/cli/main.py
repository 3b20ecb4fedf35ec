"""The ``fakewatch`` command: scan, watch, calibrate, demo, audit, policy — and plugins."""

from __future__ import annotations

import logging
import sys

import typer

from fakewatch import __version__
from fakewatch.cli import audit, calibrate, demo, plugins, policy, scan, watch

app = typer.Typer(
    name="fakewatch",
    help="Scan uploaded media for signs of AI generation and manipulation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(scan.scan)
app.command()(watch.watch)
app.command()(calibrate.calibrate)
app.command()(demo.demo)
app.add_typer(audit.app, name="audit")
app.add_typer(policy.app, name="policy")


@app.command()
def version() -> None:
    """Print the pipeline version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    found = plugins.discover()
    for name, ep in found.items():
        if argv and argv[0] == name:
            plugins.attach(app, name, ep)
        else:
            plugins.placeholder(app, name)
    app(args=argv, prog_name="fakewatch")


if __name__ == "__main__":
    main()
