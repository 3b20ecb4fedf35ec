"""A small lazy registry of signals by name (Cloud Custodian style): import on first use."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from fakewatch.errors import ConfigError
from fakewatch.signals.base import Signal

_REGISTRY: dict[str, str] = {
    "c2pa": "fakewatch.signals.c2pa_provenance:C2paProvenanceSignal",
    "generator_metadata": "fakewatch.signals.generator_metadata:GeneratorMetadataSignal",
    "frequency": "fakewatch.signals.frequency:FrequencySignal",
    "learned": "fakewatch.signals.learned:LearnedModelSignal",  # reads FAKEWATCH_MODEL_MANIFEST
}
DEFAULT_SIGNALS: tuple[str, ...] = ("c2pa", "generator_metadata", "frequency")


def register(name: str, target: str) -> None:
    """Register ``module:Class`` under ``name`` (plugins may add their own signals)."""
    _REGISTRY[name] = target


def names() -> list[str]:
    return sorted(_REGISTRY)


def signal_class(name: str) -> type[Signal]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown signal {name!r}; known: {', '.join(names())}") from None
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Signal)):
        raise ConfigError(f"{target} is not a Signal")
    return cls


def build(selected: Iterable[str] = ()) -> list[Signal]:
    """Instantiate the selected signals (default: every default signal)."""
    return [signal_class(name)() for name in (tuple(selected) or DEFAULT_SIGNALS)]
