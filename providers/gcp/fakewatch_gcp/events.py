"""Cloud Storage CloudEvents as Eventarc delivers them, read-only and typed (Powertools style).

Eventarc POSTs ``google.cloud.storage.object.v1.*`` CloudEvents to the function, in binary
content mode (``ce-*`` headers, body = the object resource) or structured mode
(``application/cloudevents+json``, the same attributes and a ``data`` member). The body is a
``StorageObjectData``: the JSON API object resource, with int64 fields (``generation``,
``metageneration``, ``size``) as strings — Google's own test data also has them as numbers,
so both are read.

Only ``finalized`` (a new object or a new generation) is scanned. ``deleted``, ``archived``
and ``metadataUpdated`` — the last is what the scanner's own tagging fires — are ignored
explicitly and logged, as is any other type. A payload that claims to be a storage event but
does not name a bucket and an object is :class:`MalformedEvent`: permanent, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakewatch.errors import FakewatchError
from fakewatch.service import ObjectEvent

log = logging.getLogger(__name__)

FINALIZED = "google.cloud.storage.object.v1.finalized"
DELETED = "google.cloud.storage.object.v1.deleted"
ARCHIVED = "google.cloud.storage.object.v1.archived"
METADATA_UPDATED = "google.cloud.storage.object.v1.metadataUpdated"
STORAGE_TYPES = (FINALIZED, DELETED, ARCHIVED, METADATA_UPDATED)
SOURCE_PREFIX = "//storage.googleapis.com/projects/_/buckets/"
EVENT_SOURCE = "gcp.eventarc"


class MalformedEvent(FakewatchError, ValueError):
    """A storage CloudEvent without the fields a scan needs: logged, never retried."""


def _int(value: Any, field: str) -> int | None:
    """An int64 the way proto3 JSON carries it: a decimal string, or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedEvent(f"{field} is a boolean, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise MalformedEvent(f"{field} {value!r} is not an integer")


@dataclass(frozen=True)
class StorageObjectData:
    """The ``data`` of a Cloud Storage event: the object's resource as GCS describes it."""

    raw: Mapping[str, Any]

    @property
    def bucket(self) -> str:
        return _text(self.raw, "bucket")

    @property
    def name(self) -> str:
        return _text(self.raw, "name")

    @property
    def generation(self) -> int | None:
        return _int(self.raw.get("generation"), "generation")

    @property
    def metageneration(self) -> int | None:
        return _int(self.raw.get("metageneration"), "metageneration")

    @property
    def size(self) -> int | None:
        return _int(self.raw.get("size"), "size")

    @property
    def md5_hash(self) -> str | None:
        return _optional_text(self.raw, "md5Hash")

    @property
    def crc32c(self) -> str | None:
        return _optional_text(self.raw, "crc32c")

    @property
    def etag(self) -> str | None:
        return _optional_text(self.raw, "etag")

    @property
    def content_type(self) -> str | None:
        return _optional_text(self.raw, "contentType")

    @property
    def time_created(self) -> str | None:
        return _optional_text(self.raw, "timeCreated")

    @property
    def metadata(self) -> dict[str, str]:
        meta = self.raw.get("metadata") or {}
        return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, Mapping) else {}


@dataclass(frozen=True)
class StorageCloudEvent:
    """A CloudEvent's context attributes and its storage object data."""

    id: str
    type: str
    source: str
    subject: str | None
    time: str | None
    data: Any

    @property
    def source_bucket(self) -> str | None:
        """The bucket ``ce-source`` names (``//storage.googleapis.com/projects/_/buckets/B``)."""
        if self.source.startswith(SOURCE_PREFIX):
            return self.source[len(SOURCE_PREFIX) :] or None
        return None

    @property
    def object_data(self) -> StorageObjectData:
        if not isinstance(self.data, Mapping):
            raise MalformedEvent(
                f"event {self.id}: data is {type(self.data).__name__}, not a storage object"
            )
        return StorageObjectData(self.data)


def from_cloud_event(event: Any) -> StorageCloudEvent:
    """Read a ``cloudevents`` CloudEvent (what functions-framework passes) or a structured-mode
    JSON mapping into a :class:`StorageCloudEvent`."""
    if isinstance(event, Mapping):
        attrs: Mapping[str, Any] = event
        data = event.get("data")
    else:
        attrs = event.get_attributes()
        data = event.get_data()
    missing = [k for k in ("id", "type", "source") if not attrs.get(k)]
    if missing:
        raise MalformedEvent(f"not a CloudEvent: missing {', '.join(missing)}")
    return StorageCloudEvent(
        id=str(attrs["id"]),
        type=str(attrs["type"]),
        source=str(attrs["source"]),
        subject=_opt(attrs.get("subject")),
        time=_opt(attrs.get("time")),
        data=data,
    )


def parse_cloud_event(event: Any) -> list[ObjectEvent]:
    """The objects to scan in one CloudEvent: one for ``finalized``, none for anything else."""
    ce = from_cloud_event(event)
    if ce.type != FINALIZED:
        kind = "storage" if ce.type in STORAGE_TYPES else "unexpected"
        log.info(
            "ignoring %s event type %s",
            kind,
            ce.type,
            extra={"cloudevent_id": ce.id, "event_type": ce.type},
        )
        return []
    obj = ce.object_data
    bucket, name = obj.bucket, obj.name
    if ce.source_bucket is not None and ce.source_bucket != bucket:
        raise MalformedEvent(
            f"event {ce.id}: source names bucket {ce.source_bucket!r}, data names {bucket!r}"
        )
    if ce.subject is not None and ce.subject != f"objects/{name}":
        raise MalformedEvent(f"event {ce.id}: subject {ce.subject!r} is not objects/{name}")
    generation = obj.generation
    return [
        ObjectEvent(
            bucket=bucket,
            key=name,
            etag=_content_etag(obj),
            version=None if generation is None else str(generation),
            size=obj.size,
            event_id=ce.id,
            event_time=ce.time or obj.time_created,
            source=EVENT_SOURCE,
        )
    ]


def _content_etag(obj: StorageObjectData) -> str | None:
    from fakewatch_gcp.store import content_etag  # same notion of ETag as the store

    return content_etag(obj.md5_hash, obj.crc32c)


def _text(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"storage object data has no {field}")
    return value


def _optional_text(raw: Mapping[str, Any], field: str) -> str | None:
    value = raw.get(field)
    return value if isinstance(value, str) and value else None


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = [
    "DELETED",
    "FINALIZED",
    "METADATA_UPDATED",
    "MalformedEvent",
    "StorageCloudEvent",
    "StorageObjectData",
    "from_cloud_event",
    "parse_cloud_event",
]
