"""Frames to an input tensor, exactly as the manifest says the model was trained.

resize (stretch / letterbox / center_crop) → colour order → ``x * scale`` → ``(x - mean) / std``
→ dtype → layout. Resizing uses Pillow so results match what most training pipelines did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from fakewatch.models.manifest import InputSpec

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def check_frame(rgb: object, index: int = 0) -> np.ndarray:
    """A frame must be an H x W x 3 uint8 array; say plainly what it is otherwise."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"frame {index}: expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(
            f"frame {index}: expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}"
        )
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"frame {index}: empty frame {rgb.shape}")
    return rgb


def resize(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize one RGB frame to the model's ``[height, width]`` with the manifest's mode."""
    height, width = spec.size
    src_h, src_w = rgb.shape[:2]
    resample = _RESAMPLE[spec.interpolation]
    image = Image.fromarray(rgb)
    if spec.resize == "stretch":
        return np.asarray(image.resize((width, height), resample))
    if spec.resize == "letterbox":
        ratio = min(height / src_h, width / src_w)
        new_w, new_h = max(1, round(src_w * ratio)), max(1, round(src_h * ratio))
        canvas = Image.new("RGB", (width, height), (spec.pad_value,) * 3)
        canvas.paste(
            image.resize((new_w, new_h), resample), ((width - new_w) // 2, (height - new_h) // 2)
        )
        return np.asarray(canvas)
    ratio = max(height / src_h, width / src_w)  # center_crop: cover, then cut the middle
    new_w, new_h = max(width, round(src_w * ratio)), max(height, round(src_h * ratio))
    left, top = (new_w - width) // 2, (new_h - height) // 2
    covered = image.resize((new_w, new_h), resample)
    return np.asarray(covered.crop((left, top, left + width, top + height)))


def normalise(batch: np.ndarray, spec: InputSpec) -> np.ndarray:
    """An N x H x W x 3 uint8 RGB batch to the model's dtype, colour order and layout."""
    if spec.color == "BGR":
        batch = batch[..., ::-1]
    if spec.dtype == "uint8":
        out = np.ascontiguousarray(batch)
    else:
        x: np.ndarray = batch.astype(np.float32) * np.float32(spec.scale)
        x = np.subtract(x, np.asarray(spec.mean, np.float32))
        x = np.divide(x, np.asarray(spec.std, np.float32))
        out = x.astype(np.float16 if spec.dtype == "float16" else np.float32)
    if spec.layout == "NCHW":
        out = out.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out)


def prepare_images(frames: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Several RGB frames of any size to one input batch for the model."""
    if not frames:
        raise ValueError("no frames to prepare")
    resized = [resize(check_frame(f, i), spec) for i, f in enumerate(frames)]
    return normalise(np.stack(resized), spec)
