"""Sniff the media type from the bytes, never from the name or the declared content type."""

from __future__ import annotations

from fakewatch.errors import UnsupportedMedia
from fakewatch.media.types import MediaKind, MediaType

IMAGE, VIDEO, AUDIO, DOC = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.DOCUMENT

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
_QT_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash",
    b"M4V ", b"M4VH", b"M4VP", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"mmp4", b"XAVC", b"f4v ",
    b"MSNV", b"NDAS", b"cmfc", b"cmf2",
}  # fmt: skip


def _t(kind: MediaKind, fmt: str, mime: str) -> MediaType:
    return MediaType(kind, fmt, mime)


def _iso_bmff(head: bytes) -> MediaType | None:
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    box_len = int.from_bytes(head[0:4], "big")
    brands = {head[8:12]}
    end = min(max(box_len, 16), len(head))
    brands |= {head[i : i + 4] for i in range(16, end - 3, 4)}
    major = head[8:12]
    if major in _AVIF_BRANDS or (major not in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return _t(IMAGE, "avif", "image/avif")
    if major in _HEIF_BRANDS or (major == b"mif1" or brands & {b"heic", b"heix"}):
        return _t(IMAGE, "heif", "image/heic")
    if major in _AUDIO_BRANDS:
        return _t(AUDIO, "m4a", "audio/mp4")
    if major in _QT_BRANDS:
        return _t(VIDEO, "mov", "video/quicktime")
    if major in _MP4_BRANDS or brands & _MP4_BRANDS:
        return _t(VIDEO, "mp4", "video/mp4")
    return None


def _matroska(head: bytes) -> MediaType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    if b"webm" in head[:64]:
        return _t(VIDEO, "webm", "video/webm")
    return _t(VIDEO, "mkv", "video/x-matroska")


def _riff(head: bytes) -> MediaType | None:
    if head[:4] != b"RIFF":
        return None
    form = head[8:12]
    if form == b"WEBP":
        return _t(IMAGE, "webp", "image/webp")
    if form == b"WAVE":
        return _t(AUDIO, "wav", "audio/wav")
    if form == b"AVI ":
        return _t(VIDEO, "avi", "video/x-msvideo")
    return None


def _bmp(head: bytes) -> bool:
    # "BM" alone is too weak: the DIB header size must be one the format defines.
    dib = int.from_bytes(head[14:18], "little") if len(head) >= 26 else 0
    return head.startswith(b"BM") and dib in {12, 40, 52, 56, 64, 108, 124}


def _mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # MPEG audio frame sync: 11 set bits, layer III/II, not a JPEG SOI (FF D8).
    return len(head) > 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and head[1] & 0x06 != 0


_MAGIC: tuple[tuple[bytes, MediaType], ...] = (
    (b"\xff\xd8\xff", _t(IMAGE, "jpeg", "image/jpeg")),
    (b"\x89PNG\r\n\x1a\n", _t(IMAGE, "png", "image/png")),
    (b"GIF87a", _t(IMAGE, "gif", "image/gif")),
    (b"GIF89a", _t(IMAGE, "gif", "image/gif")),
    (b"II*\x00", _t(IMAGE, "tiff", "image/tiff")),
    (b"MM\x00*", _t(IMAGE, "tiff", "image/tiff")),
    (b"fLaC", _t(AUDIO, "flac", "audio/flac")),
    (b"OggS", _t(AUDIO, "ogg", "audio/ogg")),
    (b"%PDF-", _t(DOC, "pdf", "application/pdf")),
)

# Recognised, but deliberately not scanned: the reason names what it is.
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip stream"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"<?xml", "an XML document"),
    (b"<svg", "an SVG drawing (scripts and external references are not rendered)"),
)


def sniff(data: bytes) -> MediaType:
    """Return the media type of ``data`` or raise UnsupportedMedia saying what it seems to be."""
    head = data[:512]
    if not head:
        raise UnsupportedMedia("the object is empty (zero bytes)")
    for magic, mtype in _MAGIC:
        if head.startswith(magic):
            return mtype
    if _bmp(head):
        return _t(IMAGE, "bmp", "image/bmp")
    for sniffer in (_iso_bmff, _matroska, _riff):
        found = sniffer(head)
        if found:
            return found
    if _mp3(head):
        return _t(AUDIO, "mp3", "audio/mpeg")
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return _t(AUDIO, "aac", "audio/aac")
    for magic, what in _KNOWN_UNSUPPORTED:
        if head.lstrip().startswith(magic):
            raise UnsupportedMedia(f"the bytes are {what}, not an image, video or audio file")
    raise UnsupportedMedia("the bytes match no supported image, video or audio format")
