"""Hostile files: metadata built to exhaust a parser's time or memory.

Each is small on disk and dangerous only to a careless reader: a zTXt chunk that inflates
to far more than any legitimate text, a text chunk larger than Pillow's per-chunk limit,
JSON nested deeper than any recursive parser survives, an XMP packet that defines
entities (the "billion laughs" expansion).
"""

from __future__ import annotations

import struct
import zlib

from fakewatch.samples.images import plain_png, xmp_jpeg

MiB = 1024 * 1024


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def with_chunks(png: bytes, *chunks: bytes) -> bytes:
    """Insert ``chunks`` just before IEND (where text chunks usually go)."""
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + b"".join(chunks) + png[iend:]


def zlib_bomb(inflated_size: int = 64 * MiB) -> bytes:
    """Zeros compressed in streaming fashion: ~1000x smaller than what they inflate to."""
    comp = zlib.compressobj(9)
    block = bytes(MiB)
    parts = [comp.compress(block) for _ in range(inflated_size // MiB)]
    parts.append(comp.flush())
    return b"".join(parts)


def ztxt_bomb_png(inflated_size: int = 64 * MiB) -> bytes:
    """A PNG whose zTXt ``parameters`` chunk inflates to ``inflated_size`` bytes."""
    payload = b"parameters\x00\x00" + zlib_bomb(inflated_size)
    return with_chunks(plain_png(), png_chunk(b"zTXt", payload))


def itxt_bomb_png(inflated_size: int = 64 * MiB) -> bytes:
    """The same bomb as a compressed iTXt ``prompt`` chunk."""
    payload = b"prompt\x00\x01\x00\x00\x00" + zlib_bomb(inflated_size)
    return with_chunks(plain_png(), png_chunk(b"iTXt", payload))


def huge_text_png(size: int = 3 * MiB) -> bytes:
    """A PNG with an uncompressed ``parameters`` tEXt chunk of ``size`` bytes."""
    return with_chunks(plain_png(), png_chunk(b"tEXt", b"parameters\x00" + b"A" * size))


def deep_json_png(depth: int = 200_000) -> bytes:
    """A PNG whose ComfyUI ``prompt`` chunk is JSON nested ``depth`` levels deep."""
    text = b"[" * depth + b"]" * depth
    return with_chunks(plain_png(), png_chunk(b"tEXt", b"prompt\x00" + text))


def broken_chunks_png() -> bytes:
    """A PNG whose text chunk claims a length far past the end of the file."""
    png = plain_png()
    iend = png.rindex(b"IEND") - 4
    lie = struct.pack(">I", 0x7FFFFFFF) + b"tEXt" + b"parameters\x00Steps: 20"
    return png[:iend] + lie


def billion_laughs_xmp() -> bytes:
    """An XMP packet whose DTD defines exponentially expanding entities."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE x:xmpmeta [' + "".join(entities) + "]>"
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="&lol9;"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


def billion_laughs_jpeg() -> bytes:
    """A JPEG whose APP1 XMP segment is the billion-laughs packet."""
    data = xmp_jpeg({"xmp:CreatorTool": "placeholder"})
    start = data.index(b"<?xpacket begin")
    end = data.index(b"<?xpacket end") + len(b'<?xpacket end="w"?>')
    original = data[start:end]
    hostile = billion_laughs_xmp()
    # Rewrite the APP1 segment length so the JPEG stays well-formed.
    seg = data.rfind(b"\xff\xe1", 0, start)
    old_len = struct.unpack(">H", data[seg + 2 : seg + 4])[0]
    new_len = old_len - len(original) + len(hostile)
    return (
        data[: seg + 2] + struct.pack(">H", new_len) + data[seg + 4 : start] + hostile + data[end:]
    )
