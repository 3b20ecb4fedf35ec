"""Event Grid storage events → the core's :class:`ObjectEvent`, other events ignored out loud.

Both schemas an Event Grid subscription can deliver are read (fixtures of each are in
``tests/events/azure/``):

* the **Event Grid schema** (``eventType``, ``eventTime``, ``topic``, ``dataVersion``), which
  the Functions host turns into ``azure.functions.EventGridEvent``;
* the **CloudEvents 1.0 schema** (``type``, ``time``, ``source``, ``specversion``), which it
  turns into ``azure.functions.CloudEvent``;

as those objects, as plain dicts, or as the JSON array Event Grid POSTs.

``Microsoft.Storage.BlobCreated`` becomes an ObjectEvent: container and blob name from the
``subject`` (``/blobServices/default/containers/<c>/blobs/<name>``, falling back to
``data.url``), ETag from ``data.eTag``, size from ``data.contentLength``. Not scanned, each
with a logged reason: Data Lake ``CreateFile`` and SFTP ``SftpCreate`` (the zero-length
placeholder a file starts as: its ``FlushWithClose``/``SftpCommit`` event follows with the
content), ``BlobDeleted``, ``BlobTierChanged``, ``AsyncOperationInitiated``, renames,
directory and policy events, and Event Grid's subscription validation (which the Functions
host answers itself). A payload that is none of these raises :class:`MalformedEvent`.

Typed read-only views (Powertools' event source data classes style):
:class:`StorageEvent` over either schema and :class:`BlobEventData` over its ``data``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from fakewatch.errors import FakewatchError
from fakewatch.service import ObjectEvent

log = logging.getLogger("fakewatch_azure.events")

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
# APIs whose BlobCreated event announces an empty placeholder, not the content.
PLACEHOLDER_APIS = frozenset({"CreateFile", "SftpCreate"})
BACKFILL_API = "FakewatchBackfill"  # what fakewatch_azure.backfill writes in data.api
SOURCE_EVENTGRID = "azure:eventgrid"
SOURCE_CLOUDEVENTS = "azure:cloudevents"
SOURCE_BACKFILL = "fakewatch:backfill"

_SUBJECT = re.compile(r"^/?blobServices/default/containers/(?P<c>[^/]+)/blobs/(?P<b>.+)$")
_ACCOUNT = re.compile(r"/storageAccounts/(?P<a>[^/]+)", re.IGNORECASE)


class MalformedEvent(FakewatchError, ValueError):
    """A payload that is not an event this function understands (permanent: not retried)."""


class BlobEventData(dict[str, Any]):
    """Read-only view of a storage event's ``data`` (StorageBlobCreatedEventData)."""

    @property
    def api(self) -> str:
        return str(self.get("api") or "")

    @property
    def etag(self) -> str | None:
        value = self.get("eTag")
        return str(value) if value else None

    @property
    def content_length(self) -> int | None:
        value = self.get("contentLength")
        if value is None or isinstance(value, bool):
            return None
        try:
            size = int(value)
        except (TypeError, ValueError):
            raise MalformedEvent(f"data.contentLength {value!r} is not a number") from None
        if size < 0:
            raise MalformedEvent(f"data.contentLength {size} is negative")
        return size

    @property
    def url(self) -> str | None:
        value = self.get("url") or self.get("blobUrl")
        return str(value) if value else None

    @property
    def content_type(self) -> str | None:
        return self.get("contentType")

    @property
    def blob_type(self) -> str | None:
        return self.get("blobType")

    @property
    def sequencer(self) -> str | None:
        return self.get("sequencer")


class StorageEvent(dict[str, Any]):
    """Read-only view of one Event Grid event in either schema."""

    @property
    def is_cloud_event(self) -> bool:
        return "specversion" in self

    @property
    def id(self) -> str | None:
        value = self.get("id")
        return str(value) if value else None

    @property
    def type(self) -> str:
        return str(self.get("type") if self.is_cloud_event else self.get("eventType") or "")

    @property
    def time(self) -> str | None:
        value = self.get("time") if self.is_cloud_event else self.get("eventTime")
        return value.isoformat() if isinstance(value, datetime) else value

    @property
    def source(self) -> str:
        """The storage account's resource id (``topic`` / CloudEvents ``source``)."""
        return str(self.get("source") if self.is_cloud_event else self.get("topic") or "")

    @property
    def account(self) -> str | None:
        match = _ACCOUNT.search(self.source)
        return match.group("a") if match else None

    @property
    def subject(self) -> str:
        return str(self.get("subject") or "")

    @property
    def data(self) -> BlobEventData:
        raw = self.get("data")
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise MalformedEvent("event data is not JSON") from None
        if not isinstance(raw, Mapping):
            raise MalformedEvent(f"{self.type or 'event'} data must be a JSON object")
        return BlobEventData(raw)

    def blob(self) -> tuple[str, str]:
        """(container, blob name) from the subject, else from ``data.url``."""
        match = _SUBJECT.match(self.subject)
        if match:
            return match.group("c"), match.group("b")
        url = self.data.url
        if url:
            return blob_from_url(url)
        raise MalformedEvent(f"subject {self.subject!r} does not name a blob and data has no url")


def blob_from_url(url: str) -> tuple[str, str]:
    """(container, name) from a blob or dfs URL (path-style emulator URLs too)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    if not (parts.hostname or "").endswith(".core.windows.net"):
        _, _, path = path.partition("/")  # path-style (Azurite): /<account>/<container>/<name>
    container, _, name = path.partition("/")
    if not container or not name:
        raise MalformedEvent(f"url {url!r} does not name a blob")
    return container, name


def as_dict(event: Any) -> StorageEvent:
    """A StorageEvent from a dict, an ``azure.functions`` EventGridEvent or CloudEvent."""
    if isinstance(event, Mapping):
        return StorageEvent(event)
    if hasattr(event, "specversion"):  # azure.functions.CloudEvent
        return StorageEvent(
            id=event.id,
            type=event.type,
            source=event.source,
            subject=event.subject,
            time=event.time,
            specversion=event.specversion,
            data=event.get_json(),
        )
    if hasattr(event, "event_type"):  # azure.functions.EventGridEvent
        return StorageEvent(
            id=event.id,
            eventType=event.event_type,
            topic=event.topic,
            subject=event.subject,
            eventTime=event.event_time,
            dataVersion=event.data_version,
            data=event.get_json(),
        )
    raise MalformedEvent(f"not an Event Grid event: {type(event).__name__}")


def iter_events(payload: Any) -> Iterator[StorageEvent]:
    """Every event in a payload: one event, or the JSON array Event Grid POSTs."""
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise MalformedEvent("payload is not JSON") from None
    items = payload if isinstance(payload, Sequence) and not isinstance(payload, str) else [payload]
    for item in items:
        yield as_dict(item)


def ignored(reason: str, event: StorageEvent) -> list[ObjectEvent]:
    """Log an event that is deliberately not scanned, and return no ObjectEvents."""
    log.info(
        "ignoring event: %s (id %s)",
        reason,
        event.id,
        extra={"ignored": reason, "event_type": event.type},  # event_id: see logs.py
    )
    return []


def parse_storage_event(event: StorageEvent) -> list[ObjectEvent]:
    """One event → zero or one ObjectEvent (zero, logged, for everything but a new blob)."""
    kind = event.type
    if kind == SUBSCRIPTION_VALIDATION:
        return ignored("subscription validation is answered by the Functions host", event)
    if kind != BLOB_CREATED:
        if not kind.startswith("Microsoft.Storage."):
            raise MalformedEvent(f"event type {kind!r} is not a storage event")
        return ignored(f"{kind} does not announce new content", event)
    data = event.data
    if data.api in PLACEHOLDER_APIS:
        return ignored(f"{data.api} creates an empty placeholder; waiting for the commit", event)
    container, name = event.blob()
    return [
        ObjectEvent(
            bucket=container,
            key=name,
            etag=data.etag,
            size=data.content_length,
            event_id=event.id,
            event_time=event.time,
            source=_source(event, data),
        )
    ]


def _source(event: StorageEvent, data: BlobEventData) -> str:
    if data.api == BACKFILL_API:
        return SOURCE_BACKFILL
    return SOURCE_CLOUDEVENTS if event.is_cloud_event else SOURCE_EVENTGRID


def parse_events(payload: Any) -> list[ObjectEvent]:
    """Every new blob a payload announces (one event, a list, or Event Grid's JSON array)."""
    found: list[ObjectEvent] = []
    for event in iter_events(payload):
        found += parse_storage_event(event)
    return found


__all__ = [
    "BACKFILL_API",
    "BLOB_CREATED",
    "BlobEventData",
    "MalformedEvent",
    "StorageEvent",
    "as_dict",
    "blob_from_url",
    "iter_events",
    "parse_events",
    "parse_storage_event",
]
