"""``fakewatch serve``: run the GPU endpoint for one cloud's contract, or show the contracts.

    fakewatch serve run --contract vertex --manifest /models/det/manifest.json
    fakewatch serve contracts

The containers run ``python -m fakewatch_serve run --contract <cloud>`` (see
``providers/<cloud>/serving/``); every option also has a ``FAKEWATCH_SERVE_*`` variable.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from fakewatch.errors import ConfigError
from fakewatch_serve.contracts import CONTRACTS, contract_for

app = typer.Typer(
    name="serve",
    help="Serve an ONNX detector behind SageMaker, Vertex AI or Azure ML contracts.",
    no_args_is_help=True,
)


class ContractChoice(StrEnum):
    sagemaker = "sagemaker"
    vertex = "vertex"
    azureml = "azureml"


class ModeChoice(StrEnum):
    realtime = "realtime"
    async_ = "async"


@app.command("run")
def run(
    contract: Annotated[ContractChoice, typer.Option(help="Which cloud's routes and port.")],
    manifest: Annotated[
        str | None,
        typer.Option(help="Model manifest (path or store URI); default from the environment."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Override the contract's port.")] = None,
    mode: Annotated[
        ModeChoice | None, typer.Option(help="realtime, or async (larger requests).")
    ] = None,
    max_batch: Annotated[int | None, typer.Option(help="Rows per inference call.")] = None,
    max_wait_ms: Annotated[
        float | None, typer.Option(help="How long a batch may wait to fill.")
    ] = None,
    max_request_bytes: Annotated[int | None, typer.Option(help="Larger → HTTP 413.")] = None,
    providers: Annotated[
        str | None,
        typer.Option(help="Comma-separated ONNX Runtime providers, e.g. CUDAExecutionProvider."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="ONNX Runtime intra-op CPU threads (default: one per core)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Request threads (default: 2 x max batch + one per core)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve until SIGTERM; in-flight requests and queued batches finish first."""
    from fakewatch_serve.config import ServeConfig
    from fakewatch_serve.server import serve

    try:
        config = ServeConfig.build(
            contract.value,
            manifest=manifest,
            mode=mode.value if mode else None,
            port=port,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
            max_request_bytes=max_request_bytes,
            providers=tuple(p.strip() for p in providers.split(",")) if providers else None,
            intra_op_threads=threads,
            workers=workers,
        )
    except (ConfigError, ValueError) as exc:
        typer.echo(f"fakewatch serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    if config.engine.manifest is None:
        typer.echo("fakewatch serve: no model manifest (--manifest)", err=True)
        raise typer.Exit(2)
    routes = ", ".join(f"{k} {v}" for k, v in config.contract.routes().items())
    typer.echo(f"fakewatch serve: {contract.value} on port {config.port} ({routes})", err=True)
    serve(config, log_level=log_level)


@app.command("contracts")
def contracts() -> None:
    """Print each contract's port, routes and request limit (as this environment sets them)."""
    import os

    doc = {}
    for name in CONTRACTS:
        spec = contract_for(name, os.environ)
        doc[name] = {
            "port": spec.port,
            "routes": spec.routes(),
            "max_request_bytes": spec.max_request_bytes,
            "async_max_request_bytes": spec.async_max_request_bytes,
            "default_manifest": spec.default_manifest(),
        }
    typer.echo(json.dumps(doc, indent=2))


__all__ = ["app"]
