"""``fakewatch azure local`` and ``backfill --dry-run`` against the session's Azurite."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from fakewatch_azure.cli import app
from fakewatch_azure.emulator import Azurite
from fakewatch_azure.runtime import set_runtime

pytestmark = pytest.mark.integration


def test_local_scans_the_sample_batch_then_backfill_finds_nothing_stale(azurite: Azurite) -> None:
    run = uuid.uuid4().hex[:8]
    inbox, results = f"cli-in-{run}", f"cli-res-{run}"
    conn = ["--connection-string", azurite.connection_string]
    runner = CliRunner()
    try:
        local = runner.invoke(
            app,
            ["local", "-c", inbox, "--results", results, "--quarantine", f"cli-q-{run}",
             "--samples", "--schema", "cloudevents", *conn],
        )  # fmt: skip
        assert local.exit_code == 0, local.output
        assert "synthetic    quarantine  uploads/generated-with-a1111.png" in local.output
        assert "no_evidence  allow       uploads/holiday photo été (1).jpg" in local.output
        assert "6 entries, chain ok=True" in local.output
        dry = runner.invoke(app, ["backfill", "-c", inbox, "--dry-run", *conn])
        assert dry.exit_code == 0, dry.output
        assert "0 blobs selected (stale)" in dry.output  # quarantined ones left; rest current
    finally:
        set_runtime(None)
