"""The hash-chained audit log on any :class:`ObjectStore`, so every cloud gets one for free.

Entry N is the write-once object ``{prefix}{N:012d}.json``. An append writes the next entry
with ``put(if_absent=True)``; when another writer got there first (``PreconditionFailed``) it
reads the winner's entry, chains onto it and tries the next number. So concurrent writers, in
threads or on different machines, all land, in one total order, with no lock server. This
relies on the store's write-once put being atomic on the server: S3 ``If-None-Match: *``,
GCS ``ifGenerationMatch=0``, Azure ``If-None-Match: *`` — which the store contract tests.

Finding the head does not list the log: ``{prefix}HEAD`` is an advisory hint (the last seq a
writer saw land), checked and then advanced by galloping probes of ``head`` — O(log n) calls
in the worst case, one or two in the usual case. The hint also lets :meth:`verify` notice
entries removed from the end, which a hash chain alone cannot.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fakewatch.errors import FakewatchError, ObjectNotFound, PreconditionFailed, TransientError
from fakewatch.ports.audit import (
    GENESIS,
    AuditSink,
    ChainReport,
    canonical,
    chain_entry,
    verify_chain,
)
from fakewatch.ports.store import ObjectStore

log = logging.getLogger(__name__)

ENTRY_NAME = re.compile(r"\d{12}\.json")
HEAD_NAME = "HEAD"


class AuditLogCorrupt(FakewatchError):
    """The audit log cannot be extended safely: its last entry is unreadable or missing."""


def parse_entry(raw: bytes | str) -> dict[str, Any] | None:
    """A stored entry as a dict, or None when it is not a JSON object."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def verify_raw(items: Iterable[tuple[str, bytes | str]]) -> ChainReport:
    """Verify a chain given as ``(where, raw JSON)`` pairs, streaming.

    Like :func:`verify_chain`, and it also names an entry that is not even readable JSON
    (a torn write, an edit by hand) with where it was found.
    """
    unreadable: list[tuple[int, str]] = []

    def parsed() -> Iterator[dict[str, Any]]:
        for index, (where, raw) in enumerate(items):
            entry = parse_entry(raw)
            if entry is None:
                unreadable.append((index, where))
                return
            yield entry

    report = verify_chain(parsed())
    if not report.ok or not unreadable:
        return report
    index, where = unreadable[0]
    return ChainReport(False, index + 1, index, f"entry {index} ({where}) is not a JSON object")


class StoreAuditLog(AuditSink):
    """An append-only, hash-chained audit log of write-once objects under ``prefix``."""

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        prefix: str = "audit/",
        *,
        max_attempts: int = 1000,
    ) -> None:
        self.store, self.bucket = store, bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._next: tuple[int, str] | None = None  # (next seq, hash of the last entry)

    def key(self, seq: int) -> str:
        return f"{self.prefix}{seq:012d}.json"

    @property
    def head_key(self) -> str:
        return f"{self.prefix}{HEAD_NAME}"

    # -- AuditSink ----------------------------------------------------------------------------
    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        canonical(record)  # refuse what JSON cannot carry before touching the store
        with self._lock:
            seq, prev = self._next or self._find_next()
            for _ in range(self.max_attempts):
                entry = chain_entry(seq, prev, record)
                try:
                    self.store.put(
                        self.bucket,
                        self.key(seq),
                        canonical(entry) + b"\n",
                        content_type="application/json",
                        if_absent=True,
                    )
                except PreconditionFailed:  # another writer took seq: chain onto its entry
                    prev, seq = self._read(seq)["hash"], seq + 1
                    continue
                self._next = (seq + 1, entry["hash"])
                self._write_hint(seq)
                return entry
        raise TransientError(
            f"audit log {self.store.uri(self.bucket, self.prefix)}: no free entry after "
            f"{self.max_attempts} attempts"
        )

    def entries(self) -> Iterator[dict[str, Any]]:
        for key, raw in self._raw_entries():
            entry = parse_entry(raw)
            if entry is None:
                raise AuditLogCorrupt(f"{self.store.uri(self.bucket, key)} is not a JSON object")
            yield entry

    def verify(self) -> ChainReport:
        report = verify_raw(self._raw_entries())
        if not report.ok:
            return report
        hinted = self._read_hint()
        if hinted is not None and hinted >= report.entries:
            return ChainReport(
                False,
                report.entries,
                report.entries,
                f"HEAD records entry {hinted} but the log ends before entry {report.entries}: "
                "entries were removed from the end",
            )
        return report

    # -- internals ----------------------------------------------------------------------------
    def _raw_entries(self) -> Iterator[tuple[str, bytes]]:
        for info in self.store.list(self.bucket, self.prefix):
            name = info.key[len(self.prefix) :]
            if ENTRY_NAME.fullmatch(name):
                yield info.key, self.store.get(self.bucket, info.key)

    def _read(self, seq: int) -> dict[str, Any]:
        key = self.key(seq)
        entry = parse_entry(self.store.get(self.bucket, key))
        if entry is None or not isinstance(entry.get("hash"), str):
            raise AuditLogCorrupt(
                f"{self.store.uri(self.bucket, key)} is unreadable: run `fakewatch audit verify`"
            )
        return entry

    def _exists(self, seq: int) -> bool:
        return self.store.exists(self.bucket, self.key(seq))

    def _find_next(self) -> tuple[int, str]:
        """Where the next entry goes: the hint, checked, then galloping and bisecting."""
        hinted = self._read_hint()
        if hinted is not None and self._exists(hinted):
            low = hinted
        elif self._exists(0):
            low = 0
        else:
            return 0, GENESIS
        step = 1
        while self._exists(low + step):  # gallop: low exists, low + step is the probe
            low, step = low + step, step * 2
        high = low + step  # known missing
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if self._exists(mid) else (low, mid)
        return low + 1, self._read(low)["hash"]

    def _read_hint(self) -> int | None:
        try:
            doc = parse_entry(self.store.get(self.bucket, self.head_key, max_bytes=4096))
        except ObjectNotFound:
            return None
        except (FakewatchError, OSError) as exc:
            log.warning("audit HEAD hint unreadable (%s); probing instead", exc)
            return None
        seq = doc.get("seq") if doc else None
        return seq if isinstance(seq, int) and seq >= 0 else None

    def _write_hint(self, seq: int) -> None:
        """Best effort: a stale or lost hint only costs a few probes on the next start."""
        try:
            self.store.put(
                self.bucket,
                self.head_key,
                json.dumps({"seq": seq}).encode(),
                content_type="application/json",
            )
        except (FakewatchError, OSError) as exc:
            log.warning("could not update audit HEAD hint: %s", exc)


def open_audit_log(target: str, **store_kw: Any) -> AuditSink:
    """The audit log at ``target``: a ``.jsonl`` path (or ``file://`` URI of one) opens a
    :class:`~fakewatch.ports.local.JsonlAuditLog`; a store URI such as
    ``s3://results/audit/`` opens a :class:`StoreAuditLog` on that store (``store_kw`` go to
    the store's constructor)."""
    from urllib.parse import unquote, urlsplit

    from fakewatch.ports.local import JsonlAuditLog

    parts = urlsplit(target)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (or a Windows drive letter)
        return JsonlAuditLog(target)
    if parts.scheme == "file" and parts.path.endswith(".jsonl"):
        return JsonlAuditLog(unquote(parts.path))
    from fakewatch.stores import open_uri

    store, bucket, prefix = open_uri(target, **store_kw)
    return StoreAuditLog(store, bucket, prefix)
