"""The queued-job worker on the memory store and a real engine: what is answered, retried,
dropped, and how a pull loop ends."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from fakewatch.ports.escalation import EscalationJob, answer_from_document
from fakewatch.stores import get_store
from fakewatch_serve.config import ServeConfig
from fakewatch_serve.engine import Engine
from fakewatch_serve.jobs import Delivery, Disposition, JobRunner, drain, pubsub_data

from .conftest import CPU, png

ANSWERS = "memory://jobs-answers/escalations/"


@pytest.fixture(scope="module")
def engine(stat_manifest: Path) -> Iterator[Engine]:
    cfg = ServeConfig.build(
        "sagemaker",
        manifest=str(stat_manifest),
        providers=CPU,
        env={"FAKEWATCH_SERVE_URI_PREFIXES": "memory://jobs-media/"},
    )
    engine = Engine(cfg.engine)
    engine.start()
    assert engine.wait_loaded(30)
    store = get_store("memory")
    for bucket in ("jobs-media", "jobs-answers"):
        store.make_bucket(bucket)  # type: ignore[attr-defined]
    store.put("jobs-media", "red.png", png((230, 20, 20)))
    yield engine
    engine.close(5)


def job(request_id: str, uri: str = "memory://jobs-media/red.png", output: str = "") -> bytes:
    doc = EscalationJob(
        request_id, uri, "image/png", "image", output or f"{ANSWERS}{request_id}.json"
    )
    return json.dumps(doc.to_dict()).encode()


def answer(request_id: str) -> dict[str, object]:
    return dict(get_store("memory").get_json("jobs-answers", f"escalations/{request_id}.json"))


def test_a_job_is_scored_and_answered(engine: Engine) -> None:
    runner = JobRunner(engine, [ANSWERS], endpoint="test-worker")
    assert runner.handle(job("a1")) is Disposition.DONE
    parsed = answer_from_document(answer("a1"))
    assert parsed.reading is not None and parsed.reading.score is not None
    assert parsed.reading.score > 0.9 and parsed.endpoint == "test-worker"


def test_unreadable_media_is_answered_with_a_failed_reading(engine: Engine) -> None:
    runner = JobRunner(engine, [ANSWERS])
    assert runner.handle(job("a2", uri="memory://elsewhere/x.png")) is Disposition.DONE
    reading = answer_from_document(answer("a2")).reading
    assert reading is not None and reading.status == "failed"


@pytest.mark.parametrize(
    "payload",
    [b"{", b"[]", json.dumps({"request_id": "x"}).encode(), b"x" * 70_000],
)
def test_unusable_jobs_are_dropped(engine: Engine, payload: bytes) -> None:
    assert JobRunner(engine, [ANSWERS]).handle(payload) is Disposition.DROPPED


def test_a_job_may_not_write_outside_the_answer_prefixes(engine: Engine) -> None:
    runner = JobRunner(engine, [ANSWERS])
    out = "memory://jobs-media/red.png"  # would overwrite the media
    assert runner.handle(job("a3", output=out)) is Disposition.DROPPED
    assert get_store("memory").get("jobs-media", "red.png").startswith(b"\x89PNG")


class ListSource:
    """A JobSource over a list (the Storage-queue source is tested against Azurite)."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.queue = list(deliveries)
        self.acked: list[Delivery] = []

    def receive(self, max_messages: int) -> Iterable[Delivery]:
        out, self.queue = self.queue[:max_messages], self.queue[max_messages:]
        return out

    def ack(self, delivery: Delivery) -> None:
        self.acked.append(delivery)


def test_drain_acknowledges_done_and_dropped_and_stops(engine: Engine) -> None:
    source = ListSource([Delivery(job("d1"), 1, "r1"), Delivery(b"junk", 1, "r2")])
    counts = drain(source, JobRunner(engine, [ANSWERS]), stop=lambda: not source.queue, idle_s=0)
    assert counts["done"] == 1 and counts["dropped"] == 1
    assert [d.receipt for d in source.acked] == ["r1", "r2"]


def test_a_busy_worker_retries_until_the_last_attempt_then_answers(stat_manifest: Path) -> None:
    cold = Engine(ServeConfig.build("sagemaker", manifest=str(stat_manifest), providers=CPU).engine)
    runner = JobRunner(cold, [ANSWERS])  # never started: not ready
    assert runner.handle(job("b1")) is Disposition.RETRY
    assert runner.handle(job("b1"), final_attempt=True) is Disposition.DONE
    failure = answer_from_document(answer("b1")).failure
    assert failure is not None and "worker busy" in failure


def test_pubsub_envelopes_wrapped_and_unwrapped() -> None:
    assert pubsub_data(b'{"message": {"data": "eyJhIjoxfQ=="}}') == b'{"a":1}'
    assert pubsub_data(b'{"request_id": "x"}') == b'{"request_id": "x"}'
    with pytest.raises(ValueError):
        pubsub_data(b'{"message": {"data": "***"}}')
