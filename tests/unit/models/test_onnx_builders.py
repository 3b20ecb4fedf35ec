"""The test-model builders produce valid, runnable ONNX models with matching manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from fakewatch.models import ModelRunner, load_manifest
from fakewatch.testing.onnx_models import (
    efficientnet_like_classifier,
    sha256_hex,
    statistic_classifier,
    tiny_cnn_classifier,
    write_model,
)


@pytest.mark.parametrize("output", ["logits", "probabilities", "sigmoid"])
def test_statistic_classifier_output_kinds_agree(tmp_path: Path, output: str) -> None:
    runner = ModelRunner.load(write_model(tmp_path, statistic_classifier(output=output)))
    frame = np.zeros((8, 8, 3), np.uint8)
    frame[..., 0] = 128  # mean R ≈ 0.502 → logit ≈ 4.02
    assert runner.score_frames([frame])[0] == pytest.approx(
        1 / (1 + np.exp(-8 * 128 / 255)), abs=1e-5
    )


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_tiny_cnn_is_deterministic_and_input_dependent(tmp_path: Path, layout: str) -> None:
    a = tiny_cnn_classifier(layout=layout, seed=3)
    b = tiny_cnn_classifier(layout=layout, seed=3)
    assert a.to_bytes() == b.to_bytes()
    runner = ModelRunner.load(write_model(tmp_path, a))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8) for _ in range(3)]
    frames.append(np.zeros((40, 40, 3), np.uint8))
    p = runner.score_frames(frames)
    assert len(set(np.round(p, 6).tolist())) > 1
    assert ((p >= 0) & (p <= 1)).all()


def test_tiny_cnn_layouts_compute_the_same_function(tmp_path: Path) -> None:
    frame = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    p_nchw = ModelRunner.load(write_model(tmp_path / "c", tiny_cnn_classifier(layout="NCHW")))
    p_nhwc = ModelRunner.load(write_model(tmp_path / "h", tiny_cnn_classifier(layout="NHWC")))
    assert p_nchw.score_frames([frame]) == pytest.approx(p_nhwc.score_frames([frame]), abs=1e-6)


def test_write_model_records_the_file_hash(tmp_path: Path) -> None:
    path = write_model(tmp_path, tiny_cnn_classifier())
    m = load_manifest(path)
    assert m.sha256 == sha256_hex((tmp_path / "model.onnx").read_bytes())
    assert m.output.positive == ("fake",)


def test_a_shrunken_efficientnet_runs(tmp_path: Path) -> None:
    built = efficientnet_like_classifier(width=0.25, depth=0.34, size=(64, 64))
    onnx.checker.check_model(built.model)
    assert 50_000 < built.parameters < 500_000
    runner = ModelRunner.load(write_model(tmp_path, built))
    p = runner.score_frames([np.full((80, 60, 3), v, np.uint8) for v in (0, 128, 255)])
    assert p.shape == (3,) and np.isfinite(p).all()


def test_the_full_size_efficientnet_has_b0_parameters() -> None:
    built = efficientnet_like_classifier()
    # EfficientNet-B0 has 5.29M parameters, 1.28M of them in its 1000-class head;
    # with a 2-class head it is about 4.0M.
    assert 3_900_000 < built.parameters < 4_100_000
    session = ort.InferenceSession(built.to_bytes(), providers=["CPUExecutionProvider"])
    assert [i.shape for i in session.get_inputs()] == [["N", 3, 224, 224]]
