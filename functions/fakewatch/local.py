"""The embedded default: a local folder as the bucket, no cloud account.

``LocalBucket(inbox)`` lays out, beside the inbox folder, the same things a cloud deployment
has: a results bucket with verdicts and the hash-chained audit log, a quarantine bucket and a
JSON Lines file of result events; :meth:`LocalBucket.poll` hands new or changed files to the
same :class:`~fakewatch.service.ScanService` every cloud function runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fakewatch.ports.local import JsonlAuditLog, JsonlNotificationSink, LocalStore
from fakewatch.scanner import Scanner
from fakewatch.service import ObjectEvent, Outcome, ScanService

RESULTS, QUARANTINE = "fakewatch-results", "fakewatch-quarantine"
AUDIT_FILE, EVENTS_FILE = "fakewatch-audit.jsonl", "fakewatch-events.jsonl"


@dataclass
class LocalBucket:
    """An inbox folder watched like a bucket; results and quarantine folders beside it."""

    inbox: Path
    scanner: Scanner
    results: str = RESULTS
    quarantine: str = QUARANTINE
    service: ScanService = field(init=False)
    _seen: dict[str, tuple[float, int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.inbox = self.inbox.resolve()
        self.inbox.mkdir(parents=True, exist_ok=True)
        root = self.inbox.parent
        store = LocalStore(root, buckets=(self.inbox.name, self.results, self.quarantine))
        self.service = ScanService(
            store=store,
            scanner=self.scanner,
            results_bucket=self.results,
            quarantine_bucket=self.quarantine,
            audit=JsonlAuditLog(root / self.results / AUDIT_FILE),
            notifier=JsonlNotificationSink(root / self.results / EVENTS_FILE),
        )

    @property
    def root(self) -> Path:
        return self.inbox.parent

    @property
    def audit_path(self) -> Path:
        return self.root / self.results / AUDIT_FILE

    def pending(self, settle_s: float = 0.0) -> Iterator[ObjectEvent]:
        """Files new or changed since the last poll that have not changed for ``settle_s``."""
        now = time.time()
        for info in self.service.store.list(self.inbox.name):
            path = self.inbox / info.key
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            state = (stat.st_mtime, stat.st_size)
            if self._seen.get(info.key) == state or now - stat.st_mtime < settle_s:
                continue
            self._seen[info.key] = state
            yield ObjectEvent(
                bucket=self.inbox.name,
                key=info.key,
                etag=info.etag,
                size=info.size,
                source="local",
            )

    def poll(
        self, settle_s: float = 0.0, on_outcome: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        outcomes = []
        for event in self.pending(settle_s):
            outcome = self.service.handle(event)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        return outcomes
