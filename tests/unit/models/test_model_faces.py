"""Face detection with OpenCV's bundled Haar cascade (the `faces` extra), on drawn faces."""

from __future__ import annotations

import numpy as np
import pytest

from fakewatch.models.faces import (
    Box,
    HaarFaceDetector,
    default_face_detector,
    largest_face_crop,
    reset_default_face_detector,
)
from fakewatch.testing.onnx_models import schematic_face

pytest.importorskip("cv2", reason="the `faces` extra (opencv-python-headless<5) is not installed")


def test_the_bundled_cascade_finds_a_drawn_face() -> None:
    boxes = HaarFaceDetector().detect(schematic_face(200, (400, 400)), min_size=40)
    assert len(boxes) == 1
    box = boxes[0]
    assert 100 <= box.x <= 150 and 100 <= box.y <= 150 and 120 <= box.w <= 220


@pytest.mark.parametrize(
    "frame",
    [
        np.full((300, 300, 3), 128, np.uint8),
        np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8),
    ],
    ids=["flat", "noise"],
)
def test_no_face_in_a_flat_or_noisy_frame(frame: np.ndarray) -> None:
    assert HaarFaceDetector().detect(frame, min_size=40) == []


def test_min_size_ignores_small_faces() -> None:
    assert HaarFaceDetector().detect(schematic_face(200, (400, 400)), min_size=300) == []


class FixedBoxes:
    """A fake detector returning given boxes, to test the cropping arithmetic alone."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes

    def detect(self, rgb: np.ndarray, *, min_size: int) -> list[Box]:
        return self.boxes


def test_the_largest_face_is_cropped_with_margin_and_clipped_to_the_frame() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    detector = FixedBoxes([Box(10, 10, 20, 20), Box(150, 40, 40, 40)])
    crop = largest_face_crop(frame, detector, margin=0.5, min_size=8)
    assert crop is not None
    assert crop.shape == (80, 70, 3)  # y 40±20 → 20..100; x 150±20 → 130..210, clipped to 200
    assert crop.flags["C_CONTIGUOUS"]


def test_no_face_gives_none() -> None:
    assert (
        largest_face_crop(np.zeros((50, 50, 3), np.uint8), FixedBoxes([]), margin=0.3, min_size=8)
        is None
    )


def test_the_default_detector_is_built_once() -> None:
    reset_default_face_detector()
    first = default_face_detector()
    assert first is not None and default_face_detector() is first


def test_without_opencv_the_default_detector_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    reset_default_face_detector()
    monkeypatch.setitem(sys.modules, "cv2", None)  # what `import cv2` sees when not installed
    try:
        assert default_face_detector() is None
    finally:
        reset_default_face_detector()
