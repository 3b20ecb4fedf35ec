"""Azure Retail Prices API (``prices.azure.com/api/retail/prices``, OData ``$filter``).

Shape: ``{"Items": [...], "NextPageLink": url|null}``; each item has ``retailPrice``,
``tierMinimumUnits``, ``unitOfMeasure`` ("10K", "1 GB/Month", "1 Hour"), ``type``.
"""

from __future__ import annotations

import re
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any

from fakewatch_cost.refresh.fetch import Fetcher, RefreshError, expect, fetch_json

BASE = "https://prices.azure.com/api/retail/prices"
MAX_PAGES = 50
SCALE = {"": 1, "K": 1000, "M": 1_000_000, "B": 1_000_000_000}


def query_url(odata_filter: str) -> str:
    return BASE + "?" + urllib.parse.urlencode({"$filter": odata_filter}, safe="'")


def unit_size(unit_of_measure: str) -> Decimal:
    """How many units one price covers: ``10K`` -> 10000, ``1 GB/Month`` -> 1."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*([KMB]?)\b", unit_of_measure)
    if not match:
        raise RefreshError(f"unknown unitOfMeasure {unit_of_measure!r}")
    return Decimal(match.group(1)) * SCALE[match.group(2)]


def _same_api(url: str) -> bool:
    """Pages must stay on the API (real responses spell the host ``prices.azure.com:443``)."""
    parts = urllib.parse.urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname == "prices.azure.com"
        and parts.path == "/api/retail/prices"
    )


def items(fetch: Fetcher, odata_filter: str) -> list[dict[str, Any]]:
    """All items for a filter, following ``NextPageLink`` (at most ``MAX_PAGES`` pages)."""
    url: str | None = query_url(odata_filter)
    collected: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if not url:
            return collected
        page = expect(fetch_json(fetch, url), dict, url)
        collected += [i for i in expect(page.get("Items", []), list, url) if isinstance(i, dict)]
        next_url = page.get("NextPageLink")
        if next_url is not None and not _same_api(str(next_url)):
            raise RefreshError(f"{url}: NextPageLink leaves {BASE}: {next_url!r}")
        url = next_url
    raise RefreshError(f"{query_url(odata_filter)}: more than {MAX_PAGES} pages")


def ladder(
    found: list[dict[str, Any]], spec: dict[str, Any], where: str
) -> list[tuple[Decimal, Decimal]]:
    exclude = [str(word) for word in spec.get("exclude", [])]

    def wanted(item: dict[str, Any]) -> bool:
        names = f"{item.get('productName', '')} {item.get('skuName', '')}"
        return (
            item.get("type") == "Consumption"
            and item.get("currencyCode", "USD") == "USD"
            and not any(word in names for word in exclude)
        )

    chosen = [i for i in found if wanted(i)]
    meters = {(i.get("productName"), i.get("skuName"), i.get("meterName")) for i in chosen}
    if len(meters) != 1:
        raise RefreshError(f"{where}: {len(meters)} meters match the filter")
    result = []
    for item in chosen:
        try:
            size = unit_size(str(item["unitOfMeasure"]))
            start = Decimal(str(item.get("tierMinimumUnits", 0))) * size
            price = Decimal(str(item["retailPrice"])) / size
        except (KeyError, InvalidOperation) as exc:
            raise RefreshError(f"{where}: malformed item") from exc
        result.append((start.normalize(), price))
    return result
