"""Where a request's time goes inside the server, summed over requests.

The readiness document carries these sums (``timings``) next to the batcher's
(``batching.run_s``), so a benchmark can take two snapshots and see, per request, how much of
the server's wall time was the model and how much was serving around it:

- ``wall``: from the predict handler's first line to the response body being ready;
- ``read``: reading the body and parsing the payload (JSON, base64) on the event loop;
- ``decode``: reading the media (store fetch, sniff, decode) in a worker thread;
- ``signal``: the learned-model signal in the worker, which contains ``preprocess``
  (frames → input rows) and ``batch`` (waiting for the micro-batcher: queue + ``run``);
  the rest of it is postprocessing (calibration, evidence, the reading);
- ``encode``: the predictions document and its JSON.

Sums, not averages, so two snapshots subtract cleanly. Nothing about the media is kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("read", "decode", "signal", "preprocess", "batch", "encode")


class Timings:
    """Thread-safe sums of seconds per phase, and counts of requests and items."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.items = 0
        self.wall_s = 0.0
        self._seconds = dict.fromkeys(PHASES, 0.0)

    def add(self, phase: str, seconds: float) -> None:
        with self._lock:
            self._seconds[phase] += seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """``with timings.phase("decode"): ...`` adds the block's wall time to ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def request(self, items: int, wall_s: float) -> None:
        with self._lock:
            self.requests += 1
            self.items += items
            self.wall_s += wall_s

    def seconds(self, phase: str) -> float:
        with self._lock:
            return self._seconds[phase]

    def to_dict(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": self.requests,
                "items": self.items,
                "wall_s": round(self.wall_s, 6),
                "seconds": {k: round(v, 6) for k, v in self._seconds.items()},
            }


__all__ = ["PHASES", "Timings"]
