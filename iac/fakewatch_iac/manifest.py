"""``modelManifest``: where the deployed scanner finds its model manifest, checked at deploy time.

The runtime (``fakewatch.models.locate``) accepts a filesystem path, ``package://…`` and an
object-store URI. A stack can only use the two that mean the same thing on the deployer's
machine and in the function:

- ``package://<model>`` (a model in fakewatch's own zoo) or ``package://<pkg>/<path>`` (a
  resource of a package inside the bundle): nothing to grant;
- a store URI of the stack's own cloud (``s3://`` on AWS, ``gs://`` on GCP, ``az://`` on
  Azure, where the bucket is a container of the scanner's data account): the scanner is
  granted read on the manifest's folder, where the runtime also looks for the model file
  (``file:`` in a manifest is relative to it, without ``..``).

A local path would name a file on the deployer's machine that the function does not have,
and a URI of another cloud needs credentials the function does not hold: both stop the stack.
Repeated here rather than imported: ``iac/`` must not import the fakewatch core.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Report = Callable[[str, str], None]
KEY = "modelManifest"

STORE_SCHEME = {"aws": "s3", "gcp": "gs", "azure": "az"}
MANIFEST_FILE = "manifest.json"  # what a serving container looks for in its model folder
_STORE_NAME = {"s3": "S3", "gs": "Cloud Storage", "az": "Azure Blob Storage"}
_BUCKET_RE = {
    "s3": re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
    "gs": re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$"),
    # Azure container names: 3-63 lowercase letters, digits and single hyphens.
    "az": re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
}
_PACKAGE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ManifestRef:
    """A validated ``modelManifest`` value."""

    uri: str
    kind: Literal["package", "store"]
    scheme: str = ""
    bucket: str = ""  # S3/GCS bucket, or the Azure container
    key: str = ""

    @property
    def prefix(self) -> str:
        """The manifest's folder (``models/v3/``): what the scanner may read, and nothing else."""
        return posixpath.dirname(self.key) + "/"


def parse_manifest_ref(value: str | None, cloud: str, report: Report) -> ManifestRef | None:
    """Validate ``value`` for ``cloud``; report problems under ``modelManifest``."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme == "package":
        return _package(value, parts.netloc, parts.path, report)
    if not parts.scheme or len(parts.scheme) == 1 or parts.scheme == "file":
        report(
            KEY,
            f"{value!r} is a path on this machine, which the deployed function does not have: "
            f"ship the model in the bundle (package://...) or upload it "
            f"({STORE_SCHEME[cloud]}://<bucket>/<folder>/manifest.json)",
        )
        return None
    own = STORE_SCHEME[cloud]
    if parts.scheme != own:
        name = _STORE_NAME.get(parts.scheme, f"{parts.scheme}://")
        what = f"{'an' if name[0] in 'AEIOSaeio' else 'a'} {name} URI"
        report(
            KEY,
            f"{value!r} is {what}: on {cloud} the scanner reads {own}:// "
            f"({_STORE_NAME[own]}) or package:// manifests only",
        )
        return None
    return _store(value, own, parts.netloc, parts.path.lstrip("/"), report)


def _package(value: str, netloc: str, path: str, report: Report) -> ManifestRef | None:
    inner = path.lstrip("/")
    if not netloc or not _PACKAGE_RE.match(netloc):
        report(KEY, f"{value!r}: use package://<model> or package://<package>/<path>")
        return None
    if ".." in inner.split("/") or inner.endswith("/"):
        report(KEY, f"{value!r}: the path inside the package must name a file, without '..'")
        return None
    return ManifestRef(uri=value, kind="package")


def _store(value: str, scheme: str, bucket: str, key: str, report: Report) -> ManifestRef | None:
    if not _BUCKET_RE[scheme].match(bucket):
        what = "container" if scheme == "az" else "bucket"
        report(KEY, f"{value!r}: {bucket!r} is not a valid {_STORE_NAME[scheme]} {what} name")
        return None
    if not key or key.endswith("/") or ".." in key.split("/") or "*" in key:
        report(KEY, f"{value!r} must name the manifest file itself, without '..' or '*'")
        return None
    if "/" not in key:
        report(
            KEY,
            f"{value!r} is at the top of {bucket!r}: put the manifest and its model in a folder "
            f"of their own ({scheme}://{bucket}/models/<name>/{key}); the scanner may read "
            "that folder and nothing else",
        )
        return None
    return ManifestRef(uri=value, kind="store", scheme=scheme, bucket=bucket, key=key)
