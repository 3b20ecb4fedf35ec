"""Preprocessing: resize modes, colour order, normalisation and layout — checked on arrays and
end to end through real ONNX models whose output can be computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fakewatch.models import InputSpec, ModelRunner
from fakewatch.models.preprocess import normalise, prepare_images, resize
from fakewatch.testing.onnx_models import statistic_classifier, write_model


def solid(h: int, w: int, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (h, w, 3)).copy()


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


# -- resize --------
def test_stretch_fills_the_target_ignoring_aspect() -> None:
    out = resize(solid(64, 16, (255, 0, 0)), InputSpec("x", size=(32, 32), resize="stretch"))
    assert out.shape == (32, 32, 3) and (out[..., 0] == 255).all()


def test_letterbox_keeps_aspect_and_pads_with_pad_value() -> None:
    spec = InputSpec("x", size=(32, 32), resize="letterbox", pad_value=7)
    out = resize(solid(64, 16, (255, 0, 0)), spec)  # 64x16 → 32x8, centred, 12 px pad each side
    assert out.shape == (32, 32, 3)
    assert (out[:, 12:20, 0] == 255).all()
    assert (out[:, :12] == 7).all() and (out[:, 20:] == 7).all()


def test_center_crop_covers_then_cuts_the_middle() -> None:
    frame = solid(20, 60, (0, 0, 255))
    frame[:, 20:40] = (255, 0, 0)  # red middle third
    out = resize(frame, InputSpec("x", size=(20, 20), resize="center_crop"))
    assert out.shape == (20, 20, 3) and (out[..., 0] == 255).all()


def test_upscaling_a_tiny_frame_works() -> None:
    out = resize(solid(1, 1, (9, 9, 9)), InputSpec("x", size=(16, 8), resize="letterbox"))
    assert out.shape == (16, 8, 3)


# -- normalise --------
def test_nchw_and_nhwc_layouts() -> None:
    batch = np.stack([solid(4, 6, (10, 20, 30))])
    nchw = normalise(batch, InputSpec("x", layout="NCHW", size=(4, 6)))
    nhwc = normalise(batch, InputSpec("x", layout="NHWC", size=(4, 6)))
    assert nchw.shape == (1, 3, 4, 6) and nhwc.shape == (1, 4, 6, 3)
    assert nchw[0, 2, 0, 0] == 30 and nhwc[0, 0, 0, 2] == 30
    assert nchw.flags["C_CONTIGUOUS"]


def test_bgr_reverses_the_channels() -> None:
    batch = np.stack([solid(2, 2, (10, 20, 30))])
    out = normalise(batch, InputSpec("x", layout="NHWC", size=(2, 2), color="BGR"))
    assert out[0, 0, 0].tolist() == [30, 20, 10]


def test_scale_mean_std_and_dtype() -> None:
    batch = np.stack([solid(2, 2, (255, 0, 51))])
    spec = InputSpec(
        "x", layout="NHWC", size=(2, 2), scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.1)
    )
    out = normalise(batch, spec)
    assert out.dtype == np.float32
    assert out[0, 0, 0] == pytest.approx([1.0, -2.0, -3.0], abs=1e-5)
    half = normalise(batch, InputSpec("x", layout="NHWC", size=(2, 2), dtype="float16"))
    assert half.dtype == np.float16
    raw = normalise(batch, InputSpec("x", layout="NHWC", size=(2, 2), dtype="uint8"))
    assert raw.dtype == np.uint8 and raw[0, 0, 0].tolist() == [255, 0, 51]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((8, 8), np.uint8), r"expected an H x W x 3 uint8 RGB array, got uint8 \(8, 8\)"),
        (np.zeros((8, 8, 4), np.uint8), r"got uint8 \(8, 8, 4\)"),
        (np.zeros((8, 8, 3), np.float64), r"got float64"),
        (np.zeros((0, 8, 3), np.uint8), "empty frame"),
    ],
)
def test_frames_that_are_not_rgb_uint8_are_refused_clearly(frame: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_images([frame], InputSpec("x", size=(4, 4)))


def test_a_non_array_frame_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a numpy array, got bytes"):
        prepare_images([b"\x89PNG"], InputSpec("x", size=(4, 4)))  # type: ignore[list-item]


def test_no_frames_is_an_error() -> None:
    with pytest.raises(ValueError, match="no frames"):
        prepare_images([], InputSpec("x", size=(4, 4)))


# -- end to end through real models --------
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_both_layouts_give_the_same_scores(tmp_path: Path, layout: str) -> None:
    runner = ModelRunner.load(write_model(tmp_path, statistic_classifier(layout=layout)))
    frames = [solid(10, 10, (255, 0, 0)), solid(10, 10, (0, 0, 255)), solid(10, 10, (128, 0, 64))]
    p = runner.score_frames(frames)
    expected = [sigmoid(8.0), sigmoid(-8.0), sigmoid(8 * (128 - 64) / 255)]
    assert p == pytest.approx(expected, abs=1e-5)


def test_different_images_give_different_scores(stat_manifest: Path) -> None:
    runner = ModelRunner.load(stat_manifest)
    p = runner.score_frames([solid(9, 9, (200, 0, 0)), solid(9, 9, (100, 0, 0))])
    assert p[0] > p[1] > 0.5


def test_bgr_models_see_the_channels_swapped(tmp_path: Path) -> None:
    manifest = write_model(tmp_path, statistic_classifier(), input={"color": "BGR"})
    p = ModelRunner.load(manifest).score_frames([solid(8, 8, (255, 0, 0))])
    assert p[0] == pytest.approx(sigmoid(-8.0), abs=1e-5)  # red arrives in the blue slot


def test_normalisation_reaches_the_model(tmp_path: Path) -> None:
    manifest = write_model(
        tmp_path, statistic_classifier(), input={"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
    )
    p = ModelRunner.load(manifest).score_frames([solid(8, 8, (255, 0, 0))])
    # R: (1 - .5)/.5 = 1; B: (0 - .5)/.5 = -1 → logit 8 * 2
    assert p[0] == pytest.approx(sigmoid(16.0), abs=1e-6)


def test_letterbox_changes_what_the_model_sees(tmp_path: Path) -> None:
    tall_red = solid(64, 16, (255, 0, 0))
    boxed = write_model(tmp_path / "l", statistic_classifier(), input={"resize": "letterbox"})
    stretched = write_model(tmp_path / "s", statistic_classifier())
    # letterbox: red covers 8 of 32 columns → mean R = 0.25 → logit 2; stretch: logit 8
    assert ModelRunner.load(boxed).score_frames([tall_red])[0] == pytest.approx(
        sigmoid(2.0), abs=1e-3
    )
    assert ModelRunner.load(stretched).score_frames([tall_red])[0] == pytest.approx(
        sigmoid(8.0), abs=1e-5
    )


@pytest.mark.parametrize("dtype", ["uint8", "float16"])
def test_uint8_and_float16_models(tmp_path: Path, dtype: str) -> None:
    weights = (8 / 255, 0.0, -8 / 255) if dtype == "uint8" else (8.0, 0.0, -8.0)
    manifest = write_model(tmp_path, statistic_classifier(dtype=dtype, weights=weights))
    p = ModelRunner.load(manifest).score_frames([solid(8, 8, (255, 0, 0))])
    assert p[0] == pytest.approx(sigmoid(8.0), abs=1e-3)


def test_predict_refuses_a_batch_of_the_wrong_dtype(stat_manifest: Path) -> None:
    runner = ModelRunner.load(stat_manifest)
    with pytest.raises(
        ValueError, match=r"batch dtype float64 does not match input\.dtype float32"
    ):
        runner.predict(np.zeros((1, 3, 32, 32)))


def test_frames_are_run_in_batches_of_max_batch(tmp_path: Path) -> None:
    runner = ModelRunner.load(write_model(tmp_path, statistic_classifier(), input={"max_batch": 4}))
    sizes: list[int] = []
    real_predict = runner.predict

    def spy(batch: np.ndarray) -> np.ndarray:
        sizes.append(batch.shape[0])
        return real_predict(batch)

    runner.predict = spy  # type: ignore[method-assign]
    p = runner.score_frames([solid(8, 8, (i * 20, 0, 0)) for i in range(10)])
    assert sizes == [4, 4, 2]
    assert len(p) == 10 and list(p) == sorted(p)  # redder frames score higher, order kept
