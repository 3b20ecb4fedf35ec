"""JSON Schema validation with one readable message per failure."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from fakewatch_cost.errors import CostInputError
from fakewatch_cost.resources import schema


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(schema_name), format_checker=FormatChecker())


def check(document: Any, schema_name: str, where: str) -> None:
    """Raise ``CostInputError`` listing up to five schema violations with their paths."""
    errors = sorted(
        _validator(schema_name).iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    if not errors:
        return
    lines = []
    for error in errors[:5]:
        path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        lines.append(f"  {path}: {error.message[:200]}")
    more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
    raise CostInputError(f"{where}: invalid {schema_name}:\n" + "\n".join(lines) + more)
