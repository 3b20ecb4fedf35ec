"""Backfill and rescan: put existing objects on the scan queue, so Lambda's fan-out does the work.

Each selected object becomes one SQS message in the S3 notification shape, with
``eventSource: fakewatch:backfill`` and ``eventName: ObjectCreated:Backfill`` — the handler
parses it like any S3 event and the same dedupe applies. Modes:

* ``missing`` — objects never scanned (no ``fakewatch-fingerprint`` tag): what was there
  before the kit;
* ``stale``   — those plus objects scanned by another pipeline/model/policy (the tag differs
  from the current scanner's fingerprint): a rescan after an upgrade;
* ``all``     — every object. Objects already scanned with the current fingerprint are still
  deduplicated downstream (their verdict exists), so ``all`` is safe to repeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from typing import Any
from urllib.parse import quote_plus

from fakewatch.ports.store import ObjectInfo, ObjectStore
from fakewatch.service import TAG_FINGERPRINT
from fakewatch_aws.events import BACKFILL_SOURCE

log = logging.getLogger("fakewatch_aws.backfill")
SQS_BATCH = 10


class Mode(StrEnum):
    MISSING = "missing"
    STALE = "stale"
    ALL = "all"


@dataclass
class BackfillReport:
    listed: int = 0
    selected: int = 0
    enqueued: int = 0
    failed: list[str] = field(default_factory=list)  # keys that could not be enqueued
    dry_run: bool = False


def needs_scan(tags: dict[str, str], mode: Mode, fingerprint: str | None) -> bool:
    if mode is Mode.ALL:
        return True
    seen = tags.get(TAG_FINGERPRINT)
    if seen is None:
        return True
    return mode is Mode.STALE and seen != fingerprint


def select(
    store: ObjectStore,
    bucket: str,
    prefix: str,
    mode: Mode,
    fingerprint: str | None,
    report: BackfillReport,
) -> Iterator[ObjectInfo]:
    """The objects under ``bucket/prefix`` that ``mode`` selects, counted into ``report``."""
    if mode is Mode.STALE and not fingerprint:
        raise ValueError("stale mode needs the current scanner fingerprint")
    for info in store.list(bucket, prefix):
        report.listed += 1
        tags = {} if mode is Mode.ALL else store.get_tags(bucket, info.key)
        if needs_scan(tags, mode, fingerprint):
            report.selected += 1
            yield info


def message_body(info: ObjectInfo, region: str, now: datetime | None = None) -> str:
    """The S3 notification a backfilled object travels as (key URL-encoded, as S3 does)."""
    when = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    obj: dict[str, Any] = {"key": quote_plus(info.key, safe="/"), "size": info.size}
    if info.etag:
        obj["eTag"] = info.etag
    if info.version:
        obj["versionId"] = info.version
    record = {
        "eventVersion": "2.1",
        "eventSource": BACKFILL_SOURCE,
        "awsRegion": region,
        "eventTime": when,
        "eventName": "ObjectCreated:Backfill",
        "userIdentity": {"principalId": "fakewatch-backfill"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "fakewatch-backfill",
            "bucket": {"name": info.bucket, "arn": f"arn:aws:s3:::{info.bucket}"},
            "object": obj,
        },
    }
    return json.dumps({"Records": [record]}, ensure_ascii=False)


def enqueue(
    sqs: Any, queue_url: str, infos: Iterable[ObjectInfo], region: str, report: BackfillReport
) -> BackfillReport:
    """Send one message per object, ten per ``SendMessageBatch``; failed entries retried once."""
    items = iter(infos)
    while chunk := list(islice(items, SQS_BATCH)):
        pending = {str(i): info for i, info in enumerate(chunk)}
        for _attempt in range(2):
            entries = [
                {"Id": i, "MessageBody": message_body(info, region)} for i, info in pending.items()
            ]
            resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            report.enqueued += len(resp.get("Successful", []))
            pending = {f["Id"]: pending[f["Id"]] for f in resp.get("Failed", [])}
            if not pending:
                break
        for info in pending.values():
            log.error("could not enqueue %s", info.key)
            report.failed.append(info.key)
    return report


def backfill(
    store: ObjectStore,
    sqs: Any,
    queue_url: str,
    bucket: str,
    prefix: str = "",
    *,
    mode: Mode = Mode.MISSING,
    fingerprint: str | None = None,
    region: str = "us-east-1",
    dry_run: bool = False,
) -> BackfillReport:
    """Select objects under ``bucket/prefix`` by ``mode`` and enqueue them (or only count)."""
    report = BackfillReport(dry_run=dry_run)
    selected = select(store, bucket, prefix, mode, fingerprint, report)
    if dry_run:
        for _ in selected:
            pass
        return report
    return enqueue(sqs, queue_url, selected, region, report)
