"""Where a manifest or a model file lives, and how its bytes are read.

Three kinds of reference, one syntax each:

- a filesystem path (``/opt/models/x/manifest.json``) or ``file://`` URI;
- a package resource: ``package://name`` is ``manifest.{json,yaml,yml}`` under
  ``fakewatch/models/zoo/<name>/``; ``package://some.pkg/dir/manifest.json`` is a resource of
  any installed package (a model shipped as a wheel);
- an object-store URI (``s3://bucket/key``, ``gs://...``, ``az://...``), read through an
  injected :class:`~fakewatch.ports.store.ObjectStore` whose ``scheme`` matches, or else the
  process-wide store :func:`fakewatch.stores.open_uri` gives for that scheme.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from fakewatch.errors import ConfigError, LimitExceeded, ObjectNotFound
from fakewatch.ports.store import ObjectStore

ZOO_PACKAGE = "fakewatch.models"
ZOO_DIR = "zoo"
MANIFEST_NAMES = ("manifest.json", "manifest.yaml", "manifest.yml")
MAX_MODEL_BYTES = 2 * 1024**3  # protobuf's own ceiling for a single .onnx file


@dataclass(frozen=True)
class Location:
    """A resolved reference. ``ref`` is canonical: the same file always has the same ref."""

    kind: Literal["path", "package", "store"]
    ref: str
    package: str = ""  # package locations: the package and the resource path inside it
    path: str = ""
    bucket: str = ""  # store locations
    key: str = ""
    scheme: str = ""

    def sibling(self, relative: str) -> Location:
        """The location of ``relative`` next to this one (a model file beside its manifest)."""
        if relative.startswith("/") or ".." in relative.split("/"):
            raise ConfigError(f"file: {relative!r} must be relative, without '..'")
        if self.kind == "path":
            return resolve(Path(self.ref).parent / relative)
        if self.kind == "package":
            inner = posixpath.join(posixpath.dirname(self.path), relative)
            return resolve(f"package://{self.package}/{inner}")
        key = posixpath.join(posixpath.dirname(self.key), relative)
        return resolve(f"{self.scheme}://{self.bucket}/{key}")


def resolve(ref: str | Path) -> Location:
    """Turn a path or URI into a :class:`Location`, without reading anything."""
    if isinstance(ref, Path):
        return Location("path", str(ref.expanduser().resolve()))
    parts = urlsplit(ref)
    if not parts.scheme or len(parts.scheme) == 1:  # plain path (or a Windows drive letter)
        return Location("path", str(Path(ref).expanduser().resolve()))
    if parts.scheme == "file":
        return Location("path", str(Path(parts.path).resolve()))
    if parts.scheme == "package":
        return _package_location(parts.netloc, parts.path.lstrip("/"))
    if not parts.netloc or not parts.path.strip("/"):
        raise ConfigError(f"model reference {ref!r}: a store URI needs a bucket and a key")
    return Location(
        "store",
        f"{parts.scheme}://{parts.netloc}/{parts.path.lstrip('/')}",
        bucket=parts.netloc,
        key=parts.path.lstrip("/"),
        scheme=parts.scheme,
    )


def _package_location(package: str, inner: str) -> Location:
    if not package:
        raise ConfigError(
            "package:// reference needs a name: package://<model> or package://<pkg>/<path>"
        )
    if ".." in inner.split("/"):
        raise ConfigError(f"package://{package}/{inner}: '..' is not allowed")
    if not inner:  # package://<model>: a model shipped inside fakewatch itself
        name = package
        root = resources.files(ZOO_PACKAGE).joinpath(ZOO_DIR, name)
        found = next((n for n in MANIFEST_NAMES if root.joinpath(n).is_file()), None)
        if found is None:
            raise ConfigError(
                f"package://{name}: no packaged model of that name "
                f"(looked for {'/'.join(MANIFEST_NAMES)} in {ZOO_PACKAGE}/{ZOO_DIR}/{name})"
            )
        package, inner = ZOO_PACKAGE, f"{ZOO_DIR}/{name}/{found}"
    return Location("package", f"package://{package}/{inner}", package=package, path=inner)


def read_bytes(
    location: Location, *, store: ObjectStore | None = None, max_bytes: int = MAX_MODEL_BYTES
) -> bytes:
    """Read a location's bytes, refusing more than ``max_bytes``. Raises ObjectNotFound."""
    if location.kind == "path":
        return _read_path(Path(location.ref), max_bytes)
    if location.kind == "package":
        return _read_package(location, max_bytes)
    if store is None:
        store = _store_for(location)
    if store.scheme != location.scheme:
        raise ConfigError(
            f"{location.ref}: the store given reads {store.scheme}:// URIs, not {location.scheme}://"
        )
    return store.get(location.bucket, location.key, max_bytes=max_bytes)


def _store_for(location: Location) -> ObjectStore:
    """The process-wide store for the URI's scheme, from :func:`fakewatch.stores.open_uri`."""
    from fakewatch.stores import open_uri

    try:
        store, _, _ = open_uri(location.ref)
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"{location.ref}: no object store to read it with ({exc})") from exc
    return store


def _read_path(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise ObjectNotFound(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise LimitExceeded("bytes", size, max_bytes)
    return path.read_bytes()


def _read_package(location: Location, max_bytes: int) -> bytes:
    try:
        resource = resources.files(location.package).joinpath(location.path)
    except ModuleNotFoundError as exc:
        raise ObjectNotFound(
            f"{location.ref}: package {location.package!r} is not installed"
        ) from exc
    if not resource.is_file():
        raise ObjectNotFound(f"{location.ref}: no such resource")
    data = resource.read_bytes()
    if len(data) > max_bytes:
        raise LimitExceeded("bytes", len(data), max_bytes)
    return data
