"""C2PA provenance signal against real manifests signed by c2pa-python with a throwaway CA.

No mocks: every file is signed by the real c2pa-rs library and read back by it. The only
substitution is ``sys.modules['c2pa'] = None`` to prove the signal reports a missing library.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from fakewatch import samples
from fakewatch.media.intake import open_media
from fakewatch.media.types import Media, MediaKind, MediaType
from fakewatch.signals.base import Status
from fakewatch.signals.c2pa_provenance import (
    C2PA_JUMBF_UUID,
    TRUST_ANCHORS_ENV,
    C2paProvenanceSignal,
    source_type,
)


@pytest.fixture(scope="module")
def signer() -> samples.ThrowawaySigner:
    return samples.throwaway_signer()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return samples.photo_like_jpeg()


@pytest.fixture(scope="module")
def ai_jpeg(photo: bytes, signer: samples.ThrowawaySigner) -> bytes:
    return samples.c2pa_signed(photo, "image/jpeg", "trainedAlgorithmicMedia", signer=signer)


@pytest.fixture(scope="module")
def untrusted() -> C2paProvenanceSignal:
    return C2paProvenanceSignal()


@pytest.fixture(scope="module")
def trusted(signer: samples.ThrowawaySigner) -> C2paProvenanceSignal:
    return C2paProvenanceSignal(trust_anchors=signer.ca_pem.decode())


def _run(signal: C2paProvenanceSignal, data: bytes):
    result = signal.run(open_media(data))
    json.dumps(result.to_dict())  # details must stay JSON-safe
    return result


def test_file_without_manifest_is_nothing_found_not_authentic(untrusted, photo):
    result = _run(untrusted, photo)
    assert result.status is Status.OK
    assert (result.score, result.confidence) == (0.0, 0.0)
    assert not result.is_evidence and not result.strong and not result.tampering
    assert "No C2PA manifest" in result.evidence[0]


def test_ai_declaration_from_untrusted_signer_is_strong_and_says_untrusted(untrusted, ai_jpeg):
    result = _run(untrusted, ai_jpeg)
    assert result.strong and not result.tampering
    assert result.score >= 0.95
    assert 0.5 < result.confidence < 0.9
    text = result.evidence[0]
    assert "trainedAlgorithmicMedia" in text
    assert "fakewatch throwaway signer" in text
    assert "untrusted signer" in text
    assert result.details["validation_state"] == "Valid"
    assert result.details["trusted"] is False
    assert result.details["claim_generator"].startswith("fakewatch-samples")


def test_trust_anchor_makes_signer_trusted_and_raises_confidence(trusted, untrusted, ai_jpeg):
    result = _run(trusted, ai_jpeg)
    assert result.details["validation_state"] == "Trusted"
    assert result.details["trusted"] is True
    assert "trust list" in result.evidence[0] and "untrusted" not in result.evidence[0]
    assert result.confidence > _run(untrusted, ai_jpeg).confidence


def test_trust_anchors_from_environment(tmp_path, monkeypatch, signer, ai_jpeg):
    (tmp_path / "anchors.pem").write_bytes(signer.ca_pem)
    monkeypatch.setenv(TRUST_ANCHORS_ENV, str(tmp_path / "anchors.pem"))
    assert _run(C2paProvenanceSignal(), ai_jpeg).details["trusted"] is True


def test_a_different_ca_is_not_trusted(ai_jpeg):
    other = samples.throwaway_signer()
    result = _run(C2paProvenanceSignal(trust_anchors=other.ca_pem.decode()), ai_jpeg)
    assert result.details["trusted"] is False
    assert "untrusted signer" in result.evidence[0]


@pytest.mark.parametrize(
    ("code", "strong", "low", "high"),
    [
        ("compositeWithTrainedAlgorithmicMedia", True, 0.9, 1.0),
        ("algorithmicMedia", False, 0.7, 0.9),
        ("algorithmicallyEnhanced", False, 0.1, 0.5),
    ],
)
def test_source_types_map_to_strength(untrusted, photo, signer, code, strong, low, high):
    data = samples.c2pa_signed(photo, "image/jpeg", code, signer=signer)
    result = _run(untrusted, data)
    assert result.strong is strong
    assert low <= result.score <= high
    assert result.details["declared"] == code


@pytest.mark.parametrize("anchors", [False, True])
def test_capture_claim_is_never_proof_of_authenticity(photo, signer, anchors):
    signal = C2paProvenanceSignal(trust_anchors=signer.ca_pem.decode() if anchors else None)
    data = samples.c2pa_signed(photo, "image/jpeg", "digitalCapture", signer=signer)
    result = _run(signal, data)
    assert (result.score, result.confidence, result.strong) == (0.0, 0.0, False)
    assert result.details["capture_claim"] is True
    assert "not proof of authenticity" in result.evidence[0]
    assert ("untrusted signer" in result.evidence[0]) is not anchors


def test_bytes_changed_after_signing_are_tampering_not_proof(untrusted, ai_jpeg):
    altered = bytearray(ai_jpeg)
    altered[-100] ^= 0xFF  # inside the entropy-coded image data, after the manifest
    result = _run(untrusted, bytes(altered))
    assert result.tampering
    assert not result.strong
    assert result.score <= 0.6 and result.confidence < 0.5
    assert "assertion.dataHash.mismatch" in result.details["integrity_failures"]
    assert any("changed after signing" in line for line in result.evidence)
    assert any("only a hint" in line for line in result.evidence)


def test_tampered_manifest_without_declaration_is_tampering_with_zero_score(untrusted, photo):
    data = bytearray(samples.c2pa_signed(photo, "image/jpeg", "digitalCapture"))
    data[-100] ^= 0xFF
    result = _run(untrusted, bytes(data))
    assert result.tampering and result.score == 0.0 and result.confidence == 0.0
    assert any("not as proof either way" in line for line in result.evidence)


def test_damaged_manifest_box_is_reported_as_tampering(untrusted, ai_jpeg):
    where = ai_jpeg.index(C2PA_JUMBF_UUID)
    broken = bytearray(ai_jpeg)
    for i in range(where - 16, where - 8):  # the JUMBF box header before the description
        broken[i] ^= 0xA5
    media = dataclasses.replace(open_media(ai_jpeg), data=bytes(broken))
    result = untrusted.run(media)
    assert result.status is Status.OK and result.tampering
    assert result.confidence == 0.0
    assert "damaged" in result.evidence[0]
    assert result.details["manifest"] == "unreadable"


def test_parent_ingredient_declaring_ai_is_found_through_the_chain(
    untrusted, photo, ai_jpeg, signer
):
    edited = samples.c2pa_signed(
        photo, "image/jpeg", None, signer=signer,
        ingredient=samples.Ingredient(ai_jpeg, "image/jpeg", "parentOf", "generated.jpg"),
    )  # fmt: skip
    result = _run(untrusted, edited)
    assert result.strong
    assert result.details["declared_by"] == "parentOf"
    assert result.details["manifest_count"] == 2
    roles = [m["role"] for m in result.details["manifests"]]
    assert roles == ["active", "parentOf"]
    assert "ingredient" in result.evidence[0] and "edited from it" in result.evidence[0]


def test_component_ingredient_counts_as_composite(untrusted, photo, ai_jpeg, signer):
    composed = samples.c2pa_signed(
        photo, "image/jpeg", "composite", signer=signer,
        ingredient=samples.Ingredient(ai_jpeg, "image/jpeg", "componentOf", "layer.jpg"),
    )  # fmt: skip
    result = _run(untrusted, composed)
    assert result.strong and result.details["declared_by"] == "componentOf"
    assert "placed into this file" in result.evidence[0]


def test_input_ingredient_is_only_a_moderate_hint(untrusted, photo, ai_jpeg, signer):
    made = samples.c2pa_signed(
        photo, "image/jpeg", "digitalCreation", signer=signer,
        ingredient=samples.Ingredient(ai_jpeg, "image/jpeg", "inputTo", "reference.jpg"),
    )  # fmt: skip
    result = _run(untrusted, made)
    assert not result.strong and result.details["declared_by"] == "inputTo"
    assert 0.4 < result.score < 0.7
    assert "an input to the process" in result.evidence[0]


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (samples.signed_mp4, MediaKind.VIDEO),
        (samples.signed_wav, MediaKind.AUDIO),
        (samples.signed_pdf, MediaKind.DOCUMENT),
    ],
)
def test_manifests_in_video_audio_and_pdf_containers(untrusted, signer, make, kind):
    media = open_media(make(signer=signer))
    assert media.kind is kind
    result = untrusted.run(media)
    assert result.modality == kind.value
    assert result.strong and result.details["declared"] == "trainedAlgorithmicMedia"


def test_png_manifest(untrusted, signer):
    data = samples.c2pa_signed(samples.plain_png(), "image/png", signer=signer)
    assert _run(untrusted, data).strong


def test_remote_manifest_is_not_fetched(untrusted, photo):
    data = samples.c2pa_remote_reference(photo, "image/jpeg", "https://example.invalid/m.c2pa")
    result = _run(untrusted, data)
    assert result.confidence == 0.0
    assert result.details["remote_url"] == "https://example.invalid/m.c2pa"
    assert "does not fetch" in result.evidence[0]


def test_unparseable_bytes_without_manifest_fail_with_reason(untrusted):
    media = Media(
        data=samples.corrupt_file("jpeg"), type=MediaType(MediaKind.IMAGE, "jpeg", "image/jpeg")
    )
    result = untrusted.run(media)
    assert result.status is Status.FAILED
    assert "could not parse" in result.evidence[0]


def test_container_c2pa_cannot_hold_is_not_applicable(untrusted):
    media = Media(
        data=b"\x1a\x45\xdf\xa3webm", type=MediaType(MediaKind.VIDEO, "webm", "video/webm")
    )
    result = untrusted.run(media)
    assert result.status is Status.NOT_APPLICABLE
    assert "WEBM" in result.evidence[0]


def test_missing_library_is_a_failure_not_a_clean_bill(monkeypatch, photo):
    monkeypatch.setitem(sys.modules, "c2pa", None)
    result = C2paProvenanceSignal().run(open_media(photo))
    assert result.status is Status.FAILED
    assert "c2pa-python is not installed" in result.evidence[0]


def test_construction_is_cheap_and_setup_happens_once(ai_jpeg):
    signal = C2paProvenanceSignal()
    assert signal._context is None
    signal.run(open_media(ai_jpeg))
    first = signal._context
    signal.run(open_media(ai_jpeg))
    assert first is not None and signal._context is first


def test_source_type_accepts_both_namespaces():
    assert source_type("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    assert source_type("http://c2pa.org/digitalsourcetype/trainedAlgorithmicData")
    assert source_type("http://example.com/unknown") is None
