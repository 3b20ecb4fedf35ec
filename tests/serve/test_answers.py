"""The endpoint answers what the core's learned signal answers — batched or not, on the
default provider list (CUDA/TensorRT first where present) or on CPU alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fakewatch.media.intake import open_media
from fakewatch.models.providers import choose_providers
from fakewatch.models.runner import ModelRunner
from fakewatch.signals.learned import LearnedModelSignal
from fakewatch_serve.wire import decode_predictions

from .conftest import CPU, png

TOLERANCE = 1e-4  # GPU kernels (cuDNN, TF32) differ from CPU in the last digits


def test_served_reading_equals_the_core_signal(serve, cnn_manifest: Path) -> None:
    data = png(seed=3)
    core = LearnedModelSignal(str(cnn_manifest), providers=CPU).run(open_media(data))
    _, client = serve("sagemaker", manifest=str(cnn_manifest))
    response = client.post("/invocations", content=data, headers={"content-type": "image/png"})
    (served,) = decode_predictions(response.content, expected=1)
    assert served.status == core.status
    assert served.score is not None and core.score is not None
    assert abs(served.score - core.score) < TOLERANCE
    assert abs(served.confidence - core.confidence) < TOLERANCE
    assert served.evidence == core.evidence
    assert served.details["model"] == dict(core.details["model"])


def test_batched_answers_equal_one_at_a_time(serve, cnn_manifest: Path) -> None:
    images = [png(seed=s) for s in range(12)]
    _, alone = serve("sagemaker", manifest=str(cnn_manifest), max_batch=1, max_wait_ms=0)
    _, shared = serve("sagemaker", manifest=str(cnn_manifest), max_batch=12, max_wait_ms=30)

    def score(client, data: bytes) -> float:
        r = client.post("/invocations", content=data, headers={"content-type": "image/png"})
        value = decode_predictions(r.content, expected=1)[0].score
        assert value is not None
        return value

    one = [score(alone, d) for d in images]
    with ThreadPoolExecutor(12) as pool:
        many = list(pool.map(lambda d: score(shared, d), images))
    np.testing.assert_allclose(many, one, atol=TOLERANCE)
    assert shared.get("/ping").json()["batching"]["largest"] > 1


def test_default_provider_list_matches_cpu_within_tolerance(cnn_manifest: Path) -> None:
    """On a GPU machine the default list starts with TensorRT/CUDA; here it may be CPU only.
    Either way the answers must agree with CPU's within the stated tolerance."""
    default = ModelRunner.load(str(cnn_manifest), prefer_gpu=True)
    cpu = ModelRunner.load(str(cnn_manifest), providers=CPU)
    assert choose_providers(prefer_gpu=True).providers[-1] == CPU[0]
    rng = np.random.default_rng(7)
    frames = [(rng.random((64, 80, 3)) * 255).astype(np.uint8) for _ in range(9)]
    np.testing.assert_allclose(
        default.score_frames(frames), cpu.score_frames(frames), atol=TOLERANCE
    )


def test_video_instances_are_scored_frame_by_frame(serve, cnn_manifest: Path) -> None:
    from fakewatch.samples.containers import small_mp4

    _, client = serve("vertex", manifest=str(cnn_manifest))
    video = small_mp4(frames=20)
    r = client.post("/predict", content=video, headers={"content-type": "video/mp4"})
    (reading,) = decode_predictions(r.content, expected=1)
    assert reading.status == "ok" and reading.modality == "video"
    assert reading.details["frames_scored"] >= 1
