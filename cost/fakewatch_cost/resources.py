"""Locate data files shipped inside the package (catalogs, profiles, schemas)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

PACKAGE = "fakewatch_cost"


def data_dir(name: str) -> Path:
    """The folder ``fakewatch_cost/<name>`` as a real path (the wheel ships it unzipped)."""
    return Path(str(resources.files(PACKAGE).joinpath(name)))


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files(PACKAGE).joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
