"""A single self-contained HTML file: inline CSS and SVG, no script, nothing fetched.

A Content-Security-Policy meta tag forbids every network load, so the page renders the
same offline as online.
"""

from __future__ import annotations

from html import escape

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
from fakewatch_cost.reports.svg import growth_chart, legend, stacked_bars
from fakewatch_cost.stacks.usage import COMPONENTS

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222}
body{max-width:1100px}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
tr.total td{font-weight:bold}
.warn{background:#fff3cd;padding:.5em 1em;border-left:4px solid #e0a800}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em}
.swatch{display:inline-block;width:12px;height:12px;margin-right:4px}
svg text{font-size:12px;fill:#222}.note{font-size:90%;color:#444}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _head_row(first: list[str]) -> str:
    cells = [*first, *(PROVIDER_NAMES[p] for p in PROVIDERS)]
    return "<tr>" + "".join(f"<th>{_e(c)}</th>" for c in cells) + "</tr>"


def _summary(report: Report) -> str:
    rows = [_head_row(["Component"])]
    for component in report.components():
        cells = "".join(f'<td class="num">{_e(report.cell(p, component))}</td>' for p in PROVIDERS)
        rows.append(f"<tr><td>{_e(COMPONENTS[component])}</td>{cells}</tr>")
    totals = "".join(
        f'<td class="num" id="total-{p}">{usd(report.total(p))}</td>' for p in PROVIDERS
    )
    rows.append(f'<tr class="total"><td>Total</td>{totals}</tr>')
    per_m = "".join(f'<td class="num">{usd(report.per_million(p))}</td>' for p in PROVIDERS)
    rows.append(f"<tr><td>Per million scans</td>{per_m}</tr>")
    cheapest = report.cheapest
    return (
        f'<table id="summary">{"".join(rows)}</table>'
        f'<p id="cheapest">Cheapest: <strong>{PROVIDER_NAMES[cheapest]}</strong> at '
        f"{usd(report.total(cheapest))} a month.</p>"
    )


def _seed(report: Report) -> str:
    seed = report.seed
    if seed is None:
        return ""
    state = "reproduced to the cent" if seed.reproduced_exactly else "NOT reproduced"
    rows = [
        "<tr><th>Row</th><th>Cloud</th><th>Seed</th><th>Reproduced</th><th>List price</th>"
        "<th>Note</th></tr>"
    ]
    for row in seed.rows:
        for p in PROVIDERS:
            cell = row.cells[p]
            service = row.services.get(p, "")
            label = f"{PROVIDER_NAMES[p]}: {service}" if service else PROVIDER_NAMES[p]
            note = _e(cell.note) if cell.departs else ""
            rows.append(
                f"<tr><td>{_e(row.label)}</td><td>{_e(label)}</td>"
                f'<td class="num">{usd(cell.published)}</td><td class="num">'
                f'{usd(cell.reproduced)}</td><td class="num">{usd(cell.listed)}</td>'
                f'<td class="note">{note}</td></tr>'
            )
    for p in PROVIDERS:
        rows.append(
            f'<tr class="total"><td>Total</td><td>{PROVIDER_NAMES[p]}</td>'
            f'<td class="num">{usd(seed.published_totals[p])}</td>'
            f'<td class="num" id="seed-reproduced-{p}">{usd(seed.reproduced_totals[p])}</td>'
            f'<td class="num">{usd(seed.listed_totals[p])}</td><td></td></tr>'
        )
    return (
        f"<h2>{_e(seed.title)}</h2><p>Source <code>{_e(seed.document)}</code>: "
        f'<span id="seed-state">{state}</span>.</p><table id="seed">{"".join(rows)}</table>'
    )


def _growth(report: Report) -> str:
    growth = report.growth
    if growth is None:
        return ""
    rows = [_head_row(["Objects a month"]).replace("</tr>", "<th>Cheapest</th></tr>")]
    for pt in growth.points:
        cells = "".join(f'<td class="num">{usd(pt.totals[p])}</td>' for p in PROVIDERS)
        rows.append(
            f'<tr><td class="num">{quantity(pt.volume)}</td>{cells}'
            f"<td>{PROVIDER_NAMES[pt.cheapest]}</td></tr>"
        )
    items = "".join(f"<li>{_e(c)}</li>" for c in growth_findings(growth))
    return (
        f"<h2>Growth with volume</h2>{growth_chart(report)}"
        f'<table id="growth">{"".join(rows)}</table>'
        f'<h3>Where the cheaper option changes</h3><ul id="crossovers">{items}</ul>'
    )


def _lines(report: Report) -> str:
    parts = ["<h2>Cost lines</h2>"]
    for p in PROVIDERS:
        est = report.estimates[p]
        rows = [
            "<tr><th>Component</th><th>Resource</th><th>Item</th><th>Quantity</th>"
            "<th>Unit price</th><th>Free</th><th>Cost</th></tr>"
        ]
        for ln in est.lines:
            rows.append(
                f"<tr><td>{_e(COMPONENTS[ln.component])}</td><td>{_e(ln.resource)}</td>"
                f'<td>{_e(ln.description)}</td><td class="num">{quantity(ln.quantity)}</td>'
                f'<td class="num">{_e(price_label(ln))}</td><td class="num">{_e(free_label(ln))}'
                f'</td><td class="num">{_e(line_cost(ln))}</td></tr>'
            )
        parts.append(
            f"<h3>{PROVIDER_NAMES[p]} ({_e(est.catalog)})</h3>"
            f'<table class="lines" data-provider="{p}">{"".join(rows)}</table>'
        )
    return "".join(parts)


def _footer(report: Report) -> str:
    parts = []
    gaps = report.gaps()
    if gaps:
        items = "".join(f"<li>{_e(gap_text(g))}</li>" for g in gaps)
        parts.append(f'<h2>Missing figures and prices</h2><ul id="gaps">{items}</ul>')
    if report.profile.assumptions:
        items = "".join(f"<li>{_e(a)}</li>" for a in report.profile.assumptions)
        parts.append(f"<h2>Assumptions</h2><ul>{items}</ul>")
    cats = "".join(
        f"<li>{_e(c.name)}: {_e(c.region)}, retrieved {c.oldest().isoformat()}</li>"
        for c in report.catalogs.values()
    )
    parts.append(f"<h2>Catalogs</h2><ul>{cats}</ul>")
    return "".join(parts)


def render_html(report: Report) -> str:
    p = report.profile
    warnings = "".join(f'<p class="warn">Stale prices: {_e(w)}</p>' for w in report.warnings)
    body = "".join(
        [
            f"<h1>fakewatch cost comparison: {_e(p.name)}</h1>",
            f"<p>{_e(p.description)}</p>",
            f"<p>Monthly USD as of {report.as_of.isoformat()}; free tiers: {_e(p.free_tiers)}.</p>",
            warnings,
            "<h2>Monthly cost by component</h2>",
            stacked_bars(report),
            legend(),
            _summary(report),
            _seed(report),
            _growth(report),
            _lines(report),
            _footer(report),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>fakewatch cost: {_e(p.name)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
