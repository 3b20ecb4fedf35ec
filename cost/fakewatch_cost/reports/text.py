"""Terminal tables (rich), rendered to plain text so they can be saved or diffed."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from fakewatch_cost.catalog import PROVIDERS
from fakewatch_cost.money import usd
from fakewatch_cost.reports.model import PROVIDER_NAMES, Report, gap_text, growth_findings, quantity
from fakewatch_cost.stacks.usage import COMPONENTS

WIDTH = 120


def render_table(report: Report, width: int = WIDTH) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
    )
    console.print(_summary(report))
    for warning in report.warnings:
        console.print(f"stale prices: {warning}")
    if report.seed:
        console.print(_seed(report))
    if report.growth:
        console.print(_growth(report))
        for text in growth_findings(report.growth):
            console.print(f"- {text}")
    for gap in report.gaps():
        console.print(f"* {gap_text(gap)}")
    return buffer.getvalue()


def _summary(report: Report) -> Table:
    p = report.profile
    table = Table(
        title=f"fakewatch cost: {p.name} (monthly USD, {report.as_of.isoformat()})",
        box=box.SIMPLE_HEAVY,
    )
    table.add_column("Component")
    for provider in PROVIDERS:
        table.add_column(PROVIDER_NAMES[provider], justify="right")
    for component in report.components():
        table.add_row(COMPONENTS[component], *(report.cell(pr, component) for pr in PROVIDERS))
    table.add_section()
    table.add_row("Total", *(usd(report.total(pr)) for pr in PROVIDERS))
    table.add_row("Per million scans", *(usd(report.per_million(pr)) for pr in PROVIDERS))
    table.caption = f"cheapest: {PROVIDER_NAMES[report.cheapest]}"
    return table


def _seed(report: Report) -> Table:
    seed = report.seed
    assert seed is not None
    state = "reproduced to the cent" if seed.reproduced_exactly else "NOT reproduced"
    table = Table(title=f"{seed.title}: {state}", box=box.SIMPLE_HEAVY)
    for name, justify in (
        ("Row", "left"),
        ("Cloud", "left"),
        ("Seed", "right"),
        ("Reproduced", "right"),
        ("List", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in seed.rows:
        for p in PROVIDERS:
            cell = row.cells[p]
            mark = " !" if cell.departs else ""
            table.add_row(
                row.label,
                PROVIDER_NAMES[p],
                usd(cell.published),
                usd(cell.reproduced),
                usd(cell.listed) + mark,
            )
    table.add_section()
    for p in PROVIDERS:
        table.add_row(
            "Total",
            PROVIDER_NAMES[p],
            usd(seed.published_totals[p]),
            usd(seed.reproduced_totals[p]),
            usd(seed.listed_totals[p]),
        )
    table.caption = "! departs from the seed; the notes are in the markdown/html/json reports"
    return table


def _growth(report: Report) -> Table:
    growth = report.growth
    assert growth is not None
    table = Table(title="Growth with volume (monthly total)", box=box.SIMPLE_HEAVY)
    table.add_column("Objects a month", justify="right")
    for provider in PROVIDERS:
        table.add_column(PROVIDER_NAMES[provider], justify="right")
    table.add_column("Cheapest")
    for point in growth.points:
        table.add_row(
            quantity(point.volume),
            *(usd(point.totals[p]) for p in PROVIDERS),
            PROVIDER_NAMES[point.cheapest],
        )
    return table
