"""What intake hands to the signals: the bytes, what they are, and frames decoded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"  # PDF: only provenance (C2PA) applies


@dataclass(frozen=True)
class MediaType:
    """A sniffed type: the kind, a short format name and the MIME type."""

    kind: MediaKind
    format: str  # jpeg, png, webp, gif, tiff, bmp, heif, avif, mp4, mov, webm, mkv, wav, mp3, ...
    mime: str


class Frame:
    """One decoded frame. Never logged, never stored.

    Built from an RGB array (video) or a decoded Pillow image (still images, animations).
    ``rgb`` (uint8, H x W x 3) is materialised on first use only: a signal that reads tiles
    from ``image`` or uses ``luma`` never pays for a full-frame RGB copy.
    """

    __slots__ = ("_luma", "_rgb", "image", "index", "keyframe", "timestamp_s")

    def __init__(
        self,
        index: int,
        rgb: np.ndarray | None = None,
        timestamp_s: float | None = None,
        keyframe: bool = False,
        *,
        image: Image.Image | None = None,
    ) -> None:
        if rgb is None and image is None:
            raise ValueError("a frame needs pixels: an RGB array or a Pillow image")
        self.index = index
        self.timestamp_s = timestamp_s
        self.keyframe = keyframe
        self.image = image
        self._rgb = rgb
        self._luma: np.ndarray | None = None

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            import numpy as np

            assert self.image is not None
            im = self.image if self.image.mode == "RGB" else self.image.convert("RGB")
            self._rgb = np.asarray(im)
        return self._rgb

    @property
    def luma(self) -> np.ndarray:
        """Luminance (uint8, H x W), ITU-R 601 weights, as Pillow's "L" conversion."""
        if self._luma is None:
            import numpy as np

            if self._rgb is None and self.image is not None:
                self._luma = np.asarray(self.image.convert("L"))
            else:
                weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
                self._luma = (self.rgb[..., :3].astype(np.float32) @ weights).astype(np.uint8)
        return self._luma

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        if self.image is not None:
            return self.image.size
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


@dataclass
class Media:
    """Decoded media, built by intake under the policy's limits.

    ``image`` is the first frame as a loaded Pillow image (with ``info`` intact: PNG text
    chunks, EXIF, XMP, ICC) for images; ``frames`` holds every frame the signals may look at
    (all frames of a short animation up to the frame limit, sampled frames of a video).
    """

    data: bytes
    type: MediaType
    name: str = ""
    image: Image.Image | None = None
    frames: list[Frame] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    frame_count: int | None = None
    streams: list[dict[str, Any]] = field(default_factory=list)  # codec, rate, ... (no content)

    @property
    def kind(self) -> MediaKind:
        return self.type.kind

    @property
    def size(self) -> int:
        return len(self.data)
