"""``fakewatch scan PATH...``: scan files and folders, print verdicts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from fakewatch.cli import render
from fakewatch.cli.common import MODEL_HELP, POLICY_HELP, policy_or_exit, scanner_or_exit
from fakewatch.cli.exitcodes import exit_code
from fakewatch.errors import LimitExceeded
from fakewatch.labels import ErrorReason
from fakewatch.scanner import Scanner
from fakewatch.verdict import ObjectIdentity, Verdict

PROGRESS_FROM = 10  # files; fewer finish before a bar is worth drawing


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


def iter_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        else:
            yield path


def scan_file(scanner: Scanner, path: Path) -> Verdict:
    ident = ObjectIdentity(uri=path.resolve().as_uri(), bucket="local", key=str(path))
    policy = scanner.policy.for_object(ident.bucket, ident.key)
    try:
        size = path.stat().st_size
        skip = policy.skip.reason_before_fetch(str(path), size, {})
        if skip:
            return scanner.skipped_verdict(ident, skip, policy=policy)
        policy.limits.check("bytes", size)
        data = path.read_bytes()
    except LimitExceeded as exc:
        return scanner.error_verdict(ident, ErrorReason.TOO_LARGE, str(exc), policy=policy)
    except FileNotFoundError:
        return scanner.error_verdict(ident, ErrorReason.DELETED_BEFORE_SCAN, "no such file")
    except PermissionError as exc:
        return scanner.error_verdict(ident, ErrorReason.ACCESS_DENIED, str(exc))
    except IsADirectoryError:
        return scanner.error_verdict(ident, ErrorReason.UNSUPPORTED, "a directory, not a file")
    return scanner.scan(data, ident)


def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (recursive).")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
) -> None:
    """Scan media files and print one verdict each.

    Exit codes: 0 nothing flagged; 3 something flagged; 4 something could not be scanned;
    5 both; 2 bad arguments.
    """
    scanner = scanner_or_exit(policy_or_exit(policy), model)
    files = list(iter_files(paths))
    rows: list[tuple[str, Verdict]] = []
    show_bar = len(files) >= PROGRESS_FROM and sys.stderr.isatty()
    with Progress(console=render.stderr_console(), transient=True, disable=not show_bar) as bar:
        task = bar.add_task("scanning", total=len(files))
        for path in files:
            verdict = scan_file(scanner, path)
            rows.append((str(path), verdict))
            if fmt is Format.jsonl:
                render.write_jsonl(verdict, sys.stdout)
            bar.advance(task)
    if fmt is Format.json:
        render.write_json([v for _, v in rows], sys.stdout)
    elif fmt is Format.table:
        render.print_table(rows)
    raise typer.Exit(exit_code((v.label, v.action) for _, v in rows))
