"""Generator metadata: what AI image tools write into the files they produce.

Where it looks (all bounded, none of it trusted to be well-formed):

* PNG text chunks (tEXt, zTXt, iTXt), walked from the bytes so a hostile chunk is seen and
  skipped by *this* code, not by whichever decoder ran first: AUTOMATIC1111 ``parameters``,
  ComfyUI ``prompt``/``workflow`` graphs, InvokeAI ``invokeai_metadata``/``sd-metadata``/
  ``Dream``, NovelAI ``Software``/``Source``/``Comment``, Fooocus ``fooocus_scheme``;
* text Pillow decoded from other formats (GIF/JPEG comments, WebP/TIFF fields);
* EXIF Software, Artist, ImageDescription, UserComment, XPComment (JPEG, WebP, PNG eXIf, TIFF);
* XMP packets wherever they sit (JPEG APP1, PNG iTXt, WebP/animated WebP chunks, MP4/MOV
  boxes): IPTC ``DigitalSourceType``, ``xmp:CreatorTool``, ``photoshop:Credit``, history
  ``softwareAgent``, ``dc:description``.

Explicit generator settings or a generator named as the producing software are strong
evidence; a generator merely *mentioned* in a description is a moderate hint. Metadata is
unsigned: it can be stripped (so absence means nothing) and forged (so it is weaker than a
valid C2PA declaration). Prompts are never copied into the result, only their length.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

import numpy as np

from fakewatch.media.types import Media, MediaKind
from fakewatch.signals.base import Signal, SignalResult
from fakewatch.signals.c2pa_provenance import source_type

KiB, MiB = 1024, 1024 * 1024
MAX_TEXT = 1 * MiB  # one text value after inflating (Pillow's MAX_TEXT_CHUNK)
MAX_TEXT_TOTAL = 16 * MiB  # all text values of one file together
MAX_PNG_CHUNKS = 20_000
MAX_JSON_DEPTH = 64
MAX_XMP = 1 * MiB
MAX_XMP_PACKETS = 4
MAX_FIELDS = 200

# -- the small data table of known generators -----------------------------------------------------


@dataclass(frozen=True)
class Generator:
    """A known AI generator: how its name appears in a tool field and in free text."""

    name: str
    tool: re.Pattern[str]  # matched against Software / CreatorTool / softwareAgent
    text: re.Pattern[str] | None  # matched against descriptions and comments (stricter)


def _g(name: str, tool: str, text: str | None = None) -> Generator:
    flags = re.IGNORECASE
    return Generator(name, re.compile(tool, flags), re.compile(text, flags) if text else None)


GENERATORS: tuple[Generator, ...] = (
    _g("Midjourney", r"\bmidjourney\b", r"\bmidjourney\b"),
    _g("DALL·E", r"\bdall[\s·\-_.]?e\b", r"\bdall[·\-]e\b"),
    _g("Stable Diffusion", r"\bstable[\s\-_]?diffusion\b|\bsdxl\b", r"\bstable diffusion\b"),
    _g("Adobe Firefly", r"\bfirefly\b", r"\badobe firefly\b"),
    _g(
        "Google Imagen",
        r"\bimagen\s?\d|\bgoogle imagen\b",
        r"\bgoogle imagen\b|\bmade with google ai\b",
    ),
    _g("NovelAI", r"\bnovelai\b", r"\bnovelai\b"),
    _g("ComfyUI", r"\bcomfyui\b", r"\bcomfyui\b"),
    _g("AUTOMATIC1111", r"\bautomatic1111\b|stable-diffusion-webui", r"\bautomatic1111\b"),
    _g("InvokeAI", r"\binvoke\s?ai\b", r"\binvokeai\b"),
    _g("Fooocus", r"\bfooocus\b", r"\bfooocus\b"),
    _g("Leonardo.Ai", r"\bleonardo[\s.]?ai\b", r"\bleonardo\.ai\b"),
    _g("Ideogram", r"\bideogram\b", r"\bideogram\b"),
    _g("FLUX", r"\bflux(\.1)?[\s\-_](dev|schnell|pro)\b|black forest labs", r"\bflux\.1\b"),
    _g("Craiyon", r"\bcraiyon\b", r"\bcraiyon\b"),
    _g("Bing Image Creator", r"\bbing image creator\b", r"\bbing image creator\b"),
    _g("DreamStudio", r"\bdreamstudio\b", r"\bdreamstudio\b"),
    _g("NightCafe", r"\bnightcafe\b", r"\bnightcafe studio\b"),
    _g("Draw Things", r"\bdraw things\b", None),
    _g("DiffusionBee", r"\bdiffusionbee\b", r"\bdiffusionbee\b"),
    _g("Meta AI", r"\bimagine with meta\b|\bmeta ai\b", r"\bimagine with meta\b"),
    _g("Runway", r"\brunway(ml)?\b.*\bgen-?\d", None),
)
GOOGLE_CREDIT = re.compile(r"\bmade with google ai\b", re.IGNORECASE)

# Field names (after normalisation to "SOURCE:key") that name the producing software.
TOOL_FIELDS = frozenset(
    {
        "exif:Software",
        "png:Software",
        "png:Source",
        "xmp:CreatorTool",
        "tiff:Software",
        "stEvt:softwareAgent",
        "exif:ProcessingSoftware",
    }
)
FREE_TEXT_FIELDS = frozenset(
    {
        "exif:ImageDescription",
        "exif:UserComment",
        "exif:XPComment",
        "exif:Artist",
        "png:Description",
        "png:Comment",
        "png:Title",
        "png:Author",
        "image:comment",
        "dc:description",
        "dc:title",
        "photoshop:Credit",
        "photoshop:Source",
    }
)

# -- findings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One piece of generator evidence, where it was found and how strong it is."""

    tool: str
    where: str
    score: float
    confidence: float
    strong: bool
    sentence: str
    facts: Mapping[str, Any] = field(default_factory=dict)


EXPLICIT = (0.97, 0.9, True)  # a generator's own settings block
NAMED_TOOL = (0.95, 0.85, True)  # a generator named as the producing software
MENTIONED = (0.7, 0.35, False)  # a generator named in a description


def _finding(
    strength: tuple[float, float, bool], tool: str, where: str, sentence: str, **facts: Any
) -> Finding:
    score, confidence, strong = strength
    return Finding(tool, where, score, confidence, strong, sentence, facts)


@dataclass
class Fields:
    """Text fields gathered from a file: ``SOURCE:key`` -> value, plus what was skipped."""

    values: dict[str, str] = field(default_factory=dict)
    xmp: list[bytes] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    budget: int = MAX_TEXT_TOTAL

    def add(self, key: str, value: str) -> None:
        if key in self.values or len(self.values) >= MAX_FIELDS or not value:
            return
        if len(value) > MAX_TEXT:
            self.notes.append(
                f"{key} holds {len(value)} characters, over the 1 MiB limit: not read"
            )
            return
        if len(value) > self.budget:
            self.notes.append(f"{key} skipped: the file's text exceeds 16 MiB in total")
            return
        self.budget -= len(value)
        self.values[key] = value

    def add_xmp(self, packet: bytes) -> None:
        """Keep distinct packets; the same packet seen twice (with or without its
        ``<?xpacket?>`` wrapper) counts once."""
        for i, known in enumerate(self.xmp):
            if packet in known:
                return
            if known in packet:
                self.xmp[i] = packet
                return
        if len(self.xmp) < MAX_XMP_PACKETS:
            self.xmp.append(packet)


# -- reading: PNG chunks --------------------------------------------------------------------------


def _inflate(data: bytes, key: str, fields: Fields) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT)
    except zlib.error as exc:
        fields.notes.append(f"png:{key} compressed text is corrupt ({exc}): not read")
        return None
    if inflater.unconsumed_tail:
        fields.notes.append(
            f"png:{key} compressed text inflates beyond 1 MiB (a decompression bomb?): not read"
        )
        return None
    return out


def _png_text(kind: bytes, payload: bytes, fields: Fields) -> None:
    key_raw, sep, rest = payload.partition(b"\x00")
    if not sep or not key_raw or len(key_raw) > 79:
        return
    key = key_raw.decode("latin-1")
    if kind == b"tEXt":
        fields.add(f"png:{key}", rest.decode("latin-1"))
    elif kind == b"zTXt":
        if rest[:1] == b"\x00":
            text = _inflate(rest[1:], key, fields)
            if text is not None:
                fields.add(f"png:{key}", text.decode("latin-1"))
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            return
        compressed, parts = rest[0], rest[2:].split(b"\x00", 2)
        if len(parts) != 3:
            return
        body: bytes | None = parts[2]
        if compressed and body is not None:
            body = _inflate(body, key, fields)
        if body is None:
            return
        if key == "XML:com.adobe.xmp":
            fields.add_xmp(body)
        else:
            fields.add(f"png:{key}", body.decode("utf-8", "replace"))


def read_png_chunks(data: bytes, fields: Fields) -> None:
    """Walk PNG chunks from the bytes, reading text chunks within the limits."""
    pos, count = 8, 0
    while pos + 8 <= len(data) and count < MAX_PNG_CHUNKS:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        count += 1
        end = pos + 8 + length
        if end + 4 > len(data):
            fields.notes.append(f"PNG chunk {kind!r} claims more bytes than the file holds")
            return
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(kind, data[pos + 8 : end], fields)
        if kind == b"IEND":
            return
        pos = end + 4
    if count >= MAX_PNG_CHUNKS:
        fields.notes.append(f"PNG has more than {MAX_PNG_CHUNKS} chunks: the rest was not read")


# -- reading: Pillow's info, EXIF, XMP ------------------------------------------------------------

_EXIF_TAGS = {
    0x0131: "Software",
    0x013B: "Artist",
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x000B: "ProcessingSoftware",
}
_EXIF_IFD, _USER_COMMENT, _XP_COMMENT = 0x8769, 0x9286, 0x9C9C


def decode_user_comment(value: Any) -> str:
    """EXIF UserComment: an 8-byte character-code prefix, then the text."""
    if isinstance(value, str):
        return value.strip("\x00 ")
    if not isinstance(value, bytes | bytearray):
        return ""
    prefix, body = bytes(value[:8]), bytes(value[8:])
    if prefix.startswith(b"UNICODE"):
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", "replace").strip("\x00 ")
        # Writers disagree on byte order; the order that yields printable text is the right one.
        be, le = body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace")
        return (be if _printable(be) >= _printable(le) else le).strip("\x00 ")
    if not prefix.startswith((b"ASCII", b"\x00" * 8, b"JIS")):
        body = bytes(value)
    return body.decode("utf-8", "replace").strip("\x00 ")


def _printable(text: str) -> int:
    return sum(ch.isprintable() and ord(ch) < 0x3000 for ch in text[:400])


def _xp_text(value: Any) -> str:
    if isinstance(value, tuple):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.decode("utf-16-le", "replace").strip("\x00 ")
    return str(value)


def read_exif(image: Any, fields: Fields) -> None:
    try:
        exif = image.getexif()
    except Exception as exc:  # a malformed EXIF block must not end the scan
        fields.notes.append(f"EXIF block is malformed ({type(exc).__name__}): not read")
        return
    for tag, name in _EXIF_TAGS.items():
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            fields.add(f"exif:{name}", value.strip("\x00 "))
    if _XP_COMMENT in exif:
        fields.add("exif:XPComment", _xp_text(exif[_XP_COMMENT]))
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        return
    if _USER_COMMENT in sub:
        fields.add("exif:UserComment", decode_user_comment(sub[_USER_COMMENT]))


def read_pillow_info(image: Any, fields: Fields) -> None:
    """Text Pillow decoded that the PNG walk did not cover (GIF/JPEG comments, ...)."""
    info = getattr(image, "info", None) or {}
    for key, value in list(info.items())[:MAX_FIELDS]:
        if key == "xmp" and isinstance(value, bytes | str):
            fields.add_xmp(value.encode() if isinstance(value, str) else value)
        elif key in ("exif", "icc_profile"):
            continue
        elif key == "comment" and isinstance(value, bytes | str):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            fields.add("image:comment", text)
        elif isinstance(value, str) and f"png:{key}" not in fields.values:
            fields.add(f"png:{key}", value)


def scan_xmp_packets(data: bytes, fields: Fields) -> None:
    """Find ``<x:xmpmeta>`` packets anywhere in the bytes (JPEG, WebP, TIFF, MP4, ...)."""
    start = data.find(b"<x:xmpmeta")
    while start != -1 and len(fields.xmp) < MAX_XMP_PACKETS:
        end = data.find(b"</x:xmpmeta>", start, start + MAX_XMP)
        if end == -1:
            fields.notes.append("an XMP packet is unterminated or larger than 1 MiB: not read")
            return
        fields.add_xmp(data[start : end + len(b"</x:xmpmeta>")])
        start = data.find(b"<x:xmpmeta", end)


_XMP_NS = {
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://purl.org/dc/elements/1.1/": "dc",
}
_XMP_WANTED = frozenset(
    {
        "Iptc4xmpExt:DigitalSourceType",
        "xmp:CreatorTool",
        "photoshop:Credit",
        "photoshop:Source",
        "tiff:Software",
        "stEvt:softwareAgent",
        "dc:description",
        "dc:title",
    }
)
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def _qname(tag: str) -> str:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return f"{_XMP_NS.get(ns, ns)}:{local}"
    return tag


def _element_values(elem: ET.Element) -> list[str]:
    values = [elem.text.strip()] if elem.text and elem.text.strip() else []
    resource = elem.get(f"{_RDF}resource")
    if resource:
        values.append(resource)
    for li in elem.iter(f"{_RDF}li"):
        if li.text and li.text.strip():
            values.append(li.text.strip())
    return values


def parse_xmp(packet: bytes, fields: Fields) -> None:
    """Read the wanted XMP properties; DTDs and entities are refused, not expanded."""
    if len(packet) > MAX_XMP:
        fields.notes.append("an XMP packet is larger than 1 MiB: not read")
        return
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        fields.notes.append("an XMP packet declares a DTD or entities (hostile XML): not read")
        return
    try:
        root = ET.fromstring(packet)
    except ET.ParseError as exc:
        fields.notes.append(f"an XMP packet is not well-formed XML ({exc}): not read")
        return
    for elem in root.iter():
        for attr, value in elem.attrib.items():
            name = _qname(attr)
            if name in _XMP_WANTED:
                fields.add(name, value.strip())
        name = _qname(elem.tag)
        if name in _XMP_WANTED:
            for value in _element_values(elem):
                fields.add(
                    name if name not in fields.values else f"{name}#{len(fields.values)}", value
                )


def gather(media: Media) -> Fields:
    fields = Fields()
    if media.data.startswith(b"\x89PNG\r\n\x1a\n"):
        read_png_chunks(media.data, fields)
    if media.image is not None:
        read_pillow_info(media.image, fields)
        read_exif(media.image, fields)
    scan_xmp_packets(media.data, fields)
    for packet in list(fields.xmp):
        parse_xmp(packet, fields)
    return fields


# -- bounded JSON ---------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(text: str) -> int:
    """Maximum bracket nesting outside strings, computed without recursion."""
    skeleton = _JSON_STRING.sub("", text).encode("utf-8", "ignore")
    arr = np.frombuffer(skeleton, dtype=np.uint8)
    if arr.size == 0:
        return 0
    delta = np.isin(arr, (0x5B, 0x7B)).astype(np.int32) - np.isin(arr, (0x5D, 0x7D))
    return int(np.cumsum(delta).max(initial=0))


def bounded_json(text: str, where: str, notes: list[str]) -> Any:
    """Parse JSON only if it is small and shallow; otherwise note why and return None."""
    if len(text) > MAX_TEXT:
        notes.append(f"{where} JSON is over 1 MiB: not parsed")
        return None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        notes.append(
            f"{where} JSON is nested {depth} levels deep (limit {MAX_JSON_DEPTH}): not parsed"
        )
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# -- detectors: each looks at the gathered fields and yields findings -----------------------------

_A1111_KEYS = re.compile(r"(?m)^Steps: \d+,")
_A1111_FIELD = re.compile(r"(Sampler|CFG scale|Seed|Size|Model hash|Model|Version): ([^,\n]{1,80})")
_MJ_JOB = re.compile(r"Job ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_DREAM = re.compile(r'^".*"\s+-s\s*\d+.*-S\s*\d+', re.DOTALL)


def _a1111(key: str, text: str) -> Finding | None:
    head = text[:20_000]
    if not _A1111_KEYS.search(head):
        return None
    found = dict(_A1111_FIELD.findall(head))
    if not found:
        return None
    steps = re.search(r"Steps: (\d+)", head)
    prompt = head.split("\nNegative prompt:", 1)[0].split("\nSteps:", 1)[0]
    settings = {
        "steps": int(steps.group(1)) if steps else None,
        "sampler": found.get("Sampler"),
        "cfg_scale": found.get("CFG scale"),
        "model": found.get("Model"),
        "version": found.get("Version"),
    }
    shown = ", ".join(f"{k} {v}" for k, v in settings.items() if v is not None)
    return _finding(
        EXPLICIT,
        "AUTOMATIC1111 / Stable Diffusion web UI",
        key,
        f"{_where(key)} holds Stable Diffusion generation settings in AUTOMATIC1111 format "
        f"({shown}); a prompt of {len(prompt)} characters was present.",
        settings={k: v for k, v in settings.items() if v is not None},
        prompt_chars=len(prompt),
    )


def _comfy_nodes(obj: Any) -> list[str]:
    if isinstance(obj, Mapping) and isinstance(obj.get("nodes"), list):  # editor workflow
        return [str(n["type"]) for n in obj["nodes"] if isinstance(n, Mapping) and "type" in n]
    if isinstance(obj, Mapping):  # API prompt graph: id -> {class_type, inputs}
        return [
            str(v["class_type"])
            for v in obj.values()
            if isinstance(v, Mapping) and "class_type" in v
        ]
    return []


def _comfy(values: Mapping[str, str], notes: list[str]) -> Finding | None:
    nodes: list[str] = []
    checkpoint = None
    for key in ("png:prompt", "png:workflow"):
        if key not in values:
            continue
        obj = bounded_json(values[key], _where(key), notes)
        nodes = nodes or _comfy_nodes(obj)
        if isinstance(obj, Mapping) and checkpoint is None:
            checkpoint = _comfy_checkpoint(obj)
    if not nodes:
        return None
    kinds = list(dict.fromkeys(nodes))
    ckpt = f", checkpoint {checkpoint}" if checkpoint else ""
    return _finding(
        EXPLICIT,
        "ComfyUI",
        "png:prompt",
        f"PNG text chunks hold a ComfyUI generation graph of {len(nodes)} nodes "
        f"({', '.join(kinds[:5])}{', ...' if len(kinds) > 5 else ''}){ckpt}.",
        nodes=len(nodes),
        node_types=kinds[:10],
        checkpoint=checkpoint,
    )


def _comfy_checkpoint(graph: Mapping[str, Any]) -> str | None:
    for node in graph.values():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if isinstance(inputs, Mapping) and isinstance(inputs.get("ckpt_name"), str):
            return str(inputs["ckpt_name"])[:120]
    return None


def _invoke(values: Mapping[str, str], notes: list[str]) -> Finding | None:
    for key in ("png:invokeai_metadata", "png:invokeai_graph", "png:sd-metadata"):
        if key in values:
            obj = bounded_json(values[key], _where(key), notes)
            if isinstance(obj, Mapping):
                model = obj.get("model")
                name = (
                    model.get("model_name") or model.get("name")
                    if isinstance(model, Mapping)
                    else model
                )
                extra = f", model {str(name)[:80]}" if name else ""
                return _finding(
                    EXPLICIT,
                    "InvokeAI",
                    key,
                    f"{_where(key)} holds InvokeAI generation metadata{extra}.",
                    model=str(name)[:80] if name else None,
                )
    dream = values.get("png:Dream")
    if dream and _DREAM.match(dream[:2000]):
        return _finding(
            EXPLICIT,
            "InvokeAI",
            "png:Dream",
            "PNG text chunk 'Dream' holds an InvokeAI (legacy) generation command.",
        )
    return None


def _novelai(values: Mapping[str, str], notes: list[str]) -> Finding | None:
    software = values.get("png:Software", "")
    source = values.get("png:Source", "")
    if "novelai" not in (software + source).lower():
        return None
    comment = bounded_json(values.get("png:Comment", "{}"), "PNG text chunk 'Comment'", notes)
    has_settings = isinstance(comment, Mapping) and {"steps", "sampler"} <= set(comment)
    tail = " with its generation settings (steps, sampler, seed)" if has_settings else ""
    model = f" ({source[:80]})" if source else ""
    return _finding(
        EXPLICIT,
        "NovelAI",
        "png:Software",
        f"PNG text chunks name NovelAI as the generator{model}{tail}.",
    )


def _fooocus(values: Mapping[str, str], notes: list[str]) -> Finding | None:
    scheme = values.get("png:fooocus_scheme")
    params = values.get("png:parameters", "")
    obj = (
        bounded_json(params, "PNG text chunk 'parameters'", notes)
        if params.startswith("{")
        else None
    )
    version = obj.get("Version") if isinstance(obj, Mapping) else None
    is_fooocus = bool(scheme) or (isinstance(version, str) and "fooocus" in version.lower())
    if not is_fooocus:
        return None
    model = obj.get("Base Model") if isinstance(obj, Mapping) else None
    extra = f", base model {str(model)[:80]}" if model else ""
    return _finding(
        EXPLICIT,
        "Fooocus",
        "png:fooocus_scheme",
        f"PNG text chunks hold Fooocus generation parameters{extra}.",
        model=str(model)[:80] if model else None,
    )


def _midjourney(key: str, text: str) -> Finding | None:
    if not _MJ_JOB.search(text[:20_000]):
        return None
    return _finding(
        EXPLICIT,
        "Midjourney",
        key,
        f"{_where(key)} holds a Midjourney job ID and prompt parameters.",
    )


def _named(key: str, text: str) -> Finding | None:
    head = text[:4000]
    if key in TOOL_FIELDS:
        for gen in GENERATORS:
            if gen.tool.search(head):
                return _finding(
                    NAMED_TOOL,
                    gen.name,
                    key,
                    f"{_where(key)} names {gen.name}, an AI image generator, "
                    "as the software that made the file.",
                )
    if key in FREE_TEXT_FIELDS or key.startswith(("dc:description", "dc:title")):
        if GOOGLE_CREDIT.search(head):
            return _finding(
                (0.93, 0.85, True),
                "Google AI",
                key,
                f'{_where(key)} reads "Made with Google AI", the label Google '
                "writes into images its generators make.",
            )
        for gen in GENERATORS:
            if gen.text and gen.text.search(head):
                return _finding(
                    MENTIONED,
                    gen.name,
                    key,
                    f"{_where(key)} mentions {gen.name} (a description, not a "
                    "software field: a hint, not proof).",
                )
    return None


def _source_types(values: Mapping[str, str]) -> Iterator[Finding]:
    for key, value in values.items():
        if not key.startswith("Iptc4xmpExt:DigitalSourceType"):
            continue
        known = source_type(value)
        if known is None or known.capture or known.score <= 0:
            continue
        strength = (0.95, 0.85, True) if known.strong else (round(known.score * 0.9, 3), 0.5, False)
        yield _finding(
            strength,
            "IPTC digital source type",
            key,
            f"XMP declares the IPTC digital source type {known.code} ({known.phrase}); "
            "this metadata is not signed.",
            source_type=known.code,
        )


def _where(key: str) -> str:
    source, _, name = key.partition(":")
    name = name.split("#", 1)[0]
    return {
        "png": f"PNG text chunk '{name}'",
        "exif": f"EXIF {name}",
        "image": f"The embedded {name}",
    }.get(source, f"XMP {key.split('#', 1)[0]}")


def detect(fields: Fields) -> list[Finding]:
    values, notes = fields.values, fields.notes
    found: list[Finding | None] = [
        _comfy(values, notes),
        _invoke(values, notes),
        _novelai(values, notes),
        _fooocus(values, notes),
    ]
    for key, text in values.items():
        if key == "png:parameters" and text.startswith("{"):
            continue  # Fooocus JSON, handled above
        found.append(_a1111(key, text) or _midjourney(key, text) or _named(key, text))
    found.extend(_source_types(values))
    ranked = sorted((f for f in found if f), key=lambda f: (-f.strong, -f.score, -f.confidence))
    best: dict[str, Finding] = {}
    for finding in ranked:  # one finding per tool: the strongest
        best.setdefault(finding.tool, finding)
    return list(best.values())


# -- the signal -----------------------------------------------------------------------------------


class GeneratorMetadataSignal(Signal):
    """Finds the traces AI generators leave in PNG text chunks, EXIF and XMP."""

    name: ClassVar[str] = "generator_metadata"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[MediaKind]] = frozenset(
        {MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO}
    )

    def analyze(self, media: Media) -> SignalResult:
        fields = gather(media)
        findings = detect(fields)
        details = _details(media, fields, findings)
        notes = [f"Skipped: {n}." for n in dict.fromkeys(fields.notes)][:4]
        if not findings:
            return self._nothing(media, notes, details)
        top = findings[0]
        corroboration = 0.03 * len({f.tool for f in findings[1:]})
        confidence = min(0.97, top.confidence + corroboration)
        evidence = [f.sentence for f in findings[:5]] + notes
        return self.ok(
            media,
            top.score,
            confidence,
            evidence,
            strong=any(f.strong for f in findings),
            details=details,
        )

    def _nothing(self, media: Media, notes: list[str], details: dict[str, Any]) -> SignalResult:
        places = ["PNG text chunks"] if media.data.startswith(b"\x89PNG") else []
        places += ["EXIF"] if media.image is not None else []
        summary = f"No generator metadata found in {', '.join([*places, 'XMP'])}."
        if not notes:
            return self.nothing_found(media, summary, details=details)
        return self.ok(media, 0.0, 0.0, [summary, *notes], details=details)


def _details(media: Media, fields: Fields, findings: list[Finding]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "generators": list(dict.fromkeys(f.tool for f in findings))[:8],
        "sources": list(dict.fromkeys(f.where for f in findings))[:8],
        "fields_read": len(fields.values),
        "xmp_packets": len(fields.xmp),
        "skipped": list(dict.fromkeys(fields.notes))[:8],
        "incomplete": bool(fields.notes),
    }
    if findings and findings[0].facts:
        details["facts"] = {k: v for k, v in findings[0].facts.items() if v is not None}
    camera = {
        k: fields.values[f"exif:{k}"][:60]
        for k in ("Make", "Model")
        if f"exif:{k}" in fields.values
    }
    if camera:
        details["camera"] = camera
    return details
