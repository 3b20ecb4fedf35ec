"""CSV: one row per cost line, then one total row per cloud, for spreadsheets."""

from __future__ import annotations

import csv
import io

from fakewatch_cost.catalog import PROVIDERS
from fakewatch_cost.money import cents, plain
from fakewatch_cost.reports.model import Report

COLUMNS = [
    "provider",
    "catalog",
    "component",
    "resource",
    "item",
    "price_key",
    "service",
    "sku",
    "quantity",
    "unit",
    "unit_price",
    "tiered",
    "free_applied",
    "free_kind",
    "cost_usd",
    "status",
    "reason",
    "source",
    "retrieved",
]


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in PROVIDERS:
        est = report.estimates[p]
        for ln in est.lines:
            writer.writerow(
                [
                    p,
                    est.catalog,
                    ln.component,
                    ln.resource,
                    ln.description,
                    ln.key,
                    ln.service,
                    ln.sku,
                    "" if ln.quantity is None else plain(ln.quantity),
                    ln.unit,
                    "" if ln.unit_price is None else plain(ln.unit_price),
                    "yes" if len(ln.tiers) > 1 else "no",
                    plain(ln.free),
                    ln.free_kind,
                    "" if ln.cost is None else f"{cents(ln.cost):.2f}",
                    ln.status,
                    ln.reason,
                    ln.source,
                    ln.retrieved,
                ]
            )
        writer.writerow(
            [
                p,
                est.catalog,
                "total",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                f"{cents(est.total):.2f}",
                "total",
                "",
                "",
                "",
            ]
        )
    return buffer.getvalue()
