"""``fakewatch gcp ...``: run the GCP path locally, backfill/rescan a bucket, build the bundle."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from fakewatch import settings as env

app = typer.Typer(
    name="gcp",
    help="Cloud Storage → Eventarc → Cloud Run functions: local run, backfill, bundle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def local(
    files: Annotated[list[Path] | None, typer.Argument(help="Files to upload first.")] = None,
    input_bucket: Annotated[str, typer.Option(help="Bucket the function watches.")] = "inbox",
    results_bucket: Annotated[str, typer.Option(help="Verdicts and audit log.")] = "results",
    quarantine_bucket: Annotated[str, typer.Option(help="Quarantine bucket.")] = "quarantine",
    prefix: Annotated[str, typer.Option(help="Upload under, and watch, this prefix.")] = "",
    emulator: Annotated[
        str | None, typer.Option(help="A running gcp-storage-emulator (default: start one).")
    ] = None,
    policy: Annotated[str | None, typer.Option(envvar=env.POLICY, help="Policy.")] = None,
    watch: Annotated[float, typer.Option(help="Keep polling every N seconds (0: once).")] = 0.0,
    source: Annotated[Path | None, typer.Option(help="The function's main.py.")] = None,
) -> None:
    """Serve main.py with functions-framework on loopback and deliver a CloudEvent for every
    new object in the emulator's input bucket; print each verdict."""
    from fakewatch.settings import Settings
    from fakewatch_gcp.emulator import GcsEmulator, emulator_client, ensure_buckets
    from fakewatch_gcp.local import FunctionServer, Watcher, verdict_rows
    from fakewatch_gcp.runtime import build_runtime, set_runtime
    from fakewatch_gcp.store import GcsStore

    started = GcsEmulator() if emulator is None else None
    endpoint = started.start() if started else str(emulator)
    try:
        client = emulator_client(endpoint)
        ensure_buckets(client, input_bucket, results_bucket, quarantine_bucket)
        for path in files or []:
            key = f"{prefix}{path.name}"
            client.bucket(input_bucket).blob(key).upload_from_filename(str(path))
            typer.echo(f"uploaded gs://{input_bucket}/{key}", err=True)
        settings = Settings(
            results_bucket=results_bucket, quarantine_bucket=quarantine_bucket, policy=policy
        )
        runtime = build_runtime(settings, store=GcsStore(client), project="fakewatch-local")
        server = FunctionServer(runtime, source)
        url = server.start()
        typer.echo(f"emulator {endpoint}  function {url}", err=True)
        watcher = Watcher(client, input_bucket, url, prefix=prefix)
        stop = threading.Event()
        try:
            for deliveries in watcher.watch(watch, stop):
                for row in verdict_rows(runtime, input_bucket, deliveries):
                    typer.echo(json.dumps(row, ensure_ascii=False))
                if watch <= 0:
                    stop.set()
        except KeyboardInterrupt:
            stop.set()
        finally:
            server.stop()
            set_runtime(None)
    finally:
        if started:
            started.stop()


@app.command()
def backfill(
    target: Annotated[str, typer.Argument(help="gs://bucket[/prefix] to deliver.")],
    url: Annotated[str, typer.Option(help="The function's URL (Cloud Run or local).")],
    mode: Annotated[str, typer.Option(help="all | stale | untagged")] = "stale",
    fingerprint: Annotated[
        str | None, typer.Option(help="Current scanner fingerprint (default: from --policy).")
    ] = None,
    policy: Annotated[str | None, typer.Option(envvar=env.POLICY, help="Policy.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 4,
    id_token: Annotated[
        str | None, typer.Option(help="Bearer token (gcloud auth print-identity-token).")
    ] = None,
    emulator: Annotated[str | None, typer.Option(help="List from this emulator.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be sent.")] = False,
) -> None:
    """Deliver existing objects to the function as finalized CloudEvents (backfill/rescan)."""
    from fakewatch_gcp.backfill import Mode
    from fakewatch_gcp.backfill import backfill as run_backfill

    parts = urlsplit(target)
    if parts.scheme != "gs" or not parts.netloc:
        raise typer.BadParameter(f"{target!r} is not gs://bucket[/prefix]")
    chosen = Mode(mode)
    if chosen is Mode.STALE and fingerprint is None:
        from fakewatch.policy import load_policy
        from fakewatch.scanner import Scanner

        fingerprint = Scanner.default(load_policy(policy)).fingerprint
    if emulator:
        from fakewatch_gcp.emulator import emulator_client

        client = emulator_client(emulator)
    else:
        from google.cloud import storage

        client = storage.Client()
    report = run_backfill(
        client,
        parts.netloc,
        url,
        prefix=parts.path.lstrip("/"),
        mode=chosen,
        fingerprint=fingerprint,
        workers=workers,
        token=id_token,
        dry_run=dry_run,
    )
    typer.echo(json.dumps({**asdict(report), "mode": chosen.value, "fingerprint": fingerprint}))
    if report.failed:
        raise typer.Exit(1)


@app.command()
def bundle(
    out: Annotated[Path, typer.Option(help="Folder to write.")] = Path("dist/gcp"),
    verify: Annotated[bool, typer.Option(help="Install it for the Cloud Run platform.")] = False,
) -> None:
    """Build the source folder Cloud Run functions deploys (main.py, requirements, wheel)."""
    from fakewatch_gcp.bundle import build

    typer.echo(json.dumps(asdict(build(out, verify=verify)), indent=2))


__all__ = ["app"]
