"""Golden-file tests for every report format, plus structural checks on each.

Regenerate after an intended change: ``FAKEWATCH_UPDATE_GOLDEN=1 pytest tests/cost -q``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal as D

import pytest

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.profile import load_profile
from fakewatch_cost.reports import RENDERERS, Report, build_report

EXTENSIONS = {"table": "txt", "markdown": "md", "csv": "csv", "json": "json", "html": "html"}


@pytest.fixture(scope="module")
def seed_report(catalogs: dict[str, Catalog], as_of: dt.date) -> Report:
    return build_report(load_profile("seed-2025"), catalogs, as_of=as_of)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_seed_report_matches_golden(
    seed_report: Report, golden: Callable[[str, str], None], fmt: str
) -> None:
    golden(f"seed-2025.{EXTENSIONS[fmt]}", RENDERERS[fmt](seed_report))


@pytest.mark.parametrize("profile", ["small", "medium", "large"])
def test_preset_markdown_matches_golden(
    catalogs: dict[str, Catalog], as_of: dt.date, golden: Callable[[str, str], None], profile: str
) -> None:
    report = build_report(load_profile(profile), catalogs, as_of=as_of)
    golden(f"{profile}.md", RENDERERS["markdown"](report))


def test_json_report_keeps_money_exact(seed_report: Report) -> None:
    document = json.loads(RENDERERS["json"](seed_report))
    assert document["schema"] == "fakewatch-cost-report/1"
    assert document["seed"]["reproduced_exactly"] is True
    totals = {p: document["seed"]["totals"][p]["reproduced"] for p in ("aws", "gcp", "azure")}
    assert totals == {"aws": "1259.19", "gcp": "1479.18", "azure": "1289.50"}
    for provider in document["providers"].values():
        lines = [D(ln["cost_exact"]) for ln in provider["lines"] if ln["cost_exact"] is not None]
        assert D(provider["total_exact"]) == sum(lines)
        assert isinstance(provider["total"], str)
    assert len(document["warnings"]) == 3  # the shipped catalogs are older than 180 days


def test_csv_rows_add_up_to_the_totals(seed_report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(RENDERERS["csv"](seed_report))))
    for provider in ("aws", "gcp", "azure"):
        lines = [r for r in rows if r["provider"] == provider and r["status"] == "priced"]
        total = next(r for r in rows if r["provider"] == provider and r["status"] == "total")
        exact = seed_report.total(provider)
        assert D(total["cost_usd"]) == exact.quantize(D("0.01"))
        assert abs(sum(D(r["cost_usd"]) for r in lines) - exact) <= D("0.005") * len(lines)
        assert all(r["source"].startswith("https://") for r in lines)


def test_markdown_shows_seed_table_notes_and_sources(seed_report: Report) -> None:
    text = RENDERERS["markdown"](seed_report)
    assert "reproduced to the cent" in text
    assert "| **Total** | AWS | $1,259.19 | $1,259.19 | $1,787.74 | |" in text
    assert "950 GB" in text and "two T4s" in text
    assert "## Price sources" in text and "https://aws.amazon.com/s3/pricing/" in text
    assert text.count("> **Stale prices:**") == 3


def test_html_is_self_contained(seed_report: Report) -> None:
    html = RENDERERS["html"](seed_report)
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(" not in html and "@import" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert html.count('class="bar"') >= 20 and 'class="series"' in html


def test_report_text_escapes_hostile_profile_text(
    catalogs: dict[str, Catalog], as_of: dt.date
) -> None:
    profile = load_profile("small").with_values(
        {"description": "<script>alert(1)</script> | pipe", "assumptions": ["<b>x</b>"]}
    )
    report = build_report(profile, catalogs, as_of=as_of, with_growth=False)
    html = RENDERERS["html"](report)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert "\\| pipe" in RENDERERS["markdown"](report)
