"""``fakewatch serve``: mounted on the main CLI through its entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from fakewatch_serve.cli import app


def test_contracts_lists_ports_and_routes_from_the_environment() -> None:
    result = CliRunner().invoke(app, ["contracts"], env={"AIP_PREDICT_ROUTE": "/v1/x:predict"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["sagemaker"]["routes"] == {"predict": "/invocations", "readiness": "/ping"}
    assert doc["sagemaker"]["port"] == 8080
    assert doc["vertex"]["routes"]["predict"] == "/v1/x:predict"
    assert doc["azureml"]["routes"]["liveness"] == "/live"


def test_run_refuses_a_bad_setting_with_exit_code_2() -> None:
    result = CliRunner().invoke(
        app, ["run", "--contract", "vertex"], env={"FAKEWATCH_SERVE_MAX_BATCH": "lots"}
    )
    assert result.exit_code == 2
    assert "FAKEWATCH_SERVE_MAX_BATCH" in result.output


def test_the_main_cli_mounts_serve() -> None:
    """``fakewatch serve contracts`` through the installed console script and entry point."""
    script = Path(sys.executable).parent / "fakewatch"
    result = subprocess.run(
        [str(script), "serve", "contracts"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["azureml"]["port"] == 5001
