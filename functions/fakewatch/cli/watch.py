"""``fakewatch watch INBOX``: the local bucket — scan what is there and what arrives."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fakewatch.cli import render
from fakewatch.cli.common import MODEL_HELP, POLICY_HELP, policy_or_exit, scanner_or_exit
from fakewatch.cli.exitcodes import exit_code
from fakewatch.local import LocalBucket
from fakewatch.service import Outcome


def _printer(console: Console):  # type: ignore[no-untyped-def]
    def show(outcome: Outcome) -> None:
        v = outcome.verdict
        if v is None:
            return
        where = f" → {outcome.quarantined_to}" if outcome.quarantined_to else ""
        risk = "-" if v.risk_score is None else f"{v.risk_score:.2f}"
        console.print(
            f"{outcome.event.key}: [bold]{v.label.value}[/] {v.action.value} (risk {risk}){where}"
        )

    return show


def watch(
    inbox: Annotated[Path, typer.Argument(help="The folder to watch (created if missing).")],
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    once: Annotated[bool, typer.Option(help="Scan what is there now, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    settle: Annotated[float, typer.Option(help="Wait until a file is unchanged this long.")] = 1.0,
    max_polls: Annotated[int, typer.Option(help="Stop after this many polls (0: never).")] = 0,
) -> None:
    """Watch a folder like a bucket: verdicts, tags, quarantine and audit beside it.

    Results go to `fakewatch-results/` next to INBOX (verdicts, `fakewatch-audit.jsonl`,
    `fakewatch-events.jsonl`), quarantined files to `fakewatch-quarantine/`. Each file is
    scanned once, even across restarts; a changed file is scanned again.
    """
    bucket = LocalBucket(inbox, scanner_or_exit(policy_or_exit(policy), model))
    console = Console()
    console.print(f"watching {bucket.inbox} (results in {bucket.root / bucket.results})")
    outcomes: list[Outcome] = []
    polls = 0
    try:
        while True:
            outcomes += bucket.poll(0.0 if once else settle, on_outcome=_printer(console))
            polls += 1
            if once or (max_polls and polls >= max_polls):
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")
    verdicts = [o.verdict for o in outcomes if o.verdict is not None]
    console.print(render.summary_line(verdicts))
    raise typer.Exit(exit_code((v.label, v.action) for v in verdicts))
