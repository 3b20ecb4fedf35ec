"""Limits enforced before decoding: bytes, pixels, frames, duration, and a decode deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from fakewatch.errors import ConfigError, LimitExceeded

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * MiB  # larger objects are not downloaded at all
    max_pixels: int = 64_000_000  # per frame, read from the header before decoding
    max_frames: int = 100_000  # frames declared by an animation or video container
    max_duration_s: float = 3 * 3600.0  # video/audio duration declared by the container
    max_analysed_frames: int = 16  # frames the signals look at (animations, sampled video)
    video_sample_fps: float = 1.0  # sampling rate for video when not keyframes-only
    video_keyframes_only: bool = True
    decode_deadline_s: float = 60.0  # wall-clock budget for decoding; checked between frames

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> Limits:
        if not doc:
            return cls()
        known = {f.name: f for f in fields(cls)}
        unknown = set(doc) - set(known)
        if unknown:
            raise ConfigError(f"limits: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for name, value in doc.items():
            typ = type(getattr(cls(), name))
            try:
                values[name] = typ(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"limits.{name}: {value!r} is not a {typ.__name__}") from exc
            if typ is not bool and values[name] <= 0:
                raise ConfigError(f"limits.{name} must be positive, got {value!r}")
        return cls(**values)

    def check(self, what: str, value: float) -> None:
        limit = {
            "bytes": self.max_bytes,
            "pixels": self.max_pixels,
            "frames": self.max_frames,
            "duration_s": self.max_duration_s,
        }[what]
        if value > limit:
            raise LimitExceeded(what, value, limit)


class Deadline:
    """A wall-clock budget checked between steps (C decoders cannot be interrupted mid-call)."""

    def __init__(self, seconds: float, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self.seconds = seconds

    def expired(self) -> bool:
        return self._clock() > self._end
