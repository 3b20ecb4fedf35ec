"""Fakes for tests of code built on the core: fixed-reading signals, a store that fails on cue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fakewatch.errors import TransientError
from fakewatch.media.types import Media
from fakewatch.ports.memory import MemoryStore
from fakewatch.signals.base import Signal, SignalResult


class FixedSignal(Signal):
    """Reports the same reading for every image (deterministic fusion and decisions)."""

    name: ClassVar[str] = "fixed"

    def __init__(self, score: float, confidence: float, *, strong: bool = False) -> None:
        self.score, self.confidence, self.strong = score, confidence, strong
        self.calls = 0

    def analyze(self, media: Media) -> SignalResult:
        self.calls += 1
        if self.confidence == 0:
            return self.nothing_found(media, "fixed signal found nothing")
        return self.ok(media, self.score, self.confidence, ["fixed reading"], strong=self.strong)


class BrokenSignal(Signal):
    name: ClassVar[str] = "broken"

    def analyze(self, media: Media) -> SignalResult:
        raise RuntimeError("detector crashed")


class FlakyStore(MemoryStore):
    """A MemoryStore whose named operations raise TransientError the first ``times`` calls."""

    def __init__(self, buckets: Any = (), fail: Mapping[str, int] | None = None) -> None:
        super().__init__(buckets)
        self.fail = dict(fail or {})
        self.calls: dict[str, int] = {}

    def _maybe_fail(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1
        if self.fail.get(op, 0) > 0:
            self.fail[op] -= 1
            raise TransientError(f"{op}: injected throttling")

    def get(self, bucket: str, key: str, **kw: Any) -> bytes:
        self._maybe_fail("get")
        return super().get(bucket, key, **kw)

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        self._maybe_fail("set_tags")
        super().set_tags(bucket, key, tags)
