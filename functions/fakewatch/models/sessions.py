"""One ONNX Runtime session per (model location, sha256, providers) per process.

A cold function pays for hashing and session creation once; every later invocation in the
same process reuses the session. Creation is guarded per key, so two threads asking for the
same model build it once, and two different models load in parallel.

When a GPU provider fails to initialise (missing CUDA libraries, no free device), the session
is created again on CPU and the reason is kept; which provider actually runs is recorded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakewatch.errors import ConfigError, ModelIntegrityError
from fakewatch.models.providers import CPU, ProviderChoice

log = logging.getLogger(__name__)

SessionFactory = Callable[..., Any]  # onnxruntime.InferenceSession's signature
SessionKey = tuple[str, str, tuple[str, ...]]


class ModelLoadError(ConfigError):
    """The model's bytes passed the hash check but are not a loadable ONNX model."""


@dataclass(frozen=True)
class LoadedSession:
    """A live session and how it came to run where it runs."""

    session: Any  # onnxruntime.InferenceSession
    requested: tuple[str, ...]
    provider: str  # the provider that runs the model's nodes first in line
    fallback: str | None = None  # why a requested GPU provider is not running, if it is not


def verify_sha256(data: bytes, expected: str, *, what: str) -> None:
    """Refuse bytes whose SHA-256 is not the manifest's."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise ModelIntegrityError(
            f"{what}: sha256 is {actual}, the manifest says {expected}; refusing to load it"
        )


def create_session(
    model: bytes,
    choice: ProviderChoice,
    *,
    what: str,
    factory: SessionFactory | None = None,
    threads: int | None = None,
) -> LoadedSession:
    """Create a session on the chosen providers, falling back to CPU if a GPU one fails."""
    import onnxruntime as ort

    make = factory or ort.InferenceSession
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = make(model, sess_options=options, providers=list(choice.providers))
    except Exception as exc:
        if not choice.wants_gpu:
            raise ModelLoadError(f"{what}: not a loadable ONNX model: {_short(exc)}") from exc
        reason = f"{'/'.join(p for p in choice.providers if p != CPU)} failed: {_short(exc)}"
        log.warning("%s: GPU provider failed, falling back to CPU: %s", what, reason)
        try:
            session = make(model, sess_options=options, providers=[CPU])
        except Exception as exc2:
            raise ModelLoadError(f"{what}: not a loadable ONNX model: {_short(exc2)}") from exc2
        return LoadedSession(session, choice.providers, CPU, reason)
    running = tuple(session.get_providers())
    provider = running[0] if running else CPU
    fallback = None
    if choice.wants_gpu and provider != choice.providers[0]:
        fallback = f"asked for {choice.providers[0]}, onnxruntime runs {provider}"
    if choice.unavailable:
        missing = f"not in this onnxruntime build: {', '.join(choice.unavailable)}"
        fallback = f"{fallback}; {missing}" if fallback else missing
    return LoadedSession(session, choice.providers, provider, fallback)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


class SessionCache:
    """Thread-safe, process-wide cache of sessions. ``created`` counts sessions built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[SessionKey, LoadedSession] = {}
        self._key_locks: dict[SessionKey, threading.Lock] = {}
        self.created = 0

    def get_or_create(self, key: SessionKey, build: Callable[[], LoadedSession]) -> LoadedSession:
        found = self._sessions.get(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            found = self._sessions.get(key)
            if found is None:
                found = build()
                with self._lock:
                    self._sessions[key] = found
                    self.created += 1
        return found

    def __len__(self) -> int:
        return len(self._sessions)

    def clear(self) -> None:
        """Forget every session (tests; a model upgrade in a long-lived server)."""
        with self._lock:
            self._sessions.clear()
            self._key_locks.clear()
            self.created = 0


SESSIONS = SessionCache()
