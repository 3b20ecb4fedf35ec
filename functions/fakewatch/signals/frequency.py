"""Frequency signal: periodic upsampling artifacts of generative decoders.

The transposed convolutions and upsample-then-convolve layers of GAN and diffusion decoders
leave a faint periodic pattern in the image: the noise residual's power spectrum shows
isolated peaks at 1/2, 1/4, 1/8 of the sampling rate (moved elsewhere if the image was
resized afterwards) that camera photographs do not have (Durall et al. 2020, Frank et al.
2020, Corvi et al. 2023). :mod:`fakewatch.signals.spectral` finds those peaks on a bounded
number of fixed-size tiles; this module decides what they mean.

Calibration (``bench/calibrate_frequency.py``, ``docs/signals/frequency.md``) placed
``REVIEW_PROMINENCE`` above every real photograph of the negative set, re-encoded at JPEG
50..95 and resized: a peak that strong maps to score 0.5.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from fakewatch.media.types import Frame, MediaKind
from fakewatch.signals import spectral
from fakewatch.signals.base import Signal, SignalResult

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

    from fakewatch.media.types import Media

MAX_TILES = 16  # tiles analysed per object, whatever its size
MAX_FRAMES = 4  # frames of an animation or video sampled, evenly spread
REVIEW_PROMINENCE = 12.0  # peak / background power ratio that maps to score 0.5
NOTABLE_PROMINENCE = 6.0  # below this nothing is reported (score 0, confidence 0)
SCORE_SLOPE = math.log(9.0) / math.log(2.0)  # score 0.9 at 2x, 0.1 at 1/2x the review ratio
BLOCKY = 1.08  # blockiness above which an 8x8 block codec has touched the pixels
MIN_TEXTURE = 1.5  # residual deviation (grey levels) below which the spectrum is noise
FULL_TEXTURE = 6.0  # ... and from which texture no longer limits confidence
MAX_CONFIDENCE = 0.85  # a spectral peak is never proof on its own
# On block-coded media a peak on the 8x8 grid could be the codec's own: it counts only on
# textured content (where block edges drown in detail) and divided by GRID_DISCOUNT.
GRID_DISCOUNT = 4.0
GRID_MIN_TEXTURE = 10.0

# IJG (libjpeg) standard luminance table, Annex K of the JPEG standard: quality 50.
_IJG_LUMA_SUM = 3688  # sum of its 64 entries


def jpeg_quality(image: Image.Image | None) -> int | None:
    """Estimate the IJG quality of a JPEG from its luminance quantisation table.

    ``sum(table) / sum(standard)`` is the IJG scale factor whatever order the table is
    listed in; the inverse of libjpeg's quality->scale mapping turns it into a quality.
    """
    tables = getattr(image, "quantization", None)
    if not tables or 0 not in tables:
        return None
    scale = 100.0 * float(sum(tables[0])) / _IJG_LUMA_SUM
    if scale <= 0:
        return None
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return round(min(100.0, max(1.0, quality)))


def _pixels(frame: Frame) -> NDArray[np.uint8] | Image.Image:
    """A still's decoded image (read tile by tile, never converted whole), else its RGB array."""
    return frame.image if frame.image is not None else frame.rgb


def _frames(media: Media) -> list[NDArray[np.uint8] | Image.Image]:
    """At most ``MAX_FRAMES`` decoded frames, evenly spread; else the image, read tile by tile."""
    count = len(media.frames)
    if count:
        picks = sorted({round(i * (count - 1) / max(1, MAX_FRAMES - 1)) for i in range(MAX_FRAMES)})
        return [_pixels(media.frames[i]) for i in picks[:MAX_FRAMES]]
    return [media.image] if media.image is not None else []


def _fraction(f: float) -> str:
    """'1/2', '1/4', '3/8' ... when ``f`` sits on an upsampling harmonic, else '0.23'."""
    for den in (2, 4, 8):
        num = round(abs(f) * den)
        if num and abs(abs(f) - num / den) < 0.6 / spectral.TILE:
            g = math.gcd(num, den)
            return f"{num // g}/{den // g}"
    return f"{abs(f):.2f}"


def _upsampling_factor(peak: spectral.Peak) -> int | None:
    """The x2/x4/x8 factor whose harmonics the peak sits on, if it sits on one."""
    dens = []
    for f in (peak.fy, peak.fx):
        frac = _fraction(f)
        if "/" not in frac:
            return None if abs(f) > 0.6 / spectral.TILE else 1
        dens.append(int(frac.split("/")[1]))
    return max(dens)


def score_of(prominence: float) -> float:
    """Calibrated mapping of the peak ratio to [0, 1]: 0.5 at ``REVIEW_PROMINENCE``."""
    z = SCORE_SLOPE * math.log(max(prominence, 1e-9) / REVIEW_PROMINENCE)
    return 1.0 / (1.0 + math.exp(-z))


def _confidence(spec: spectral.Spectrum, quality: int | None) -> tuple[float, list[str]]:
    limits: list[str] = []
    texture = min(1.0, max(0.0, (spec.texture - MIN_TEXTURE) / (FULL_TEXTURE - MIN_TEXTURE)))
    if texture < 1.0:
        limits.append(f"little texture (residual {spec.texture:.1f} grey levels)")
    size = math.sqrt(spec.tiles / MAX_TILES)
    if size < 1.0:
        limits.append(f"small image ({spec.tiles} of {MAX_TILES} tiles)")
    compression = 1.0
    if quality is not None and quality < 75:
        compression = max(0.3, (quality - 10) / 65)
        limits.append(f"heavy JPEG compression (quality about {quality})")
    return MAX_CONFIDENCE * texture * size * compression, limits


class FrequencySignal(Signal):
    """Spectral peaks of the noise residual left by upsampling layers of generative decoders."""

    name: ClassVar[str] = "frequency"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[MediaKind]] = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})

    def analyze(self, media: Media) -> SignalResult:
        frames = _frames(media)
        if not frames:
            return self.not_applicable(media, "no decoded frame to analyse")
        usable = [f for f in frames if min(spectral.source_size(f)) >= spectral.MIN_SIDE]
        if not usable:
            h, w = spectral.source_size(frames[0])
            return self.not_applicable(
                media,
                f"image is {w}x{h} px; frequency analysis needs at least "
                f"{spectral.MIN_SIDE}x{spectral.MIN_SIDE} px",
            )
        spec = spectral.analyse_frames(usable, MAX_TILES, floor=NOTABLE_PROMINENCE / 2)
        quality = jpeg_quality(media.image) if media.type.format == "jpeg" else None
        block_coded = (
            media.type.format == "jpeg"
            or media.kind is MediaKind.VIDEO
            or spec.blockiness >= BLOCKY
        )
        return self._report(media, spec, len(usable), quality, block_coded)

    @staticmethod
    def _pick(spec: spectral.Spectrum, block_coded: bool) -> tuple[spectral.Peak | None, float]:
        """The peak that counts and its effective prominence (grid peaks discounted)."""
        best: spectral.Peak | None = None
        value = 0.0
        for peak in spec.peaks:
            prominence = peak.prominence
            if block_coded and peak.on_block_grid:
                if spec.texture < GRID_MIN_TEXTURE:
                    continue
                prominence /= GRID_DISCOUNT
            if prominence > value:
                best, value = peak, prominence
        return best, value

    def _report(
        self,
        media: Media,
        spec: spectral.Spectrum,
        frames: int,
        quality: int | None,
        block_coded: bool,
    ) -> SignalResult:
        peak, effective = self._pick(spec, block_coded)
        ignored = spec.strongest(skip_block_grid=False) if block_coded else None
        details: dict[str, Any] = {
            "tiles": spec.tiles,
            "tile_px": spectral.TILE,
            "frames": frames,
            "texture": round(spec.texture, 2),
            "blockiness": round(spec.blockiness, 3),
            "block_grid_ignored": block_coded,
            "jpeg_quality": quality,
            "review_prominence": REVIEW_PROMINENCE,
            "peaks": [p.to_dict() for p in spec.peaks[:4]],
        }
        checked = (
            f"Checked {spec.tiles} tiles of {spectral.TILE}x{spectral.TILE} px"
            f"{f' from {frames} frames' if frames > 1 else ''} for periodic peaks in the "
            "noise residual's spectrum"
        )
        grid_note = ""
        if block_coded:
            grid_note = (
                f"; peaks on the 8x8 compression-block grid discounted {GRID_DISCOUNT:g}x"
                if spec.texture >= GRID_MIN_TEXTURE
                else "; peaks on the 8x8 compression-block grid ignored (too little texture)"
            )
        details["effective_prominence"] = round(effective, 2)
        if block_coded and spec.texture < FULL_TEXTURE:
            return self.nothing_found(
                media,
                f"{checked}: the image has too little texture (residual "
                f"{spec.texture:.1f} grey levels) for its spectrum to rise above the "
                "compression's own artifacts, so no peak is counted. "
                "This is not evidence that the image is authentic.",
                details=details,
            )
        if peak is None or effective < NOTABLE_PROMINENCE:
            strongest = f" (strongest {effective:.1f}x background)" if peak else ""
            ignored_note = ""
            if ignored is not None and ignored.on_block_grid and ignored is not peak:
                ignored_note = f"; a {ignored.prominence:.1f}x peak on the block grid was set aside"
            return self.nothing_found(
                media,
                f"{checked}: none stands out{strongest}{grid_note}{ignored_note}. "
                "This is not evidence that the image is authentic.",
                details=details,
            )
        confidence, limits = _confidence(spec, quality)
        evidence = [self._describe(spec, peak, effective, block_coded)]
        if limits:
            evidence.append("Confidence lowered: " + ", ".join(limits) + ".")
        evidence.append(f"{checked}{grid_note}.")
        details["strongest"] = peak.to_dict()
        return self.ok(media, score_of(effective), confidence, evidence, details=details)

    @staticmethod
    def _describe(
        spec: spectral.Spectrum, peak: spectral.Peak, effective: float, block_coded: bool
    ) -> str:
        floor = NOTABLE_PROMINENCE * (GRID_DISCOUNT if block_coded else 1.0)
        family = [peak, *[p for p in spec.peaks if p is not peak and p.prominence >= floor][:3]]
        where = sorted({_fraction(f) for p in family for f in (p.fy, p.fx) if abs(f) > 0})
        factors = [_upsampling_factor(p) for p in family]
        factor = None if factors[0] is None else max(f or 1 for f in factors)
        discount = ""
        if effective < peak.prominence:
            discount = f", counted as {effective:.1f}x since it sits on the JPEG block grid"
        if factor and factor > 1:
            meaning = f"typical of x{factor} upsampling layers in generative decoders"
        else:
            meaning = (
                "a position that upsampling followed by resizing would leave, "
                "or a fine periodic texture in the scene"
            )
        return (
            f"Periodic spectral peaks in the noise residual at {' and '.join(where)} of the "
            f"sampling rate (strongest {peak.prominence:.1f}x the local background, period "
            f"{peak.period:.1f} px{discount}), {meaning}."
        )
