"""Generator metadata signal on files the tests write the way each tool writes them.

No mocks: Pillow writes the PNG chunks, EXIF and XMP; PyAV the MP4; hostile files are built
byte by byte in ``fakewatch.samples.hostile``. Media are opened by the real intake where it
accepts them; where intake (rightly) rejects a hostile file, the signal is still run on a
hand-built ``Media`` to prove it survives on its own.
"""

from __future__ import annotations

import json
import tracemalloc
from io import BytesIO

import pytest

from fakewatch import samples
from fakewatch.media.intake import open_media
from fakewatch.media.types import Media, MediaKind, MediaType
from fakewatch.samples import hostile
from fakewatch.signals.base import Status
from fakewatch.signals.generator_metadata import (
    MAX_JSON_DEPTH,
    GeneratorMetadataSignal,
    decode_user_comment,
    json_depth,
)

PNG = MediaType(MediaKind.IMAGE, "png", "image/png")


@pytest.fixture(scope="module")
def signal() -> GeneratorMetadataSignal:
    return GeneratorMetadataSignal()


def _run(signal: GeneratorMetadataSignal, data: bytes):
    result = signal.run(open_media(data))
    json.dumps(result.to_dict())
    assert result.status is Status.OK
    return result


@pytest.mark.parametrize(
    ("make", "tool", "needle"),
    [
        (samples.a1111_png, "AUTOMATIC1111 / Stable Diffusion web UI", "AUTOMATIC1111 format"),
        (samples.comfyui_png, "ComfyUI", "ComfyUI generation graph of 7 nodes"),
        (samples.invokeai_png, "InvokeAI", "InvokeAI generation metadata"),
        (samples.novelai_png, "NovelAI", "NovelAI"),
        (samples.fooocus_png, "Fooocus", "Fooocus generation parameters"),
    ],
)
def test_generator_png_chunks_are_strong_evidence(signal, make, tool, needle):
    result = _run(signal, make())
    assert result.strong
    assert result.score >= 0.95 and result.confidence >= 0.85
    assert result.details["generators"][0] == tool
    assert needle in result.evidence[0]


def test_a1111_settings_are_reported_but_the_prompt_is_not(signal):
    result = _run(signal, samples.a1111_png())
    settings = result.details["facts"]["settings"]
    assert settings["steps"] == 28 and settings["sampler"] == "DPM++ 2M Karras"
    assert settings["model"] == "sd_xl_base_1.0"
    dumped = json.dumps(result.to_dict())
    assert "lighthouse" not in dumped  # the prompt text never leaves the file
    assert result.details["facts"]["prompt_chars"] == len(
        samples.images.A1111_PARAMETERS.split("\n")[0]
    )


def test_comfyui_graph_names_nodes_and_checkpoint_not_prompt(signal):
    result = _run(signal, samples.comfyui_png())
    facts = result.details["facts"]
    assert facts["nodes"] == 7 and "KSampler" in facts["node_types"]
    assert facts["checkpoint"] == "v1-5-pruned-emaonly.safetensors"
    assert "mountain village" not in json.dumps(result.to_dict())


def test_exif_software_and_user_comment(signal):
    result = _run(signal, samples.exif_generator_jpeg("Midjourney"))
    assert result.strong
    assert set(result.details["sources"]) == {"exif:UserComment", "exif:Software"}
    assert any("EXIF Software names Midjourney" in line for line in result.evidence)
    only_software = _run(signal, samples.exif_generator_jpeg("DALL-E 3", parameters=None))
    assert only_software.details["generators"] == ["DALL·E"]
    assert only_software.strong


def test_editing_software_is_not_a_generator(signal):
    result = _run(signal, samples.exif_generator_jpeg("Adobe Photoshop 25.0", parameters=None))
    assert (result.score, result.confidence, result.strong) == (0.0, 0.0, False)


def test_camera_photo_is_nothing_found_not_authentic(signal):
    result = _run(signal, samples.photo_like_jpeg())
    assert (result.score, result.confidence) == (0.0, 0.0)
    assert not result.is_evidence
    assert result.details["camera"] == {"Make": "Canon", "Model": "Canon EOS R6"}
    assert "No generator metadata" in result.evidence[0]


@pytest.mark.parametrize(
    ("source_type", "strong"),
    [
        ("trainedAlgorithmicMedia", True),
        ("compositeWithTrainedAlgorithmicMedia", True),
        ("compositeSynthetic", False),
    ],
)
def test_xmp_digital_source_type(signal, source_type, strong):
    result = _run(signal, samples.ai_xmp_jpeg(source_type))
    assert result.strong is strong
    assert result.details["facts"]["source_type"] == source_type
    assert "not signed" in result.evidence[0]


def test_xmp_capture_source_type_is_not_evidence(signal):
    result = _run(signal, samples.ai_xmp_jpeg("digitalCapture"))
    assert result.confidence == 0.0


def test_xmp_creator_tool_attribute(signal):
    result = _run(signal, samples.xmp_jpeg({"xmp:CreatorTool": "Adobe Firefly Image 3"}))
    assert result.details["generators"] == ["Adobe Firefly"] and result.strong


def test_xmp_properties_written_as_elements_and_rdf_alt(signal):
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        b' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        b'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Made with Google AI'
        b"</rdf:li></rdf:Alt></dc:description>"
        b'<Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/'
        b'digitalsourcetype/trainedAlgorithmicMedia"/>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    buf = BytesIO()
    samples.images.synthetic_canvas(64, 64).save(buf, "JPEG", xmp=packet)
    result = _run(signal, buf.getvalue())
    assert set(result.details["generators"]) == {"IPTC digital source type", "Google AI"}


def test_google_credit_line(signal):
    result = _run(signal, samples.xmp_jpeg({"photoshop:Credit": "Made with Google AI"}))
    assert result.strong and result.details["generators"] == ["Google AI"]


def test_mention_in_description_is_only_a_hint(signal):
    result = _run(signal, samples.xmp_jpeg({"photoshop:Credit": "inspired by Midjourney art"}))
    assert not result.strong
    assert 0.5 <= result.score < 0.9 and result.confidence < 0.5


def test_animated_webp_exif_and_xmp(signal):
    media = open_media(samples.animated_webp_with_metadata())
    assert media.frame_count and media.frame_count > 1
    result = signal.run(media)
    assert result.strong
    assert set(result.details["generators"]) == {"Stable Diffusion", "IPTC digital source type"}


def test_xmp_in_video_container(signal):
    """An MP4 carrying an XMP packet (as Adobe tools write it in a uuid box) is read by scan."""
    mp4 = samples.small_mp4()
    packet = samples.images.xmp_packet(
        {"Iptc4xmpExt:DigitalSourceType":
         "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}
    )  # fmt: skip
    uuid_box = (len(packet) + 24).to_bytes(4, "big") + b"uuid" + bytes(16) + packet
    media = open_media(mp4 + uuid_box)
    assert media.kind is MediaKind.VIDEO
    assert signal.run(media).strong


def test_plain_video_is_nothing_found(signal):
    result = signal.run(open_media(samples.small_mp4()))
    assert result.confidence == 0.0 and "No generator metadata found in XMP" in result.evidence[0]


# -- hostile input: bounded time and memory, a note, never a crash -------------------------------
@pytest.mark.parametrize(
    ("make", "note"),
    [
        (hostile.ztxt_bomb_png, "decompression bomb"),
        (hostile.itxt_bomb_png, "decompression bomb"),
        (hostile.huge_text_png, "over the 1 MiB limit"),
        (hostile.deep_json_png, f"limit {MAX_JSON_DEPTH}"),
        (hostile.broken_chunks_png, "claims more bytes"),
    ],
)
def test_hostile_png_chunks_are_skipped_with_a_note(signal, make, note):
    media = Media(data=make(), type=PNG)  # intake may reject some; the signal must survive alone
    tracemalloc.start()
    result = signal.run(media)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.status is Status.OK and result.confidence == 0.0
    assert result.details["incomplete"] is True
    assert any(note in line for line in result.evidence), result.evidence
    assert peak < 32 * 1024 * 1024  # the 64 MiB bomb was never inflated


def test_billion_laughs_xmp_is_refused_not_expanded(signal):
    result = _run(signal, hostile.billion_laughs_jpeg())
    assert any("DTD or entities" in line for line in result.evidence)
    assert result.confidence == 0.0


def test_hostile_chunks_do_not_hide_other_evidence(signal):
    data = hostile.with_chunks(
        samples.a1111_png(), hostile.png_chunk(b"zTXt", b"prompt\x00\x00" + hostile.zlib_bomb())
    )
    result = signal.run(Media(data=data, type=PNG))
    assert result.strong and result.details["incomplete"] is True
    assert any("decompression bomb" in line for line in result.evidence)


def test_corrupt_exif_is_a_note_not_a_crash(signal):
    bad = samples.photo_like_jpeg()
    start = bad.index(b"Exif\x00\x00") + 6
    broken = bad[:start] + b"MM\x00\x2a\xff\xff\xff\xff" + bad[start + 8 :]
    result = signal.run(open_media(broken))
    assert result.status is Status.OK and result.confidence == 0.0


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[[[", "b": [1, [2]]}') == 3
    assert json_depth("[" * 1000 + "]" * 1000) == 1000


@pytest.mark.parametrize(
    "raw",
    [
        b"UNICODE\x00" + "Steps: 20, Sampler: Euler".encode("utf-16-be"),
        b"UNICODE\x00" + "Steps: 20, Sampler: Euler".encode("utf-16-le"),
        b"ASCII\x00\x00\x00Steps: 20, Sampler: Euler",
    ],
)
def test_user_comment_encodings(raw):
    assert decode_user_comment(raw) == "Steps: 20, Sampler: Euler"
