"""Shared fixtures for the cost-model tests.

Golden files live in ``tests/cost/golden``; regenerate them after an intended change with
``FAKEWATCH_UPDATE_GOLDEN=1 pytest tests/cost -q`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from fakewatch_cost.catalog import Catalog, CatalogAgeWarning, load_catalog_set

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
RECORDED = HERE / "recorded"
AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    """A fixed report date so golden files do not change with the calendar."""
    return AS_OF


@pytest.fixture(scope="session")
def catalogs() -> dict[str, Catalog]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatalogAgeWarning)
        return load_catalog_set(today=AS_OF)


@pytest.fixture()
def golden() -> Callable[[str, str], None]:
    """Compare text with ``golden/<name>``; rewrite it when FAKEWATCH_UPDATE_GOLDEN=1."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("FAKEWATCH_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run with FAKEWATCH_UPDATE_GOLDEN=1"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, (
            f"{name} differs from its golden file (FAKEWATCH_UPDATE_GOLDEN=1 to accept)"
        )

    return check
