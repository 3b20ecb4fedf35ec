"""fakewatch.samples: the sample media are what they claim to be.

Checked with the real readers (Pillow, PyAV, c2pa-python, cryptography), never by the
functions that made them.
"""

from __future__ import annotations

import io
import json
import stat

import c2pa
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from fakewatch import samples
from fakewatch.media.intake import open_media
from fakewatch.media.types import MediaKind
from fakewatch.samples import hostile


@pytest.mark.parametrize(
    ("make", "fmt", "keys"),
    [
        (samples.a1111_png, "PNG", {"parameters"}),
        (samples.comfyui_png, "PNG", {"prompt", "workflow"}),
        (samples.invokeai_png, "PNG", {"invokeai_metadata"}),
        (samples.novelai_png, "PNG", {"Software", "Comment", "Source"}),
        (samples.fooocus_png, "PNG", {"fooocus_scheme", "parameters"}),
        (samples.photo_like_jpeg, "JPEG", set()),
        (samples.exif_generator_jpeg, "JPEG", {"exif"}),
        (samples.ai_xmp_jpeg, "JPEG", {"xmp"}),
    ],
)
def test_images_decode_small_with_expected_metadata(make, fmt, keys):
    im = Image.open(io.BytesIO(make()))
    im.load()
    assert im.format == fmt
    assert max(im.size) <= 512
    assert keys <= set(im.info)


def test_comfyui_chunks_are_valid_graph_json():
    im = Image.open(io.BytesIO(samples.comfyui_png()))
    im.load()
    prompt = json.loads(im.info["prompt"])
    assert all("class_type" in node and "inputs" in node for node in prompt.values())
    assert len(json.loads(im.info["workflow"])["nodes"]) == len(prompt)


def test_photo_like_jpeg_has_camera_exif_and_no_generator_fields():
    im = Image.open(io.BytesIO(samples.photo_like_jpeg()))
    exif = im.getexif()
    assert exif[0x010F] == "Canon" and 0x0131 not in exif
    assert "xmp" not in im.info and "parameters" not in im.info
    grey = im.convert("L").histogram()
    assert sum(1 for count in grey if count) > 100  # textured, not flat


def test_animated_webp_has_frames_exif_and_xmp():
    media = open_media(samples.animated_webp_with_metadata())
    assert media.type.format == "webp" and media.frame_count == 3
    assert "exif" in media.image.info and "xmp" in media.image.info


def test_throwaway_chain_has_the_extensions_c2pa_requires(tmp_path):
    signer = samples.throwaway_signer(tmp_path)
    leaf, ca = x509.load_pem_x509_certificates(signer.chain_pem)
    assert leaf.issuer == ca.subject and leaf.subject != leaf.issuer  # not self-signed
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (tmp_path / "ca.pem").read_bytes() == signer.ca_pem
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("make", "mime", "kind"),
    [
        (lambda s: samples.c2pa_signed(samples.photo_like_jpeg(), "image/jpeg", signer=s),
         "image/jpeg", MediaKind.IMAGE),
        (lambda s: samples.signed_mp4(signer=s), "video/mp4", MediaKind.VIDEO),
        (lambda s: samples.signed_wav(signer=s), "audio/wav", MediaKind.AUDIO),
        (lambda s: samples.signed_pdf(signer=s), "application/pdf", MediaKind.DOCUMENT),
    ],
)  # fmt: skip
def test_signed_media_validate_and_stay_decodable(make, mime, kind):
    signer = samples.throwaway_signer()
    data = make(signer)
    assert open_media(data).kind is kind
    ctx = c2pa.Context.from_dict({"trust": {"trust_anchors": signer.ca_pem.decode()}})
    with c2pa.Reader(mime, io.BytesIO(data), context=ctx) as reader:
        assert reader.get_validation_state() == "Trusted"
        active = reader.get_active_manifest()
    actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))
    assert actions["data"]["actions"][0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")


def test_ingredient_manifest_is_carried_into_the_store():
    parent = samples.c2pa_signed(samples.photo_like_jpeg(), "image/jpeg")
    child = samples.c2pa_signed(
        samples.photo_like_jpeg(), "image/jpeg", None,
        ingredient=samples.Ingredient(parent, "image/jpeg", "parentOf"),
    )  # fmt: skip
    with c2pa.Reader("image/jpeg", io.BytesIO(child)) as reader:
        store = json.loads(reader.json())
    assert len(store["manifests"]) == 2
    ingredient = store["manifests"][store["active_manifest"]]["ingredients"][0]
    assert ingredient["relationship"] == "parentOf"


def test_corrupt_and_truncated_files_are_rejected_by_pillow():
    for data in (samples.corrupt_file("png"), samples.truncated(samples.photo_like_jpeg())):
        with pytest.raises((OSError, SyntaxError, ValueError)):
            Image.open(io.BytesIO(data)).load()


def test_hostile_samples_are_small_on_disk_but_large_inflated():
    bomb = hostile.ztxt_bomb_png()
    assert len(bomb) < 200_000  # yet it inflates to 64 MiB
    assert hostile.billion_laughs_xmp().count(b"<!ENTITY") == 10
