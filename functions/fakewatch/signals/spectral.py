"""Spectral peaks of the noise residual: the numerical core of the frequency signal.

Pure numpy, no Python loops over pixels. The steps, for one RGB frame:

1. pick a bounded number of fixed-size tiles (``TILE`` x ``TILE``) from a grid of candidates,
   origins on multiples of 8 so a JPEG/codec block grid lands on exact spectral bins;
2. keep the most textured ones (flat sky says nothing about a decoder's fingerprint);
3. luminance -> noise residual with a 3x3 high-pass (the discrete Laplacian), Hann window;
4. average the normalised power spectra of the tiles (every tile weighs the same);
5. score every frequency by its *prominence*: log-power above the background measured
   along its row **and** along its column, taking the smaller of the two, so isolated peaks
   stand out while the ridges natural edges and block boundaries draw along the axes and
   along lines ``f = k/8`` do not.

Peaks are searched at every position above a low-frequency radius, not only at fixed bins:
resizing after generation moves them, and where they went is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from PIL import Image

TILE = 128  # tile side in pixels; frequency resolution 1/128 cycles per pixel
MIN_SIDE = TILE  # smaller frames cannot hold one tile
ALIGN = 8  # tile origins on multiples of 8: block grids fall on exact bins
LOW_RADIUS = TILE // 16  # bins below this radius hold image content, not fingerprints
RING = (2, 6)  # background: bins 2..6 away along the row and along the column
AXIS_BAND = 2  # bins this close to an axis carry edges and stripes of the content: not searched
GRID_SLACK = 1  # a peak within this many bins of a multiple of 1/8 counts as on the block grid

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_Float = NDArray[np.float32]


@dataclass(frozen=True)
class Peak:
    """One spectral peak: where (cycles per pixel, signed fy, fx >= 0) and how prominent."""

    fy: float
    fx: float
    prominence: float  # power ratio to the background along row and column (>= 1)
    on_block_grid: bool  # both coordinates are multiples of 1/8 (JPEG / codec grid)

    @property
    def period(self) -> float:
        """Spatial period in pixels of the strongest axis of the peak."""
        return 1.0 / max(abs(self.fy), abs(self.fx))

    def to_dict(self) -> dict[str, float | bool]:
        return {
            "fy": round(self.fy, 4),
            "fx": round(self.fx, 4),
            "period_px": round(self.period, 2),
            "prominence": round(self.prominence, 2),
            "on_block_grid": self.on_block_grid,
        }


@dataclass(frozen=True)
class Spectrum:
    """The averaged residual spectrum's summary for one or more frames."""

    tiles: int
    texture: float  # median residual standard deviation of the tiles used (grey levels)
    peaks: tuple[Peak, ...]  # most prominent first, above ``floor``
    blockiness: float = 1.0  # luma steps across 8-pixel block edges / steps elsewhere

    def strongest(self, *, skip_block_grid: bool) -> Peak | None:
        for peak in self.peaks:
            if not (skip_block_grid and peak.on_block_grid):
                return peak
        return None


def tile_origins(height: int, width: int, per_axis: int) -> list[tuple[int, int]]:
    """Up to ``per_axis``^2 tile origins spread evenly, aligned to ``ALIGN`` pixels.

    Neighbouring tiles overlap by at most half a tile, so a small image yields few tiles
    rather than many copies of the same pixels.
    """
    if height < TILE or width < TILE:
        return []

    def axis(n: int) -> list[int]:
        last = (n - TILE) // ALIGN * ALIGN
        count = min(per_axis, last // (TILE // 2) + 1)
        spots = np.linspace(0, last, count) // ALIGN * ALIGN
        return sorted({int(s) for s in spots})

    return [(y, x) for y in axis(height) for x in axis(width)]


def source_size(source: NDArray[np.uint8] | Image.Image) -> tuple[int, int]:
    """(height, width) of an RGB array or a Pillow image."""
    if isinstance(source, np.ndarray):
        return int(source.shape[0]), int(source.shape[1])
    return source.height, source.width


def luma_tiles(source: NDArray[np.uint8] | Image.Image, origins: list[tuple[int, int]]) -> _Float:
    """Stack the tiles' luminance (T, TILE, TILE) as float32.

    From a Pillow image only the tiles are cropped and converted, never the whole frame.
    """
    if not isinstance(source, np.ndarray):
        crops = [source.crop((x, y, x + TILE, y + TILE)).convert("RGB") for y, x in origins]
        return np.stack([np.asarray(c) for c in crops]).astype(np.float32) @ _LUMA
    rgb = source
    if rgb.ndim == 2:
        stack = np.stack([rgb[y : y + TILE, x : x + TILE] for y, x in origins])
        return stack.astype(np.float32)
    stack = np.stack([rgb[y : y + TILE, x : x + TILE, :3] for y, x in origins])
    return stack.astype(np.float32) @ _LUMA


def residual(tiles: _Float) -> _Float:
    """Discrete Laplacian high-pass of each tile (borders wrap: the window hides them)."""
    up = np.roll(tiles, 1, axis=1)
    down = np.roll(tiles, -1, axis=1)
    left = np.roll(tiles, 1, axis=2)
    right = np.roll(tiles, -1, axis=2)
    return 4.0 * tiles - up - down - left - right


def _texture(res: _Float) -> NDArray[np.float32]:
    inner = res[:, 1:-1, 1:-1]
    return inner.reshape(inner.shape[0], -1).std(axis=1).astype(np.float32)


def blockiness(tiles: _Float) -> float:
    """How much larger luma steps are across 8-pixel block edges than inside blocks.

    About 1 for camera output and lossless renders; clearly above 1 once an 8x8 block codec
    has been applied, even when the file was later saved losslessly. Tiles are aligned to
    8 pixels, so column 7 -> 8 of a tile is a block edge of the image. It is compared with
    the odd steps inside the block only, so period-2 and period-4 patterns (upsampling) do
    not read as blocks.
    """
    steps_x = np.abs(np.diff(tiles, axis=2)).mean(axis=(0, 1))
    steps_y = np.abs(np.diff(tiles, axis=1)).mean(axis=(0, 2))
    steps = np.concatenate([steps_x, steps_y]).reshape(2, -1)
    usable = steps[:, : steps.shape[1] // ALIGN * ALIGN].reshape(2, -1, ALIGN).mean(axis=1)
    edge = usable[:, ALIGN - 1].mean()
    inside = usable[:, 1 : ALIGN - 1 : 2].mean()  # steps 1|2, 3|4, 5|6: same parity as 7|8
    return float(edge / inside) if inside > 1e-6 else 1.0


def _window() -> _Float:
    hann = np.hanning(TILE).astype(np.float32)
    return np.outer(hann, hann)


_WINDOW = _window()


def mean_power(res: _Float) -> NDArray[np.float64]:
    """Average of the tiles' power spectra, each normalised to unit mean, DC centred."""
    spec = np.fft.rfft2(res * _WINDOW)  # real input: half the spectrum, half the work
    power = spec.real**2 + spec.imag**2
    weight = 2.0 * power.sum(axis=(1, 2)) - power[:, :, 0].sum(axis=1) - power[:, :, -1].sum(axis=1)
    power /= (weight / (TILE * TILE))[:, None, None] + 1e-12  # unit mean over the full plane
    half = power.mean(axis=0)
    full = np.empty((TILE, TILE), dtype=half.dtype)
    full[:, : TILE // 2 + 1] = half
    mirrored_rows = (-np.arange(TILE)) % TILE  # P(-ky, -kx) = P(ky, kx)
    full[:, TILE // 2 + 1 :] = half[mirrored_rows][:, TILE // 2 - 1 : 0 : -1]
    return np.fft.fftshift(full)


def _ring_mean(logp: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
    """Mean of log-power at offsets RING[0]..RING[1] on both sides along one axis (wraps)."""
    lo, hi = RING
    n = logp.shape[axis]
    padded = np.concatenate(
        [logp.take(range(n - hi, n), axis), logp, logp.take(range(hi), axis)], axis
    )
    csum = np.cumsum(padded, axis=axis)
    zero = np.zeros_like(logp.take([0], axis))
    csum = np.concatenate([zero, csum], axis=axis)  # csum[i] = sum(padded[:i])

    def window(a: int, b: int) -> NDArray[np.float64]:  # sum of offsets a..b (inclusive)
        idx = np.arange(n) + hi
        return csum.take(idx + b + 1, axis) - csum.take(idx + a, axis)

    return (window(lo, hi) + window(-hi, -lo)) / (2 * (hi - lo + 1))


def prominence_map(power: NDArray[np.float64]) -> NDArray[np.float64]:
    """Log prominence of each bin over its row and column background (smaller of the two)."""
    logp = np.log(power + 1e-12)
    along_x = logp - _ring_mean(logp, axis=1)
    along_y = logp - _ring_mean(logp, axis=0)
    return np.minimum(along_x, along_y)


def _search_mask() -> NDArray[np.bool_]:
    """Half-plane (fx >= 0, no duplicates) outside the low-frequency disc."""
    f = np.arange(TILE) - TILE // 2
    fy, fx = np.meshgrid(f, f, indexing="ij")
    half = (fx > 0) | ((fx == 0) & (fy < 0)) | ((fx == -TILE // 2) & (fy <= 0))
    off_axis = (np.abs(fx) > AXIS_BAND) & (np.abs(fy) > AXIS_BAND)
    return half & off_axis & (fy**2 + fx**2 >= LOW_RADIUS**2)


_SEARCH = _search_mask()


def _local_maxima(
    prom: NDArray[np.float64], ys: NDArray[np.intp], xs: NDArray[np.intp]
) -> NDArray[np.bool_]:
    """Which of the bins (ys, xs) are at least as prominent as their 8 neighbours (wrapping)."""
    n, m = prom.shape
    keep = np.ones(ys.shape, dtype=bool)
    value = prom[ys, xs]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                keep &= value >= prom[(ys + dy) % n, (xs + dx) % m]
    return keep


def _near_grid(bin_: int, step: int) -> bool:
    offset = bin_ % step
    return min(offset, step - offset) <= GRID_SLACK


def find_peaks(power: NDArray[np.float64], floor: float, limit: int = 32) -> tuple[Peak, ...]:
    """Isolated peaks whose prominence ratio is at least ``floor``, most prominent first."""
    prom = prominence_map(power)
    ys, xs = np.nonzero(_SEARCH & (prom >= np.log(floor)))
    peak = _local_maxima(prom, ys, xs)
    ys, xs = ys[peak], xs[peak]
    order = np.argsort(prom[ys, xs])[::-1][:limit]
    step = TILE // ALIGN
    peaks = []
    for y, x in zip(ys[order], xs[order], strict=True):
        by, bx = int(y) - TILE // 2, int(x) - TILE // 2
        if bx < 0:  # -1/2 and +1/2 are the same frequency; report it as +1/2
            bx = -bx
        peaks.append(
            Peak(
                fy=by / TILE,
                fx=bx / TILE,
                prominence=float(np.exp(prom[y, x])),
                on_block_grid=_near_grid(by, step) and _near_grid(bx, step),
            )
        )
    return tuple(peaks)


def analyse_frames(
    frames: list[NDArray[np.uint8] | Image.Image],
    max_tiles: int,
    *,
    floor: float = 1.5,
    min_texture: float = 1.0,
) -> Spectrum:
    """Pool the most textured tiles of the frames into one averaged residual spectrum.

    Each frame offers a grid of aligned candidate tiles; the ``max_tiles`` most textured across
    all frames (residual deviation at least ``min_texture`` grey levels where possible) are
    analysed. Frames smaller than one tile contribute nothing.
    """
    residuals: list[_Float] = []
    textures: list[NDArray[np.float32]] = []
    blocks: list[float] = []
    per_axis = max(2, int(np.ceil(np.sqrt(max_tiles * 2))))
    for frame in frames:
        origins = tile_origins(*source_size(frame), per_axis)
        if not origins:
            continue
        luma = luma_tiles(frame, origins)
        blocks.append(blockiness(luma))
        res = residual(luma)
        residuals.append(res)
        textures.append(_texture(res))
    if not residuals:
        return Spectrum(0, 0.0, ())
    res = np.concatenate(residuals)
    tex = np.concatenate(textures)
    order = np.argsort(tex)[::-1]
    textured = order[tex[order] >= min_texture]
    chosen = (textured if textured.size else order)[:max_tiles]
    texture = float(np.median(tex[chosen]))
    block = float(np.median(blocks))
    if texture <= 1e-6:
        return Spectrum(int(chosen.size), texture, (), block)
    peaks = find_peaks(mean_power(res[chosen]), floor)
    return Spectrum(int(chosen.size), texture, peaks, block)
