"""The project's own exceptions. SDK errors are translated into these at the edge.

Storage errors subclass the built-in exception a caller would expect (fsspec style), so
``except FileNotFoundError`` works on every backend, and keep the SDK error as ``__cause__``.
"""

from __future__ import annotations


class FakewatchError(Exception):
    """Base class for every error fakewatch raises on purpose."""


class ObjectNotFound(FakewatchError, FileNotFoundError):
    """The object (or its bucket) does not exist."""


class ObjectChanged(FakewatchError):
    """The object was overwritten since the event that announced it (ETag/version moved on)."""


class PreconditionFailed(FakewatchError, FileExistsError):
    """A write-once put found the object already there."""


class AccessDenied(FakewatchError, PermissionError):
    """The identity may not perform this operation."""


class TransientError(FakewatchError, ConnectionError):
    """Throttling, timeouts, 5xx: worth retrying."""


class LimitExceeded(FakewatchError):
    """Input is larger than a configured limit (bytes, pixels, frames, duration)."""

    def __init__(self, what: str, value: float, limit: float) -> None:
        super().__init__(f"{what} {value:g} exceeds the limit of {limit:g}")
        self.what, self.value, self.limit = what, value, limit


class UnsupportedMedia(FakewatchError):
    """The bytes are not a media type fakewatch scans."""


class CorruptMedia(FakewatchError):
    """The bytes claim a supported type but cannot be decoded."""


class ConfigError(FakewatchError, ValueError):
    """A policy, manifest or setting is invalid; the message says which field and why."""


class ModelIntegrityError(FakewatchError):
    """A model file's sha256 does not match its manifest."""


class EscalationUnavailable(FakewatchError):
    """The escalation endpoint is down, slow, or its circuit breaker is open."""


class ScanTimeout(FakewatchError, TimeoutError):
    """Decoding or analysis ran past its wall-clock budget."""
