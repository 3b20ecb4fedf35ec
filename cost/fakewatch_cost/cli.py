"""``fakewatch cost``: compare clouds for a usage profile, list profiles and catalogs,
show growth with volume, and refresh catalogs from the official price APIs."""

from __future__ import annotations

import datetime as dt
import os
import sys
import warnings
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fakewatch_cost.catalog import (
    DEFAULT_CATALOGS,
    DEFAULT_MAX_AGE_DAYS,
    PROVIDERS,
    CatalogAgeWarning,
    builtin_catalogs,
    load_catalog,
    load_catalog_set,
)
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.money import plain, to_decimal, usd
from fakewatch_cost.profile import UsageProfile, builtin_profiles, load_profile
from fakewatch_cost.refresh import refresh_catalog, urllib_fetcher, write_catalog
from fakewatch_cost.reports import RENDERERS, build_report

app = typer.Typer(
    name="cost",
    help="Price a fakewatch deployment on AWS, GCP and Azure for a usage profile.",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


class FreeTiers(StrEnum):
    none = "none"
    monthly = "monthly"
    trial = "trial"


class Provider(StrEnum):
    aws = "aws"
    gcp = "gcp"
    azure = "azure"
    all = "all"


ProfileOpt = Annotated[
    str, typer.Option("--profile", "-p", help="Built-in profile name or YAML path.")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to FILE instead of stdout.")
]
BenchOpt = Annotated[
    Path | None,
    typer.Option("--bench", help="Benchmark result JSON with scan_seconds and memory_mb."),
]
CatalogOpt = Annotated[
    list[str] | None, typer.Option("--catalog", help="PROVIDER=NAME|PATH, repeatable.")
]
CatalogDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog-dir", help="Folder of refreshed catalogs, searched before the built-in ones."
    ),
]
FreeOpt = Annotated[
    FreeTiers | None,
    typer.Option(
        "--free-tiers",
        help="Override the profile: none, monthly, or trial (monthly + 12-month trials).",
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Date the report is for (YYYY-MM-DD); default today.")
]
MaxAgeOpt = Annotated[
    int, typer.Option("--max-age-days", help="Warn when a catalog is older than this.")
]
VolumesOpt = Annotated[
    str | None, typer.Option("--volumes", help="Comma-separated objects a month, e.g. 1e4,1e5,1e6.")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CostInputError(f"--as-of: not a date: {value!r}") from exc


def _catalog_names(pairs: list[str] | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for pair in pairs or []:
        provider, sep, name = pair.partition("=")
        if not sep or provider not in PROVIDERS or not name:
            raise CostInputError(
                f"--catalog expects PROVIDER=NAME with PROVIDER in {PROVIDERS}: {pair!r}"
            )
        names[provider] = name
    return names


def _volumes(text: str | None) -> list[Decimal] | None:
    if not text:
        return None
    values = [to_decimal(part.strip(), "--volumes") for part in text.split(",") if part.strip()]
    if not values or len(values) > 20 or any(v <= 0 or v > Decimal("1e12") for v in values):
        raise CostInputError("--volumes: 1 to 20 positive numbers up to 1e12")
    return [v.to_integral_value() for v in values]


def _profile(name: str, bench: Path | None, free: FreeTiers | None) -> UsageProfile:
    profile = load_profile(name, bench=bench)
    return profile.with_free_tiers(free.value) if free else profile


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


def _report_text(
    profile: UsageProfile,
    fmt: Format,
    catalogs: list[str] | None,
    catalog_dir: Path | None,
    as_of: str | None,
    max_age: int,
    growth: bool,
    volumes: str | None,
) -> str:
    day = _as_of(as_of)
    search = [catalog_dir] if catalog_dir else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatalogAgeWarning)
        chosen = load_catalog_set(
            _catalog_names(catalogs), search=search, today=day, max_age_days=max_age
        )
    report = build_report(
        profile,
        chosen,
        as_of=day,
        with_growth=growth,
        volumes=_volumes(volumes),
        search=search,
        max_age_days=max_age,
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    return RENDERERS[fmt.value](report)


@app.command()
def compare(
    profile: ProfileOpt = "medium",
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    bench: BenchOpt = None,
    catalog: CatalogOpt = None,
    catalog_dir: CatalogDirOpt = None,
    free_tiers: FreeOpt = None,
    as_of: AsOfOpt = None,
    max_age_days: MaxAgeOpt = DEFAULT_MAX_AGE_DAYS,
    growth: Annotated[
        bool, typer.Option("--growth/--no-growth", help="Include growth with volume.")
    ] = True,
    volumes: VolumesOpt = None,
) -> None:
    """Monthly cost per cloud and component for a usage profile."""
    try:
        loaded = _profile(profile, bench, free_tiers)
        text = _report_text(loaded, fmt, catalog, catalog_dir, as_of, max_age_days, growth, volumes)
        _emit(text, out)
    except CostInputError as exc:
        _fail(str(exc))


@app.command()
def growth(
    profile: ProfileOpt = "medium",
    volumes: VolumesOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    bench: BenchOpt = None,
    catalog: CatalogOpt = None,
    catalog_dir: CatalogDirOpt = None,
    free_tiers: FreeOpt = None,
    as_of: AsOfOpt = None,
    max_age_days: MaxAgeOpt = DEFAULT_MAX_AGE_DAYS,
) -> None:
    """How each cloud's total grows with volume and where the cheaper option changes."""
    compare(
        profile=profile,
        fmt=fmt,
        out=out,
        bench=bench,
        catalog=catalog,
        catalog_dir=catalog_dir,
        free_tiers=free_tiers,
        as_of=as_of,
        max_age_days=max_age_days,
        growth=True,
        volumes=volumes,
    )


@app.command()
def profiles() -> None:
    """List the built-in usage profiles."""
    for name in builtin_profiles():
        loaded = load_profile(name)
        objects = plain(loaded.objects_per_month) if loaded.objects_per_month else "-"
        typer.echo(f"{name:<10} {objects:>12} objects/month  {loaded.description}")


@app.command()
def catalogs(
    provider: Annotated[Provider, typer.Option("--provider")] = Provider.all,
    prices: Annotated[
        bool, typer.Option("--prices", help="List every unit price and tier.")
    ] = False,
    as_of: AsOfOpt = None,
    max_age_days: MaxAgeOpt = DEFAULT_MAX_AGE_DAYS,
) -> None:
    """List the built-in price catalogs, their dates and (with --prices) every unit price."""
    try:
        day = _as_of(as_of)
    except CostInputError as exc:
        _fail(str(exc))
        return
    for name in builtin_catalogs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatalogAgeWarning)
            cat = load_catalog(name, today=day)
        if provider is not Provider.all and cat.provider != provider.value:
            continue
        stale = " (stale)" if cat.staleness(day, max_age_days) else ""
        typer.echo(
            f"{name:<18} {cat.provider:<6} {cat.region:<12} retrieved "
            f"{cat.oldest().isoformat()}{stale}  {len(cat.entries)} prices"
        )
        if prices:
            for row in cat.rows():
                typer.echo(
                    f"    {row.key:<36} {row.sku:<40} from {plain(row.tier_start):>12} "
                    f"{usd(row.price) if row.price >= 1 else '$' + plain(row.price)}/{row.unit}"
                )


@app.command()
def refresh(
    provider: Annotated[
        Provider, typer.Option("--provider", help="Which cloud's catalog to refresh.")
    ] = Provider.all,
    out: Annotated[Path, typer.Option("--out", help="Folder for the refreshed catalogs.")] = Path(
        "fakewatch-catalogs"
    ),
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="GCP API key (or GOOGLE_API_KEY).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per HTTP request.")] = 60.0,
) -> None:
    """Pull current prices from the official APIs and write new dated catalogs to --out."""
    fetch = urllib_fetcher(timeout=timeout)
    chosen = PROVIDERS if provider is Provider.all else (provider.value,)
    key = api_key or os.environ.get("GOOGLE_API_KEY")
    failed = False
    for name in chosen:
        catalog_name = DEFAULT_CATALOGS[name]
        try:
            result = refresh_catalog(catalog_name, fetch, today=dt.date.today(), api_key=key)
        except CostInputError as exc:
            typer.echo(f"error: {catalog_name}: {exc}", err=True)
            failed = True
            continue
        for entry, reason in result.kept:
            typer.echo(f"    {entry}: {reason}")
        if not result.refreshed:
            typer.echo(f"error: {catalog_name}: no price refreshed; nothing written", err=True)
            failed = True
            continue
        path = write_catalog(result.document, out)
        typer.echo(
            f"{catalog_name}: {len(result.refreshed)} refreshed "
            f"({len(result.changed)} changed), {len(result.kept)} kept -> {path}"
        )
    if failed:
        raise typer.Exit(1)
