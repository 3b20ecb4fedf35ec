"""Dynamic micro-batching: concurrent requests share one inference call.

Callers (request worker threads) :meth:`MicroBatcher.submit` an array of preprocessed rows and
get a :class:`~concurrent.futures.Future` for the model's output rows. One batch thread takes
the first waiting item, then keeps collecting for at most ``max_wait_ms`` or until
``max_batch`` rows are gathered, concatenates them, runs **one** ``predict`` and hands each
caller its own slice. While a batch runs, new items queue up, so under load batches fill
without waiting at all; when idle, a lone request waits at most ``max_wait_ms``.

Thread-side rather than asyncio-side on purpose: the core's learned-model signal (which turns
model outputs into a :class:`~fakewatch.signals.base.SignalResult`) is synchronous, so it runs
unchanged in a worker thread and blocks on its future here.

:meth:`close` stops accepting work, finishes every batch already queued, then stops the
thread: graceful shutdown never drops an accepted request.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]
_POLL_S = 0.05


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and takes no new work (HTTP 503)."""


class Overloaded(RuntimeError):
    """More items are queued than ``max_queue`` (HTTP 503; the caller may retry)."""


@dataclass(frozen=True)
class BatchConfig:
    """``max_batch`` rows per inference call; ``max_wait_ms`` to let a batch fill."""

    max_batch: int = 16
    max_wait_ms: float = 5.0
    max_queue: int = 1024

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_wait_ms < 0 or self.max_queue < 1:
            raise ValueError("max_batch and max_queue must be >= 1, max_wait_ms >= 0")


@dataclass
class BatchStats:
    """What the batcher did: for tests, benchmarks and the readiness document."""

    batches: int = 0
    rows: int = 0
    largest: int = 0
    sizes: list[int] = field(default_factory=list)

    def record(self, rows: int) -> None:
        self.batches += 1
        self.rows += rows
        self.largest = max(self.largest, rows)
        if len(self.sizes) < 10_000:
            self.sizes.append(rows)

    def to_dict(self) -> dict[str, float | int]:
        mean = self.rows / self.batches if self.batches else 0.0
        return {
            "batches": self.batches,
            "rows": self.rows,
            "largest": self.largest,
            "mean": round(mean, 2),
        }


@dataclass
class _Item:
    rows: np.ndarray
    future: Future[np.ndarray]


class MicroBatcher:
    """Gathers submitted rows into batches for one ``predict`` function."""

    def __init__(self, predict: Predict, config: BatchConfig | None = None) -> None:
        self._predict = predict
        self.config = config or BatchConfig()
        self.stats = BatchStats()
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._carry: _Item | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fakewatch-batcher", daemon=True)
        self._thread.start()

    # -- callers ------------------------------------------------------------------------------
    def submit(self, rows: np.ndarray) -> Future[np.ndarray]:
        """Queue ``rows`` (N x ...) for the next batch; the future gives the N output rows."""
        if rows.ndim < 1 or rows.shape[0] < 1:
            raise ValueError("submit at least one row")
        if rows.shape[0] > self.config.max_batch:
            raise ValueError(f"{rows.shape[0]} rows exceed max_batch {self.config.max_batch}")
        with self._lock:
            if self._closing.is_set():
                raise BatcherClosed("the model server is shutting down")
            if self._queue.qsize() >= self.config.max_queue:
                raise Overloaded(f"{self.config.max_queue} items already queued")
            item = _Item(rows, Future())
            self._queue.put(item)
        return item.future

    def run(self, rows: np.ndarray, timeout: float | None = None) -> np.ndarray:
        """Submit ``rows`` in pieces of at most ``max_batch`` and wait for all of them."""
        step = self.config.max_batch
        futures = [self.submit(rows[i : i + step]) for i in range(0, rows.shape[0], step)]
        return np.concatenate([f.result(timeout=timeout) for f in futures])

    @property
    def pending(self) -> int:
        return self._queue.qsize() + (1 if self._carry is not None else 0)

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new work, finish what is queued; True when the thread stopped in time."""
        with self._lock:
            self._closing.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the batch thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._next(_POLL_S)
            if first is None:
                if self._closing.is_set() and self._queue.empty():
                    return
                continue
            self._execute(self._gather(first))

    def _next(self, timeout: float) -> _Item | None:
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        try:
            return self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _gather(self, first: _Item) -> list[_Item]:
        items, rows = [first], first.rows.shape[0]
        deadline = time.monotonic() + self.config.max_wait_ms / 1000.0
        while rows < self.config.max_batch:
            remaining = deadline - time.monotonic()
            item = self._next(remaining) if remaining > 0 else self._next(0)
            if item is None:
                break
            if rows + item.rows.shape[0] > self.config.max_batch:
                self._carry = item  # first in line for the next batch
                break
            items.append(item)
            rows += item.rows.shape[0]
        return items

    def _execute(self, items: list[_Item]) -> None:
        live = [i for i in items if i.future.set_running_or_notify_cancel()]
        if not live:
            return
        batch = np.concatenate([i.rows for i in live]) if len(live) > 1 else live[0].rows
        try:
            out = self._predict(batch)
            if out.shape[0] != batch.shape[0]:
                raise RuntimeError(f"model gave {out.shape[0]} rows for {batch.shape[0]} inputs")
        except BaseException as exc:  # every waiter hears about the failure
            for item in live:
                item.future.set_exception(exc)
            return
        self.stats.record(batch.shape[0])
        start = 0
        for item in live:
            n = item.rows.shape[0]
            item.future.set_result(out[start : start + n])
            start += n


__all__ = ["BatchConfig", "BatchStats", "BatcherClosed", "MicroBatcher", "Overloaded"]
