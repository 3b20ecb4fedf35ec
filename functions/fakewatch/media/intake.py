"""Intake: sniff, check limits from headers, then decode under a deadline.

Every failure is one of the project's exceptions with a reason a person can read:
UnsupportedMedia, CorruptMedia, LimitExceeded, ScanTimeout. Nothing here logs media.
"""

from __future__ import annotations

import warnings
from io import BytesIO
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

from fakewatch.errors import CorruptMedia, LimitExceeded, ScanTimeout, UnsupportedMedia
from fakewatch.media.limits import Deadline, Limits
from fakewatch.media.sniff import sniff
from fakewatch.media.types import Frame, Media, MediaKind, MediaType

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated image is corrupt, not half-scanned

_PIL_FORMATS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "tiff": "TIFF",
    "bmp": "BMP",
    "heif": "HEIF",
    "avif": "AVIF",
}
_OPTIONAL_PLUGINS = {"heif": ("pillow_heif", "heif"), "avif": ("pillow_avif", "avif")}
FRAME_PIXEL_BUDGET = 128_000_000  # all analysed frames together, to bound memory


def open_media(
    data: bytes, name: str = "", limits: Limits | None = None, deadline: Deadline | None = None
) -> Media:
    """Sniff ``data`` and decode what the signals need, within ``limits``."""
    limits = limits or Limits()
    deadline = deadline or Deadline(limits.decode_deadline_s)
    limits.check("bytes", len(data))
    mtype = sniff(data)
    if mtype.kind is MediaKind.IMAGE:
        return _open_image(data, mtype, name, limits, deadline)
    if mtype.kind is MediaKind.DOCUMENT:
        return Media(data=data, type=mtype, name=name)
    return _open_av(data, mtype, name, limits, deadline)


# -- images -------------------------------------------------------------------------------------
def _ensure_plugin(fmt: str) -> None:
    if fmt not in _OPTIONAL_PLUGINS or _PIL_FORMATS[fmt] in Image.OPEN:
        return
    module, extra = _OPTIONAL_PLUGINS[fmt]
    try:
        if module == "pillow_heif":
            from pillow_heif import register_heif_opener

            register_heif_opener()
        else:
            __import__(module)
    except ImportError as exc:
        raise UnsupportedMedia(
            f"{fmt.upper()} images need the '{extra}' extra: pip install 'fakewatch[{extra}]'"
        ) from exc


def _frame_indices(n_frames: int, wanted: int) -> list[int]:
    if n_frames <= wanted:
        return list(range(n_frames))
    step = n_frames / wanted
    return sorted({int(i * step) for i in range(wanted)})


def _open_image(
    data: bytes, mtype: MediaType, name: str, limits: Limits, deadline: Deadline
) -> Media:
    _ensure_plugin(mtype.format)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(BytesIO(data), formats=[_PIL_FORMATS[mtype.format]])
            width, height = im.size
            limits.check("pixels", width * height)
            n_frames = int(getattr(im, "n_frames", 1))
            limits.check("frames", n_frames)
            frames = _decode_image_frames(im, n_frames, limits, deadline)
            im.seek(0)
            im.load()
        except (LimitExceeded, ScanTimeout):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise LimitExceeded("pixels", float(_pixels_of(exc)), limits.max_pixels) from exc
        except UnidentifiedImageError as exc:
            raise CorruptMedia(
                f"not a readable {mtype.format.upper()} image: the decoder cannot identify it"
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct_error()) as exc:
            raise CorruptMedia(f"{mtype.format.upper()} image cannot be decoded: {exc}") from exc
    return Media(
        data=data,
        type=mtype,
        name=name,
        image=im,
        frames=frames,
        width=width,
        height=height,
        frame_count=n_frames,
    )


def struct_error() -> type[Exception]:
    import struct

    return struct.error


def _pixels_of(exc: Exception) -> int:
    digits = [int(tok) for tok in str(exc).replace("(", " ").split() if tok.isdigit()]
    return digits[0] if digits else 0


def _decode_image_frames(
    im: Image.Image, n_frames: int, limits: Limits, deadline: Deadline
) -> list[Frame]:
    per_frame = max(1, im.size[0] * im.size[1])
    wanted = max(1, min(limits.max_analysed_frames, FRAME_PIXEL_BUDGET // per_frame))
    frames: list[Frame] = []
    for index in _frame_indices(n_frames, wanted):
        if deadline.expired():
            raise ScanTimeout(f"decoding took longer than {deadline.seconds:g} s")
        im.seek(index)
        im.load()
        still = im.copy() if n_frames > 1 else im  # an animation's frames must outlive seek()
        frames.append(Frame(index, timestamp_s=_frame_time(im, index), image=still))
    return frames


def _frame_time(im: Image.Image, index: int) -> float | None:
    duration = im.info.get("duration")
    if not isinstance(duration, int | float) or index == 0:
        return 0.0 if index == 0 else None
    return float(duration) * index / 1000.0


# -- video and audio ------------------------------------------------------------------------------
def _open_av(data: bytes, mtype: MediaType, name: str, limits: Limits, deadline: Deadline) -> Media:
    import av

    try:
        container = av.open(BytesIO(data), mode="r", metadata_errors="ignore")
    except Exception as exc:  # PyAV raises FFmpegError subclasses, ValueError, OSError
        raise CorruptMedia(f"{mtype.format.upper()} container cannot be opened: {exc}") from exc
    with container:
        try:
            return _read_container(container, data, mtype, name, limits, deadline)
        except (LimitExceeded, ScanTimeout, UnsupportedMedia):
            raise
        except Exception as exc:
            raise CorruptMedia(f"{mtype.format.upper()} stream cannot be decoded: {exc}") from exc


def _read_container(
    container: Any, data: bytes, mtype: MediaType, name: str, limits: Limits, deadline: Deadline
) -> Media:
    streams = [_describe(s) for s in container.streams if s.type in ("video", "audio")]
    duration = float(container.duration) / 1_000_000 if container.duration else None
    if duration is not None:
        limits.check("duration_s", duration)
    video = container.streams.video[0] if container.streams.video else None
    if video is None:
        if not container.streams.audio:
            raise CorruptMedia(f"{mtype.format.upper()} container holds no audio or video stream")
        kind = MediaType(MediaKind.AUDIO, mtype.format, mtype.mime.replace("video/", "audio/"))
        return Media(data=data, type=kind, name=name, duration_s=duration, streams=streams)
    width, height = video.codec_context.width, video.codec_context.height
    limits.check("pixels", width * height)
    if video.frames:
        limits.check("frames", video.frames)
    kind = (
        mtype
        if mtype.kind is MediaKind.VIDEO
        else MediaType(MediaKind.VIDEO, mtype.format, mtype.mime)
    )
    frames = _sample_video(container, video, duration, limits, deadline)
    if not frames:
        raise CorruptMedia(f"{mtype.format.upper()} video stream has no decodable frame")
    return Media(
        data=data,
        type=kind,
        name=name,
        frames=frames,
        width=width,
        height=height,
        duration_s=duration,
        frame_count=video.frames or None,
        streams=streams,
    )


def _describe(stream: Any) -> dict[str, Any]:
    ctx = stream.codec_context
    info: dict[str, Any] = {"type": stream.type, "codec": ctx.name if ctx else None}
    if stream.type == "video":
        info.update(width=ctx.width, height=ctx.height, frames=stream.frames or None)
        rate = stream.average_rate
        info["fps"] = round(float(rate), 3) if rate else None
    else:
        info.update(sample_rate=ctx.sample_rate, channels=getattr(ctx, "channels", None))
    return info


def _sample_video(
    container: Any, stream: Any, duration: float | None, limits: Limits, deadline: Deadline
) -> list[Frame]:
    """Keyframes (or N per second), spread over the duration, at most max_analysed_frames."""
    per_frame = max(1, stream.codec_context.width * stream.codec_context.height)
    budget = max(1, min(limits.max_analysed_frames, FRAME_PIXEL_BUDGET // per_frame))
    if limits.video_keyframes_only:
        stream.codec_context.skip_frame = "NONKEY"
    spacing = 1.0 / limits.video_sample_fps
    if duration:
        spacing = max(spacing, duration / budget)
    frames: list[Frame] = []
    next_t, decoded = 0.0, 0
    for frame in container.decode(stream):
        decoded += 1
        limits.check("frames", decoded)
        if deadline.expired():
            raise ScanTimeout(f"video decoding took longer than {deadline.seconds:g} s")
        t = float(frame.time) if frame.time is not None else decoded / 25.0
        if t + 1e-6 < next_t:
            continue
        rgb = frame.to_ndarray(format="rgb24")
        frames.append(Frame(len(frames), rgb, timestamp_s=round(t, 3), keyframe=frame.key_frame))
        next_t = t + spacing
        if len(frames) >= budget:
            break
    return frames
