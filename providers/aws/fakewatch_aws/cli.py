"""``fakewatch aws ...``: run the AWS path locally, backfill a bucket, build the Lambda bundle.

Heavy imports (boto3, Powertools, the scanner) happen inside the commands, so ``fakewatch
--help`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="AWS: S3 → SQS → Lambda, locally against moto or on AWS.", no_args_is_help=True
)

EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint-url", help="AWS API endpoint (moto); default: AWS_ENDPOINT_URL."),
]


def _quiet_powertools(verbose: bool) -> None:
    """Before the handler is imported: human output on the terminal, not JSON logs and EMF."""
    if not verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@app.command()
def local(
    queue_url: Annotated[
        str | None, typer.Option("--queue-url", help="The scan queue (omit with --start-moto).")
    ] = None,
    endpoint_url: EndpointOpt = None,
    start_moto: Annotated[
        bool,
        typer.Option(
            "--start-moto", help="Start a moto server, create the stack, upload sample media."
        ),
    ] = False,
    samples: Annotated[
        bool, typer.Option(help="With --start-moto: upload the sample mixed batch.")
    ] = True,
    once: Annotated[bool, typer.Option("--once", help="Process one batch and stop.")] = False,
    max_batches: Annotated[int | None, typer.Option(help="Stop after this many batches.")] = None,
    forever: Annotated[
        bool, typer.Option("--forever", help="Keep polling when the queue is empty.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10)] = 10,
    wait: Annotated[int, typer.Option(help="Long-poll seconds per receive.", min=0, max=20)] = 1,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Powertools JSON logs and EMF.")
    ] = False,
) -> None:
    """Play Lambda's SQS event source mapping: poll, invoke the handler, delete what succeeded."""
    _quiet_powertools(verbose)
    from fakewatch_aws.emulator import MotoServer, provision, use_fake_credentials

    server, sample_bucket = None, None
    if start_moto:
        use_fake_credentials()
        server = MotoServer()
        endpoint_url = server.start()
        deployment = provision(endpoint_url, "fakewatch-local", visibility_timeout_s=30)
        os.environ.update(deployment.env())
        queue_url = deployment.queue_url
        sample_bucket = deployment.input_bucket if samples else None
        typer.echo(f"moto server on {endpoint_url}; stack:\n{deployment.to_json()}")
    elif endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if not queue_url:
        raise typer.BadParameter("give --queue-url, or --start-moto for a self-contained demo")
    try:
        _run_local(queue_url, sample_bucket, once, max_batches, forever, batch_size, wait)
    finally:
        if server is not None:
            server.stop()


def _run_local(
    queue_url: str,
    sample_bucket: str | None,
    once: bool,
    max_batches: int | None,
    forever: bool,
    batch_size: int,
    wait: int,
) -> None:
    from fakewatch_aws.handler import lambda_handler
    from fakewatch_aws.local import SqsEventSourceMapping, sample_uploads, upload
    from fakewatch_aws.runtime import get_runtime
    from fakewatch_aws.store import make_client

    runtime = get_runtime()  # cold start now, so the first batch reports its own time
    if sample_bucket:
        objects = sample_uploads()
        upload(make_client("s3"), sample_bucket, objects)
        typer.echo(f"uploaded {len(objects)} sample objects to s3://{sample_bucket}/uploads/")
    mapping = SqsEventSourceMapping(
        make_client("sqs"), queue_url, lambda_handler, batch_size=batch_size, wait_time_s=wait
    )
    limit = 1 if once else max_batches
    total = failed = 0
    for n, report in enumerate(mapping.batches(limit, until_idle=not forever), start=1):
        total += report.received
        failed += len(report.failed)
        typer.echo(
            f"batch {n}: {report.received} received, {len(report.succeeded)} succeeded, "
            f"{len(report.failed)} failed ({report.elapsed_s:.2f}s)"
        )
    _print_verdicts(runtime)
    typer.echo(f"{total} messages handled, {failed} record failures (retried by SQS)")


def _print_verdicts(runtime: Any) -> None:
    from rich.console import Console

    from fakewatch.cli import render
    from fakewatch.service import verdict_from_dict

    service = runtime.service
    docs = [
        service.store.get_json(service.results_bucket, info.key)
        for info in service.store.list(service.results_bucket, service.results_prefix)
        if info.key.endswith(".json")
    ]
    rows = [(d["object"]["key"], verdict_from_dict(d)) for d in docs]
    if rows:
        render.print_table(rows, Console(), title=f"verdicts in s3://{service.results_bucket}")
    report = service.audit.verify()
    state = "chain intact" if report.ok else f"CHAIN BROKEN: {report.problem}"
    typer.echo(f"audit log: {report.entries} entries, {state}")


@app.command()
def backfill(
    bucket: Annotated[str, typer.Argument(help="The input bucket to backfill.")],
    queue_url: Annotated[str, typer.Option("--queue-url", help="The scan queue.")],
    prefix: Annotated[str, typer.Option(help="Only keys under this prefix.")] = "",
    mode: Annotated[
        str, typer.Option(help="missing: never scanned; stale: also older fingerprints; all.")
    ] = "missing",
    fingerprint: Annotated[
        str | None,
        typer.Option(help="Current scanner fingerprint (default: from FAKEWATCH_POLICY/MODEL)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, do not enqueue.")] = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Enqueue existing objects (or those scanned by an older pipeline) for the Lambda to scan."""
    from fakewatch_aws.backfill import Mode
    from fakewatch_aws.backfill import backfill as run_backfill
    from fakewatch_aws.store import S3Store, make_client

    try:
        chosen = Mode(mode)
    except ValueError:
        raise typer.BadParameter(f"mode must be one of {[m.value for m in Mode]}") from None
    kw: dict[str, Any] = {"endpoint_url": endpoint_url} if endpoint_url else {}
    store, sqs = S3Store(client=make_client("s3", **kw)), make_client("sqs", **kw)
    if chosen is Mode.STALE and not fingerprint:
        fingerprint = _current_fingerprint(store)
    region = str(sqs.meta.region_name or "us-east-1")
    report = run_backfill(
        store, sqs, queue_url, bucket, prefix,
        mode=chosen, fingerprint=fingerprint, region=region, dry_run=dry_run,
    )  # fmt: skip
    verb = "would enqueue" if dry_run else "enqueued"
    count = report.selected if dry_run else report.enqueued
    typer.echo(
        f"listed {report.listed} objects under s3://{bucket}/{prefix}; {report.selected} "
        f"selected ({chosen.value}); {verb} {count}"
        + (f"; {len(report.failed)} could not be enqueued" if report.failed else "")
    )
    if report.failed:
        raise typer.Exit(1)


def _current_fingerprint(store: Any) -> str:
    from fakewatch.scanner import build_scanner
    from fakewatch.settings import MODEL_MANIFEST, POLICY
    from fakewatch_aws.runtime import load_runtime_policy

    policy = load_runtime_policy(os.environ.get(POLICY), store)
    return build_scanner(policy, os.environ.get(MODEL_MANIFEST)).fingerprint


@app.command()
def bundle(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("dist/aws"),
    arch: Annotated[
        list[str] | None, typer.Option(help="x86_64 and/or arm64 (default: both).")
    ] = None,
    wheel: Annotated[Path | None, typer.Option(help="Use this wheel, do not build one.")] = None,
    include_sdk: Annotated[
        bool, typer.Option("--include-sdk", help="Bundle boto3/botocore too.")
    ] = False,
) -> None:
    """Build the Lambda deployment package(s) from the project wheel."""
    from fakewatch_aws.bundle import PLATFORMS, describe
    from fakewatch_aws.bundle import bundle as build

    archs = arch or ["x86_64", "arm64"]
    unknown = [a for a in archs if a not in PLATFORMS]
    if unknown:
        raise typer.BadParameter(f"unknown architecture(s) {unknown}; use x86_64 or arm64")
    reports = build(out, archs, wheel, include_sdk)
    for report in reports:
        typer.echo(describe(report))
    if not all(r.within_limit for r in reports):
        raise typer.Exit(1)
