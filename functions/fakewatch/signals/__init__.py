"""Signals: small analyzers with one job each, and the registry that names them."""

from fakewatch.signals.base import ModelInfo, Signal, SignalResult, Status

__all__ = ["ModelInfo", "Signal", "SignalResult", "Status"]
