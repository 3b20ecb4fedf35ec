"""Media types are sniffed from the bytes, never from the name."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fakewatch.errors import UnsupportedMedia
from fakewatch.media.sniff import sniff
from fakewatch.media.types import MediaKind
from fakewatch.samples import minimal_pdf, small_mp4, small_wav


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", "jpeg"),
        ("PNG", "png"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("TIFF", "tiff"),
        ("BMP", "bmp"),
    ],
)
def test_images_by_magic(fmt: str, expected: str) -> None:
    mtype = sniff(_image(fmt))
    assert (mtype.kind, mtype.format) == (MediaKind.IMAGE, expected)


def test_containers_by_magic() -> None:
    assert sniff(small_mp4()).format == "mp4"
    assert sniff(small_wav()).kind is MediaKind.AUDIO
    assert sniff(minimal_pdf()).kind is MediaKind.DOCUMENT


@pytest.mark.parametrize(
    ("head", "fmt", "kind"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heif", MediaKind.IMAGE),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "avif", MediaKind.IMAGE),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "mov", MediaKind.VIDEO),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom", "m4a", MediaKind.AUDIO),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm", MediaKind.VIDEO),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "mkv", MediaKind.VIDEO),
        (b"fLaC\x00\x00\x00\x22", "flac", MediaKind.AUDIO),
        (b"OggS\x00\x02", "ogg", MediaKind.AUDIO),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3", MediaKind.AUDIO),
        (b"\xff\xfb\x90\x64\x00", "mp3", MediaKind.AUDIO),
    ],
)
def test_container_heads(head: bytes, fmt: str, kind: MediaKind) -> None:
    mtype = sniff(head + b"\x00" * 64)
    assert (mtype.format, mtype.kind) == (fmt, kind)


def test_name_is_ignored_and_lies_are_caught() -> None:
    """A PNG called photo.jpg is a PNG; an executable called cat.png is refused."""
    assert sniff(_image("PNG")).format == "png"
    with pytest.raises(UnsupportedMedia, match="executable"):
        sniff(b"MZ\x90\x00" + b"\x00" * 100)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"PK\x03\x04" + b"\x00" * 30, "ZIP"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "SVG"),
        (b"just some text, nothing more", "no supported"),
        (b"BM not really a bitmap at all", "no supported"),
    ],
)
def test_unsupported_says_what_it_is(data: bytes, says: str) -> None:
    with pytest.raises(UnsupportedMedia, match=says):
        sniff(data)
