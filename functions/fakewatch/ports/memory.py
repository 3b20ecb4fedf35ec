"""In-memory implementations of every port: for tests, notebooks and the embedded default.

They model the clouds' semantics, not a convenient subset: buckets must exist, a put replaces
the object's tags (as S3 does), ETags are the MD5 hex of the content (S3 single-part uploads),
``if_absent`` is atomic, and every object carries a version that moves on with each write (a
GCS generation). All of them are thread-safe.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from fakewatch.errors import ObjectChanged, ObjectNotFound, PreconditionFailed
from fakewatch.ports.audit import GENESIS, AuditSink, chain_entry
from fakewatch.ports.escalation import (
    EscalationClient,
    EscalationJob,
    EscalationRequest,
    JobQueue,
)
from fakewatch.ports.notify import NotificationSink, encode_event
from fakewatch.ports.store import ObjectInfo, ObjectStore, check_key, check_tags, limit_size
from fakewatch.signals.base import SignalResult


@dataclass
class _Object:
    data: bytes
    etag: str
    version: str
    content_type: str | None
    metadata: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))

    def info(self, bucket: str, key: str) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(self.data),
            etag=self.etag,
            version=self.version,
            content_type=self.content_type,
            last_modified=self.last_modified,
            metadata=dict(self.metadata),
        )


class MemoryStore(ObjectStore):
    """Buckets of objects in a dict. ``MemoryStore(buckets=["in", "out"])`` creates them."""

    scheme: ClassVar[str] = "memory"

    def __init__(self, buckets: Iterable[str] = ()) -> None:
        self._buckets: dict[str, dict[str, _Object]] = {}
        self._lock = threading.RLock()
        self._versions = 0
        for bucket in buckets:
            self.make_bucket(bucket)

    def make_bucket(self, bucket: str) -> None:
        """Create a bucket (idempotent)."""
        if not bucket or "/" in bucket:
            raise ValueError(f"invalid bucket name {bucket!r}")
        with self._lock:
            self._buckets.setdefault(bucket, {})

    # -- primitives ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        with self._lock:
            return self._object(bucket, key).info(bucket, key)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        with self._lock:
            obj = self._object(bucket, key)
        if if_match is not None and obj.etag != if_match:
            raise ObjectChanged(f"{self.uri(bucket, key)} has ETag {obj.etag}, not {if_match}")
        limit_size(len(obj.data), max_bytes)
        return obj.data

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
        check_key(key)
        body = bytes(data)
        with self._lock:
            objects = self._bucket(bucket)
            if if_absent and key in objects:
                raise PreconditionFailed(f"{self.uri(bucket, key)} already exists")
            obj = _Object(
                data=body,
                etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
                version=self._next_version(),
                content_type=content_type,
                metadata=dict(metadata or {}),
            )
            objects[key] = obj
            return obj.info(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            self._bucket(bucket).pop(key, None)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        check_key(dst_key)
        with self._lock:
            src = self._object(src_bucket, src_key)
            objects = self._bucket(dst_bucket)
            obj = _Object(
                data=src.data,
                etag=src.etag,
                version=self._next_version(),
                content_type=src.content_type,
                metadata=dict(src.metadata),
                tags=dict(src.tags),  # S3's default TaggingDirective is COPY
            )
            objects[dst_key] = obj
            return obj.info(dst_bucket, dst_key)

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._object(bucket, key).tags)

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(tags)
        with self._lock:
            self._object(bucket, key).tags = checked

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            objects = self._bucket(bucket)
            infos = [o.info(bucket, k) for k, o in objects.items() if k.startswith(prefix)]
        return iter(sorted(infos, key=lambda info: info.key))

    # -- internals ----------------------------------------------------------------------------
    def _bucket(self, bucket: str) -> dict[str, _Object]:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise ObjectNotFound(f"bucket {self.scheme}://{bucket} does not exist") from None

    def _object(self, bucket: str, key: str) -> _Object:
        try:
            return self._bucket(bucket)[key]
        except KeyError:
            raise ObjectNotFound(f"{self.uri(bucket, key)} does not exist") from None

    def _next_version(self) -> str:
        self._versions += 1
        return str(self._versions)


class MemoryAuditLog(AuditSink):
    """The hash-chained audit log in a list (lost when the process ends)."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            prev = self._entries[-1]["hash"] if self._entries else GENESIS
            entry = chain_entry(len(self._entries), prev, record)
            self._entries.append(entry)
            return dict(entry)

    def entries(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            snapshot = [dict(e) for e in self._entries]
        return iter(snapshot)

    def replace_entry(self, seq: int, entry: Mapping[str, Any]) -> None:
        """Overwrite an entry in place: only for tests that prove tampering is detected."""
        with self._lock:
            self._entries[seq] = dict(entry)


class MemoryNotificationSink(NotificationSink):
    """Keeps published events in ``events``, in publication order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def publish(self, event: Mapping[str, Any]) -> None:
        doc = json.loads(encode_event(event))  # the same checks and copy a real sink makes
        with self._lock:
            self.events.append(doc)


class CallableEscalationClient(EscalationClient):
    """Escalation to a function in this process: a local model, or a fake endpoint in tests."""

    def __init__(
        self, fn: Callable[[EscalationRequest], SignalResult], name: str = "callable"
    ) -> None:
        self._fn = fn
        self.name = name

    def escalate(self, request: EscalationRequest) -> SignalResult:
        return self._fn(request)


class MemoryJobQueue(JobQueue):
    """Escalation jobs kept in a list (tests, and the in-process demo)."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.jobs: list[EscalationJob] = []

    def send(self, job: EscalationJob) -> None:
        self.jobs.append(job)
