"""Circuit breaker and ResilientEscalation, driven by a fake clock: no test sleeps.

The escalation endpoint here is a CallableEscalationClient around a scripted function: no
emulator exists for SageMaker/Vertex/Azure ML endpoints, and the wrapper only needs a client.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator

import pytest

from fakewatch.errors import EscalationUnavailable, TransientError
from fakewatch.media.types import MediaKind
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.ports.memory import CallableEscalationClient
from fakewatch.resilience import Backoff, BreakerState, CircuitBreaker, ResilientEscalation
from fakewatch.signals.base import SignalResult, Status

REQUEST = EscalationRequest("memory://inbox/a.jpg", "ab" * 32, MediaKind.IMAGE, "image/jpeg")
READING = SignalResult("gpu-model", Status.OK, "image", score=0.91, confidence=0.8)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Endpoint:
    """A scripted endpoint: each call takes the next outcome (an exception or a result)."""

    def __init__(self, *outcomes: SignalResult | BaseException | object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, request: EscalationRequest) -> SignalResult:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else READING
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make(clock: FakeClock, sleeps: list[float]) -> Iterator[Callable[..., ResilientEscalation]]:
    made: list[ResilientEscalation] = []

    def build(endpoint: Endpoint, **kw: object) -> ResilientEscalation:
        breaker = kw.pop("breaker", None) or CircuitBreaker(3, 30.0, clock=clock)
        wrapped = ResilientEscalation(
            CallableEscalationClient(endpoint, name="gpu-model"),
            breaker=breaker,  # type: ignore[arg-type]
            sleep=sleeps.append,
            rng=random.Random(7),
            **kw,  # type: ignore[arg-type]
        )
        made.append(wrapped)
        return wrapped

    yield build
    for wrapped in made:
        wrapped.close()


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=clock)
        for _ in range(2):
            breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED and breaker.allow()
        breaker.record_failure()
        assert breaker.state is BreakerState.OPEN
        assert not breaker.allow()
        assert breaker.retry_after_s() == 30

    def test_a_success_resets_the_count(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=clock)
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
        breaker.record_failure()
        breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED

    def test_half_open_lets_one_trial_through(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker(failure_threshold=1, reset_after_s=30, clock=clock)
        breaker.record_failure()
        clock.advance(29.9)
        assert not breaker.allow()
        clock.advance(0.1)
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.allow()  # the trial
        assert not breaker.allow()  # no second call while the trial runs
        breaker.record_success()
        assert breaker.state is BreakerState.CLOSED and breaker.allow()

    def test_a_failed_trial_reopens_for_a_full_period(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker(failure_threshold=5, reset_after_s=30, clock=clock)
        for _ in range(5):
            breaker.record_failure()
        clock.advance(30)
        assert breaker.allow()
        breaker.record_failure()  # one failure in half-open state is enough
        assert breaker.state is BreakerState.OPEN
        assert breaker.retry_after_s() == 30

    def test_thread_safe_counting(self, clock: FakeClock) -> None:
        breaker = CircuitBreaker(failure_threshold=400, reset_after_s=30, clock=clock)
        barrier = threading.Barrier(8)

        def fail() -> None:
            barrier.wait()
            for _ in range(50):
                breaker.record_failure()

        threads = [threading.Thread(target=fail) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert breaker.state is BreakerState.OPEN  # exactly 400 failures counted

    def test_settings_are_checked(self) -> None:
        with pytest.raises(ValueError):
            CircuitBreaker(failure_threshold=0)


class TestBackoff:
    def test_exponential_ceiling_capped(self) -> None:
        backoff = Backoff(base_s=0.5, max_s=3.0, jitter=False)
        assert [backoff.delay(n, random.Random(0)) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]

    def test_full_jitter_stays_under_the_ceiling(self) -> None:
        rng = random.Random(1)
        delays = [Backoff(base_s=1.0, max_s=8.0).delay(3, rng) for _ in range(200)]
        assert all(0.0 <= d <= 8.0 for d in delays)
        assert len(set(delays)) > 100


class TestResilientEscalation:
    def test_a_healthy_endpoint_passes_through(
        self, make: Callable[..., ResilientEscalation]
    ) -> None:
        endpoint = Endpoint(READING)
        assert make(endpoint).escalate(REQUEST) is READING
        assert endpoint.calls == 1

    def test_transient_errors_are_retried_with_backoff(
        self, make: Callable[..., ResilientEscalation], sleeps: list[float]
    ) -> None:
        endpoint = Endpoint(TransientError("503"), ConnectionError("reset"), READING)
        wrapped = make(endpoint, retries=2, backoff=Backoff(base_s=0.2, max_s=2, jitter=False))
        assert wrapped.escalate(REQUEST) is READING
        assert endpoint.calls == 3
        assert sleeps == [0.2, 0.4]
        assert wrapped.breaker.state is BreakerState.CLOSED

    def test_exhausted_retries_say_why(self, make: Callable[..., ResilientEscalation]) -> None:
        endpoint = Endpoint(TransientError("503 a"), TransientError("503 b"))
        breaker = CircuitBreaker(10, 30)
        with pytest.raises(EscalationUnavailable, match=r"failed 2 times.*503 b") as caught:
            make(endpoint, retries=1, breaker=breaker).escalate(REQUEST)
        assert isinstance(caught.value.__cause__, TransientError)

    def test_a_slow_endpoint_times_out(self, make: Callable[..., ResilientEscalation]) -> None:
        release = threading.Event()

        def stuck(request: EscalationRequest) -> SignalResult:
            release.wait(timeout=30)
            return READING

        wrapped = ResilientEscalation(
            CallableEscalationClient(stuck, name="gpu-model"), timeout_s=0.05, retries=3
        )
        try:
            with pytest.raises(EscalationUnavailable, match=r"no answer within 0.05s"):
                wrapped.escalate(REQUEST)
        finally:
            release.set()
            wrapped.close()

    def test_an_open_breaker_refuses_without_calling(
        self, make: Callable[..., ResilientEscalation], clock: FakeClock
    ) -> None:
        endpoint = Endpoint(*[TransientError("down")] * 3)
        wrapped = make(endpoint, retries=0)
        for _ in range(3):
            with pytest.raises(EscalationUnavailable):
                wrapped.escalate(REQUEST)
        assert endpoint.calls == 3
        with pytest.raises(EscalationUnavailable, match="circuit breaker is open"):
            wrapped.escalate(REQUEST)
        assert endpoint.calls == 3  # refused at once, the endpoint spared
        clock.advance(30)
        assert wrapped.escalate(REQUEST) is READING  # the half-open trial succeeds
        assert wrapped.breaker.state is BreakerState.CLOSED

    def test_breaker_stops_retries_mid_call(self, make: Callable[..., ResilientEscalation]) -> None:
        endpoint = Endpoint(*[TransientError("down")] * 10)
        with pytest.raises(EscalationUnavailable, match="circuit breaker is open"):
            make(endpoint, retries=9).escalate(REQUEST)
        assert endpoint.calls == 3  # the threshold, not 10

    def test_an_unavailable_endpoint_is_not_retried(
        self, make: Callable[..., ResilientEscalation]
    ) -> None:
        endpoint = Endpoint(EscalationUnavailable("endpoint scaled to zero"))
        with pytest.raises(EscalationUnavailable, match="scaled to zero"):
            make(endpoint, retries=3).escalate(REQUEST)
        assert endpoint.calls == 1

    def test_a_broken_answer_becomes_unavailable(
        self, make: Callable[..., ResilientEscalation]
    ) -> None:
        endpoint = Endpoint(KeyError("predictions"), {"not": "a SignalResult"})
        wrapped = make(endpoint, retries=3)
        with pytest.raises(EscalationUnavailable, match="KeyError") as caught:
            wrapped.escalate(REQUEST)
        assert isinstance(caught.value.__cause__, KeyError)
        with pytest.raises(EscalationUnavailable, match="not a SignalResult"):
            wrapped.escalate(REQUEST)
        assert endpoint.calls == 2  # neither was retried

    def test_keeps_the_client_name(self, make: Callable[..., ResilientEscalation]) -> None:
        assert make(Endpoint()).name == "gpu-model"
