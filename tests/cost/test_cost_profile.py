"""Profiles: presets, the neutral vocabulary, missing figures, bench input, bad input."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.estimate import estimate
from fakewatch_cost.pricing import MISSING_USAGE, PRICED
from fakewatch_cost.profile import builtin_profiles, load_profile

MINIMAL = """
schema: fakewatch-cost-profile/1
name: partial
objects_per_month: 100000
scan: {seconds: 0.5, memory_mb: 1024}
"""


def test_presets_load_and_grow_in_volume() -> None:
    assert {"small", "medium", "large", "seed-2025"} <= set(builtin_profiles())
    volumes = [load_profile(n).objects_per_month for n in ("small", "medium", "large")]
    assert volumes == sorted(volumes) and len(set(volumes)) == 3


def test_every_preset_is_fully_priced(catalogs: dict[str, Catalog]) -> None:
    for name in ("small", "medium", "large", "seed-2025"):
        for est in estimate(load_profile(name), catalogs).values():
            assert est.complete, (name, est.provider, [ln.reason for ln in est.missing()])


def test_missing_figures_show_the_unit_price_not_a_guess(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    est = estimate(load_profile(str(path)), catalogs)["aws"]
    by_key = {(ln.key, ln.description): ln for ln in est.lines}
    storage = by_key[("s3.storage.standard", "S3 Standard storage")]
    assert storage.status == MISSING_USAGE
    assert storage.cost is None and storage.quantity is None
    assert storage.unit_price == D("0.023")
    assert "object_size_mb.image" in storage.reason and "storage.retention_days" in storage.reason
    egress = next(ln for ln in est.lines if ln.key == "egress.internet")
    assert egress.status == MISSING_USAGE and "egress_gb" in egress.reason
    # Figures that are given are still priced.
    requests = next(ln for ln in est.lines if ln.key == "lambda.requests")
    assert requests.status == PRICED and requests.quantity == D(100000)
    assert not est.complete
    assert est.total == sum(ln.cost for ln in est.lines if ln.cost is not None)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            MINIMAL.replace("objects_per_month: 100000", "objects_per_month: -5"),
            "objects_per_month",
        ),
        (
            MINIMAL.replace("objects_per_month: 100000", "objects_per_month: lots"),
            "objects_per_month",
        ),
        (MINIMAL + "media_mix: {image: 0.5, video: 0.2}\n", "add up to 1"),
        (MINIMAL + "escalation: {rate: 1.5}\n", "escalation/rate"),
        (MINIMAL + "gpu: {accelerator: h100}\n", "gpu/accelerator"),
        (MINIMAL + "storag: {retention_days: 30}\n", "Additional properties"),
        (MINIMAL.replace("schema: fakewatch-cost-profile/1", "schema: other/9"), "schema"),
        ("[1, 2, 3]\n", "invalid profile"),
    ],
)
def test_bad_profiles_are_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(CostInputError, match=message):
        load_profile(str(path))


def test_unknown_profile_lists_the_presets() -> None:
    with pytest.raises(CostInputError, match="medium"):
        load_profile("no-such-profile")


def test_bench_file_supplies_scan_duration_and_memory(tmp_path: Path) -> None:
    bench = tmp_path / "pipeline.json"
    bench.write_text(json.dumps({"scan_seconds": 0.42, "memory_mb": 612.5, "other": 1}))
    profile = load_profile("medium", bench=bench)
    assert profile.scan.seconds == D("0.42") and profile.scan.memory_mb == D("612.5")
    assert load_profile("medium").scan.seconds == D("1.2")


def test_profile_can_point_at_a_bench_file(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "pipeline.json").write_text('{"scan_seconds": 2, "memory_mb": 900}')
    path = tmp_path / "p.yaml"
    path.write_text(
        MINIMAL.replace(
            "scan: {seconds: 0.5, memory_mb: 1024}", "scan: {bench: results/pipeline.json}"
        )
    )
    profile = load_profile(str(path))
    assert (profile.scan.seconds, profile.scan.memory_mb) == (D(2), D(900))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"scan_seconds": 1}', "missing 'memory_mb'"),
        ('{"scan_seconds": "fast", "memory_mb": 1}', "not a number"),
        ('{"scan_seconds": 0, "memory_mb": 512}', "must be positive"),
        ('{"scan_seconds": true, "memory_mb": 512}', "expected a number"),
        ('{"scan_seconds": NaN, "memory_mb": 512}', "finite"),
        ("[0.4, 512]", "JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_bench_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    bench = tmp_path / "pipeline.json"
    bench.write_text(content)
    with pytest.raises(CostInputError, match=message):
        load_profile("medium", bench=bench)


def test_missing_bench_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CostInputError, match="cannot read"):
        load_profile("medium", bench=tmp_path / "absent.json")


def test_scaling_keeps_the_workload_shape() -> None:
    seed = load_profile("seed-2025")
    double = seed.with_objects(D(20_000_000))
    assert double.objects_per_month == D(20_000_000)
    assert double.stored_gb == D(2000) and double.log_ingest_gb == D(40)
    assert double.face_api.images == D(2_000_000) and double.egress_gb == D(200)
    assert double.gpu.min_instances == seed.gpu.min_instances
    assert double.scan == seed.scan


def test_overrides_replace_dotted_figures_and_are_validated() -> None:
    seed = load_profile("seed-2025")
    changed = seed.with_values({"gpu.hours": 100, "options.azure_functions_plan": "consumption"})
    assert changed.gpu.hours == D(100) and changed.options["azure_functions_plan"] == "consumption"
    with pytest.raises(CostInputError, match="options"):
        seed.with_values({"options.azure_functions_plan": "premium"})
