"""Markdown report: what a reviewer reads in a pull request or a wiki."""

from __future__ import annotations

from fakewatch_cost.catalog import PROVIDERS
from fakewatch_cost.money import usd
from fakewatch_cost.reports.model import (
    PROVIDER_NAMES,
    Report,
    free_label,
    gap_text,
    growth_findings,
    line_cost,
    price_label,
    quantity,
)
from fakewatch_cost.stacks.usage import COMPONENTS

HEAD = "| " + " | ".join(PROVIDER_NAMES[p] for p in PROVIDERS) + " |"


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    parts = [_header(report), _summary(report)]
    if report.seed:
        parts.append(_seed(report))
    if report.growth:
        parts.append(_growth(report))
    parts += [_lines(report), _gaps(report), _assumptions(report), _sources(report)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _header(report: Report) -> str:
    p = report.profile
    cats = ", ".join(
        f"{c.name} (retrieved {c.oldest().isoformat()})" for c in report.catalogs.values()
    )
    lines = [
        f"# fakewatch cost comparison: {p.name}",
        "",
        _esc(p.description),
        "",
        f"Monthly USD as of {report.as_of.isoformat()}. Catalogs: {cats}. "
        f"Free tiers: {p.free_tiers}.",
    ]
    for warning in report.warnings:
        lines += ["", f"> **Stale prices:** {_esc(warning)}"]
    return "\n".join(lines)


def _summary(report: Report) -> str:
    rows = [
        "## Monthly cost by component",
        "",
        "| Component " + HEAD,
        "|---|" + "---:|" * len(PROVIDERS),
    ]
    for component in report.components():
        cells = " | ".join(report.cell(p, component) for p in PROVIDERS)
        rows.append(f"| {COMPONENTS[component]} | {cells} |")
    totals = " | ".join(f"**{usd(report.total(p))}**" for p in PROVIDERS)
    rows.append(f"| **Total** | {totals} |")
    per_m = " | ".join(usd(report.per_million(p)) for p in PROVIDERS)
    rows.append(f"| Per million scans | {per_m} |")
    cheapest = report.cheapest
    rows += [
        "",
        f"Cheapest: **{PROVIDER_NAMES[cheapest]}** at {usd(report.total(cheapest))} a month.",
    ]
    if not report.complete:
        rows.append("`*` partial: a usage figure is missing (see *Missing figures*).")
    return "\n".join(rows)


def _seed(report: Report) -> str:
    seed = report.seed
    assert seed is not None
    verdict = "reproduced to the cent" if seed.reproduced_exactly else "NOT reproduced"
    rows = [
        f"## {_esc(seed.title)}",
        "",
        f"Source: `{seed.document}`; {verdict} with catalogs "
        + ", ".join(seed.catalogs[p] for p in PROVIDERS)
        + ".",
        "",
        "| Row | Cloud | Seed | Reproduced | List price | Note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in seed.rows:
        for p in PROVIDERS:
            cell = row.cells[p]
            service = row.services.get(p, "")
            label = f"{PROVIDER_NAMES[p]}: {service}" if service else PROVIDER_NAMES[p]
            note = _esc(cell.note) if cell.departs else ""
            rows.append(
                f"| {_esc(row.label)} | {_esc(label)} | {usd(cell.published)} | "
                f"{usd(cell.reproduced)} | {usd(cell.listed)} | {note} |"
            )
    for p in PROVIDERS:
        rows.append(
            f"| **Total** | {PROVIDER_NAMES[p]} | {usd(seed.published_totals[p])} | "
            f"{usd(seed.reproduced_totals[p])} | {usd(seed.listed_totals[p])} | |"
        )
    return "\n".join(rows)


def _growth(report: Report) -> str:
    growth = report.growth
    assert growth is not None
    rows = [
        "## Growth with volume",
        "",
        "| Objects a month " + HEAD + " Cheapest |",
        "|---:|" + "---:|" * len(PROVIDERS) + "---|",
    ]
    for point in growth.points:
        cells = " | ".join(
            f"{usd(point.totals[p])} ({usd(point.per_million(p))}/M)" for p in PROVIDERS
        )
        rows.append(f"| {quantity(point.volume)} | {cells} | {PROVIDER_NAMES[point.cheapest]} |")
    rows += ["", "### Where the cheaper option changes", ""]
    rows += [f"- {_esc(text)}" for text in growth_findings(growth)]
    return "\n".join(rows)


def _lines(report: Report) -> str:
    rows = ["## Cost lines"]
    for p in PROVIDERS:
        est = report.estimates[p]
        rows += [
            "",
            f"### {PROVIDER_NAMES[p]} ({est.catalog})",
            "",
            "| Component | Resource | Item | Quantity | Unit price | Free | Cost |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for ln in est.lines:
            rows.append(
                f"| {COMPONENTS[ln.component]} | {_esc(ln.resource)} | {_esc(ln.description)} | "
                f"{quantity(ln.quantity)} | {price_label(ln)} | {free_label(ln)} | "
                f"{line_cost(ln)} |"
            )
        rows.append(f"| **Total** | | | | | | **{usd(est.total)}** |")
    return "\n".join(rows)


def _gaps(report: Report) -> str:
    gaps = report.gaps()
    if not gaps:
        return ""
    return "## Missing figures and prices\n\n" + "\n".join(f"- {_esc(gap_text(g))}" for g in gaps)


def _assumptions(report: Report) -> str:
    if not report.profile.assumptions:
        return ""
    return "## Assumptions\n\n" + "\n".join(f"- {_esc(a)}" for a in report.profile.assumptions)


def _sources(report: Report) -> str:
    rows = [
        "## Price sources",
        "",
        "| Cloud | Service | SKU or meter | Region | Source | Retrieved |",
        "|---|---|---|---|---|---|",
    ]
    seen: set[tuple[str, str, str]] = set()
    for p in PROVIDERS:
        for ln in report.estimates[p].lines:
            key = (p, ln.service, ln.sku)
            if not ln.service or key in seen:
                continue
            seen.add(key)
            region = report.catalogs[p].price(ln.key)
            where = region.region if region else ""
            rows.append(
                f"| {PROVIDER_NAMES[p]} | {_esc(ln.service)} | {_esc(ln.sku)} | {where} | "
                f"{ln.source} | {ln.retrieved} |"
            )
    return "\n".join(rows)
