"""Timeouts, retries and a circuit breaker around the escalation endpoint.

A scan must never hang on, or be sunk by, the GPU endpoint. :class:`ResilientEscalation` wraps
any :class:`EscalationClient` and guarantees one of two outcomes: a :class:`SignalResult`, or
:class:`EscalationUnavailable` whose message says why (timed out, breaker open, endpoint
error after N attempts). The caller records "escalation unavailable" and carries on with the
cheap signals' verdict.

The breaker follows the usual three states: *closed* (calls go through; consecutive failures
are counted), *open* (after ``failure_threshold`` of them: calls are refused at once for
``reset_after_s``), *half-open* (then one trial call; success closes, failure re-opens). The
clock and the sleep are injectable so tests never sleep.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum

from fakewatch.errors import EscalationUnavailable, TransientError
from fakewatch.ports.escalation import EscalationClient, EscalationRequest
from fakewatch.signals.base import SignalResult

Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """A thread-safe circuit breaker counting consecutive failures."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_after_s >= 0")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current()

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when not open)."""
        with self._lock:
            if self._current() is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self.reset_after_s - self._clock())

    def allow(self) -> bool:
        """Whether a call may go ahead now. In half-open state only one trial at a time."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._trial_in_flight = BreakerState.CLOSED, 0, False

    def record_failure(self) -> None:
        with self._lock:
            state = self._current()
            self._failures += 1
            if state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at = BreakerState.OPEN, self._clock()
            self._trial_in_flight = False

    def _current(self) -> BreakerState:
        """The state now (an open breaker turns half-open once its time is up). Lock held."""
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_after_s
        ):
            self._state = BreakerState.HALF_OPEN
        return self._state


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits U(0, min(max_s, base_s * 2**n))."""

    base_s: float = 0.2
    max_s: float = 2.0
    jitter: bool = True

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_s, self.base_s * (2**attempt))
        return rng.uniform(0.0, ceiling) if self.jitter else ceiling


class ResilientEscalation(EscalationClient):
    """An escalation client with a deadline per call, retries and a circuit breaker.

    ``retries`` more attempts follow a :class:`TransientError` (or ConnectionError) from the
    client, after :class:`Backoff` delays. A call that runs past ``timeout_s`` is abandoned
    (its worker thread finishes in the background; at most ``max_workers`` are ever busy) and
    is not retried: the deadline is the budget for the whole escalation.
    """

    def __init__(
        self,
        client: EscalationClient,
        timeout_s: float = 10.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_workers: int = 4,
    ) -> None:
        self.client = client
        self.name = client.name
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="escalate")

    def escalate(self, request: EscalationRequest) -> SignalResult:
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            if not self.breaker.allow():
                wait = self.breaker.retry_after_s()
                raise EscalationUnavailable(
                    f"{self.name}: circuit breaker is open after repeated failures; "
                    f"next trial in {wait:.1f}s"
                ) from last
            if attempt:
                self._sleep(self.backoff.delay(attempt - 1, self._rng))
            try:
                result = self._call(request)
            except (TransientError, ConnectionError) as exc:
                self.breaker.record_failure()
                last = exc
                continue
            except EscalationUnavailable:
                self.breaker.record_failure()
                raise
            except Exception as exc:  # a bug or a malformed answer: not worth a retry
                self.breaker.record_failure()
                raise EscalationUnavailable(
                    f"{self.name}: endpoint call failed: {type(exc).__name__}: {exc}"
                ) from exc
            self.breaker.record_success()
            return result
        raise EscalationUnavailable(
            f"{self.name}: endpoint failed {self.retries + 1} times; last error: "
            f"{type(last).__name__}: {last}"
        ) from last

    def _call(self, request: EscalationRequest) -> SignalResult:
        future: Future[SignalResult] = self._pool.submit(self.client.escalate, request)
        try:
            result = future.result(timeout=self.timeout_s)
        except FutureTimeout as exc:
            future.cancel()
            raise EscalationUnavailable(
                f"{self.name}: no answer within {self.timeout_s:g}s (timed out)"
            ) from exc
        if not isinstance(result, SignalResult):
            raise TypeError(f"endpoint answered {type(result).__name__}, not a SignalResult")
        return result

    def close(self) -> None:
        """Stop the worker threads (abandoned calls are not waited for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
