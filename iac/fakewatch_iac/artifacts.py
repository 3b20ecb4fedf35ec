"""Check that the artifact a stack deploys exists and is the adapter's bundle, before deploying.

The bundles are built by ``make bundle-aws|gcp|azure``. A missing, truncated or foreign file
stops the stack with a message saying which file and how to build it, instead of deploying
something that fails at its first invocation.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fakewatch_iac.errors import ArtifactError

# What each bundle must contain, by cloud: the entry point the platform loads.
REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "aws": ("fakewatch_aws/handler.py",),
    "gcp": ("main.py", "requirements.txt"),
    "azure": ("function_app.py", "host.json"),
}
MAKE_TARGET = {"aws": "make bundle-aws", "gcp": "make bundle-gcp", "azure": "make bundle-azure"}
MAX_ZIP_BYTES = 512 * 1024 * 1024  # far above any cloud's package limit; guards a wrong path


@dataclass(frozen=True)
class Artifact:
    """A validated bundle: where it is and the digests clouds use to detect a change."""

    path: Path
    is_dir: bool
    sha256_hex: str
    sha256_b64: str
    members: frozenset[str]


def _digest(path: Path) -> tuple[str, str]:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), base64.b64encode(h.digest()).decode("ascii")


def _dir_members(path: Path) -> tuple[frozenset[str], str, str]:
    h = hashlib.sha256()
    members = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        members.append(rel)
        h.update(rel.encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return frozenset(members), h.hexdigest(), base64.b64encode(h.digest()).decode("ascii")


def _zip_members(path: Path) -> frozenset[str]:
    if path.stat().st_size > MAX_ZIP_BYTES:
        raise ArtifactError(
            f"artifact {path} is {path.stat().st_size} bytes: not a function bundle"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ArtifactError(f"artifact {path} is corrupt: member {bad!r} fails its CRC")
            return frozenset(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise ArtifactError(f"artifact {path} is not a readable zip file ({exc})") from exc


def check(cloud: str, path: Path) -> Artifact:
    """Validate the bundle for ``cloud`` at ``path`` (a zip; GCP also accepts a source folder)."""
    hint = f"build it with `{MAKE_TARGET[cloud]}` or set fakewatch:artifactPath"
    if not path.exists():
        raise ArtifactError(f"function artifact {path} does not exist: {hint}")
    if path.is_dir():
        if cloud != "gcp":
            raise ArtifactError(
                f"function artifact {path} is a folder; {cloud} deploys a zip: {hint}"
            )
        members, hex_digest, b64_digest = _dir_members(path)
    else:
        members = _zip_members(path)
        hex_digest, b64_digest = _digest(path)
    missing = [m for m in REQUIRED_MEMBERS[cloud] if m not in members]
    if missing:
        raise ArtifactError(
            f"function artifact {path} is not the fakewatch {cloud} bundle: missing "
            f"{', '.join(missing)}; {hint}"
        )
    return Artifact(path, path.is_dir(), hex_digest, b64_digest, members)
