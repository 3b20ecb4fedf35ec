"""StoreAuditLog: the hash-chained audit log on any ObjectStore (memory and local here)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakewatch.ports.audit import canonical
from fakewatch.ports.audit_store import AuditLogCorrupt, StoreAuditLog, open_audit_log
from fakewatch.ports.local import JsonlAuditLog, LocalStore
from fakewatch.ports.memory import MemoryStore
from fakewatch.ports.store import ObjectInfo
from fakewatch.stores import clear_cache, get_store
from fakewatch.testing import AuditSinkContract


def _tamperer(log: StoreAuditLog) -> Any:
    def tamper(seq: int, entry: dict[str, Any]) -> None:
        log.store.put(log.bucket, log.key(seq), canonical(entry))

    return tamper


class TestStoreAuditLogOnMemory(AuditSinkContract):
    @pytest.fixture
    def audit_sink(self) -> StoreAuditLog:
        return StoreAuditLog(MemoryStore(buckets=["results"]), "results", "audit/")

    @pytest.fixture
    def tamper_audit(self, audit_sink: StoreAuditLog) -> Any:
        return _tamperer(audit_sink)


class TestStoreAuditLogOnLocal(AuditSinkContract):
    @pytest.fixture
    def audit_sink(self, tmp_path: Path) -> StoreAuditLog:
        return StoreAuditLog(LocalStore(tmp_path, buckets=["results"]), "results", "audit")

    @pytest.fixture
    def tamper_audit(self, audit_sink: StoreAuditLog) -> Any:
        return _tamperer(audit_sink)


class CountingStore(MemoryStore):
    """A real MemoryStore that counts calls, to show how the head is found (a spy, no mock)."""

    def __init__(self) -> None:
        super().__init__(buckets=["results"])
        self.calls: Counter[str] = Counter()

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self.calls["head"] += 1
        return super().head(bucket, key)

    def get(self, bucket: str, key: str, **kw: Any) -> bytes:
        self.calls["get"] += 1
        return super().get(bucket, key, **kw)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        self.calls["list"] += 1
        return super().list(bucket, prefix)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


def _fill(store: CountingStore, count: int) -> StoreAuditLog:
    log = StoreAuditLog(store, "results", "audit/")
    for n in range(count):
        log.append({"n": n})
    return log


def test_entries_are_numbered_write_once_objects(store: CountingStore) -> None:
    _fill(store, 3)
    keys = [i.key for i in store.list("results", "audit/")]
    assert keys == [
        "audit/000000000000.json",
        "audit/000000000001.json",
        "audit/000000000002.json",
        "audit/HEAD",
    ]
    assert store.get_json("results", "audit/HEAD") == {"seq": 2}


def test_a_restarted_writer_finds_the_head_without_listing(store: CountingStore) -> None:
    _fill(store, 200)
    store.calls.clear()
    entry = StoreAuditLog(store, "results", "audit/").append({"n": 200})
    assert entry["seq"] == 200
    assert store.calls["list"] == 0
    assert store.calls["head"] + store.calls["get"] <= 5  # hint, one probe, the last entry
    assert StoreAuditLog(store, "results", "audit/").verify().ok


def test_without_a_hint_the_head_is_found_in_log_n_probes(store: CountingStore) -> None:
    _fill(store, 300)
    store.delete("results", "audit/HEAD")
    store.calls.clear()
    entry = StoreAuditLog(store, "results", "audit/").append({"n": 300})
    assert entry["seq"] == 300
    assert store.calls["list"] == 0
    assert store.calls["head"] <= 2 * math.ceil(math.log2(300)) + 2


def test_a_stale_hint_is_overtaken(store: CountingStore) -> None:
    _fill(store, 10)
    store.put_json("results", "audit/HEAD", {"seq": 3})
    assert StoreAuditLog(store, "results", "audit/").append({"n": 10})["seq"] == 10


def test_a_garbage_hint_is_ignored(store: CountingStore) -> None:
    _fill(store, 4)
    store.put("results", "audit/HEAD", b"\x00not json")
    assert StoreAuditLog(store, "results", "audit/").append({"n": 4})["seq"] == 4


def test_a_hint_beyond_the_log_means_entries_were_removed(store: CountingStore) -> None:
    log = _fill(store, 5)
    store.delete("results", log.key(4))
    report = log.verify()
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem and "removed from the end" in report.problem


def test_a_removed_middle_entry_is_detected(store: CountingStore) -> None:
    log = _fill(store, 5)
    store.delete("results", log.key(2))
    report = log.verify()
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_an_unreadable_entry_is_named(store: CountingStore) -> None:
    log = _fill(store, 3)
    store.put("results", log.key(1), b"{ truncated")
    report = log.verify()
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.problem and "audit/000000000001.json" in report.problem
    with pytest.raises(AuditLogCorrupt):
        list(log.entries())


def test_no_append_onto_an_unreadable_last_entry(store: CountingStore) -> None:
    _fill(store, 3)
    store.put("results", "audit/000000000002.json", b"garbage")
    with pytest.raises(AuditLogCorrupt, match="000000000002"):
        StoreAuditLog(store, "results", "audit/").append({"n": 3})


def test_other_objects_under_the_prefix_are_ignored(store: CountingStore) -> None:
    store.put("results", "audit/README.txt", b"not an entry")
    store.put("results", "audit/000000000000.json.bak", b"nor this")
    log = _fill(store, 2)
    assert [e["seq"] for e in log.entries()] == [0, 1]
    assert log.verify().ok


def test_unserialisable_record_touches_nothing(store: CountingStore) -> None:
    log = StoreAuditLog(store, "results", "audit/")
    with pytest.raises(TypeError):
        log.append({"x": {1, 2}})
    assert list(store.list("results")) == []


class TestOpenAuditLog:
    def test_a_path_opens_a_jsonl_log(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        log = open_audit_log(str(path))
        assert isinstance(log, JsonlAuditLog) and log.path == path
        log.append({"n": 0})
        via_uri = open_audit_log(path.as_uri())
        assert isinstance(via_uri, JsonlAuditLog) and via_uri.verify().entries == 1

    def test_a_store_uri_opens_a_store_log(self) -> None:
        clear_cache()
        shared = get_store("memory")
        assert isinstance(shared, MemoryStore)
        shared.make_bucket("results")
        log = open_audit_log("memory://results/audit/")
        assert isinstance(log, StoreAuditLog)
        assert (log.store, log.bucket, log.prefix) == (shared, "results", "audit/")
        log.append({"n": 0})
        assert open_audit_log("memory://results/audit").verify().entries == 1
        clear_cache()

    def test_a_local_store_prefix_uri(self, tmp_path: Path) -> None:
        LocalStore(tmp_path, buckets=["results"])
        uri = (tmp_path / "results").as_uri() + "/audit/"
        log = open_audit_log(uri, root=str(tmp_path))
        assert isinstance(log, StoreAuditLog) and log.prefix == "audit/"
        log.append({"n": 0})
        assert (tmp_path / "results" / "audit" / "000000000000.json").is_file()
