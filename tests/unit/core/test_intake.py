"""Intake enforces limits before decoding and turns every bad input into a clear error."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fakewatch.errors import CorruptMedia, LimitExceeded, ScanTimeout, UnsupportedMedia
from fakewatch.media.intake import open_media
from fakewatch.media.limits import Deadline, Limits
from fakewatch.media.types import MediaKind
from fakewatch.samples import corrupt_file, photo_like_jpeg, small_mp4, small_wav, truncated


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decodes_a_jpeg_once_with_metadata_intact() -> None:
    media = open_media(photo_like_jpeg(), "p.jpg")
    assert media.kind is MediaKind.IMAGE and media.type.format == "jpeg"
    assert media.image is not None and (media.width, media.height) == media.image.size
    assert len(media.frames) == 1 and media.frames[0].rgb.shape == (media.height, media.width, 3)


def test_pixel_bomb_is_refused_from_the_header() -> None:
    with pytest.raises(LimitExceeded) as err:
        open_media(_png_header_only(100_000, 100_000), limits=Limits(max_pixels=50_000_000))
    assert err.value.what == "pixels"


def test_pillow_bomb_guard_stays_on_even_with_a_generous_limit() -> None:
    with pytest.raises(LimitExceeded):
        open_media(_png_header_only(60_000, 60_000), limits=Limits(max_pixels=10**10))


def test_byte_limit_applies_before_anything_else() -> None:
    with pytest.raises(LimitExceeded, match="bytes"):
        open_media(photo_like_jpeg(), limits=Limits(max_bytes=100))


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_corrupt_and_truncated_are_corrupt(kind: str) -> None:
    with pytest.raises(CorruptMedia):
        open_media(corrupt_file(kind))
    with pytest.raises(CorruptMedia):
        open_media(truncated(photo_like_jpeg(), 0.4))


def test_animated_gif_frames_are_bounded() -> None:
    frames = [Image.fromarray(np.full((16, 16, 3), i * 8, np.uint8)) for i in range(30)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40)
    media = open_media(buf.getvalue(), limits=Limits(max_analysed_frames=5))
    assert media.frame_count == 30 and len(media.frames) == 5
    assert media.frames[-1].timestamp_s is not None and media.frames[-1].timestamp_s > 0
    with pytest.raises(LimitExceeded, match="frames"):
        open_media(buf.getvalue(), limits=Limits(max_frames=10))


def test_video_frames_are_sampled_and_timestamped() -> None:
    media = open_media(small_mp4(frames=30, fps=10), limits=Limits(video_keyframes_only=False))
    assert media.kind is MediaKind.VIDEO and media.duration_s is not None
    assert 1 <= len(media.frames) <= 16
    times = [f.timestamp_s for f in media.frames]
    assert times == sorted(times) and times[0] == 0.0


def test_video_duration_limit() -> None:
    with pytest.raises(LimitExceeded, match="duration"):
        open_media(small_mp4(frames=30, fps=10), limits=Limits(max_duration_s=1.0))


def test_audio_is_described_not_decoded() -> None:
    media = open_media(small_wav(seconds=0.5))
    assert media.kind is MediaKind.AUDIO and media.frames == []
    assert media.streams and media.streams[0]["sample_rate"] == 16_000


def test_truncated_video_is_corrupt_not_a_crash() -> None:
    with pytest.raises((CorruptMedia, UnsupportedMedia)):
        open_media(small_mp4()[:300])


def test_expired_deadline_is_a_timeout() -> None:
    ticks = iter([0.0, 100.0, 200.0, 300.0])
    deadline = Deadline(1.0, clock=lambda: next(ticks))
    with pytest.raises(ScanTimeout):
        open_media(photo_like_jpeg(), deadline=deadline)


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(buf, fmt)
    return buf.getvalue()


def test_avif_decodes_where_pillow_supports_it() -> None:
    from PIL import features

    if not features.check("avif"):
        with pytest.raises(UnsupportedMedia, match="avif"):
            open_media(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64)
        return
    media = open_media(_encoded("AVIF"))
    assert (media.type.format, media.width, media.height) == ("avif", 64, 48)


def test_heic_decodes_with_the_heif_extra() -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason="the heif extra is in dev")
    pillow_heif.register_heif_opener()
    media = open_media(_encoded("HEIF"))
    assert (media.type.format, media.type.mime, media.width) == ("heif", "image/heic", 64)


def test_heic_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fakewatch.media import intake

    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed
    monkeypatch.setattr(intake.Image, "OPEN", {k: v for k, v in Image.OPEN.items() if k != "HEIF"})
    with pytest.raises(UnsupportedMedia, match=r"fakewatch\[heif\]"):
        open_media(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
