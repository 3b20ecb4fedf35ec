"""A provider's monthly estimate: priced lines, per-component subtotals, total."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.money import ZERO
from fakewatch_cost.pricing import MISSING_USAGE, PRICED, CostLine, price_line
from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.stacks import STACKS
from fakewatch_cost.stacks.usage import COMPONENTS

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Estimate:
    provider: str
    catalog: str
    lines: list[CostLine]

    def component_total(self, component: str) -> Decimal | None:
        """Sum of priced lines of a component; ``None`` when the component has none."""
        priced = [ln.cost for ln in self.lines if ln.component == component and ln.cost is not None]
        return sum(priced, ZERO) if priced else None

    def components(self) -> dict[str, Decimal | None]:
        return {c: self.component_total(c) for c in COMPONENTS}

    @property
    def total(self) -> Decimal:
        return sum((ln.cost for ln in self.lines if ln.cost is not None), ZERO)

    @property
    def complete(self) -> bool:
        """True when no line lacks a usage figure (unpriced lines are reported separately)."""
        return all(ln.status != MISSING_USAGE for ln in self.lines)

    def missing(self) -> list[CostLine]:
        return [ln for ln in self.lines if ln.status != PRICED]

    def per_million(self, scans: Decimal | None) -> Decimal | None:
        if not scans:
            return None
        return self.total / scans * MILLION


def estimate(profile: UsageProfile, catalogs: dict[str, Catalog]) -> dict[str, Estimate]:
    """Price each provider's stack that has a catalog in ``catalogs``."""
    result: dict[str, Estimate] = {}
    for provider, stack in STACKS.items():
        catalog = catalogs.get(provider)
        if catalog is None:
            continue
        lines = [price_line(provider, u, catalog, profile.free_tiers) for u in stack(profile)]
        result[provider] = Estimate(provider, catalog.name, lines)
    return result
