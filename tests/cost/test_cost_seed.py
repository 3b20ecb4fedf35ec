"""Seed 001's table reproduced to the cent, and every departing cell explained."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.estimate import estimate
from fakewatch_cost.money import cents
from fakewatch_cost.profile import load_profile
from fakewatch_cost.seed import MISSING_NOTE, SeedComparison, seed_comparison

# The published table, copied from /work/shared/seeds/001_*.txt.
SEED_001 = {
    "storage": {"aws": "21.85", "gcp": "19.00", "azure": "17.48"},
    "compute": {"aws": "16.34", "gcp": "15.68", "azure": "15.52"},
    "face_detection": {"aws": "1000.00", "gcp": "1200.00", "azure": "1000.00"},
    "gpu_inference": {"aws": "209.00", "gcp": "235.00", "azure": "240.00"},
    "monitoring": {"aws": "12.00", "gcp": "9.50", "azure": "16.50"},
}
TOTALS = {"aws": "1259.19", "gcp": "1479.18", "azure": "1289.50"}


@pytest.fixture(scope="module")
def seed(catalogs: dict[str, Catalog], as_of: dt.date) -> SeedComparison:
    profile = load_profile("seed-2025")
    result = seed_comparison(profile, estimate(profile, catalogs), today=as_of)
    assert result is not None
    return result


@pytest.mark.parametrize("component", sorted(SEED_001))
@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_each_cell_is_reproduced_to_the_cent(
    seed: SeedComparison, component: str, provider: str
) -> None:
    row = next(r for r in seed.rows if r.component == component)
    cell = row.cells[provider]
    assert cell.published == D(SEED_001[component][provider])
    assert cell.reproduced is not None
    assert cents(cell.reproduced) == D(SEED_001[component][provider])


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_totals_are_reproduced_to_the_cent(seed: SeedComparison, provider: str) -> None:
    assert cents(seed.reproduced_totals[provider]) == D(TOTALS[provider])
    assert seed.published_totals[provider] == D(TOTALS[provider])


def test_reproduction_flag_is_true_and_would_catch_a_wrong_cell(seed: SeedComparison) -> None:
    assert seed.reproduced_exactly
    from dataclasses import replace

    row = seed.rows[0]
    broken_cell = replace(row.cells["aws"], published=D("21.86"))
    broken = replace(
        seed, rows=[replace(row, cells={**row.cells, "aws": broken_cell}), *seed.rows[1:]]
    )
    assert not broken.reproduced_exactly


def test_every_departing_cell_has_a_note(seed: SeedComparison) -> None:
    departing = [(r.component, p, c) for r in seed.rows for p, c in r.cells.items() if c.departs]
    assert len(departing) >= 20
    for component, provider, cell in departing:
        assert len(cell.note) > 20, (component, provider)


def test_cells_that_match_list_prices_do_not_depart(seed: SeedComparison) -> None:
    face = next(r for r in seed.rows if r.component == "face_detection")
    assert not face.cells["aws"].departs and not face.cells["azure"].departs
    assert face.cells["aws"].listed == D(1000)


def _cell(seed: SeedComparison, component: str, provider: str):
    return next(r for r in seed.rows if r.component == component).cells[provider]


def test_departure_notes_say_what_the_issue_lists(seed: SeedComparison) -> None:
    assert "950 GB" in _cell(seed, "storage", "aws").note
    assert _cell(seed, "storage", "aws").listed == D("23.00")  # 1,000 GB at list
    gpu = _cell(seed, "gpu_inference", "azure").note
    assert "different hours" in gpu and "V100" in gpu and "two T4s" in gpu
    vision = _cell(seed, "face_detection", "gcp")
    assert "tiers" in vision.note and vision.listed == D(1500)
    assert "log volumes" in _cell(seed, "monitoring", "gcp").note
    for component in ("messaging", "egress", "requests"):
        cell = _cell(seed, component, "aws")
        assert cell.published is None and cell.note == MISSING_NOTE and cell.listed


def test_list_column_prices_an_always_on_t4_endpoint(seed: SeedComparison) -> None:
    assert _cell(seed, "gpu_inference", "aws").listed == D(730) * D("0.7364")
    assert _cell(seed, "gpu_inference", "gcp").listed == D(730) * (D("0.2185") + D("0.4025"))
    assert _cell(seed, "gpu_inference", "azure").listed == D(730) * D("0.526")


def test_list_totals_exceed_the_seed_because_it_omits_billed_items(seed: SeedComparison) -> None:
    for provider in ("aws", "gcp", "azure"):
        assert seed.listed_totals[provider] > seed.reproduced_totals[provider]
