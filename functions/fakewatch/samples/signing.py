"""Throwaway C2PA signing: a private CA and leaf certificate, and manifests signed with them.

The chain follows what c2pa-rs checks for a signing credential (C2PA trust model, "X.509
certificates"): an X.509 v3 end-entity certificate issued by a CA (self-signed end-entity
certificates are rejected), a critical Key Usage with ``digitalSignature``, a non-empty
Extended Key Usage naming ``emailProtection`` or ``documentSigning`` and never
``anyExtendedKeyUsage``, and ``basicConstraints`` CA false. The CA is nobody's trust anchor:
manifests signed with it read as "Valid" but "untrusted" unless a reader is told to trust
this CA, which is exactly what a test of the trust logic needs.

Never use these credentials for anything but tests and demonstrations.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    import c2pa

IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
CLAIM_GENERATOR = {"name": "fakewatch-samples", "version": "1"}
_VALID_FOR = dt.timedelta(days=30)


@dataclass(frozen=True)
class ThrowawaySigner:
    """PEM material of an ES256 signing credential and the CA that issued it."""

    chain_pem: bytes  # leaf first, then the CA, as c2pa expects
    key_pem: bytes  # PKCS#8, unencrypted: throwaway by design
    ca_pem: bytes  # give this to a reader as a trust anchor to make the signer "trusted"
    subject: str
    issuer: str

    def c2pa_signer(self) -> c2pa.Signer:
        """A fresh native signer (c2pa signers are single-owner native handles)."""
        import c2pa

        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.chain_pem, self.key_pem, None)
        return c2pa.Signer.from_info(info)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakewatch throwaway credentials"),
        ]
    )


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("fakewatch throwaway root CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    now: dt.datetime, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, cn: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def throwaway_signer(
    directory: str | Path | None = None, *, common_name: str = "fakewatch throwaway signer"
) -> ThrowawaySigner:
    """Create a new ES256 CA + leaf chain; with ``directory``, also write it there.

    Files written: ``ca.pem`` (trust anchor), ``chain.pem`` (leaf + CA) and ``key.pem``
    (mode 0600).
    """
    now = dt.datetime.now(dt.UTC)
    ca_key, ca_cert = _ca(now)
    key, leaf = _leaf(now, ca_key, ca_cert, common_name)
    pem = serialization.Encoding.PEM
    signer = ThrowawaySigner(
        chain_pem=leaf.public_bytes(pem) + ca_cert.public_bytes(pem),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca_pem=ca_cert.public_bytes(pem),
        subject=common_name,
        issuer="fakewatch throwaway credentials",
    )
    if directory is not None:
        _write(Path(directory), signer)
    return signer


def _write(directory: Path, signer: ThrowawaySigner) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.pem").write_bytes(signer.ca_pem)
    (directory / "chain.pem").write_bytes(signer.chain_pem)
    key_path = directory / "key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.key_pem)


@lru_cache(maxsize=1)
def default_signer() -> ThrowawaySigner:
    """One throwaway signer per process, so repeated samples share a CA."""
    return throwaway_signer()


@dataclass(frozen=True)
class Ingredient:
    """An asset to record as an ingredient of a new manifest."""

    data: bytes
    mime: str
    relationship: str = "parentOf"  # parentOf, componentOf or inputTo
    title: str = "ingredient"


def source_type_uri(digital_source_type: str) -> str:
    """Accept a short IPTC code (``trainedAlgorithmicMedia``) or a full URI."""
    if "/" in digital_source_type:
        return digital_source_type
    return IPTC_SOURCE_TYPE + digital_source_type


def _actions(
    digital_source_type: str | None, ingredient: Ingredient | None, agent: str
) -> list[dict[str, Any]]:
    software = {"name": agent}
    if ingredient is None:
        created: dict[str, Any] = {"action": "c2pa.created", "softwareAgent": software}
        created["digitalSourceType"] = source_type_uri(digital_source_type or "digitalCreation")
        return [created]
    first = "c2pa.opened" if ingredient.relationship == "parentOf" else "c2pa.placed"
    used: dict[str, Any] = {
        "action": first,
        "softwareAgent": software,
        "parameters": {"ingredientIds": ["ingredient"]},
    }
    if first == "c2pa.opened":
        edited: dict[str, Any] = {"action": "c2pa.color_adjustments", "softwareAgent": software}
        if digital_source_type:
            edited["digitalSourceType"] = source_type_uri(digital_source_type)
        return [used, edited]
    created = {"action": "c2pa.created", "softwareAgent": software}
    if ingredient.relationship == "inputTo":  # e.g. a reference image fed to a generator
        created["digitalSourceType"] = source_type_uri(digital_source_type or "digitalCreation")
        created["parameters"] = {"ingredientIds": ["ingredient"]}
        return [created]
    created["digitalSourceType"] = source_type_uri(digital_source_type or "composite")
    return [created, used]


def manifest_definition(
    digital_source_type: str | None,
    *,
    ingredient: Ingredient | None = None,
    software_agent: str = "fakewatch sample generator",
    title: str = "sample",
) -> dict[str, Any]:
    """The manifest JSON c2pa's Builder takes: claim generator, title and actions."""
    return {
        "claim_generator_info": [CLAIM_GENERATOR],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": _actions(digital_source_type, ingredient, software_agent)},
            }
        ],
    }


@lru_cache(maxsize=1)
def _builder_context() -> c2pa.Context:
    import c2pa

    return c2pa.Context.from_dict(
        {
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}},
        }
    )


def c2pa_signed(
    media_bytes: bytes,
    mime: str,
    digital_source_type: str | None = "trainedAlgorithmicMedia",
    *,
    signer: ThrowawaySigner | None = None,
    ingredient: Ingredient | None = None,
    software_agent: str = "fakewatch sample generator",
    title: str = "sample",
) -> bytes:
    """Embed a C2PA manifest declaring ``digital_source_type`` and return the signed bytes.

    ``digital_source_type`` is an IPTC code or URI (``trainedAlgorithmicMedia``,
    ``digitalCapture``, ...). With ``ingredient`` the manifest records that asset (and its own
    manifests) as parent or component; ``digital_source_type`` may then be ``None`` so only
    the ingredient carries a declaration.
    """
    import c2pa

    definition = manifest_definition(
        digital_source_type, ingredient=ingredient, software_agent=software_agent, title=title
    )
    builder = c2pa.Builder(definition, context=_builder_context())
    if ingredient is not None:
        builder.add_ingredient(
            {
                "title": ingredient.title,
                "relationship": ingredient.relationship,
                "label": "ingredient",
            },
            ingredient.mime,
            io.BytesIO(ingredient.data),
        )
    out = io.BytesIO()
    with (signer or default_signer()).c2pa_signer() as native:
        builder.sign(native, mime, io.BytesIO(media_bytes), out)
    return out.getvalue()


def c2pa_remote_reference(media_bytes: bytes, mime: str, url: str) -> bytes:
    """Bytes that only *point* to a manifest stored at ``url`` (no manifest embedded)."""
    import c2pa

    builder = c2pa.Builder(manifest_definition("digitalCreation"), context=_builder_context())
    builder.set_no_embed()
    builder.set_remote_url(url)
    out = io.BytesIO()
    with default_signer().c2pa_signer() as native:
        builder.sign(native, mime, io.BytesIO(media_bytes), out)
    return out.getvalue()
