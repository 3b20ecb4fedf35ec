"""Load YAML documents defensively: bounded size, no aliases, plain JSON-like values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from fakewatch_cost.errors import CostInputError

MAX_BYTES = 2 * 1024 * 1024
# libyaml's loader when PyYAML was built with it: same safe semantics, much faster.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 file no larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CostInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not path.is_file():
        raise CostInputError(f"{path}: not a regular file")
    if size > max_bytes:
        raise CostInputError(f"{path}: {size} bytes is larger than the {max_bytes} byte limit")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CostInputError(f"{path}: not UTF-8 text") from exc


def parse_yaml(text: str, where: str) -> Any:
    """Parse one YAML document; aliases (billion-laughs) and tags are refused."""
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.AliasEvent):
                raise CostInputError(f"{where}: YAML aliases are not allowed")
        data = yaml.load(text, Loader=Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise CostInputError(f"{where}: not valid YAML ({exc.__class__.__name__})") from exc
    return _plain(data)


def load_yaml_file(path: Path) -> Any:
    return parse_yaml(read_text(path), str(path))


def _plain(value: Any) -> Any:
    """Dates become ISO strings so JSON Schema sees what the author typed."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
