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

Rows of several callers are copied into one batch array allocated once (``max_batch`` rows of
the model's input shape) and reused, instead of a fresh multi-megabyte array per batch; only
the batch thread touches it, and ``predict`` has returned before the next batch is written.
:class:`BatchStats` counts what was formed (a histogram of batch sizes, so a benchmark can
replay exactly those batches against the bare session) and where the time went: seconds
inside ``predict`` and seconds items waited in the queue.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
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
    """What the batcher did: for tests, benchmarks and the readiness document.

    ``run_s`` sums the seconds spent inside ``predict`` (the session's ``run``); ``queue_s``
    sums, over rows, the seconds from ``submit`` to the start of the row's batch.
    """

    batches: int = 0
    rows: int = 0
    largest: int = 0
    run_s: float = 0.0
    queue_s: float = 0.0
    histogram: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, rows: int, run_s: float = 0.0, queue_s: float = 0.0) -> None:
        with self._lock:
            self.batches += 1
            self.rows += rows
            self.largest = max(self.largest, rows)
            self.run_s += run_s
            self.queue_s += queue_s
            self.histogram[rows] += 1

    def to_dict(self) -> dict[str, object]:
        with self._lock:
            mean = self.rows / self.batches if self.batches else 0.0
            return {
                "batches": self.batches,
                "rows": self.rows,
                "largest": self.largest,
                "mean": round(mean, 2),
                "run_s": round(self.run_s, 6),
                "queue_s": round(self.queue_s, 6),
                "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            }


@dataclass
class _Item:
    rows: np.ndarray
    future: Future[np.ndarray]
    queued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Gathers submitted rows into batches for one ``predict`` function."""

    def __init__(self, predict: Predict, config: BatchConfig | None = None) -> None:
        self._predict = predict
        self.config = config or BatchConfig()
        self.stats = BatchStats()
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._carry: _Item | None = None
        self._buffer: np.ndarray | None = None  # reused batch array; batch thread only
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
        started = time.perf_counter()
        try:
            batch = self._batch(live)
            ran = time.perf_counter()
            out = self._predict(batch)
            run_s = time.perf_counter() - ran
            if batch is not live[0].rows and np.may_share_memory(out, batch):
                out = out.copy()  # a view of the reused array would change under its reader
            if out.shape[0] != batch.shape[0]:
                raise RuntimeError(f"model gave {out.shape[0]} rows for {batch.shape[0]} inputs")
        except BaseException as exc:  # every waiter hears about the failure
            for item in live:
                item.future.set_exception(exc)
            return
        waited = sum((started - i.queued) * i.rows.shape[0] for i in live)
        self.stats.record(batch.shape[0], run_s, waited)
        start = 0
        for item in live:
            n = item.rows.shape[0]
            item.future.set_result(out[start : start + n])
            start += n

    def _batch(self, live: list[_Item]) -> np.ndarray:
        """One item's rows as they are; several items' rows copied into the reused array."""
        if len(live) == 1:
            return live[0].rows
        first = live[0].rows
        buffer = self._buffer
        if buffer is None or buffer.shape[1:] != first.shape[1:] or buffer.dtype != first.dtype:
            buffer = np.empty((self.config.max_batch, *first.shape[1:]), first.dtype)
            self._buffer = buffer
        n = sum(i.rows.shape[0] for i in live)
        return np.concatenate([i.rows for i in live], out=buffer[:n])


__all__ = ["BatchConfig", "BatchStats", "BatcherClosed", "MicroBatcher", "Overloaded"]
