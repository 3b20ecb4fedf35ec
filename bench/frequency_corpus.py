"""Calibration corpus of the frequency signal: real photographs and numpy decoder outputs.

Negatives are real photographs shipped inside PyPI wheels (scikit-image's bundled
``skimage/data`` photos and matplotlib's ``sample_data/grace_hopper.jpg``; nothing is
downloaded), each re-encoded as JPEG at qualities 50..95 or kept lossless, and resized by
odd factors as uploads are. Positives are the outputs of small random decoders built from
the upsampling operations of generative decoders (nearest and bilinear x2 followed by a 3x3
convolution, transposed convolutions with stride 2 and kernel 3 or 4), applied to noise
latents and to photo-derived latents, at four artifact strengths, then saved the same ways.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

# Photographs (not drawings, renders or binary masks) bundled in the scikit-image wheel.
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)
QUALITIES = (50, 60, 70, 80, 90, 95)
SCALES = (1.0, 0.7, 1.3)
RESAMPLERS = (Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BILINEAR)


@dataclass(frozen=True)
class Sample:
    label: int  # 1 = made by a decoder, 0 = photograph
    group: str  # what produced it, for per-group rates
    data: bytes  # encoded file, as an upload would arrive


def photo_paths() -> list[str]:
    import matplotlib
    import skimage

    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    paths = [os.path.join(data, name) for name in SKIMAGE_PHOTOS]
    mpl = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data")
    paths.append(os.path.join(mpl, "grace_hopper.jpg"))
    return [p for p in paths if os.path.exists(p)]


def load_rgb(path: str) -> NDArray[np.uint8]:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def encode(rgb: NDArray[np.uint8], quality: int | None) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(rgb)
    if quality is None:
        im.save(buf, format="PNG")
    else:
        im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def resize(rgb: NDArray[np.uint8], scale: float, which: int) -> NDArray[np.uint8]:
    if scale == 1.0:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    im = Image.fromarray(rgb).resize(size, RESAMPLERS[which % len(RESAMPLERS)])
    return np.asarray(im)


def variants(rgb: NDArray[np.uint8], label: int, group: str, seed: int) -> Iterator[Sample]:
    """Lossless and JPEG 50..95, at scales 1.0, 0.7 and 1.3 (filter rotates per sample)."""
    for s_i, scale in enumerate(SCALES):
        img = resize(rgb, scale, seed + s_i)
        tag = f"{group}/x{scale}"
        yield Sample(label, f"{tag}/png", encode(img, None))
        for q in QUALITIES:
            yield Sample(label, f"{tag}/q{q}", encode(img, q))


def negatives() -> Iterator[Sample]:
    for i, path in enumerate(photo_paths()):
        yield from variants(load_rgb(path), 0, "photo", i)


# -- decoders ---------------------------------------------------------------------------------
_F = NDArray[np.float32]


def conv(x: _F, w: _F) -> _F:
    """'Same' 2-D convolution of (C, H, W) by (O, C, k, k), reflect-padded, k*k einsums."""
    k = w.shape[-1]
    lo = (k - 1) // 2
    pad = np.pad(x, ((0, 0), (lo, k - 1 - lo), (lo, k - 1 - lo)), mode="reflect")
    h, wd = x.shape[1:]
    out = np.zeros((w.shape[0], h, wd), dtype=np.float32)
    for i in range(k):
        for j in range(k):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], pad[:, i : i + h, j : j + wd])
    return out


def kernel(rng: np.random.Generator, o: int, c: int, k: int, strength: float) -> _F:
    """A smooth (binomial) kernel per channel pair plus ``strength`` of He-random weights."""
    b = np.array([1.0, 2.0, 1.0]) if k == 3 else np.array([1.0, 3.0, 3.0, 1.0])
    smooth = np.outer(b, b) / np.outer(b, b).sum()
    mix = rng.normal(0, 1 / np.sqrt(c), (o, c))
    rand = rng.normal(0, np.sqrt(2 / (c * k * k)), (o, c, k, k))
    return (mix[:, :, None, None] * smooth + strength * rand).astype(np.float32)


def upsample(x: _F, op: str, rng: np.random.Generator, strength: float) -> _F:
    c = x.shape[0]
    if op == "nearest":
        return conv(x.repeat(2, axis=1).repeat(2, axis=2), kernel(rng, c, c, 3, strength))
    if op == "bilinear":
        up = x.repeat(2, axis=1).repeat(2, axis=2)
        up = (up + np.roll(up, 1, axis=1)) / 2
        up = (up + np.roll(up, 1, axis=2)) / 2
        return conv(up, kernel(rng, c, c, 3, strength))
    k = 3 if op == "tconv3" else 4
    z = np.zeros((c, x.shape[1] * 2, x.shape[2] * 2), dtype=np.float32)
    z[:, ::2, ::2] = x
    return conv(z, kernel(rng, c, c, k, strength) * 4.0)  # x4: zero insertion quarters energy


def decode(latent: _F, op: str, stages: int, rng: np.random.Generator, strength: float) -> _F:
    x = latent
    for _ in range(stages):
        x = upsample(x, op, rng, strength)
        x = np.where(x > 0, x, 0.2 * x)  # leaky ReLU
    return conv(x, kernel(rng, 3, x.shape[0], 3, strength))


def latent(rng: np.random.Generator, size: int, photo: NDArray[np.uint8] | None) -> _F:
    channels = 6
    if photo is None:  # multi-octave noise
        base = rng.normal(0, 1, (channels, size, size)).astype(np.float32)
        for _ in range(2):
            base = (base + np.roll(base, 1, 1) + np.roll(base, 1, 2) + np.roll(base, 1, (1, 2))) / 2
        return base
    im = Image.fromarray(photo).resize((size, size), Image.Resampling.BOX)
    rgb = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    mix = rng.normal(0, 1, (channels, 3)).astype(np.float32)
    return np.einsum("oc,chw->ohw", mix, rgb) + 0.1 * rng.normal(0, 1, (channels, size, size))


def to_uint8(x: _F) -> NDArray[np.uint8]:
    x = x - x.mean(axis=(1, 2), keepdims=True)
    x = x / (x.std() + 1e-6)
    return np.clip(127.5 + 50.0 * x, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()


OPS = ("nearest", "bilinear", "tconv3", "tconv4")
STRENGTHS = (0.02, 0.05, 0.1, 0.2)  # stronger random kernels give white-noise images


def generated(
    op: str, stages: int, strength: float, seed: int, out: int = 512, photo: bool = True
) -> NDArray[np.uint8]:
    """One decoder output of side ``out``: latent at ``out / 2**stages``, ``stages`` x2 ups."""
    rng = np.random.default_rng(seed)
    src = None
    if photo:
        paths = photo_paths()
        src = load_rgb(paths[seed % len(paths)])
    lat = latent(rng, out >> stages, src)
    return to_uint8(decode(lat, op, stages, rng, strength))


def positives(count_per_cell: int = 1) -> Iterator[Sample]:
    seed = 0
    for op in OPS:
        for stages in (1, 2, 3):
            for strength in STRENGTHS:
                for _ in range(count_per_cell):
                    seed += 1
                    rgb = generated(op, stages, strength, seed, photo=seed % 2 == 0)
                    group = f"{op}-x{2**stages}-s{strength}"
                    yield from variants(rgb, 1, group, seed)
