"""Sub-commands contributed by optional packages through the ``fakewatch.cli`` entry points.

Only the plugin being invoked is imported, so ``fakewatch scan`` never pays for a cloud SDK.
A plugin whose extra is not installed still shows up, and says which extra to install.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import typer

GROUP = "fakewatch.cli"
EXTRA = {"aws": "aws", "gcp": "gcp", "azure": "azure", "serve": "serve"}


def discover() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def attach(app: typer.Typer, name: str, ep: EntryPoint) -> None:
    try:
        sub = ep.load()
    except ImportError as exc:
        app.command(name, help=f"(unavailable: {exc.name or exc} is not installed)")(
            _missing(name, exc)
        )
        return
    app.add_typer(sub, name=name)


def placeholder(app: typer.Typer, name: str) -> None:
    """A cheap stand-in for ``--help`` listings; the real plugin loads when it is invoked."""

    def show() -> None:
        typer.echo(f"run `fakewatch {name} --help` for its commands")

    app.command(name, help=f"{name} commands (run `fakewatch {name} --help`)")(show)


def _missing(name: str, exc: ImportError):  # type: ignore[no-untyped-def]
    extra = EXTRA.get(name)
    hint = f"pip install 'fakewatch[{extra}]'" if extra else "reinstall fakewatch"

    def command() -> None:
        typer.echo(
            f"fakewatch {name} needs packages that are not installed ({exc}): {hint}", err=True
        )
        raise typer.Exit(2)

    return command
