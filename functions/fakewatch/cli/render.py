"""Rendering verdicts for people (rich tables) and machines (JSON, JSON Lines)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from fakewatch.verdict import Verdict

_STYLE = {
    "synthetic": "bold red",
    "suspicious": "yellow",
    "no_evidence": "green",
    "error": "magenta",
    "skipped": "dim",
}


def verdict_table(rows: Sequence[tuple[str, Verdict]], title: str = "fakewatch verdicts") -> Table:
    table = Table(title=title, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("object", overflow="fold")
    table.add_column("label")
    table.add_column("action")
    table.add_column("risk", justify="right")
    for i, (name, v) in enumerate(rows, 1):
        risk = "-" if v.risk_score is None else f"{v.risk_score:.2f}"
        style = _STYLE.get(v.label.value, "")
        table.add_row(str(i), name, f"[{style}]{v.label.value}[/]", v.action.value, risk)
    return table


def explanations(rows: Sequence[tuple[str, Verdict]]) -> str:
    """The one-sentence explanations, numbered like the table rows (full width, unwrapped)."""
    return "\n".join(f"{i}. {v.explanation}" for i, (_, v) in enumerate(rows, 1))


def summary_line(verdicts: Sequence[Verdict]) -> str:
    counts = Counter(v.label.value for v in verdicts)
    parts = [f"{counts[k]} {k}" for k in _STYLE if counts[k]]
    return f"{len(verdicts)} scanned: " + (", ".join(parts) or "nothing")


def write_json(verdicts: Sequence[Verdict], out: TextIO) -> None:
    json.dump([v.to_dict() for v in verdicts], out, indent=2, ensure_ascii=False)
    out.write("\n")


def write_jsonl(verdict: Verdict, out: TextIO) -> None:
    out.write(json.dumps(verdict.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


def stderr_console() -> Console:
    return Console(stderr=True)


def print_table(
    rows: Sequence[tuple[str, Verdict]], console: Console | None = None, **kw: Any
) -> None:
    console = console or Console()
    console.print(verdict_table(rows, **kw))
    console.print(explanations(rows), markup=False, highlight=False)
    console.print(summary_line([v for _, v in rows]))
