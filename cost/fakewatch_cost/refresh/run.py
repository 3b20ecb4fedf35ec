"""Refresh one catalog: re-price every entry that says how to find itself in the API.

Entries without a ``refresh`` spec, or whose lookup fails, keep their earlier price and
retrieval date and are listed in the result, so a partial refresh is visible, not silent.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from fakewatch_cost.catalog import parse_catalog, resolve_catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.refresh import aws, azure, gcp
from fakewatch_cost.refresh.fetch import Fetcher, RefreshError, fetch_json, redact
from fakewatch_cost.refresh.tiers import normalise
from fakewatch_cost.safe_yaml import load_yaml_file

API_NAMES = {
    "aws": "AWS Price List bulk offer files",
    "azure": "Azure Retail Prices API",
    "gcp": "Cloud Billing Catalog API",
}


@dataclass
class RefreshResult:
    document: dict[str, Any]
    refreshed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)


class _Source:
    """Fetches each API resource once per refresh and resolves one entry's ladder."""

    def __init__(self, provider: str, region: str, fetch: Fetcher, api_key: str | None) -> None:
        self.provider, self.region, self.fetch, self.api_key = provider, region, fetch, api_key
        self.cache: dict[str, Any] = {}

    def _once(self, key: str, load: Any) -> Any:
        """Fetch once; a failure is remembered too, so a dead API is not asked again."""
        if key not in self.cache:
            try:
                self.cache[key] = load()
            except RefreshError as exc:
                self.cache[key] = exc
        value = self.cache[key]
        if isinstance(value, RefreshError):
            raise value
        return value

    def ladder(self, spec: dict[str, Any], where: str) -> tuple[list[tuple[Decimal, Decimal]], str]:
        if self.provider == "aws":
            url = aws.offer_url(str(spec["offer"]), self.region)
            offer = self._once(url, lambda: fetch_json(self.fetch, url))
            return aws.ladder(offer, spec, where), url
        if self.provider == "azure":
            odata = str(spec["filter"])
            found = self._once(odata, lambda: azure.items(self.fetch, odata))
            return azure.ladder(found, spec, where), azure.query_url(odata)
        service, key = str(spec["service"]), self.api_key or ""
        found = self._once(service, lambda: gcp.skus(self.fetch, service, key))
        return gcp.ladder(found, spec, self.region, where), redact(gcp.skus_url(service, key))


def refresh_catalog(
    name_or_path: str,
    fetch: Fetcher,
    *,
    today: dt.date,
    api_key: str | None = None,
) -> RefreshResult:
    path = resolve_catalog(name_or_path)
    original = load_yaml_file(path)
    current = parse_catalog(original, str(path))
    if current.provider == "gcp" and not api_key:
        raise CostInputError(
            "the Cloud Billing Catalog API needs an API key (--api-key or GOOGLE_API_KEY)"
        )
    document = copy.deepcopy(original)
    source = _Source(current.provider, current.region, fetch, api_key)
    result = RefreshResult(document)
    for raw in document["prices"]:
        key, spec = raw["key"], raw.get("refresh")
        raw.setdefault("retrieved", original["retrieved"])
        if not spec:
            result.kept.append((key, "no refresh spec: kept as transcribed"))
            continue
        try:
            ladder, url = source.ladder(spec, f"{current.name}:{key}")
            tiers, free = normalise(ladder, f"{current.name}:{key}")
        except (RefreshError, KeyError) as exc:
            result.kept.append((key, f"kept: {exc}"))
            continue
        if tiers != [{"start": _s(t["start"]), "price": _s(t["price"])} for t in raw["tiers"]]:
            result.changed.append(key)
        raw["tiers"] = tiers
        if free is not None:
            raw["free"] = {
                "quantity": _s(free),
                "kind": "monthly",
                "note": f"zero-price first tier in the {API_NAMES[current.provider]}",
            }
        raw["source"] = url
        raw["retrieved"] = today.isoformat()
        result.refreshed.append(key)
    document["retrieved"] = today.isoformat()
    document["method"] = (
        f"Refreshed from the {API_NAMES[current.provider]} on {today.isoformat()} "
        f"({len(result.refreshed)} of {len(document['prices'])} prices); entries not "
        "refreshed keep their earlier retrieval date."
    )
    parse_catalog(document, f"refreshed {current.name}")
    return result


def _s(value: Any) -> str:
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text == "-0" else text


def write_catalog(document: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{document['name']}.yaml"
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path
