"""AWS Price List bulk offer files (regional ``index.json``).

Shape: ``products[sku].attributes.usagetype`` names the meter; ``terms.OnDemand[sku]``
holds offer terms whose ``priceDimensions`` carry ``beginRange`` and
``pricePerUnit.USD``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fakewatch_cost.refresh.fetch import RefreshError, expect

BASE = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws"


def offer_url(offer: str, region: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]+", offer) or not re.fullmatch(r"[a-z0-9-]+", region):
        raise RefreshError(f"bad offer code or region: {offer!r}, {region!r}")
    return f"{BASE}/{offer}/current/{region}/index.json"


def _usagetype_matches(actual: str, wanted: str) -> bool:
    """``USE1-Requests-Tier1`` and ``Requests-Tier1`` both match ``Requests-Tier1``."""
    return re.fullmatch(r"(?:[A-Z]{2,4}[0-9]?-)?" + re.escape(wanted), actual) is not None


def ladder(
    offer: dict[str, Any], spec: dict[str, Any], where: str
) -> list[tuple[Decimal, Decimal]]:
    offer = expect(offer, dict, f"{where}: offer file")
    products = expect(offer.get("products"), dict, f"{where}: products")
    wanted_attrs = spec.get("attributes", {})
    skus = []
    for sku, product in products.items():
        attrs = product.get("attributes", {}) if isinstance(product, dict) else {}
        if not _usagetype_matches(str(attrs.get("usagetype", "")), spec["usagetype"]):
            continue
        if all(attrs.get(k) == v for k, v in wanted_attrs.items()):
            skus.append(sku)
    if len(skus) != 1:
        raise RefreshError(f"{where}: {len(skus)} products match usagetype {spec['usagetype']}")
    on_demand = expect(expect(offer.get("terms", {}), dict, where).get("OnDemand", {}), dict, where)
    terms = expect(
        on_demand.get(skus[0]),
        dict,
        f"{where}: OnDemand terms for {skus[0]}",
    )
    result: list[tuple[Decimal, Decimal]] = []
    for term in terms.values():
        for dim in expect(term.get("priceDimensions"), dict, f"{where}: priceDimensions").values():
            try:
                start = Decimal(str(dim.get("beginRange", "0")))
                price = Decimal(str(dim["pricePerUnit"]["USD"]))
            except (KeyError, TypeError, InvalidOperation) as exc:
                raise RefreshError(f"{where}: malformed price dimension") from exc
            result.append((start, price / Decimal(str(spec.get("divisor", 1)))))
    return result
