"""Reproduce a published cost table (seed 001) and set list prices beside it.

The profile's ``seed`` section names the catalogs holding the prices the seed used, the
quantities its figures imply where they differ from the stated workload (``overrides``),
the published cells, and a note for each cell that departs from list prices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fakewatch_cost.catalog import PROVIDERS, load_catalog
from fakewatch_cost.estimate import Estimate, estimate
from fakewatch_cost.money import ZERO, cents, to_decimal
from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.stacks.usage import COMPONENTS

MISSING_NOTE = "Missing from the seed: a deployment is billed for it."


@dataclass(frozen=True)
class SeedCell:
    published: Decimal | None
    reproduced: Decimal | None
    listed: Decimal | None
    note: str

    @property
    def departs(self) -> bool:
        """The list-price cell differs (to the cent) from the seed's figure."""
        seed = self.published if self.published is not None else ZERO
        listed = self.listed if self.listed is not None else ZERO
        return cents(seed) != cents(listed)


@dataclass(frozen=True)
class SeedRow:
    component: str
    label: str
    services: dict[str, str]
    cells: dict[str, SeedCell]


@dataclass(frozen=True)
class SeedComparison:
    title: str
    document: str
    rows: list[SeedRow]
    published_totals: dict[str, Decimal | None]
    reproduced_totals: dict[str, Decimal]
    listed_totals: dict[str, Decimal]
    catalogs: dict[str, str]
    overrides: dict[str, dict[str, Any]]

    @property
    def reproduced_exactly(self) -> bool:
        for row in self.rows:
            for cell in row.cells.values():
                if cell.published is not None and (
                    cell.reproduced is None or cents(cell.reproduced) != cell.published
                ):
                    return False
        return all(
            total is None or cents(self.reproduced_totals[p]) == total
            for p, total in self.published_totals.items()
        )


def seed_estimates(
    profile: UsageProfile, search: list[Path] | None = None, today: dt.date | None = None
) -> dict[str, Estimate]:
    """Each provider's stack priced with the seed's catalog and the seed's quantities."""
    section = profile.raw["seed"]
    overrides = section.get("overrides", {})
    result: dict[str, Estimate] = {}
    for provider in PROVIDERS:
        values = {**overrides.get("all", {}), **overrides.get(provider, {})}
        seeded = profile.with_values(values) if values else profile
        catalog = load_catalog(
            section["catalogs"][provider], search=search, today=today, max_age_days=10**6
        )
        result[provider] = estimate(seeded, {provider: catalog})[provider]
    return result


def seed_comparison(
    profile: UsageProfile,
    listed: dict[str, Estimate],
    search: list[Path] | None = None,
    today: dt.date | None = None,
) -> SeedComparison | None:
    """``None`` when the profile has no seed section."""
    if "seed" not in profile.raw:
        return None
    section = profile.raw["seed"]
    seeded = seed_estimates(profile, search, today)
    rows = [_row(raw, seeded, listed) for raw in section["rows"]]
    covered = {row.component for row in rows}
    for component, label in COMPONENTS.items():
        if component in covered:
            continue
        cells = {
            p: SeedCell(None, None, listed[p].component_total(component), MISSING_NOTE)
            for p in PROVIDERS
        }
        if any(c.listed for c in cells.values()):
            rows.append(SeedRow(component, label, {}, cells))
    published = section.get("published_totals", {})
    return SeedComparison(
        title=section.get("title", "Seed"),
        document=section["document"],
        rows=rows,
        published_totals={
            p: to_decimal(published[p], f"seed.published_totals.{p}") if p in published else None
            for p in PROVIDERS
        },
        reproduced_totals={p: seeded[p].total for p in PROVIDERS},
        listed_totals={p: listed[p].total for p in PROVIDERS},
        catalogs=dict(section["catalogs"]),
        overrides=dict(section.get("overrides", {})),
    )


def _row(raw: dict[str, Any], seeded: dict[str, Estimate], listed: dict[str, Estimate]) -> SeedRow:
    component = raw["component"]
    notes = raw.get("notes", {})
    cells = {}
    for provider in PROVIDERS:
        value = raw["published"].get(provider)
        published = to_decimal(value, f"seed row {component}.{provider}") if value else None
        note = notes.get(provider) or notes.get("all", "")
        cells[provider] = SeedCell(
            published=published,
            reproduced=seeded[provider].component_total(component),
            listed=listed[provider].component_total(component),
            note=" ".join(note.split()),
        )
    return SeedRow(component, raw["label"], dict(raw.get("services", {})), cells)
