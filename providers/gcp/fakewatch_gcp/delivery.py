"""Storage CloudEvents in the exact shape Eventarc POSTs them, and their delivery over HTTP.

Used by the local runner (new objects in the emulator), by backfill (existing objects) and by
the tests. The event is built from the object's JSON API resource — which is what Eventarc's
``data`` is — and POSTed to the function in binary content mode, as Eventarc does::

    POST /   ce-specversion: 1.0   ce-type: google.cloud.storage.object.v1.finalized
             ce-source: //storage.googleapis.com/projects/_/buckets/BUCKET
             ce-subject: objects/NAME   ce-id: ...   ce-time: ...
             Content-Type: application/json; charset=utf-8
    {"bucket": ..., "name": ..., "generation": "...", "size": "...", "md5Hash": ..., ...}
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakewatch_gcp.events import FINALIZED, SOURCE_PREFIX

# The object resource fields Eventarc forwards in a storage event's data.
DATA_FIELDS = (
    "kind", "id", "selfLink", "name", "bucket", "generation", "metageneration", "contentType",
    "timeCreated", "updated", "storageClass", "timeStorageClassUpdated", "size", "md5Hash",
    "mediaLink", "contentEncoding", "contentDisposition", "contentLanguage", "cacheControl",
    "metadata", "crc32c", "componentCount", "etag", "customerEncryption", "kmsKeyName",
    "eventBasedHold", "temporaryHold", "retentionExpirationTime", "customTime",
)  # fmt: skip
_INT64 = ("generation", "metageneration", "size")


@dataclass(frozen=True)
class HttpEvent:
    """A CloudEvent ready to POST: headers and body bytes."""

    headers: dict[str, str]
    body: bytes


def object_data(resource: Mapping[str, Any]) -> dict[str, Any]:
    """StorageObjectData from an object resource (int64 fields as strings, as Eventarc sends)."""
    data = {k: resource[k] for k in DATA_FIELDS if resource.get(k) is not None}
    for key in _INT64:
        if key in data:
            data[key] = str(data[key])
    if isinstance(data.get("metadata"), Mapping):
        data["metadata"] = {k: v for k, v in data["metadata"].items() if v is not None}
    return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def binary_event(
    data: Mapping[str, Any],
    *,
    event_type: str = FINALIZED,
    event_id: str | None = None,
    time: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> HttpEvent:
    """A storage CloudEvent in binary content mode (``ce-*`` headers, body = data)."""
    headers = {
        "ce-specversion": "1.0",
        "ce-type": event_type,
        "ce-source": f"{SOURCE_PREFIX}{data['bucket']}",
        "ce-subject": f"objects/{data['name']}",
        "ce-id": event_id or uuid.uuid4().hex,
        "ce-time": time or str(data.get("updated") or _now()),
        "Content-Type": "application/json; charset=utf-8",
        **dict(extra_headers or {}),
    }
    return HttpEvent(headers, json.dumps(dict(data), ensure_ascii=False).encode())


def structured_event(
    data: Mapping[str, Any],
    *,
    event_type: str = FINALIZED,
    event_id: str | None = None,
    time: str | None = None,
) -> HttpEvent:
    """The same event in structured content mode (``application/cloudevents+json``)."""
    doc = {
        "specversion": "1.0",
        "type": event_type,
        "source": f"{SOURCE_PREFIX}{data['bucket']}",
        "subject": f"objects/{data['name']}",
        "id": event_id or uuid.uuid4().hex,
        "time": time or str(data.get("updated") or _now()),
        "datacontenttype": "application/json",
        "data": dict(data),
    }
    body = json.dumps(doc, ensure_ascii=False).encode()
    return HttpEvent({"Content-Type": "application/cloudevents+json; charset=utf-8"}, body)


def post(url: str, event: HttpEvent, *, timeout_s: float = 120.0, token: str | None = None) -> int:
    """POST one event; the HTTP status (2xx: done, anything else: Eventarc would retry)."""
    import requests

    headers = dict(event.headers)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.post(url, data=event.body, headers=headers, timeout=timeout_s)
    return response.status_code


def deliver(
    url: str,
    event: HttpEvent,
    *,
    attempts: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 120.0,
    token: str | None = None,
) -> int:
    """POST until a 2xx, like Eventarc's retries but bounded; the last status."""
    import requests

    status = 0
    for attempt in range(attempts):
        try:
            status = post(url, event, timeout_s=timeout_s, token=token)
        except requests.RequestException:
            status = 0
        if 200 <= status < 300:
            return status
        time.sleep(backoff_s * 2**attempt)
    return status


__all__ = ["HttpEvent", "binary_event", "deliver", "object_data", "post", "structured_event"]
