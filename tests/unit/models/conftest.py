"""Shared fixtures for the learned-model tests: real ONNX models written to tmp dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakewatch.models import SESSIONS
from fakewatch.testing.onnx_models import statistic_classifier, write_model


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    """Each test starts with an empty process-wide session cache, so counts are its own."""
    SESSIONS.clear()
    yield
    SESSIONS.clear()


@pytest.fixture
def stat_manifest(tmp_path: Path) -> Path:
    """A red-vs-blue statistic classifier (NCHW, 32x32, logits) and its manifest."""
    return write_model(tmp_path / "stat", statistic_classifier())
