"""Cost of the frequency signal relative to Pillow's plain decode, measured in one run.

Run: ``python bench/bench_frequency.py``. Builds 1920x1080 and 4000x3000 JPEGs (quality 90)
from a real photograph mirrored to size (scikit-image's bundled ``astronaut``; random texture
if scikit-image is missing) and reports medians of repeated runs and their ratios.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functions"))

from fakewatch.media.intake import open_media  # noqa: E402
from fakewatch.signals.frequency import FrequencySignal  # noqa: E402

SIZES = ((1920, 1080), (4000, 3000))
REPEATS = 7


def photo_jpeg(width: int, height: int) -> bytes:
    try:
        from skimage import data

        base = data.astronaut()
    except ImportError:
        base = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    reps = (-(-height // base.shape[0]), -(-width // base.shape[1]))
    rows = [
        np.concatenate(
            [base if (i + j) % 2 == 0 else base[:, ::-1] for j in range(reps[1])], axis=1
        )
        for i in range(reps[0])
    ]
    rgb = np.concatenate(rows, axis=0)[:height, :width]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def pillow_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def main() -> None:
    signal = FrequencySignal()
    print(
        f"{'size':>10} {'decode ms':>10} {'intake ms':>10} {'frequency ms':>13} {'freq/decode':>12}"
    )
    for width, height in SIZES:
        data = photo_jpeg(width, height)
        media = open_media(data)
        decode = median_ms(lambda d=data: pillow_decode(d))
        intake = median_ms(lambda d=data: open_media(d))
        freq = median_ms(lambda m=media: signal.run(m))
        print(
            f"{width}x{height:<5} {decode:10.1f} {intake:10.1f} {freq:13.1f} {freq / decode:12.2f}"
        )


if __name__ == "__main__":
    main()
