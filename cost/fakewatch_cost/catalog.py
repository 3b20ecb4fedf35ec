"""Versioned price catalogs: load, validate, look up, and warn when stale.

A catalog is a YAML file with one provider and region and a list of unit prices; each
price carries its service, SKU or meter, unit, tier ladder, optional free grant, source URL
and retrieval date. Lookup (``Catalog.price``) is separate from costing (``pricing.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fakewatch_cost.errors import CostInputError
from fakewatch_cost.money import to_decimal
from fakewatch_cost.resources import data_dir
from fakewatch_cost.safe_yaml import load_yaml_file
from fakewatch_cost.tiers import Tier
from fakewatch_cost.validate import check

DEFAULT_MAX_AGE_DAYS = 180
PROVIDERS = ("aws", "gcp", "azure")
DEFAULT_CATALOGS = {"aws": "aws-us-east-1", "gcp": "gcp-us-central1", "azure": "azure-eastus"}


class CatalogAgeWarning(UserWarning):
    """A catalog's prices were retrieved longer ago than the allowed age."""


@dataclass(frozen=True)
class FreeGrant:
    quantity: Decimal
    kind: str  # "monthly" (always free) or "trial" (first 12 months only)
    note: str = ""


@dataclass(frozen=True)
class PriceEntry:
    key: str
    provider: str
    service: str
    sku: str
    region: str
    unit: str
    tiers: list[Tier]
    source: str
    retrieved: dt.date
    description: str = ""
    free: FreeGrant | None = None
    note: str = ""
    refresh: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitPriceRow:
    """One flat row per tier: what the issue calls 'every unit price'."""

    provider: str
    service: str
    sku: str
    region: str
    unit: str
    tier_start: Decimal
    price: Decimal
    source: str
    retrieved: dt.date
    key: str


@dataclass(frozen=True)
class Catalog:
    name: str
    provider: str
    region: str
    currency: str
    retrieved: dt.date
    entries: dict[str, PriceEntry]
    path: str = ""
    method: str = ""
    description: str = ""

    def price(self, key: str) -> PriceEntry | None:
        return self.entries.get(key)

    def rows(self) -> list[UnitPriceRow]:
        return [
            UnitPriceRow(
                e.provider,
                e.service,
                e.sku,
                e.region,
                e.unit,
                t.start,
                t.price,
                e.source,
                e.retrieved,
                e.key,
            )
            for e in self.entries.values()
            for t in e.tiers
        ]

    def oldest(self) -> dt.date:
        return min([self.retrieved, *(e.retrieved for e in self.entries.values())])

    def age_days(self, today: dt.date) -> int:
        return (today - self.oldest()).days

    def staleness(self, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> str | None:
        """A sentence when the catalog is older than ``max_age_days``, else ``None``."""
        age = self.age_days(today)
        if age <= max_age_days:
            return None
        return (
            f"catalog {self.name} has prices retrieved {self.oldest().isoformat()}, "
            f"{age} days before {today.isoformat()} (limit {max_age_days}); "
            f"run `fakewatch cost refresh --provider {self.provider}`"
        )


def builtin_catalogs() -> list[str]:
    return sorted(p.stem for p in data_dir("catalogs").glob("*.yaml"))


def resolve_catalog(name_or_path: str, search: list[Path] | None = None) -> Path:
    """A path as given, else ``<dir>/<name>.yaml`` in ``search`` dirs, then built-ins."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    for folder in [*(search or []), data_dir("catalogs")]:
        path = folder / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    known = ", ".join(builtin_catalogs())
    raise CostInputError(f"unknown catalog {name_or_path!r} (built-in: {known})")


def load_catalog(
    name_or_path: str,
    *,
    search: list[Path] | None = None,
    today: dt.date | None = None,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> Catalog:
    """Load and validate a catalog; warn with ``CatalogAgeWarning`` when it is stale."""
    path = resolve_catalog(name_or_path, search)
    catalog = parse_catalog(load_yaml_file(path), str(path))
    message = catalog.staleness(today or dt.date.today(), max_age_days)
    if message:
        warnings.warn(message, CatalogAgeWarning, stacklevel=2)
    return catalog


def parse_catalog(document: Any, where: str) -> Catalog:
    check(document, "catalog", where)
    retrieved = _date(document["retrieved"], f"{where}: retrieved")
    entries: dict[str, PriceEntry] = {}
    for index, raw in enumerate(document["prices"]):
        entry = _entry(raw, document, retrieved, f"{where}: prices[{index}] ({raw['key']})")
        if entry.key in entries:
            raise CostInputError(f"{where}: price key {entry.key!r} appears twice")
        entries[entry.key] = entry
    return Catalog(
        name=document["name"],
        provider=document["provider"],
        region=document["region"],
        currency=document["currency"],
        retrieved=retrieved,
        entries=entries,
        path=where,
        method=document.get("method", ""),
        description=document.get("description", ""),
    )


def _entry(raw: dict[str, Any], doc: dict[str, Any], retrieved: dt.date, where: str) -> PriceEntry:
    tiers = [
        Tier(
            to_decimal(t["start"], f"{where} tier start"), to_decimal(t["price"], f"{where} price")
        )
        for t in raw["tiers"]
    ]
    _check_tiers(tiers, where)
    free = None
    if "free" in raw:
        quantity = to_decimal(raw["free"]["quantity"], f"{where} free quantity")
        if quantity < 0:
            raise CostInputError(f"{where}: free quantity is negative")
        free = FreeGrant(quantity, raw["free"]["kind"], raw["free"].get("note", ""))
    return PriceEntry(
        key=raw["key"],
        provider=doc["provider"],
        service=raw["service"],
        sku=raw["sku"],
        region=raw.get("region", doc["region"]),
        unit=raw["unit"],
        tiers=tiers,
        source=raw["source"],
        retrieved=_date(raw["retrieved"], f"{where} retrieved")
        if "retrieved" in raw
        else retrieved,
        description=raw.get("description", ""),
        free=free,
        note=raw.get("note", ""),
        refresh=dict(raw.get("refresh", {})),
    )


def _check_tiers(tiers: list[Tier], where: str) -> None:
    if tiers[0].start != 0:
        raise CostInputError(f"{where}: the first tier must start at 0, not {tiers[0].start}")
    for low, high in itertools.pairwise(tiers):
        if high.start <= low.start:
            raise CostInputError(
                f"{where}: tier starts must increase ({low.start} then {high.start})"
            )
    for tier in tiers:
        if tier.price < 0:
            raise CostInputError(f"{where}: negative price {tier.price}")


def _date(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CostInputError(f"{where}: not an ISO date: {value!r}") from exc


def load_catalog_set(
    names: dict[str, str] | None = None,
    *,
    search: list[Path] | None = None,
    today: dt.date | None = None,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> dict[str, Catalog]:
    """One catalog per provider: the defaults, replaced by any given in ``names``."""
    chosen = {**DEFAULT_CATALOGS, **(names or {})}
    result: dict[str, Catalog] = {}
    for provider in PROVIDERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatalogAgeWarning)
            catalog = load_catalog(chosen[provider], search=search, today=today)
        if catalog.provider != provider:
            raise CostInputError(
                f"catalog {catalog.name} is for {catalog.provider}, not {provider}"
            )
        message = catalog.staleness(today or dt.date.today(), max_age_days)
        if message:
            warnings.warn(message, CatalogAgeWarning, stacklevel=2)
        result[provider] = catalog
    return result
