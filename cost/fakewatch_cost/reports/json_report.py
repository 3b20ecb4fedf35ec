"""JSON: the whole report for machines. Money is a string so no float ever touches it."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fakewatch_cost.catalog import PROVIDERS
from fakewatch_cost.money import cents, plain
from fakewatch_cost.pricing import CostLine
from fakewatch_cost.reports.model import Report, exact

SCHEMA = "fakewatch-cost-report/1"


def money(value: Any) -> str | None:
    return None if value is None else f"{cents(value):.2f}"


def _line(ln: CostLine) -> dict[str, Any]:
    return {
        "component": ln.component,
        "resource": ln.resource,
        "item": ln.description,
        "price_key": ln.key,
        "service": ln.service,
        "sku": ln.sku,
        "quantity": exact(ln.quantity),
        "unit": ln.unit,
        "tiers": [{"start": plain(t.start), "price": plain(t.price)} for t in ln.tiers],
        "free_applied": plain(ln.free),
        "free_kind": ln.free_kind or None,
        "cost": money(ln.cost),
        "cost_exact": exact(ln.cost),
        "status": ln.status,
        "reason": ln.reason or None,
        "note": ln.note or None,
        "source": ln.source or None,
        "retrieved": ln.retrieved or None,
    }


def _seed(report: Report) -> dict[str, Any] | None:
    seed = report.seed
    if seed is None:
        return None
    return {
        "title": seed.title,
        "document": seed.document,
        "catalogs": seed.catalogs,
        "overrides": seed.overrides,
        "reproduced_exactly": seed.reproduced_exactly,
        "rows": [
            {
                "component": row.component,
                "label": row.label,
                "services": row.services,
                "cells": {
                    p: {
                        "published": money(c.published),
                        "reproduced": money(c.reproduced),
                        "list": money(c.listed),
                        "departs": c.departs,
                        "note": c.note if c.departs else None,
                    }
                    for p, c in row.cells.items()
                },
            }
            for row in seed.rows
        ],
        "totals": {
            p: {
                "published": money(seed.published_totals[p]),
                "reproduced": money(seed.reproduced_totals[p]),
                "list": money(seed.listed_totals[p]),
            }
            for p in PROVIDERS
        },
    }


def _growth(report: Report) -> dict[str, Any] | None:
    growth = report.growth
    if growth is None:
        return None
    return {
        "points": [
            {
                "objects_per_month": plain(pt.volume),
                "cheapest": pt.cheapest,
                "totals": {p: money(pt.totals[p]) for p in PROVIDERS},
                "per_million_scans": {p: money(pt.per_million(p)) for p in PROVIDERS},
            }
            for pt in growth.points
        ],
        "crossovers": [
            {**asdict(c), "volume": plain(c.volume), "provider": c.provider or None}
            for c in growth.crossovers
        ],
        "steady": [
            {"question": q, "provider": p or None, "option": o} for q, p, o in growth.steady
        ],
        "unanswered": growth.unanswered,
    }


def render_json(report: Report) -> str:
    document = {
        "schema": SCHEMA,
        "profile": {
            "name": report.profile.name,
            "description": report.profile.description,
            "free_tiers": report.profile.free_tiers,
            "objects_per_month": exact(report.profile.objects_per_month),
            "assumptions": report.profile.assumptions,
        },
        "as_of": report.as_of.isoformat(),
        "currency": "USD",
        "catalogs": {
            p: {
                "name": c.name,
                "region": c.region,
                "retrieved": c.oldest().isoformat(),
                "age_days": c.age_days(report.as_of),
            }
            for p, c in report.catalogs.items()
        },
        "warnings": report.warnings,
        "cheapest": report.cheapest,
        "providers": {
            p: {
                "catalog": e.catalog,
                "total": money(e.total),
                "total_exact": plain(e.total),
                "per_million_scans": money(report.per_million(p)),
                "complete": e.complete,
                "components": {c: money(v) for c, v in e.components().items() if v is not None},
                "lines": [_line(ln) for ln in e.lines],
            }
            for p, e in report.estimates.items()
        },
        "seed": _seed(report),
        "growth": _growth(report),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
