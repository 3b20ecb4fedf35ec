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


@dataclass(frozen=True)
class Frame:
    """One decoded RGB frame (uint8, H x W x 3). Never logged, never stored."""

    index: int
    rgb: np.ndarray
    timestamp_s: float | None = None
    keyframe: bool = False


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
