"""Object stores by URI scheme, imported lazily (fsspec's ``known_implementations`` style).

>>> store, bucket, key = open_uri("memory://inbox/photos/cat.jpg")
>>> (store.scheme, bucket, key)
('memory', 'inbox', 'photos/cat.jpg')

Cloud stores live in the provider packages and are imported only when a URI asks for them;
when the extra is missing, the ImportError says which one to install.

``file`` URIs name a path, so where the store's root ends must be said: ``open_uri(
"file:///srv/fw/inbox/a/b.jpg", root="/srv/fw")`` gives bucket ``inbox`` and key ``a/b.jpg``.
Without ``root``, the file's own folder is the bucket and the folder above it the root:
``file:///srv/fw/inbox/b.jpg`` gives root ``/srv/fw``, bucket ``inbox``, key ``b.jpg``. A
``file`` URI ending in ``/`` names a prefix (``file:///srv/fw/results/`` gives bucket
``results`` and key ``""``), which is what audit logs and listings take.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from fakewatch.ports.store import ObjectStore


@dataclass(frozen=True)
class Implementation:
    """Where a store class lives (``"module:Class"``) and the extra that installs it."""

    target: str
    extra: str | None = None


known_implementations: dict[str, Implementation] = {
    "memory": Implementation("fakewatch.ports.memory:MemoryStore"),
    "file": Implementation("fakewatch.ports.local:LocalStore"),
    "s3": Implementation("fakewatch_aws.store:S3Store", "aws"),
    "gs": Implementation("fakewatch_gcp.store:GcsStore", "gcp"),
    "az": Implementation("fakewatch_azure.store:BlobStore", "azure"),
}

_classes: dict[str, type[ObjectStore]] = {}
_instances: dict[tuple[str, tuple[tuple[str, Hashable], ...]], ObjectStore] = {}
_lock = threading.Lock()


def register(
    scheme: str,
    target: str | type[ObjectStore],
    extra: str | None = None,
    *,
    clobber: bool = False,
) -> None:
    """Make ``scheme`` open ``target``: a store class, or ``"module:Class"`` imported lazily."""
    with _lock:
        if not clobber and scheme in known_implementations | _classes:
            raise ValueError(f"scheme {scheme!r} is already registered (pass clobber=True)")
        _classes.pop(scheme, None)
        _drop_instances(scheme)
        if isinstance(target, str):
            known_implementations[scheme] = Implementation(target, extra)
        else:
            _classes[scheme] = target
            known_implementations[scheme] = Implementation(
                f"{target.__module__}:{target.__qualname__}", extra
            )


def get_store_class(scheme: str) -> type[ObjectStore]:
    """The store class for ``scheme``, imported now. Raises ValueError or ImportError."""
    with _lock:
        if scheme in _classes:
            return _classes[scheme]
        try:
            impl = known_implementations[scheme]
        except KeyError:
            known = ", ".join(sorted(known_implementations))
            raise ValueError(f"no object store for scheme {scheme!r} (known: {known})") from None
        cls = _import(scheme, impl)
        _classes[scheme] = cls
        return cls


def get_store(scheme: str, **kw: Any) -> ObjectStore:
    """A store for ``scheme`` built with ``kw``; one shared instance per scheme and arguments
    (clients are expensive: a function reuses them across invocations)."""
    try:
        cache_key = (scheme, tuple(sorted((k, _hashable(v)) for k, v in kw.items())))
    except TypeError:  # an unhashable argument: build a fresh store
        return get_store_class(scheme)(**kw)
    with _lock:
        if cache_key in _instances:
            return _instances[cache_key]
    store = get_store_class(scheme)(**kw)
    with _lock:
        return _instances.setdefault(cache_key, store)


def open_uri(uri: str, **kw: Any) -> tuple[ObjectStore, str, str]:
    """``"s3://bucket/key"`` → (the store, ``"bucket"``, ``"key"``). ``kw`` go to the store."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in uri:
        raise ValueError(f"{uri!r} is not a store URI such as s3://bucket/key")
    if scheme == "file":
        return _open_file_uri(uri, **kw)
    bucket, key = parts.netloc, unquote(parts.path.removeprefix("/"))
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return get_store(scheme, **kw), bucket, key


def clear_cache() -> None:
    """Forget the shared store instances (tests; re-reading credentials)."""
    with _lock:
        _instances.clear()


# -- internals --------------------------------------------------------------------------------
def _import(scheme: str, impl: Implementation) -> type[ObjectStore]:
    module_name, _, class_name = impl.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f'pip install "fakewatch[{impl.extra}]"' if impl.extra else "check the install"
        raise ImportError(
            f"the {scheme}:// object store needs {module_name}, which failed to import "
            f"({exc}); install it with: {hint}",
            name=exc.name,
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, ObjectStore)):
        raise ImportError(f"{impl.target} is not an ObjectStore class")
    return cls


def _hashable(value: Any) -> Hashable:
    hash(value)
    return value


def _drop_instances(scheme: str) -> None:
    for cache_key in [k for k in _instances if k[0] == scheme]:
        del _instances[cache_key]


def _open_file_uri(uri: str, **kw: Any) -> tuple[ObjectStore, str, str]:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"{uri!r}: file URIs name a local path (file:///abs/path)")
    raw = unquote(parts.path)
    trailing = raw.endswith("/")
    path = PurePosixPath(raw)
    if not path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{uri!r}: a file URI needs an absolute path without '..'")
    root = kw.pop("root", None)
    if root is not None:
        root_path = PurePosixPath(str(root))
        try:
            rel = path.relative_to(root_path).parts
        except ValueError:
            raise ValueError(f"{uri!r} is not under the store root {root}") from None
        if not rel:
            raise ValueError(f"{uri!r} names the store root, not a bucket")
        bucket, key = rel[0], "/".join(rel[1:])
    elif trailing:
        root_path, bucket, key = path.parent, path.name, ""
    else:
        root_path, bucket, key = path.parent.parent, path.parent.name, path.name
    if trailing and key:
        key += "/"
    return get_store("file", root=str(root_path), **kw), bucket, key
