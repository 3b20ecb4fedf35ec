"""The object-store port: a few primitives, and behaviour derived from them (fsspec style).

Backends implement the abstract primitives and translate their SDK's errors into
:mod:`fakewatch.errors` (cause kept). Everything else — ``exists``, ``update_tags``, ``move``,
JSON helpers — is derived here once, for every backend.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from fakewatch.errors import FakewatchError, LimitExceeded, ObjectNotFound, PreconditionFailed

MAX_TAGS = 10  # S3 and Azure blob index tags both allow 10 per object
MAX_TAG_KEY = 128  # characters, S3 and Azure
MAX_TAG_VALUE = 256
MAX_KEY_BYTES = 1024  # S3, GCS and Azure all stop at 1,024 bytes of UTF-8
# The characters S3 *and* Azure blob index tags both accept (S3 also takes other letters).
_TAG_TEXT = re.compile(r"[A-Za-z0-9 +\-./:=_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidKey(FakewatchError, ValueError):
    """An object key no backend can store safely (empty, too long, control characters,
    or a path that escapes its bucket on a filesystem)."""


def check_key(key: str) -> str:
    """Reject keys that are not portable across S3, GCS and Azure; return the key."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"object key must be a non-empty string, not {key!r}")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is longer than {MAX_KEY_BYTES} bytes of UTF-8")
    if _CONTROL.search(key):
        raise InvalidKey(f"object key {key!r} contains a control character")
    return key


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Validate tags against the rules S3 and Azure share; return them as a plain dict.

    At most MAX_TAGS, keys 1-128 and values 0-256 characters of letters, digits, space and
    ``+ - . / : = _``, and no ``aws:`` prefix. Raises ValueError naming the offending tag.
    """
    checked = {str(k): str(v) for k, v in tags.items()}
    if len(checked) > MAX_TAGS:
        raise ValueError(f"{len(checked)} tags given; an object may carry at most {MAX_TAGS}")
    for k, v in checked.items():
        if not 0 < len(k) <= MAX_TAG_KEY or not _TAG_TEXT.fullmatch(k):
            raise ValueError(f"tag key {k!r}: 1-{MAX_TAG_KEY} of letters, digits, ' +-./:=_'")
        if len(v) > MAX_TAG_VALUE or not _TAG_TEXT.fullmatch(v):
            raise ValueError(
                f"tag {k!r} value {v!r}: 0-{MAX_TAG_VALUE} of letters, digits, ' +-./:=_'"
            )
        if k.lower().startswith("aws:"):
            raise ValueError(f"tag key {k!r}: the aws: prefix is reserved")
    return checked


def limit_size(size: int, max_bytes: int | None) -> None:
    """Raise LimitExceeded("bytes", ...) when ``size`` is over ``max_bytes``."""
    if max_bytes is not None and size > max_bytes:
        raise LimitExceeded("bytes", size, max_bytes)


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about an object, without its content."""

    bucket: str
    key: str
    size: int
    etag: str | None = None
    version: str | None = None  # S3 VersionId, GCS generation, Azure version id
    content_type: str | None = None
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectStore(ABC):
    """A bucket-and-key store. ``scheme`` is the URI scheme (``s3``, ``gs``, ``az``, ...)."""

    scheme: ClassVar[str]

    # -- primitives ---------------------------------------------------------------------------
    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Describe an object. Raises ObjectNotFound."""

    @abstractmethod
    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        """Read a whole object.

        ``max_bytes``: raise LimitExceeded("bytes", ...) rather than read more than this.
        ``if_match``: an ETag; raise ObjectChanged if the object no longer has it.
        Raises ObjectNotFound.
        """

    @abstractmethod
    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> ObjectInfo:
        """Write an object. With ``if_absent`` the write is write-once: PreconditionFailed
        if the key already exists (atomically, on the server, where the cloud supports it)."""

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Delete an object; deleting a missing object is not an error."""

    @abstractmethod
    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        """Server-side copy, content and metadata. Raises ObjectNotFound."""

    @abstractmethod
    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        """The object's tags (S3 tags, GCS custom metadata, Azure blob index tags)."""

    @abstractmethod
    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace the object's tags. Raises ObjectNotFound."""

    @abstractmethod
    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under a prefix, in key order."""

    # -- derived behaviour --------------------------------------------------------------------
    def uri(self, bucket: str, key: str) -> str:
        return f"{self.scheme}://{bucket}/{key}"

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def update_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> dict[str, str]:
        """Merge ``tags`` into the object's tags, keeping other tools' tags, within MAX_TAGS."""
        merged = {**self.get_tags(bucket, key), **tags}
        if len(merged) > MAX_TAGS:
            foreign = [k for k in merged if k not in tags]
            for k in foreign[: len(merged) - MAX_TAGS]:
                merged.pop(k)
        self.set_tags(bucket, key, merged)
        return merged

    def move(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        """Copy, check the copy, then delete the source: never lose an object."""
        source = self.head(src_bucket, src_key)
        copied = self.copy(src_bucket, src_key, dst_bucket, dst_key)
        check = self.head(dst_bucket, dst_key)
        if check.size != source.size:
            raise OSError(
                f"copy of {self.uri(src_bucket, src_key)} is {check.size} bytes, "
                f"not {source.size}: source kept"
            )
        self.delete(src_bucket, src_key)
        return copied

    def get_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.get(bucket, key))

    def put_json(self, bucket: str, key: str, doc: Any, *, if_absent: bool = False) -> ObjectInfo:
        body = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode()
        return self.put(bucket, key, body, content_type="application/json", if_absent=if_absent)

    def put_once(self, bucket: str, key: str, data: bytes, **kw: Any) -> bool:
        """Write-once put; False when the key was already there (a duplicate delivery)."""
        try:
            self.put(bucket, key, data, if_absent=True, **kw)
        except PreconditionFailed:
            return False
        return True
