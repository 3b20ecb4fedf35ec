"""Growth with volume and the volumes where the cheaper option changes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.estimate import estimate
from fakewatch_cost.growth import GrowthPoint, growth, totals_at
from fakewatch_cost.profile import load_profile


def test_totals_grow_with_volume(catalogs: dict[str, Catalog]) -> None:
    result = growth(load_profile("medium"), catalogs)
    for provider in ("aws", "gcp", "azure"):
        totals = [pt.totals[provider] for pt in result.points]
        assert totals == sorted(totals) and totals[0] < totals[-1]
    # The GPU floor makes small volumes expensive per scan.
    first, last = result.points[0], result.points[-1]
    assert first.per_million("aws") > 100 * last.per_million("aws")


def test_cheapest_cloud_changes_exactly_where_reported(catalogs: dict[str, Catalog]) -> None:
    profile = load_profile("seed-2025")
    result = growth(profile, catalogs)
    changes = [c for c in result.crossovers if c.question == "cheapest cloud"]
    assert changes
    for change in changes:
        before = GrowthPoint(change.volume - 1, totals_at(profile, catalogs, change.volume - 1))
        after = GrowthPoint(change.volume, totals_at(profile, catalogs, change.volume))
        assert (before.cheapest, after.cheapest) == (change.before, change.after)


def test_gpu_endpoint_overtakes_serverless_cpu_at_the_reported_volume(
    catalogs: dict[str, Catalog],
) -> None:
    profile = load_profile("medium")
    result = growth(profile, catalogs)
    gpu = {c.provider: c for c in result.crossovers if c.question.startswith("GPU endpoint")}
    assert set(gpu) == {"aws", "gcp", "azure"}
    change = gpu["aws"]
    assert (change.before, change.after) == ("serverless CPU", "GPU endpoint")

    def stage_costs(volume: D) -> tuple[D, D]:
        at = profile.with_objects(volume)
        longer = at.with_values({"scan.seconds": str(D("1.2") + D("0.05") * 4)})
        gpu_cost = estimate(at, catalogs)["aws"].component_total("gpu_inference")
        cpu_cost = estimate(longer, catalogs)["aws"].component_total("compute") - estimate(
            at, catalogs
        )["aws"].component_total("compute")
        return gpu_cost, cpu_cost

    gpu_before, cpu_before = stage_costs(change.volume - 1)
    gpu_after, cpu_after = stage_costs(change.volume)
    assert cpu_before <= gpu_before and gpu_after < cpu_after


def test_self_hosted_face_detection_stays_cheaper_than_a_managed_api(
    catalogs: dict[str, Catalog],
) -> None:
    result = growth(load_profile("medium"), catalogs, [D(10_000), D(1_000_000), D(100_000_000)])
    face = [c for c in result.crossovers if c.question.startswith("managed face API")]
    # Free grants can make the managed API win at tiny volumes; never past a million.
    assert all(c.volume < 1_000_000 for c in face)
    assert not result.unanswered


def test_unanswerable_questions_are_reported_not_guessed(catalogs: dict[str, Catalog]) -> None:
    profile = load_profile("medium").with_values({"escalation.cpu_seconds": None})
    result = growth(profile, catalogs, [D(1000), D(10_000)])
    assert any("cpu_seconds" in text for text in result.unanswered)


def test_bad_volumes_are_refused(catalogs: dict[str, Catalog]) -> None:
    with pytest.raises(CostInputError):
        growth(load_profile("medium"), catalogs, [D(0), D(10)])
    with pytest.raises(CostInputError, match="objects_per_month"):
        growth(load_profile("medium").with_values({"objects_per_month": None}), catalogs)
