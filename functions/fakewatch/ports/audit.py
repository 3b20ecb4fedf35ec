"""The audit-log port: append-only and tamper-evident (a SHA-256 hash chain).

Every entry carries ``seq``, ``prev_hash`` and ``hash`` = sha256(prev_hash + canonical JSON of
the entry without ``hash``). Changing, removing or reordering any entry breaks the chain at
that point, which :func:`verify_chain` reports.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


def chain_entry(seq: int, prev_hash: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Build the next entry of the chain from a record."""
    body = {"seq": seq, "prev_hash": prev_hash, "record": dict(record)}
    return {**body, "hash": entry_hash(prev_hash, body)}


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(entries: Iterable[Mapping[str, Any]]) -> ChainReport:
    prev, count = GENESIS, 0
    for expected_seq, entry in enumerate(entries):
        count += 1
        body = {k: v for k, v in entry.items() if k != "hash"}
        seq = entry.get("seq")
        if seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"entry {expected_seq} has seq {seq}")
        if entry.get("prev_hash") != prev:
            return ChainReport(False, count, expected_seq, f"entry {seq}: prev_hash does not link")
        if entry.get("hash") != entry_hash(prev, body):
            return ChainReport(False, count, expected_seq, f"entry {seq}: content was altered")
        prev = str(entry["hash"])
    return ChainReport(True, count)


class AuditSink(ABC):
    """Append-only, hash-chained log of audit records."""

    @abstractmethod
    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append a record; return the chained entry (with seq, prev_hash, hash)."""

    @abstractmethod
    def entries(self) -> Iterator[dict[str, Any]]:
        """Every entry, in order."""

    def verify(self) -> ChainReport:
        return verify_chain(self.entries())
