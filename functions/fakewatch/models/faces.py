"""Face detection for face-crop models, with no model download.

The shipped detector is OpenCV's frontal-face Haar cascade, which ``opencv-python-headless``
bundles inside its wheel (extra ``faces``; OpenCV 5 dropped the cascade API, hence ``<5``).
It is a modest detector — frontal faces, decent light — but it is real and needs no weights
from the network. Any object with a ``detect`` method can stand in for it.

Face boxes are used to crop in memory and then dropped: they are never logged or stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

FACES_EXTRA_HINT = "face-crop model needs the `faces` extra (pip install fakewatch[faces])"
CASCADE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray, *, min_size: int) -> list[Box]:
        """Faces in an RGB frame, any order."""


class HaarFaceDetector:
    """OpenCV's bundled frontal-face cascade; one classifier per thread (not thread-safe)."""

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 4) -> None:
        import cv2  # ImportError here means the `faces` extra is missing

        self._cv2: Any = cv2
        self._path = str(self._cv2.data.haarcascades) + CASCADE
        self._local = threading.local()
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        if self._classifier().empty():
            raise RuntimeError(f"OpenCV could not load its bundled cascade {CASCADE}")

    def _classifier(self) -> Any:
        classifier = getattr(self._local, "classifier", None)
        if classifier is None:
            classifier = self._cv2.CascadeClassifier(self._path)
            self._local.classifier = classifier
        return classifier

    def detect(self, rgb: np.ndarray, *, min_size: int) -> list[Box]:
        gray = self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)
        gray = self._cv2.equalizeHist(gray)
        found = self._classifier().detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_size, min_size),
        )
        return [Box(int(x), int(y), int(w), int(h)) for (x, y, w, h) in found]


_default_lock = threading.Lock()
_default: list[FaceDetector | None] = []


def default_face_detector() -> FaceDetector | None:
    """The Haar detector, built once per process; ``None`` when OpenCV is not installed."""
    with _default_lock:
        if not _default:
            try:
                _default.append(HaarFaceDetector())
            except ImportError:
                _default.append(None)
        return _default[0]


def reset_default_face_detector() -> None:
    """Forget the cached detector (tests that hide or restore OpenCV)."""
    with _default_lock:
        _default.clear()


def largest_face_crop(
    rgb: np.ndarray, detector: FaceDetector, *, margin: float, min_size: int
) -> np.ndarray | None:
    """The largest face, widened by ``margin`` of its size on each side; None if no face."""
    boxes = detector.detect(rgb, min_size=min_size)
    if not boxes:
        return None
    box = max(boxes, key=lambda b: b.area)
    pad_x, pad_y = round(box.w * margin), round(box.h * margin)
    height, width = rgb.shape[:2]
    top, left = max(0, box.y - pad_y), max(0, box.x - pad_x)
    bottom, right = min(height, box.y + box.h + pad_y), min(width, box.x + box.w + pad_x)
    return np.ascontiguousarray(rgb[top:bottom, left:right])
