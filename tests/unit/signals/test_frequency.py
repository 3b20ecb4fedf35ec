"""The frequency signal on media the tests make themselves, read through real intake.

Positives come from a small numpy decoder with transposed convolutions (stride 2, kernel 3:
the uneven overlap that leaves checkerboards). Negatives are camera-like: a dead-leaves scene
(occluding discs, the classic model of natural-image statistics) through a lens blur, with
photon and read noise, then JPEG at the qualities uploads arrive with, and resized.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from fakewatch.media.intake import open_media
from fakewatch.media.types import Media, MediaKind, MediaType
from fakewatch.signals.base import Status
from fakewatch.signals.frequency import MAX_FRAMES, FrequencySignal, jpeg_quality


def encode(rgb: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


def resize(rgb: np.ndarray, scale: float, resample: Image.Resampling) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)), resample))


# -- a numpy decoder -------------------------------------------------------------------------
def conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    k = w.shape[-1]
    pad = np.pad(x, ((0, 0), (1, k - 2), (1, k - 2)), mode="reflect")
    h, wd = x.shape[1:]
    out = np.zeros((w.shape[0], h, wd), dtype=np.float32)
    for i in range(k):
        for j in range(k):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], pad[:, i : i + h, j : j + wd])
    return out


def transposed_conv(x: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Stride-2, 3x3 transposed convolution: zero insertion, then a learned-looking kernel."""
    c = x.shape[0]
    z = np.zeros((c, x.shape[1] * 2, x.shape[2] * 2), dtype=np.float32)
    z[:, ::2, ::2] = x
    b = np.array([1.0, 2.0, 1.0])
    smooth = np.outer(b, b) / 4.0  # bilinear interpolation: no artifact by itself
    mix = rng.normal(0, 1 / np.sqrt(c), (c, c))
    w = mix[:, :, None, None] * smooth + jitter * rng.normal(0, 1, (c, c, 3, 3))
    return conv(z, w.astype(np.float32))


def decoder_image(side: int = 512, stages: int = 2, jitter: float = 0.2, seed: int = 7):
    rng = np.random.default_rng(seed)
    n = side >> stages
    x = rng.normal(0, 1, (6, n, n)).astype(np.float32)
    for _ in range(3):  # a smooth latent, as a diffusion latent looks
        x = (x + np.roll(x, 1, 1) + np.roll(x, 1, 2) + np.roll(x, 1, (1, 2))) / 2
    for _ in range(stages):
        x = transposed_conv(x, rng, jitter)
        x = np.where(x > 0, x, 0.2 * x)
    mix = rng.normal(0, 1, (3, x.shape[0], 1, 1)).astype(np.float32)
    rgb = (mix * x[None]).sum(axis=1)
    rgb = (rgb - rgb.mean(axis=(1, 2), keepdims=True)) / (rgb.std() + 1e-6)
    return np.clip(127.5 + 50 * rgb, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()


# -- a camera-like photograph ----------------------------------------------------------------
def dead_leaves(side: int = 640, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    img = np.zeros((side, side, 3), dtype=np.float32)
    for _ in range(400):  # loops over discs, each a whole-image operation
        r = side * 0.3 * rng.random() ** 2 + 2
        cy, cx = rng.uniform(0, side, 2)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        img[mask] = rng.uniform(20, 235, 3)
    # lens blur (Gaussian, sigma 1.2 px) in the Fourier domain
    f = np.fft.fftfreq(side)
    gauss = np.exp(-2 * (np.pi * 1.2) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    img = np.real(np.fft.ifft2(np.fft.fft2(img, axes=(0, 1)) * gauss[..., None], axes=(0, 1)))
    img = rng.poisson(np.clip(img, 0, 255) * 4) / 4 + rng.normal(0, 1.5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def scan(data: bytes):
    return FrequencySignal().run(open_media(data))


@pytest.fixture(scope="module")
def generated() -> np.ndarray:
    return decoder_image()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return dead_leaves()


# -- positives -------------------------------------------------------------------------------
def test_decoder_upsampling_trips_it_and_evidence_names_the_peaks(generated: np.ndarray) -> None:
    result = scan(encode(generated))
    assert result.status is Status.OK
    assert result.score is not None and result.score >= 0.5
    assert result.confidence >= 0.5
    assert not result.strong  # a spectral peak is never proof on its own
    text = result.evidence[0]
    assert "1/2" in text and "upsampling" in text and "x the local background" in text
    strongest = result.details["strongest"]
    assert {abs(strongest["fy"]), abs(strongest["fx"])} <= {0.25, 0.5}
    json.dumps(result.to_dict())  # JSON-safe, no arrays


def test_resized_decoder_output_still_trips_with_moved_peaks(generated: np.ndarray) -> None:
    moved = resize(generated, 1.3, Image.Resampling.BICUBIC)
    result = scan(encode(moved))
    assert result.score is not None and result.score >= 0.5
    strongest = result.details["strongest"]
    assert {abs(strongest["fy"]), abs(strongest["fx"])}.isdisjoint({0.25, 0.5})  # moved
    assert "resizing" in result.evidence[0]


def test_grid_peaks_of_textured_jpeg_are_discounted_not_dropped(generated: np.ndarray) -> None:
    plain = scan(encode(generated))
    jpeg = scan(encode(generated, "JPEG", quality=95))
    assert jpeg.details["block_grid_ignored"] is True
    assert jpeg.details["effective_prominence"] < plain.details["effective_prominence"]
    assert any("block grid" in line for line in jpeg.evidence)


# -- negatives -------------------------------------------------------------------------------
@pytest.mark.parametrize("quality", [50, 60, 70, 80, 90, 95])
def test_camera_like_photo_at_upload_qualities_does_not_trip(photo: np.ndarray, quality: int):
    result = scan(encode(photo, "JPEG", quality=quality))
    assert result.status is Status.OK
    assert (result.score or 0.0) < 0.5, result.evidence


@pytest.mark.parametrize("scale", [0.7, 1.3])
@pytest.mark.parametrize(
    "resample", [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS]
)
def test_resized_and_recompressed_photo_does_not_trip(
    photo: np.ndarray, scale: float, resample: Image.Resampling
) -> None:
    result = scan(encode(resize(photo, scale, resample), "JPEG", quality=85))
    assert (result.score or 0.0) < 0.5, result.evidence


@pytest.mark.parametrize("quality", [10, 20, 30])
def test_jpeg_grid_alone_does_not_trip(quality: int) -> None:
    """A smooth gradient at low quality: blocking is all there is to see."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:512, 0:512]
    rgb = np.stack([xx / 2, yy / 2, (xx + yy) / 4], -1) + rng.normal(0, 2, (512, 512, 3))
    result = scan(encode(np.clip(rgb, 0, 255).astype(np.uint8), "JPEG", quality=quality))
    assert result.details["block_grid_ignored"] is True
    assert (result.score or 0.0) < 0.5, result.evidence
    assert result.confidence == 0.0
    assert result.details["peaks"], "the codec does show in the spectrum: it must be set aside"
    assert "compression" in result.evidence[0]


def test_blockiness_of_a_jpeg_saved_losslessly_is_measured(photo: np.ndarray) -> None:
    once_jpeg = np.asarray(Image.open(io.BytesIO(encode(photo, "JPEG", quality=40))))
    result = scan(encode(once_jpeg))  # PNG: the format no longer says JPEG
    assert result.details["blockiness"] >= 1.08
    assert result.details["block_grid_ignored"] is True
    assert scan(encode(photo)).details["block_grid_ignored"] is False


# -- confidence, applicability, bounds -------------------------------------------------------
def test_tiny_image_is_not_applicable_and_says_the_minimum() -> None:
    result = scan(encode(np.full((100, 300, 3), 90, np.uint8)))
    assert result.status is Status.NOT_APPLICABLE
    assert "128x128" in result.evidence[0] and "300x100" in result.evidence[0]


def test_uniform_image_gives_no_confident_reading() -> None:
    result = scan(encode(np.full((400, 400, 3), 128, np.uint8)))
    assert result.status is Status.OK
    assert result.confidence == 0.0 and result.score == 0.0
    assert "not evidence that the image is authentic" in result.evidence[0]


def test_confidence_drops_for_small_images_and_heavy_jpeg(generated: np.ndarray) -> None:
    full = scan(encode(generated))
    small = scan(encode(np.ascontiguousarray(generated[:160, :160])))
    assert small.details["tiles"] < full.details["tiles"]
    assert small.confidence < full.confidence
    q40 = scan(encode(generated, "JPEG", quality=40))
    assert q40.details["jpeg_quality"] is not None and q40.details["jpeg_quality"] <= 45
    if q40.score:  # where anything counted, heavy compression must have lowered confidence
        assert q40.confidence < full.confidence


def test_animation_analyses_a_bounded_number_of_frames(generated: np.ndarray) -> None:
    frames = [Image.fromarray(np.roll(generated, 8 * i, axis=1)) for i in range(12)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=40)
    result = scan(buf.getvalue())
    assert result.status is Status.OK
    assert 1 < result.details["frames"] <= MAX_FRAMES


@pytest.mark.parametrize("quality", [30, 50, 75, 90])
def test_jpeg_quality_is_read_from_the_quantisation_table(photo: np.ndarray, quality: int):
    im = Image.open(io.BytesIO(encode(photo, "JPEG", quality=quality)))
    estimate = jpeg_quality(im)
    assert estimate is not None and abs(estimate - quality) <= 2


def test_media_without_frames_is_not_applicable() -> None:
    media = Media(b"", MediaType(MediaKind.IMAGE, "png", "image/png"))
    assert FrequencySignal().run(media).status is Status.NOT_APPLICABLE


def test_large_image_is_read_tile_by_tile() -> None:
    """4000x3000 runs on 16 tiles; its speed is measured in bench/, not asserted here."""
    rng = np.random.default_rng(5)
    small = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC))
    result = scan(encode(big, "JPEG", quality=90))
    assert result.status is Status.OK
    assert result.details["tiles"] == 16
