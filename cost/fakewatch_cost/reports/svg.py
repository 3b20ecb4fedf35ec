"""Inline SVG charts: no script, no fonts or images fetched, so the HTML stays self-contained."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from fakewatch_cost.catalog import PROVIDERS
from fakewatch_cost.money import ZERO, usd
from fakewatch_cost.reports.model import PROVIDER_NAMES, Report, quantity
from fakewatch_cost.stacks.usage import COMPONENTS

COMPONENT_COLORS = {
    "storage": "#4e79a7",
    "requests": "#a0cbe8",
    "compute": "#f28e2b",
    "messaging": "#ffbe7d",
    "state": "#59a14f",
    "gpu_inference": "#e15759",
    "face_detection": "#b07aa1",
    "monitoring": "#76b7b2",
    "egress": "#9c755f",
}
PROVIDER_COLORS = {"aws": "#d35400", "gcp": "#1a73e8", "azure": "#6a1b9a"}
W, H, LEFT, BOTTOM, TOP = 720, 360, 80, 40, 30


def _f(value: Decimal | float) -> str:
    return f"{float(value):.1f}"


def stacked_bars(report: Report) -> str:
    """One bar per cloud, stacked by component, with the total above it."""
    totals = [report.total(p) for p in PROVIDERS]
    peak = max([*totals, Decimal(1)])
    plot_h = Decimal(H - BOTTOM - TOP)
    slot = Decimal(W - LEFT - 20) / len(PROVIDERS)
    parts = [
        f'<svg class="chart" id="chart-components" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" aria-label="Monthly cost by component">'
    ]
    parts.append(
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - 10}" y2="{H - BOTTOM}" stroke="#555"/>'
    )
    for i, provider in enumerate(PROVIDERS):
        x = LEFT + slot * i + slot / 4
        width = slot / 2
        y = Decimal(H - BOTTOM)
        for component in COMPONENTS:
            value = report.estimates[provider].component_total(component) or ZERO
            if value <= 0:
                continue
            height = max(value / peak * plot_h, Decimal("0.5"))
            y -= height
            label = f"{PROVIDER_NAMES[provider]} {COMPONENTS[component]}: {usd(value)}"
            parts.append(
                f'<rect class="bar" data-provider="{provider}" data-component="{component}" '
                f'x="{_f(x)}" y="{_f(y)}" width="{_f(width)}" height="{_f(height)}" '
                f'fill="{COMPONENT_COLORS[component]}"><title>{escape(label)}</title></rect>'
            )
        parts.append(
            f'<text class="bar-total" data-provider="{provider}" x="{_f(x + width / 2)}" '
            f'y="{_f(y - 6)}" text-anchor="middle">{usd(report.total(provider))}</text>'
        )
        parts.append(
            f'<text x="{_f(x + width / 2)}" y="{H - BOTTOM + 18}" text-anchor="middle">'
            f"{PROVIDER_NAMES[provider]}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{COMPONENT_COLORS[c]}"></span>'
        f"{escape(label)}</li>"
        for c, label in COMPONENTS.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _log(value: Decimal) -> float:
    return float(max(value, Decimal("0.01")).log10())


def growth_chart(report: Report) -> str:
    """Monthly total against objects a month, both on log scales, one line per cloud."""
    growth = report.growth
    if growth is None or len(growth.points) < 2:
        return ""
    xs = [_log(pt.volume) for pt in growth.points]
    ys = [_log(pt.totals[p]) for pt in growth.points for p in PROVIDERS]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    y1 = y1 if y1 > y0 else y0 + 1

    def sx(v: float) -> float:
        return LEFT + (v - x0) / (x1 - x0) * (W - LEFT - 20)

    def sy(v: float) -> float:
        return H - BOTTOM - (v - y0) / (y1 - y0) * (H - BOTTOM - TOP)

    parts = [
        f'<svg class="chart" id="chart-growth" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" aria-label="Monthly total against volume">'
    ]
    parts.append(
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - 10}" y2="{H - BOTTOM}" stroke="#555"/>'
    )
    for pt, x in zip(growth.points, xs, strict=True):
        parts.append(
            f'<text class="tick" x="{sx(x):.1f}" y="{H - BOTTOM + 16}" '
            f'text-anchor="middle">{quantity(pt.volume)}</text>'
        )
    for provider in PROVIDERS:
        coords = [
            (sx(x), sy(_log(pt.totals[provider]))) for pt, x in zip(growth.points, xs, strict=True)
        ]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
        color = PROVIDER_COLORS[provider]
        parts.append(
            f'<polyline class="series" data-provider="{provider}" points="{points}" '
            f'fill="none" stroke="{color}" stroke-width="3"/>'
        )
        for (a, b), pt in zip(coords, growth.points, strict=True):
            label = (
                f"{PROVIDER_NAMES[provider]} at {quantity(pt.volume)}: {usd(pt.totals[provider])}"
            )
            parts.append(
                f'<circle class="point" data-provider="{provider}" cx="{a:.1f}" '
                f'cy="{b:.1f}" r="4" fill="{color}"><title>{escape(label)}</title></circle>'
            )
    for i, provider in enumerate(PROVIDERS):
        parts.append(
            f'<text x="{LEFT + 10 + i * 90}" y="18" fill="{PROVIDER_COLORS[provider]}">'
            f"{PROVIDER_NAMES[provider]}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
