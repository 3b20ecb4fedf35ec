"""Everything a report shows, computed once and shared by every format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fakewatch_cost.catalog import PROVIDERS, Catalog
from fakewatch_cost.estimate import Estimate, estimate
from fakewatch_cost.growth import Growth, growth
from fakewatch_cost.money import plain, unit_price, usd
from fakewatch_cost.pricing import MISSING_USAGE, PRICED, UNPRICED, CostLine
from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.seed import SeedComparison, seed_comparison
from fakewatch_cost.stacks.usage import COMPONENTS

PROVIDER_NAMES = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}
DEFAULT_AS_OF_NOTE = "dates in reports are the day they were made unless --as-of is given"


@dataclass(frozen=True)
class Report:
    profile: UsageProfile
    as_of: dt.date
    catalogs: dict[str, Catalog]
    estimates: dict[str, Estimate]
    warnings: list[str]
    growth: Growth | None
    seed: SeedComparison | None

    def components(self) -> list[str]:
        """Components any provider has a line for, in the fixed display order."""
        present = {ln.component for e in self.estimates.values() for ln in e.lines}
        return [c for c in COMPONENTS if c in present]

    def cell(self, provider: str, component: str) -> str:
        """A component subtotal as shown: ``$23.00``, ``$10.00*`` (partial) or ``-``."""
        lines = [ln for ln in self.estimates[provider].lines if ln.component == component]
        if not lines:
            return "-"
        total = self.estimates[provider].component_total(component)
        partial = any(ln.status == MISSING_USAGE for ln in lines)
        if total is None:
            return "n/a*" if partial else "unpriced"
        return usd(total) + ("*" if partial else "")

    def total(self, provider: str) -> Decimal:
        return self.estimates[provider].total

    def per_million(self, provider: str) -> Decimal | None:
        return self.estimates[provider].per_million(self.profile.objects_per_month)

    @property
    def cheapest(self) -> str:
        return min(PROVIDERS, key=lambda p: (self.total(p), PROVIDERS.index(p)))

    @property
    def complete(self) -> bool:
        return all(e.complete for e in self.estimates.values())

    def gaps(self) -> list[CostLine]:
        """Lines without a cost: a missing usage figure or no price in the catalog."""
        return [ln for p in PROVIDERS for ln in self.estimates[p].lines if ln.status != PRICED]


def build_report(
    profile: UsageProfile,
    catalogs: dict[str, Catalog],
    *,
    as_of: dt.date,
    with_growth: bool = True,
    volumes: list[Decimal] | None = None,
    search: list[Path] | None = None,
    max_age_days: int = 180,
) -> Report:
    estimates = estimate(profile, catalogs)
    warnings = [
        message
        for p in PROVIDERS
        if (message := catalogs[p].staleness(as_of, max_age_days)) is not None
    ]
    can_grow = with_growth and bool(profile.objects_per_month)
    return Report(
        profile=profile,
        as_of=as_of,
        catalogs=catalogs,
        estimates=estimates,
        warnings=warnings,
        growth=growth(profile, catalogs, volumes) if can_grow else None,
        seed=seed_comparison(profile, estimates, search, as_of),
    )


def quantity(value: Decimal | None) -> str:
    """``30,000,000``; ``27.78``; ``-`` when missing."""
    if value is None:
        return "-"
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def price_label(line: CostLine) -> str:
    if line.unit_price is None:
        return "-"
    tiered = " (tiered)" if len(line.tiers) > 1 else ""
    return f"{unit_price(line.unit_price, line.unit)}{tiered}"


def free_label(line: CostLine) -> str:
    if not line.free:
        return ""
    kind = " (12-month trial)" if line.free_kind == "trial" else ""
    return f"{quantity(line.free)}{kind}"


def line_cost(line: CostLine) -> str:
    if line.status == PRICED:
        return usd(line.cost)
    if line.status == UNPRICED:
        return "unpriced"
    return "n/a"


def gap_text(line: CostLine) -> str:
    name = PROVIDER_NAMES[line.provider]
    if line.status == MISSING_USAGE:
        return (
            f"{name} {line.resource}, {line.description}: {line.reason}; "
            f"unit price {price_label(line)}"
        )
    return f"{name} {line.resource}, {line.description}: {line.reason}"


def _name(option: str) -> str:
    return PROVIDER_NAMES.get(option, option)


def crossover_text(question: str, provider: str, volume: Decimal, before: str, after: str) -> str:
    where = f" on {PROVIDER_NAMES[provider]}" if provider else ""
    return (
        f"{question}{where}: {_name(before)} up to {quantity(volume - 1)} "
        f"objects a month, {_name(after)} from {quantity(volume)}"
    )


def growth_findings(growth: Growth) -> list[str]:
    """Every crossover, each answer that holds throughout, and what went unanswered."""
    low, high = growth.points[0].volume, growth.points[-1].volume
    lines = [
        crossover_text(c.question, c.provider, c.volume, c.before, c.after)
        for c in growth.crossovers
    ]
    for question, provider, option in growth.steady:
        where = f" on {PROVIDER_NAMES[provider]}" if provider else ""
        lines.append(
            f"{question}{where}: {_name(option)} throughout "
            f"{quantity(low)} to {quantity(high)} objects a month"
        )
    lines += [f"not answered: {text}" for text in growth.unanswered]
    return lines


def exact(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)
