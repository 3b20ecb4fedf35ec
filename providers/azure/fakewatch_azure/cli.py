"""``fakewatch azure ...``: run the Azure path locally, backfill/rescan, build the bundle."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from fakewatch.settings import AZURE_CONNECTION_STRING, Settings

app = typer.Typer(help="Azure Blob Storage → Event Grid → Azure Functions.", no_args_is_help=True)

ConnOpt = Annotated[
    str | None,
    typer.Option(
        "--connection-string",
        envvar=AZURE_CONNECTION_STRING,
        help="storage account connection string (Azurite's when --start-azurite)",
    ),
]
AccountOpt = Annotated[
    str | None,
    typer.Option("--account-url", help="blob endpoint, used with DefaultAzureCredential"),
]


@contextlib.contextmanager
def blob_client(
    connection_string: str | None, account_url: str | None, start_azurite: bool
) -> Iterator[Any]:
    from fakewatch_azure.store import service_client

    if start_azurite:
        from fakewatch_azure.emulator import Azurite

        with Azurite() as endpoint:
            typer.echo(f"Azurite (blob) on {endpoint}")
            from fakewatch_azure.emulator import emulator_client

            yield emulator_client(endpoint)
        return
    yield service_client(account_url=account_url, connection_string=connection_string)


def runtime_for(client: Any, results: str, quarantine: str | None, policy: str | None) -> Any:
    from fakewatch_azure.emulator import ensure_containers
    from fakewatch_azure.runtime import build_runtime

    ensure_containers(client, results, *([quarantine] if quarantine else []))
    settings = Settings(results_bucket=results, quarantine_bucket=quarantine, policy=policy)
    return build_runtime(settings, blob_client=client)


def print_deliveries(deliveries: list[Any]) -> None:
    for d in deliveries:
        out = d.outcome or {}
        what = "ignored" if d.status < 300 and not out else out.get("label")
        extra = out.get("error_reason") or ("duplicate" if out.get("duplicate") else "")
        typer.echo(
            f"{d.status}  {what or '-':<12} {out.get('action') or '-':<11} {d.blob}  {extra}"
        )
        if d.error:
            typer.echo(f"     {d.error}")


@app.command()
def local(
    container: Annotated[list[str], typer.Option("--container", "-c")] = ["fakewatch-inbox"],  # noqa: B006
    results: str = "fakewatch-results",
    quarantine: str = "fakewatch-quarantine",
    schema: Annotated[str, typer.Option(help="eventgrid | cloudevents")] = "eventgrid",
    policy: Annotated[str | None, typer.Option(help="policy path or inline YAML/JSON")] = None,
    connection_string: ConnOpt = None,
    start_azurite: Annotated[bool, typer.Option(help="start Azurite from .azurite/")] = False,
    samples: Annotated[bool, typer.Option(help="upload the mixed sample batch first")] = False,
    once: Annotated[bool, typer.Option("--once/--watch")] = True,
    interval: float = 2.0,
    app_path: Annotated[Path | None, typer.Option(help="function_app.py to load")] = None,
) -> None:
    """Scan new blobs of Azurite (or an account) with function_app.py's scan_blob."""
    from fakewatch_azure.emulator import ensure_containers
    from fakewatch_azure.local import sample_uploads, watcher_for

    with blob_client(connection_string, None, start_azurite) as client:
        ensure_containers(client, *container)
        runtime = runtime_for(client, results, quarantine, policy)
        if samples:
            for name, data in sample_uploads().items():
                runtime.store.put(container[0], name, data)
        watcher = watcher_for(runtime, container, schema=schema, app_path=app_path)
        while True:
            print_deliveries(watcher.poll_once())
            if once:
                break
            time.sleep(interval)
        ok = runtime.service.audit.verify()
        typer.echo(f"audit log az://{results}/audit/: {ok.entries} entries, chain ok={ok.ok}")


@app.command()
def backfill(
    container: Annotated[str, typer.Option("--container", "-c")],
    prefix: str = "",
    mode: Annotated[str, typer.Option(help="all | stale | untagged")] = "stale",
    deliver: Annotated[str, typer.Option(help="topic | local")] = "local",
    topic_endpoint: Annotated[str | None, typer.Option(help="custom topic endpoint")] = None,
    topic_key: Annotated[str | None, typer.Option(envvar="FAKEWATCH_EVENTGRID_KEY")] = None,
    schema: Annotated[str, typer.Option(help="eventgrid | cloudevents")] = "eventgrid",
    results: str = "fakewatch-results",
    quarantine: str | None = "fakewatch-quarantine",
    policy: str | None = None,
    fingerprint: Annotated[str | None, typer.Option(help="deployed scanner's (stale)")] = None,
    connection_string: ConnOpt = None,
    account_url: AccountOpt = None,
    dry_run: bool = False,
) -> None:
    """Deliver existing blobs (all, stale, untagged) through the scan_blob event path."""
    from fakewatch.policy import load_policy
    from fakewatch.scanner import Scanner
    from fakewatch_azure.backfill import backfill_events, deliver_local, publish
    from fakewatch_azure.store import BlobStore

    fingerprint = fingerprint or Scanner.default(load_policy(policy)).fingerprint
    with blob_client(connection_string, account_url, False) as client:
        store = BlobStore(client)
        events = backfill_events(
            store, container, prefix, mode=mode, fingerprint=fingerprint, schema=schema
        )
        if dry_run:
            names = [e["subject"].rsplit("/blobs/", 1)[-1] for e in events]
            typer.echo("\n".join(names) + f"\n{len(names)} blobs selected ({mode})")
            return
        if deliver == "topic":
            if not topic_endpoint:
                raise typer.BadParameter("--deliver topic needs --topic-endpoint")
            typer.echo(f"published {publish(events, topic_client(topic_endpoint, topic_key))}")
            return
        from fakewatch_azure.local import load_function_app, registered_function
        from fakewatch_azure.runtime import set_runtime

        set_runtime(runtime_for(client, results, quarantine, policy))
        function = registered_function(load_function_app().app)
        print_deliveries(deliver_local(events, function))


def topic_client(endpoint: str, key: str | None) -> Any:
    from azure.eventgrid import EventGridPublisherClient

    if key:
        from azure.core.credentials import AzureKeyCredential

        return EventGridPublisherClient(endpoint, AzureKeyCredential(key))
    from azure.identity import DefaultAzureCredential

    return EventGridPublisherClient(endpoint, DefaultAzureCredential())


@app.command()
def bundle(out: Path = Path("dist/azure")) -> None:
    """Build the zip Azure Functions deploys (packages installed for Linux, Python 3.11)."""
    from fakewatch_azure.bundle import build

    built = build(out)
    typer.echo(
        f"{built.archive}: {built.archive_bytes / 2**20:.1f} MiB zipped, "
        f"{built.unzipped_bytes / 2**20:.1f} MiB unzipped, {built.files} files"
    )
