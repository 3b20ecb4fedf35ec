"""Price one usage line against a catalog. Lookup is the catalog's job; this is costing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from fakewatch_cost.catalog import Catalog, PriceEntry
from fakewatch_cost.money import ZERO
from fakewatch_cost.stacks.usage import Usage
from fakewatch_cost.tiers import Tier, tiered_cost

PRICED = "priced"
MISSING_USAGE = "missing-usage"
UNPRICED = "unpriced"


@dataclass(frozen=True)
class CostLine:
    provider: str
    component: str
    resource: str
    description: str
    key: str
    quantity: Decimal | None
    cost: Decimal | None
    status: str
    unit: str = ""
    unit_price: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    free: Decimal = ZERO
    free_kind: str = ""
    service: str = ""
    sku: str = ""
    source: str = ""
    retrieved: str = ""
    reason: str = ""
    note: str = ""


def free_allowance(entry: PriceEntry, mode: str) -> Decimal:
    """The free grant that applies under a free-tier mode (none / monthly / trial)."""
    if entry.free is None or mode == "none":
        return ZERO
    if entry.free.kind == "monthly" or mode == "trial":
        return entry.free.quantity
    return ZERO


def price_line(provider: str, usage: Usage, catalog: Catalog, free_mode: str) -> CostLine:
    line = CostLine(
        provider=provider,
        component=usage.component,
        resource=usage.resource,
        description=usage.description,
        key=usage.price_key,
        quantity=usage.quantity.value,
        cost=None,
        status=UNPRICED,
    )
    entry = catalog.price(usage.price_key)
    if entry is None:
        return replace(line, reason=f"no price for {usage.price_key} in catalog {catalog.name}")
    line = replace(
        line,
        unit=entry.unit,
        unit_price=entry.tiers[0].price,
        tiers=tuple(entry.tiers),
        service=entry.service,
        sku=entry.sku,
        source=entry.source,
        retrieved=entry.retrieved.isoformat(),
        note=entry.note,
    )
    if usage.quantity.value is None:
        missing = ", ".join(usage.quantity.missing)
        return replace(line, status=MISSING_USAGE, reason=f"usage figure not given: {missing}")
    free = free_allowance(entry, free_mode)
    applied = min(free, usage.quantity.value)
    kind = entry.free.kind if entry.free and applied else ""
    cost = tiered_cost(usage.quantity.value, entry.tiers, free)
    return replace(line, cost=cost, status=PRICED, free=applied, free_kind=kind)
