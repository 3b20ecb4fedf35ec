"""Dynamic micro-batching: concurrent requests share one inference call.

The batcher is tested directly with a real ONNX session's ``predict`` (counted), and end to
end: concurrent HTTP requests to a server whose runner counts ``predict`` calls.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from fakewatch.models.runner import ModelRunner
from fakewatch_serve.batching import BatchConfig, BatcherClosed, MicroBatcher
from fakewatch_serve.wire import decode_predictions

from .conftest import CPU, png


@pytest.fixture
def runner(cnn_manifest: Path) -> ModelRunner:
    return ModelRunner.load(str(cnn_manifest), providers=CPU)


def rows(runner: ModelRunner, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = [(rng.random((40, 40, 3)) * 255).astype(np.uint8) for _ in range(n)]
    return runner.preprocess(frames)


def test_concurrent_submissions_share_one_predict(runner: ModelRunner) -> None:
    calls: list[int] = []
    gate = threading.Event()

    def predict(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)  # hold the first batch so the rest queue up behind it
        calls.append(batch.shape[0])
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=8, max_wait_ms=50))
    inputs = [rows(runner, 1, seed) for seed in range(8)]
    futures = [batcher.submit(x) for x in inputs]
    gate.set()
    outputs = [f.result(5) for f in futures]
    batcher.close(5)
    assert sum(calls) == 8 and len(calls) < 8  # shared calls, every row answered once
    for x, out in zip(inputs, outputs, strict=True):  # each caller gets its own rows back
        np.testing.assert_allclose(out, runner.predict(x), rtol=1e-5, atol=1e-6)


def test_batches_never_exceed_max_batch_and_carry_over(runner: ModelRunner) -> None:
    calls: list[int] = []

    def predict(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape[0])
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=4, max_wait_ms=100))
    futures = [batcher.submit(rows(runner, n, n)) for n in (3, 3, 2, 4)]
    shapes = [f.result(5).shape[0] for f in futures]
    batcher.close(5)
    assert shapes == [3, 3, 2, 4]
    assert max(calls) <= 4 and sum(calls) == 12
    with pytest.raises(ValueError, match="exceed max_batch"):
        MicroBatcher(predict, BatchConfig(max_batch=2)).submit(rows(runner, 3))


def test_run_splits_long_inputs_into_batches(runner: ModelRunner) -> None:
    batcher = MicroBatcher(runner.predict, BatchConfig(max_batch=4, max_wait_ms=0))
    x = rows(runner, 10)
    out = batcher.run(x, timeout=5)
    batcher.close(5)
    np.testing.assert_allclose(out, runner.predict(x), rtol=1e-5, atol=1e-6)
    assert batcher.stats.rows == 10 and batcher.stats.largest <= 4


def test_a_failing_predict_fails_every_waiter_and_the_batcher_goes_on(
    runner: ModelRunner,
) -> None:
    failures = iter([True, False])

    def predict(batch: np.ndarray) -> np.ndarray:
        if next(failures, False):
            raise RuntimeError("CUDA error: out of memory")
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=8, max_wait_ms=0))
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.submit(rows(runner, 2)).result(5)
    assert batcher.submit(rows(runner, 2)).result(5).shape[0] == 2  # still serving
    batcher.close(5)


def test_close_finishes_queued_work_then_refuses_more(runner: ModelRunner) -> None:
    gate = threading.Event()

    def predict(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=2, max_wait_ms=0))
    futures = [batcher.submit(rows(runner, 1, s)) for s in range(5)]
    closer = threading.Thread(target=batcher.close, args=(10,))
    closer.start()
    gate.set()
    closer.join(10)
    assert all(f.result(0).shape[0] == 1 for f in futures)  # every queued item answered
    with pytest.raises(BatcherClosed):
        batcher.submit(rows(runner, 1))


def test_concurrent_http_requests_share_inference_calls(serve, counting) -> None:
    runner = counting(delay_s=0.05)
    _, client = serve("sagemaker", loader=lambda: runner, max_batch=16, max_wait_ms=20)
    images = [png(seed=s) for s in range(24)]

    def call(data: bytes) -> float:
        response = client.post("/invocations", content=data, headers={"content-type": "image/png"})
        assert response.status_code == 200
        (result,) = decode_predictions(response.content, expected=1)
        assert result.score is not None
        return result.score

    with ThreadPoolExecutor(24) as pool:
        scores = list(pool.map(call, images))
    assert sum(runner.calls) == 24  # every image inferred exactly once
    assert len(runner.calls) < 24 and max(runner.calls) > 1  # ... in shared calls
    assert len(set(scores)) > 1  # each request got its own answer back
    stats = client.get("/ping").json()["batching"]
    assert stats["batches"] == len(runner.calls) and stats["rows"] == 24


def test_stats_count_sizes_run_time_and_queue_wait(runner: ModelRunner) -> None:
    gate = threading.Event()

    def predict(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)  # the first batch holds the rest in the queue
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=4, max_wait_ms=0))
    first = batcher.submit(rows(runner, 1))
    time.sleep(0.05)  # the batch thread has taken it and waits on the gate
    queued = [batcher.submit(rows(runner, n, n)) for n in (2, 2, 3)]
    time.sleep(0.05)
    gate.set()
    for future in [first, *queued]:
        future.result(5)
    batcher.close(5)
    stats = batcher.stats.to_dict()
    assert stats["rows"] == 8 and stats["batches"] == sum(stats["histogram"].values())
    assert sum(int(size) * count for size, count in stats["histogram"].items()) == 8
    assert stats["histogram"]["4"] == 1  # 2 + 2 shared a call; 3 did not fit beside them
    assert stats["run_s"] >= 0.05  # the held first batch counts as time inside predict
    assert stats["queue_s"] >= 7 * 0.05  # seven rows waited behind it for at least 50 ms


def test_the_reused_batch_array_never_changes_an_answer_already_given(
    runner: ModelRunner,
) -> None:
    """A predict that hands back a view of its input: the worst case for a reused array."""
    gate = threading.Event()

    def predict(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)
        return batch[:, 0, 0, :3]

    batcher = MicroBatcher(predict, BatchConfig(max_batch=4, max_wait_ms=50))
    first = [batcher.submit(rows(runner, 1, seed)) for seed in (1, 2)]
    gate.set()
    answers = [f.result(5) for f in first]
    kept = [a.copy() for a in answers]
    for future in [batcher.submit(rows(runner, 1, seed)) for seed in (7, 8)]:
        future.result(5)
    batcher.close(5)
    assert batcher.stats.histogram[2] == 2  # both pairs went through the reused array
    for answer, before in zip(answers, kept, strict=True):
        np.testing.assert_array_equal(answer, before)


def test_rows_that_cannot_share_a_batch_fail_their_callers_not_the_batcher(
    runner: ModelRunner,
) -> None:
    gate = threading.Event()

    def predict(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)
        return runner.predict(batch)

    batcher = MicroBatcher(predict, BatchConfig(max_batch=8, max_wait_ms=50))
    blocker = batcher.submit(rows(runner, 1))
    time.sleep(0.05)
    odd = [batcher.submit(rows(runner, 1)), batcher.submit(np.zeros((1, 3, 8, 8), np.float32))]
    gate.set()
    assert blocker.result(5).shape[0] == 1
    for future in odd:
        with pytest.raises(ValueError):
            future.result(5)
    assert batcher.submit(rows(runner, 2)).result(5).shape[0] == 2  # still serving
    batcher.close(5)
