"""Backfill and rescan: deliver existing objects to the function through the event path.

Each selected object is POSTed to the function as the ``finalized`` CloudEvent Eventarc would
have sent for it (built from the object's own resource), so the function does exactly what it
does for a fresh upload, and Cloud Run's own autoscaling fans the work out across instances.
Selection:

- ``all``: every object under the prefix;
- ``stale``: objects whose ``fakewatch-fingerprint`` differs from the current scanner's
  (scanned by an older model, policy or pipeline) or that carry none;
- ``untagged``: objects never scanned (no ``fakewatch-fingerprint``).

Redelivering an object already scanned by this scanner is harmless: its verdict's ``.done``
marker makes the function answer "duplicate" without scanning or writing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from fakewatch.service import TAG_FINGERPRINT
from fakewatch_gcp.delivery import binary_event, deliver, object_data
from fakewatch_gcp.store import PROBE_PREFIX, custom_metadata, split_metadata

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client

log = logging.getLogger(__name__)


class Mode(StrEnum):
    ALL = "all"
    STALE = "stale"
    UNTAGGED = "untagged"


@dataclass
class BackfillReport:
    selected: int = 0
    delivered: int = 0
    failed: list[tuple[str, int]] = field(default_factory=list)
    skipped: int = 0


def wanted(blob: Blob, mode: Mode, fingerprint: str | None) -> bool:
    tags, _ = split_metadata(custom_metadata(blob))
    scanned_by = tags.get(TAG_FINGERPRINT)
    if mode is Mode.ALL:
        return True
    if mode is Mode.UNTAGGED:
        return scanned_by is None
    if fingerprint is None:
        raise ValueError("mode 'stale' needs the current scanner's fingerprint")
    return scanned_by != fingerprint


def select(
    client: Client, bucket: str, prefix: str, mode: Mode, fingerprint: str | None
) -> Iterator[dict[str, Any]]:
    """The resources of the objects to deliver, in listing order."""
    for blob in client.list_blobs(bucket, prefix=prefix or None):
        if blob.name.startswith(PROBE_PREFIX):
            continue
        if wanted(blob, mode, fingerprint):
            yield dict(blob._properties)


def backfill(
    client: Client,
    bucket: str,
    url: str,
    *,
    prefix: str = "",
    mode: Mode = Mode.STALE,
    fingerprint: str | None = None,
    workers: int = 4,
    token: str | None = None,
    dry_run: bool = False,
    attempts: int = 5,
) -> BackfillReport:
    """Deliver the selected objects of ``gs://bucket/prefix`` to the function at ``url``."""
    report = BackfillReport()
    run = uuid.uuid4().hex[:12]
    resources = list(select(client, bucket, prefix, mode, fingerprint))
    report.selected = len(resources)
    if dry_run:
        report.skipped = len(resources)
        return report

    def one(resource: dict[str, Any]) -> tuple[str, int]:
        event = binary_event(
            object_data(resource), event_id=f"backfill-{run}-{resource['generation']}"
        )
        return resource["name"], deliver(url, event, attempts=attempts, token=token)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for name, status in pool.map(one, resources):
            if 200 <= status < 300:
                report.delivered += 1
            else:
                report.failed.append((name, status))
                log.error("backfill of gs://%s/%s failed: HTTP %s", bucket, name, status)
    return report


__all__ = ["BackfillReport", "Mode", "backfill", "select", "wanted"]
