"""``fakewatch demo``: make a small sample set and run the local bucket over it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fakewatch.cli import render
from fakewatch.cli.common import fail
from fakewatch.local import LocalBucket
from fakewatch.policy import Policy
from fakewatch.scanner import build_scanner

MARKER = ".fakewatch-demo"


def sample_set() -> dict[str, bytes]:
    """Four uploads a platform sees every day. Made on the spot; nothing depicts a person."""
    from fakewatch import samples

    photo = samples.photo_like_jpeg()
    return {
        "generated-with-a1111.png": samples.a1111_png(),
        "c2pa-declared-ai.jpg": samples.c2pa_signed(photo, "image/jpeg", "trainedAlgorithmicMedia"),
        "holiday-photo.jpg": photo,
        "broken-upload.jpg": samples.corrupt_file("jpeg"),
    }


def _fresh(directory: Path) -> Path:
    if directory.exists():
        if not (directory / MARKER).exists() and any(directory.iterdir()):
            raise fail(f"{directory} exists and is not a fakewatch demo folder; pick another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by fakewatch demo; safe to delete\n")
    return directory


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to build the demo.")] = Path(
        "fakewatch-demo"
    ),
) -> None:
    """Build sample uploads in DIR/inbox and scan them like a bucket (no cloud account)."""
    console = Console()
    root = _fresh(directory)
    inbox = root / "inbox"
    inbox.mkdir()
    for name, data in sample_set().items():
        (inbox / name).write_bytes(data)
    bucket = LocalBucket(inbox, build_scanner(Policy()))
    outcomes = bucket.poll()
    rows = [(o.event.key, o.verdict) for o in outcomes if o.verdict is not None]
    render.print_table(rows, console, title="fakewatch demo: the local bucket")
    report = bucket.service.audit.verify()
    console.print(
        f"verdicts:   {root / bucket.results / 'verdicts'}\n"
        f"quarantine: {root / bucket.quarantine}\n"
        f"audit log:  {bucket.audit_path} ({report.entries} entries, "
        f"{'chain intact' if report.ok else 'CHAIN BROKEN'})\n"
        f"next: fakewatch watch {inbox}  (drop files in; Ctrl-C to stop)"
    )
    if not report.ok:
        raise typer.Exit(1)
