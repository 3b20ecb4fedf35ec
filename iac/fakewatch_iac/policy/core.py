"""The data rules look at, and how they report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resource:
    """One declared resource: its type token, logical name, inputs (camelCase) and outputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    id: str | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    custom: bool = True

    def get(self, *path: str | int, default: Any = None) -> Any:
        """Nested lookup in the inputs: ``r.get("rules", 0, "expiration", "days")``."""
        return dig(self.inputs, *path, default=default)

    def out(self, key: str) -> Any:
        return self.state.get(key)

    def json(self, key: str) -> Any:
        """An input holding a JSON document (IAM policies), parsed."""
        value = self.inputs.get(key)
        return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Stack:
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def of(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Resource:
        found = self.of(typ)
        if len(found) != 1:
            raise LookupError(f"expected exactly one {typ}, found {len(found)}")
        return found[0]

    def where(self, typ: str, key: str, value: Any) -> list[Resource]:
        """Resources of ``typ`` whose input ``key`` equals ``value`` (attachments by id)."""
        return [r for r in self.of(typ) if r.inputs.get(key) == value]

    def without(self, predicate: Callable[[Resource], bool]) -> Stack:
        """A copy without the matching resources: how tests prove a rule can fail."""
        return Stack(tuple(r for r in self.resources if not predicate(r)), self.outputs)

    def replace(self, target: Resource, **inputs: Any) -> Stack:
        """A copy where ``target``'s inputs are updated: how tests prove a rule can fail."""
        changed = Resource(
            target.type,
            target.name,
            {**target.inputs, **inputs},
            target.id,
            target.state,
            target.custom,
        )
        return Stack(tuple(changed if r is target else r for r in self.resources), self.outputs)


@dataclass(frozen=True)
class Finding:
    rule: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


Check = Callable[[Stack], Iterable[Finding]]


def evaluate(stack: Stack, rules: Mapping[str, Check]) -> list[Finding]:
    """Every finding of every rule; an empty list means the stack passes."""
    findings: list[Finding] = []
    for rule in rules.values():
        findings.extend(rule(stack))
    return findings


def dig(node: Any, *path: str | int, default: Any = None) -> Any:
    """Nested lookup through mappings and lists; ``default`` where the path does not exist."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return default
        elif not isinstance(node, Mapping) or step not in node:
            return default
        node = node[step]
    return node


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of an IAM-style policy document (dict or JSON string)."""
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return []
    stmts = document.get("Statement", [])
    return [dict(stmts)] if isinstance(stmts, Mapping) else list(stmts)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
# Inputs whose keys are the user's own (tags, environment variables), not API field names.
_FREE_KEYS = frozenset(
    {
        "tags",
        "labels",
        "environmentVariables",
        "variables",
        "notifications",
        "userAssignedIdentities",
    }
)


def _snake_paths(node: Any, path: tuple[str, ...]) -> Iterable[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if _SNAKE.match(str(key)):
                yield "/".join((*path, str(key)))
            if key not in _FREE_KEYS:
                yield from _snake_paths(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from _snake_paths(value, path)


def api_field_names(stack: Stack) -> Iterable[Finding]:
    """Inputs reach the provider under its own (camelCase) field names.

    The SDKs translate snake_case keys only where an input's type is known; a dict passed to a
    union-typed input (for example an Azure alert's criteria) is sent as written and the cloud
    silently ignores or rejects it. Typed ``...Args`` classes avoid that.
    """
    for r in stack.resources:
        if r.type.startswith("pulumi-python:dynamic"):
            continue
        for path in _snake_paths(r.inputs, ()):
            yield Finding(
                "api-names",
                f"{r.type.split(':')[-1]} {r.name}",
                f"{path} is not an API field name (a dict given to a union input?)",
            )
