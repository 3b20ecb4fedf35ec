"""The model behind the endpoint: load once, score media through the micro-batcher.

:class:`Engine` owns the model's lifecycle — ``loading`` → ``ready`` (or ``failed``) →
``draining`` → ``stopped`` — which the health and readiness routes report. Scoring reuses the
core's :class:`~fakewatch.signals.learned.LearnedModelSignal` unchanged (frame sampling, face
crops, calibration, evidence, the signal schema); only its runner is swapped for
:class:`BatchedRunner`, whose ``score_frames`` sends the preprocessed rows through the shared
:class:`~fakewatch_serve.batching.MicroBatcher` instead of calling the session directly.

No media, frame or face is logged or kept: bytes live for the duration of one request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from fakewatch.errors import FakewatchError
from fakewatch.media.intake import open_media
from fakewatch.media.limits import Limits
from fakewatch.models.manifest import ModelManifest
from fakewatch.models.runner import ModelRunner
from fakewatch.signals.base import SignalResult, Status
from fakewatch.signals.learned import DEFAULT_MAX_FRAMES, LearnedModelSignal
from fakewatch_serve.batching import BatchConfig, MicroBatcher, Overloaded
from fakewatch_serve.timings import Timings
from fakewatch_serve.wire import Instance

log = logging.getLogger("fakewatch_serve")

SIGNAL_LABEL = "endpoint"  # readings are named ``learned:endpoint`` in verdicts
RunnerLoader = Callable[[], ModelRunner]


class State(StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    DRAINING = "draining"
    STOPPED = "stopped"


class NotReady(RuntimeError):
    """The model is not loaded (yet, or any more): HTTP 503."""


class BatchedRunner(ModelRunner):
    """A :class:`ModelRunner` whose inference goes through a shared micro-batcher."""

    def __init__(
        self,
        runner: ModelRunner,
        batcher: MicroBatcher,
        timeout_s: float,
        timings: Timings | None = None,
    ) -> None:
        super().__init__(runner.manifest, runner.loaded, runner.location)
        self.batcher = batcher
        self.timeout_s = timeout_s
        self.timings = timings or Timings()

    def score_frames(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        if not frames:
            return np.zeros(0)
        with self.timings.phase("preprocess"):
            rows = self.preprocess(frames)
        with self.timings.phase("batch"):
            raw = self.batcher.run(rows, timeout=self.timeout_s)
        return self.probabilities(raw)


@dataclass(frozen=True)
class EngineConfig:
    """How the engine loads and runs the model."""

    manifest: str | Path | ModelManifest | None = None
    providers: tuple[str, ...] | None = None  # None: TensorRT → CUDA → CPU, as available
    prefer_gpu: bool = True
    batch: BatchConfig = field(default_factory=BatchConfig)
    limits: Limits = field(default_factory=Limits)
    max_frames: int = DEFAULT_MAX_FRAMES
    workers: int | None = None  # threads decoding media and waiting on the batcher
    intra_op_threads: int | None = None  # ONNX Runtime's CPU threads; None: one per core
    inference_timeout_s: float = 120.0
    uri_prefixes: tuple[str, ...] = ()  # store URIs instances may name; empty: none

    def worker_threads(self) -> int:
        """``workers``, or enough request threads for one full batch running, one full batch
        gathering behind it, and one decoding per core (a waiting thread costs no CPU)."""
        if self.workers is not None:
            return max(1, self.workers)
        return 2 * self.batch.max_batch + (os.cpu_count() or 1)


class Engine:
    """Loads the model in the background and scores instances once it is ready."""

    def __init__(self, config: EngineConfig, loader: RunnerLoader | None = None) -> None:
        self.config = config
        self._loader = loader or self._load_runner
        self._state = State.LOADING
        self._error: str | None = None
        self._lock = threading.Lock()
        self._runner: BatchedRunner | None = None
        self._signal: LearnedModelSignal | None = None
        self.batcher: MicroBatcher | None = None
        self.timings = Timings()
        self.pool = ThreadPoolExecutor(
            config.worker_threads(), thread_name_prefix="fakewatch-serve"
        )
        self._loaded = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def runner(self) -> BatchedRunner | None:
        return self._runner

    def start(self) -> threading.Thread:
        """Load the model on a background thread; readiness turns 200 when it is done."""
        thread = threading.Thread(target=self.load, name="fakewatch-load", daemon=True)
        thread.start()
        return thread

    def wait_loaded(self, timeout: float | None = None) -> bool:
        return self._loaded.wait(timeout)

    def load(self) -> None:
        try:
            runner = self._loader()
            batcher = MicroBatcher(runner.predict, self.config.batch)
            batched = BatchedRunner(runner, batcher, self.config.inference_timeout_s, self.timings)
            signal = LearnedModelSignal.variant(SIGNAL_LABEL)(
                runner.manifest, max_frames=self.config.max_frames
            )
            signal._runner = batched
        except Exception as exc:
            with self._lock:
                self._state, self._error = State.FAILED, f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", self._error)
        else:
            with self._lock:
                if self._state is State.LOADING:
                    self.batcher, self._runner, self._signal = batcher, batched, signal
                    self._state = State.READY
                else:  # shut down while loading
                    batcher.close(0)
            if self._state is State.READY:
                info = runner.model_info()
                log.info("model %s v%s ready on %s", info.name, info.version, runner.provider)
        finally:
            self._loaded.set()

    def drain(self) -> None:
        """Stop taking new requests (readiness goes 503); in-flight ones still finish."""
        with self._lock:
            if self._state in (State.READY, State.LOADING):
                self._state = State.DRAINING

    def close(self, timeout: float | None = 30.0) -> bool:
        """Drain, finish every queued batch, stop the threads. True when all finished in time."""
        self.drain()
        finished = self.batcher.close(timeout) if self.batcher is not None else True
        self.pool.shutdown(wait=True)
        with self._lock:
            self._state = State.STOPPED
        return finished

    def _load_runner(self) -> ModelRunner:
        if self.config.manifest is None:
            raise FakewatchError("no model manifest configured")
        return ModelRunner.load(
            self.config.manifest,
            prefer_gpu=self.config.prefer_gpu,
            providers=self.config.providers,
            session_factory=server_session,
            threads=self.config.intra_op_threads,
        )

    # -- scoring ------------------------------------------------------------------------------
    def accepting(self) -> None:
        """Raise :class:`NotReady` unless new requests may be taken."""
        state = self._state
        if state is not State.READY:
            detail = f": {self._error}" if self._error else ""
            raise NotReady(f"model is {state.value}{detail}")

    def score(self, instance: Instance) -> SignalResult:
        """Read one instance and score it. Bad media gives a ``failed`` reading, not an error."""
        signal, batcher = self._signal, self.batcher
        if signal is None or batcher is None:
            raise NotReady(f"model is {self._state.value}")
        if batcher.pending >= batcher.config.max_queue:
            raise Overloaded(f"{batcher.pending} inference items queued; try again shortly")
        start = time.perf_counter()
        try:
            data = instance.data if instance.data is not None else self._fetch(instance)
            media = open_media(data, "", self.config.limits)
        except FakewatchError as exc:
            return _failed(signal.name, exc)
        finally:
            decoded = time.perf_counter()
            self.timings.add("decode", decoded - start)
        result = signal.run(media)
        self.timings.add("signal", time.perf_counter() - decoded)
        return result

    def _fetch(self, instance: Instance) -> bytes:
        from fakewatch.stores import open_uri

        uri = instance.uri or ""
        if not any(uri.startswith(p) for p in self.config.uri_prefixes):
            raise FakewatchError(f"{uri}: not under a prefix this endpoint may read")
        store, bucket, key = open_uri(uri)
        data = store.get(bucket, key, max_bytes=self.config.limits.max_bytes)
        if instance.sha256 and hashlib.sha256(data).hexdigest() != instance.sha256.lower():
            raise FakewatchError(f"{uri}: content does not match the sha256 sent with it")
        return data

    def describe(self) -> dict[str, object]:
        """The readiness document: state, model identity, provider, batching so far."""
        doc: dict[str, object] = {"status": self._state.value}
        if self._error:
            doc["error"] = self._error
        runner = self._runner
        if runner is not None:
            doc["model"] = runner.model_info().to_dict()
            doc["provider"] = runner.provider
            if runner.loaded.fallback:
                doc["provider_fallback"] = runner.loaded.fallback
        if self.batcher is not None:
            doc["batching"] = {
                "max_batch": self.batcher.config.max_batch,
                "max_wait_ms": self.batcher.config.max_wait_ms,
                **self.batcher.stats.to_dict(),
            }
        doc["timings"] = self.timings.to_dict()
        return doc


def server_session(model: bytes, *, sess_options: Any, providers: list[str], **kw: Any) -> Any:
    """An InferenceSession whose idle CPU threads sleep instead of spinning: in a server,
    request threads decode and preprocess while a batch runs, and spinning ONNX Runtime
    threads would take the cores they need (on CUDA the setting does not matter)."""
    import onnxruntime as ort

    sess_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess_options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model, sess_options=sess_options, providers=providers, **kw)


def _failed(name: str, exc: Exception) -> SignalResult:
    return SignalResult(
        name,
        Status.FAILED,
        "unknown",
        evidence=(f"the endpoint could not read this instance: {type(exc).__name__}: {exc}",),
    )


__all__ = ["BatchedRunner", "Engine", "EngineConfig", "NotReady", "State"]
