"""Backfill and rescan: existing blobs of a container (or prefix) through the same event path.

Storage events exist only for blobs written after the subscription. For the rest — a
container attached to fakewatch late, or blobs scanned by an older model or policy — this
builds the very ``Microsoft.Storage.BlobCreated`` event Event Grid would have sent for each
selected blob (``data.api`` = ``FakewatchBackfill``, so the verdict's source says where it
came from) and delivers it one of two ways:

- ``topic``: published to an Event Grid custom topic whose subscription targets the same
  ``scan_blob`` function — the scans run in Azure, with Event Grid's retries and
  dead-lettering, exactly like live uploads;
- ``local``: the registered ``scan_blob`` function called in this process, as the local
  runner does (small containers, emulators, or an operator's one-off rescan).

Which blobs: ``all``; ``stale`` — those whose ``fakewatch-fingerprint`` tag is not the
current scanner's fingerprint (never scanned, or scanned by another model/policy version);
``untagged`` — those with no ``fakewatch-label`` tag at all. Redelivering an unchanged blob
to an unchanged scanner is harmless: its verdict key exists and the event is a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fakewatch.ports.store import ObjectInfo
from fakewatch.service import TAG_FINGERPRINT, TAG_LABEL
from fakewatch_azure.events import BACKFILL_API
from fakewatch_azure.local import Delivery, blob_created, deliver
from fakewatch_azure.store import BlobStore

log = logging.getLogger(__name__)

MODES = ("all", "stale", "untagged")
BATCH = 100  # events per publish call (Event Grid takes up to 1 MB per request)


def wanted(store: BlobStore, info: ObjectInfo, mode: str, fingerprint: str | None) -> bool:
    """Whether ``info`` is selected by ``mode``."""
    if mode == "all":
        return True
    tags = store.get_tags(info.bucket, info.key)
    if mode == "untagged":
        return TAG_LABEL not in tags
    if mode == "stale":
        if not fingerprint:
            raise ValueError("mode 'stale' needs the current scanner's fingerprint")
        return tags.get(TAG_FINGERPRINT) != fingerprint
    raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


def select(
    store: BlobStore, container: str, prefix: str = "", *, mode: str, fingerprint: str | None
) -> Iterator[ObjectInfo]:
    for info in store.list(container, prefix):
        if wanted(store, info, mode, fingerprint):
            yield info


def backfill_events(
    store: BlobStore,
    container: str,
    prefix: str = "",
    *,
    mode: str = "stale",
    fingerprint: str | None = None,
    schema: str = "eventgrid",
) -> Iterator[dict[str, Any]]:
    """The BlobCreated event of every selected blob, in ``schema``."""
    for info in select(store, container, prefix, mode=mode, fingerprint=fingerprint):
        yield blob_created(store, info, schema=schema, api=BACKFILL_API)


def for_custom_topic(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a custom topic accepts it: Event Grid sets ``topic`` itself."""
    return {k: v for k, v in event.items() if k != "topic"}


def publish(events: Iterable[dict[str, Any]], client: Any, batch: int = BATCH) -> int:
    """Send events to a topic with an ``EventGridPublisherClient``; how many were sent."""
    sent, pending = 0, []
    for event in events:
        pending.append(for_custom_topic(event))
        if len(pending) >= batch:
            client.send(pending)
            sent, pending = sent + len(pending), []
    if pending:
        client.send(pending)
        sent += len(pending)
    return sent


def deliver_local(
    events: Iterable[dict[str, Any]], function: Callable[..., Any], attempts: int = 3
) -> list[Delivery]:
    """Call the function for each event, retrying 500s like Event Grid (without the wait)."""
    results = []
    for event in events:
        for attempt in range(attempts):
            result = deliver(function, event, attempt)
            if result.status < 300:
                break
        results.append(result)
    return results


__all__ = ["MODES", "backfill_events", "deliver_local", "publish", "select", "wanted"]
