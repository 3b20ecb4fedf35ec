"""``fakewatch cost`` commands, driven through Typer's CliRunner on the sub-app."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakewatch_cost.cli import app

runner = CliRunner()
AS_OF = ["--as-of", "2026-11-22"]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_app_is_a_typer_named_app_for_the_entry_point() -> None:
    import typer

    assert isinstance(app, typer.Typer)


def test_compare_table_shows_totals_and_seed_state() -> None:
    result = invoke("compare", "--profile", "seed-2025", *AS_OF)
    assert result.exit_code == 0, result.output
    assert "$1,787.74" in result.stdout and "reproduced to the cent" in result.stdout
    assert "cheapest: Azure" in result.stdout


@pytest.mark.parametrize("fmt", ["markdown", "csv", "json", "html"])
def test_compare_writes_each_format_to_a_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    result = invoke(
        "compare", "-p", "small", "--format", fmt, "--out", str(out), "--no-growth", *AS_OF
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "$5.44" in text or "5.44" in text
    if fmt == "json":
        assert json.loads(text)["providers"]["aws"]["total"] == "5.44"


def test_free_tier_flag_changes_the_result() -> None:
    with_free = invoke("compare", "-p", "small", "-f", "json", "--no-growth", *AS_OF)
    without = invoke(
        "compare", "-p", "small", "-f", "json", "--no-growth", "--free-tiers", "none", *AS_OF
    )
    a = json.loads(with_free.stdout)["providers"]["gcp"]["total"]
    b = json.loads(without.stdout)["providers"]["gcp"]["total"]
    assert float(b) > float(a)


def test_bench_flag_takes_scan_figures_from_the_benchmark(tmp_path: Path) -> None:
    bench = tmp_path / "pipeline.json"
    bench.write_text(json.dumps({"scan_seconds": 3.0, "memory_mb": 2048}))
    base = json.loads(invoke("compare", "-p", "medium", "-f", "json", "--no-growth", *AS_OF).stdout)
    slow = json.loads(
        invoke(
            "compare", "-p", "medium", "-f", "json", "--no-growth", "--bench", str(bench), *AS_OF
        ).stdout
    )
    lines = {ln["price_key"]: ln for ln in slow["providers"]["aws"]["lines"]}
    assert lines["lambda.duration.x86_64"]["quantity"] == "6000000"  # 1M x 3 s x 2 GB
    slow_compute = Decimal(slow["providers"]["aws"]["components"]["compute"])
    assert slow_compute > Decimal(base["providers"]["aws"]["components"]["compute"])


def test_stale_catalogs_warn_on_stderr() -> None:
    result = invoke("compare", "-p", "small", "--no-growth", *AS_OF)
    assert "warning: catalog aws-us-east-1 has prices retrieved 2025-06-01" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "-p", "nope"], "unknown profile"),
        (["compare", "-p", "small", "--as-of", "tomorrow"], "--as-of"),
        (["compare", "-p", "small", "--catalog", "ibm=x"], "--catalog"),
        (["compare", "-p", "small", "--catalog", "aws=gcp-us-central1"], "is for gcp"),
        (["growth", "-p", "small", "--volumes", "10,-5"], "--volumes"),
        (["compare", "-p", "small", "--bench", "/nonexistent/pipeline.json"], "cannot read"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_growth_with_explicit_volumes() -> None:
    result = invoke("growth", "-p", "medium", "--volumes", "1e4,1e6,1e8", "-f", "json", *AS_OF)
    assert result.exit_code == 0, result.output
    points = json.loads(result.stdout)["growth"]["points"]
    assert [p["objects_per_month"] for p in points] == ["10000", "1000000", "100000000"]


def test_profiles_and_catalogs_list_what_ships() -> None:
    profiles = invoke("profiles")
    assert profiles.exit_code == 0
    for name in ("small", "medium", "large", "seed-2025"):
        assert name in profiles.stdout
    catalogs = invoke("catalogs", "--provider", "aws", "--prices", *AS_OF)
    assert catalogs.exit_code == 0
    assert "aws-us-east-1" in catalogs.stdout and "(stale)" in catalogs.stdout
    assert "lambda.duration.arm64" in catalogs.stdout and "gcp-us-central1" not in catalogs.stdout


def test_refresh_without_network_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No price API is reachable here: the command must say so and exit non-zero, not crash."""
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    result = invoke("refresh", "--provider", "gcp", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "API key" in result.stderr
    assert not list(tmp_path.iterdir())


def test_python_dash_m_runs_the_app() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fakewatch_cost", "profiles"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "seed-2025" in proc.stdout
