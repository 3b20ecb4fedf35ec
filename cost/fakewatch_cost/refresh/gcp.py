"""GCP Cloud Billing Catalog API (``services/{id}/skus``).

Shape: ``{"skus": [...], "nextPageToken": str}``; a SKU's latest ``pricingInfo`` has
``pricingExpression.tieredRates[]`` of ``startUsageAmount`` and ``unitPrice`` given as
``units`` (string) plus ``nanos`` (int). An API key is required.
"""

from __future__ import annotations

import re
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any

from fakewatch_cost.refresh.fetch import Fetcher, RefreshError, expect, fetch_json

BASE = "https://cloudbilling.googleapis.com/v1/services"
MAX_PAGES = 50
NANO = Decimal(10) ** 9


def skus_url(service: str, api_key: str, page_token: str = "") -> str:
    if not re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", service):
        raise RefreshError(f"bad GCP service id {service!r}")
    query = {"currencyCode": "USD", "key": api_key}
    if page_token:
        query["pageToken"] = page_token
    return f"{BASE}/{service}/skus?" + urllib.parse.urlencode(query)


def skus(fetch: Fetcher, service: str, api_key: str) -> list[dict[str, Any]]:
    token = ""
    collected: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        url = skus_url(service, api_key, token)
        page = expect(fetch_json(fetch, url), dict, f"{BASE}/{service}/skus")
        collected += [s for s in expect(page.get("skus", []), list, service) if isinstance(s, dict)]
        token = str(page.get("nextPageToken") or "")
        if not token:
            return collected
    raise RefreshError(f"{BASE}/{service}/skus: more than {MAX_PAGES} pages")


def money(unit_price: dict[str, Any], where: str) -> Decimal:
    try:
        return (
            Decimal(str(unit_price.get("units") or "0"))
            + Decimal(int(unit_price.get("nanos") or 0)) / NANO
        )
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise RefreshError(f"{where}: malformed unitPrice") from exc


def ladder(
    found: list[dict[str, Any]], spec: dict[str, Any], region: str, where: str
) -> list[tuple[Decimal, Decimal]]:
    wanted_region = spec.get("region", region)
    matches = [
        s
        for s in found
        if s.get("description") == spec["description"]
        and (
            wanted_region in s.get("serviceRegions", []) or "global" in s.get("serviceRegions", [])
        )
    ]
    if len(matches) != 1:
        raise RefreshError(
            f"{where}: {len(matches)} SKUs match {spec['description']!r} in {wanted_region}"
        )
    infos = expect(matches[0].get("pricingInfo"), list, f"{where}: pricingInfo")
    if not infos:
        raise RefreshError(f"{where}: empty pricingInfo")
    expression = expect(infos[-1].get("pricingExpression"), dict, f"{where}: pricingExpression")
    divisor = Decimal(str(spec.get("divisor", 1)))
    result = []
    for rate in expect(expression.get("tieredRates"), list, f"{where}: tieredRates"):
        try:
            start = Decimal(str(rate.get("startUsageAmount", 0))) * divisor
        except InvalidOperation as exc:
            raise RefreshError(f"{where}: malformed startUsageAmount") from exc
        result.append((start.normalize(), money(rate.get("unitPrice") or {}, where) / divisor))
    return result
