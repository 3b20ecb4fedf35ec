"""Contract test suites for the ports: every backend's tests inherit them.

A backend's test module subclasses a contract and provides its fixtures; pytest then runs
every contract test against that backend::

    class TestS3Store(ObjectStoreContract):
        @pytest.fixture
        def store(self, moto_server): return S3Store(endpoint_url=moto_server)

        @pytest.fixture
        def bucket(self, store): ...  # create an empty bucket, yield its name

The tests assert the semantics the core relies on and S3, GCS and Azure Blob all provide:
keys in UTF-8 byte order, write-once puts atomic on the server, ETag preconditions, tags
replaced by ``set_tags``, missing objects as ``ObjectNotFound`` (a ``FileNotFoundError``).
They use only portable names: ASCII tag and metadata keys that are identifiers, ASCII values.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from fakewatch.errors import (
    LimitExceeded,
    ObjectChanged,
    ObjectNotFound,
    PreconditionFailed,
)
from fakewatch.ports.audit import GENESIS, AuditSink
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.ports.notify import (
    MAX_EVENT_BYTES,
    RESULT_EVENT_SOURCE,
    RESULT_EVENT_TYPE,
    NotificationSink,
)
from fakewatch.ports.store import MAX_TAGS, InvalidKey, ObjectStore

UNICODE_KEY = "incoming dir/naïve 画像 (1) ü.jpg"


def _keys(store: ObjectStore, bucket: str, prefix: str = "") -> list[str]:
    return [info.key for info in store.list(bucket, prefix)]


def _in_threads(count: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` for i in range(count) on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


class ObjectStoreContract:
    """Fixtures: ``store``, ``bucket`` (existing and empty), optionally ``other_bucket``."""

    @pytest.fixture
    def second_bucket(self, request: pytest.FixtureRequest, bucket: str) -> str:
        try:
            return str(request.getfixturevalue("other_bucket"))
        except pytest.FixtureLookupError:
            return bucket

    @pytest.fixture
    def missing_bucket(self) -> str:
        return f"fakewatch-missing-{uuid.uuid4().hex[:16]}"

    # -- put / head / get ---------------------------------------------------------------------
    def test_put_head_get_round_trip(self, store: ObjectStore, bucket: str) -> None:
        put = store.put(bucket, "a/b.bin", b"hello", content_type="application/octet-stream")
        head = store.head(bucket, "a/b.bin")
        assert (put.bucket, put.key, put.size) == (bucket, "a/b.bin", 5)
        assert (head.bucket, head.key, head.size) == (bucket, "a/b.bin", 5)
        assert head.content_type == "application/octet-stream"
        assert head.etag
        if put.etag is not None:
            assert put.etag == head.etag
        assert store.get(bucket, "a/b.bin") == b"hello"
        assert store.exists(bucket, "a/b.bin")

    def test_overwrite_replaces_content_and_etag(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "k", b"first")
        before = store.head(bucket, "k")
        store.put(bucket, "k", b"second version")
        after = store.head(bucket, "k")
        assert store.get(bucket, "k") == b"second version"
        assert after.size == len(b"second version")
        assert after.etag != before.etag

    def test_uri_names_scheme_bucket_and_key(self, store: ObjectStore, bucket: str) -> None:
        uri = store.uri(bucket, "x/y.jpg")
        assert uri.startswith(f"{store.scheme}://")
        assert bucket in uri and uri.endswith("x/y.jpg")

    def test_zero_length_object(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "empty.jpg", b"")
        assert store.head(bucket, "empty.jpg").size == 0
        assert store.get(bucket, "empty.jpg") == b""
        assert [i.size for i in store.list(bucket, "empty")] == [0]

    def test_unicode_and_spaces_in_keys(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, UNICODE_KEY, b"\xff\xd8 bytes")
        assert store.get(bucket, UNICODE_KEY) == b"\xff\xd8 bytes"
        assert store.head(bucket, UNICODE_KEY).key == UNICODE_KEY
        assert _keys(store, bucket, "incoming dir/") == [UNICODE_KEY]
        store.set_tags(bucket, UNICODE_KEY, {"scan": "done"})
        assert store.get_tags(bucket, UNICODE_KEY) == {"scan": "done"}
        store.copy(bucket, UNICODE_KEY, bucket, UNICODE_KEY + ".copy")
        assert store.get(bucket, UNICODE_KEY + ".copy") == b"\xff\xd8 bytes"

    def test_metadata_and_content_type_round_trip(self, store: ObjectStore, bucket: str) -> None:
        metadata = {"fakewatch_source": "upload", "scanner_version": "1.2.3"}
        store.put(bucket, "m.png", b"\x89PNG", content_type="image/png", metadata=metadata)
        head = store.head(bucket, "m.png")
        assert dict(head.metadata) == metadata
        assert head.content_type == "image/png"

    def test_put_json_and_get_json(self, store: ObjectStore, bucket: str) -> None:
        doc = {"decision": "review", "score": 0.73, "explanation": "Fréquence ≥ seuil", "n": [1]}
        store.put_json(bucket, "verdicts/x.json", doc)
        assert store.get_json(bucket, "verdicts/x.json") == doc
        assert store.head(bucket, "verdicts/x.json").content_type == "application/json"

    def test_unportable_keys_are_refused(self, store: ObjectStore, bucket: str) -> None:
        for key in ("", "bad\x00key", "line\nbreak", "x" * 1025):
            with pytest.raises(InvalidKey):
                store.put(bucket, key, b"data")
        assert _keys(store, bucket) == []

    # -- missing objects ----------------------------------------------------------------------
    def test_missing_object_raises_not_found(self, store: ObjectStore, bucket: str) -> None:
        calls: list[Callable[[], object]] = [
            lambda: store.head(bucket, "nope"),
            lambda: store.get(bucket, "nope"),
            lambda: store.get(bucket, "nope", if_match="0" * 32),
            lambda: store.get_tags(bucket, "nope"),
            lambda: store.set_tags(bucket, "nope", {"a": "b"}),
            lambda: store.copy(bucket, "nope", bucket, "dst"),
            lambda: store.move(bucket, "nope", bucket, "dst"),
        ]
        for call in calls:
            with pytest.raises(ObjectNotFound):
                call()
            with pytest.raises(FileNotFoundError):
                call()
        assert not store.exists(bucket, "nope")
        assert not store.exists(bucket, "dst")

    def test_missing_bucket_raises_not_found(self, store: ObjectStore, missing_bucket: str) -> None:
        with pytest.raises(ObjectNotFound):
            store.head(missing_bucket, "k")
        with pytest.raises(ObjectNotFound):
            store.put(missing_bucket, "k", b"data")
        with pytest.raises(ObjectNotFound):
            list(store.list(missing_bucket))

    def test_delete_is_idempotent(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "d/x", b"1")
        store.delete(bucket, "d/x")
        assert not store.exists(bucket, "d/x")
        store.delete(bucket, "d/x")  # already gone: not an error
        store.delete(bucket, "never/was")
        assert _keys(store, bucket) == []

    # -- listing ------------------------------------------------------------------------------
    def test_list_in_key_order_with_prefix(self, store: ObjectStore, bucket: str) -> None:
        keys = ["b", "a/2", "a/10", "a/1", "a-b", "c d/é.txt", "a/sub/deep.jpg"]
        for i, key in enumerate(keys):
            store.put(bucket, key, b"x" * i)
        assert _keys(store, bucket) == sorted(keys)  # code-point order = UTF-8 byte order
        assert _keys(store, bucket, "a/") == ["a/1", "a/10", "a/2", "a/sub/deep.jpg"]
        assert _keys(store, bucket, "a") == ["a-b", "a/1", "a/10", "a/2", "a/sub/deep.jpg"]
        assert _keys(store, bucket, "a/1") == ["a/1", "a/10"]
        assert _keys(store, bucket, "zzz") == []
        sizes = {info.key: info.size for info in store.list(bucket)}
        assert sizes == {key: i for i, key in enumerate(keys)}

    # -- copy and move ------------------------------------------------------------------------
    def test_copy_keeps_content_and_metadata(
        self, store: ObjectStore, bucket: str, second_bucket: str
    ) -> None:
        store.put(bucket, "src.jpg", b"jpeg", content_type="image/jpeg", metadata={"origin": "a"})
        copied = store.copy(bucket, "src.jpg", second_bucket, "copies/src.jpg")
        assert (copied.bucket, copied.key, copied.size) == (second_bucket, "copies/src.jpg", 4)
        head = store.head(second_bucket, "copies/src.jpg")
        assert store.get(second_bucket, "copies/src.jpg") == b"jpeg"
        assert dict(head.metadata) == {"origin": "a"}
        assert head.content_type == "image/jpeg"
        assert store.get(bucket, "src.jpg") == b"jpeg"  # the source stays

    def test_move_within_a_bucket(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "in/x.jpg", b"payload", metadata={"origin": "a"})
        store.move(bucket, "in/x.jpg", bucket, "quarantine/x.jpg")
        assert not store.exists(bucket, "in/x.jpg")
        assert store.get(bucket, "quarantine/x.jpg") == b"payload"
        assert dict(store.head(bucket, "quarantine/x.jpg").metadata) == {"origin": "a"}

    def test_move_across_buckets(self, store: ObjectStore, bucket: str, second_bucket: str) -> None:
        store.put(bucket, "x.jpg", b"payload")
        info = store.move(bucket, "x.jpg", second_bucket, "held/x.jpg")
        assert (info.bucket, info.key) == (second_bucket, "held/x.jpg")
        assert store.get(second_bucket, "held/x.jpg") == b"payload"
        assert not store.exists(bucket, "x.jpg")

    def test_failed_move_keeps_the_source(
        self, store: ObjectStore, bucket: str, missing_bucket: str
    ) -> None:
        store.put(bucket, "keep.jpg", b"precious")
        with pytest.raises(OSError):  # ObjectNotFound, AccessDenied: both OSErrors
            store.move(bucket, "keep.jpg", missing_bucket, "keep.jpg")
        assert store.get(bucket, "keep.jpg") == b"precious"

    # -- tags ---------------------------------------------------------------------------------
    def test_new_object_has_no_tags(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "t", b"1")
        assert store.get_tags(bucket, "t") == {}

    def test_set_tags_replaces(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "t", b"1")
        store.set_tags(bucket, "t", {"fakewatch-status": "scanned", "fakewatch-score": "0.73"})
        assert store.get_tags(bucket, "t") == {
            "fakewatch-status": "scanned",
            "fakewatch-score": "0.73",
        }
        store.set_tags(bucket, "t", {"fakewatch-decision": "review"})
        assert store.get_tags(bucket, "t") == {"fakewatch-decision": "review"}
        store.set_tags(bucket, "t", {})
        assert store.get_tags(bucket, "t") == {}

    def test_tags_do_not_change_content(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "t", b"content", metadata={"origin": "a"})
        etag = store.head(bucket, "t").etag
        store.set_tags(bucket, "t", {"a": "b"})
        assert store.get(bucket, "t", if_match=etag) == b"content"
        assert dict(store.head(bucket, "t").metadata) == {"origin": "a"}

    def test_update_tags_merges_with_other_tools_tags(
        self, store: ObjectStore, bucket: str
    ) -> None:
        store.put(bucket, "t", b"1")
        store.set_tags(bucket, "t", {"owner": "team-a", "fakewatch-status": "pending"})
        merged = store.update_tags(bucket, "t", {"fakewatch-status": "scanned"})
        assert merged == {"owner": "team-a", "fakewatch-status": "scanned"}
        assert store.get_tags(bucket, "t") == merged

    def test_update_tags_stays_within_max_tags(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "t", b"1")
        store.set_tags(bucket, "t", {f"other{i}": str(i) for i in range(MAX_TAGS)})
        ours = {"fakewatch-status": "scanned", "fakewatch-decision": "allow"}
        merged = store.update_tags(bucket, "t", ours)
        stored = store.get_tags(bucket, "t")
        assert stored == merged
        assert len(stored) == MAX_TAGS
        assert ours.items() <= stored.items()

    def test_invalid_tags_are_refused_and_leave_tags_alone(
        self, store: ObjectStore, bucket: str
    ) -> None:
        store.put(bucket, "t", b"1")
        store.set_tags(bucket, "t", {"keep": "me"})
        bad: list[dict[str, str]] = [
            {f"k{i}": "v" for i in range(MAX_TAGS + 1)},
            {"": "empty key"},
            {"k" * 129: "v"},
            {"k": "v" * 257},
            {"semi;colon": "v"},
            {"k": "new\nline"},
            {"aws:reserved": "v"},
        ]
        for tags in bad:
            with pytest.raises(ValueError):
                store.set_tags(bucket, "t", tags)
        assert store.get_tags(bucket, "t") == {"keep": "me"}

    # -- preconditions and limits ---------------------------------------------------------------
    def test_write_once_put(self, store: ObjectStore, bucket: str) -> None:
        assert store.put_once(bucket, "once", b"first") is True
        assert store.put_once(bucket, "once", b"second") is False
        with pytest.raises(PreconditionFailed):
            store.put(bucket, "once", b"third", if_absent=True)
        with pytest.raises(FileExistsError):
            store.put(bucket, "once", b"third", if_absent=True)
        assert store.get(bucket, "once") == b"first"

    def test_write_once_put_is_atomic_under_contention(
        self, store: ObjectStore, bucket: str
    ) -> None:
        won = _in_threads(8, lambda i: store.put_once(bucket, "race", f"writer {i}".encode()))
        assert won.count(True) == 1
        winner = won.index(True)
        assert store.get(bucket, "race") == f"writer {winner}".encode()

    def test_if_match_detects_a_change(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "obj", b"as announced")
        etag = store.head(bucket, "obj").etag
        assert etag is not None
        assert store.get(bucket, "obj", if_match=etag) == b"as announced"
        store.put(bucket, "obj", b"overwritten since")
        with pytest.raises(ObjectChanged):
            store.get(bucket, "obj", if_match=etag)

    def test_max_bytes_limit(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "big", b"\x00" * 1000)
        assert len(store.get(bucket, "big", max_bytes=1000)) == 1000
        with pytest.raises(LimitExceeded) as caught:
            store.get(bucket, "big", max_bytes=999)
        assert (caught.value.what, caught.value.value, caught.value.limit) == ("bytes", 1000, 999)

    # -- what the core builds on this store -----------------------------------------------------
    def test_audit_log_on_this_store_survives_concurrent_writers(
        self, store: ObjectStore, bucket: str
    ) -> None:
        """Two independent logs (two "processes") with four threads each, one chain."""
        logs = [StoreAuditLog(store, bucket, "audit/"), StoreAuditLog(store, bucket, "audit")]

        def write(i: int) -> None:
            for n in range(5):
                logs[i % 2].append({"writer": i, "n": n})

        _in_threads(8, write)
        report = StoreAuditLog(store, bucket, "audit/").verify()
        assert report.ok, report.problem
        assert report.entries == 40
        records = {(e["record"]["writer"], e["record"]["n"]) for e in logs[0].entries()}
        assert records == {(i, n) for i in range(8) for n in range(5)}


class AuditSinkContract:
    """Fixtures: ``audit_sink`` (empty) and ``tamper_audit(seq, entry)`` which overwrites
    stored entry ``seq`` in place, as an attacker with write access would."""

    def test_empty_log_verifies(self, audit_sink: AuditSink) -> None:
        assert list(audit_sink.entries()) == []
        report = audit_sink.verify()
        assert report.ok and report.entries == 0

    def test_append_returns_the_chained_entry(self, audit_sink: AuditSink) -> None:
        record = {"uri": "s3://in/a.jpg", "decision": "review", "score": 0.73}
        entry = audit_sink.append(record)
        assert entry["seq"] == 0
        assert entry["prev_hash"] == GENESIS
        assert entry["record"] == record
        assert len(entry["hash"]) == 64 and int(entry["hash"], 16) >= 0
        assert list(audit_sink.entries()) == [entry]

    def test_entries_link_in_order(self, audit_sink: AuditSink) -> None:
        written = [audit_sink.append({"n": n, "note": "ünïcode ✓"}) for n in range(5)]
        stored = list(audit_sink.entries())
        assert stored == written
        assert [e["seq"] for e in stored] == list(range(5))
        for before, after in itertools.pairwise(stored):
            assert after["prev_hash"] == before["hash"]
        report = audit_sink.verify()
        assert report.ok and report.entries == 5

    def test_unserialisable_record_is_refused_and_log_unchanged(
        self, audit_sink: AuditSink
    ) -> None:
        audit_sink.append({"n": 0})
        with pytest.raises((TypeError, ValueError)):
            audit_sink.append({"blob": object()})
        with pytest.raises((TypeError, ValueError)):
            audit_sink.append({"raw": b"bytes are not JSON"})
        assert [e["record"] for e in audit_sink.entries()] == [{"n": 0}]
        assert audit_sink.verify().ok

    def test_concurrent_appends_lose_nothing(self, audit_sink: AuditSink) -> None:
        def write(i: int) -> None:
            for n in range(10):
                audit_sink.append({"thread": i, "n": n})

        _in_threads(8, write)
        entries = list(audit_sink.entries())
        assert len(entries) == 80
        assert {(e["record"]["thread"], e["record"]["n"]) for e in entries} == {
            (i, n) for i in range(8) for n in range(10)
        }
        report = audit_sink.verify()
        assert report.ok and report.entries == 80

    def test_altered_record_is_detected(
        self, audit_sink: AuditSink, tamper_audit: Callable[[int, dict[str, Any]], None]
    ) -> None:
        entries = [audit_sink.append({"decision": d}) for d in ("allow", "quarantine", "allow")]
        forged = {**entries[1], "record": {"decision": "allow"}}  # hash left as it was
        tamper_audit(1, forged)
        report = audit_sink.verify()
        assert not report.ok
        assert report.first_bad_seq == 1
        assert report.problem and "altered" in report.problem

    def test_rehashed_forgery_breaks_the_next_link(
        self, audit_sink: AuditSink, tamper_audit: Callable[[int, dict[str, Any]], None]
    ) -> None:
        from fakewatch.ports.audit import chain_entry

        entries = [audit_sink.append({"decision": d}) for d in ("allow", "quarantine", "allow")]
        forged = chain_entry(1, entries[0]["hash"], {"decision": "allow"})  # a valid hash
        tamper_audit(1, forged)
        report = audit_sink.verify()
        assert not report.ok
        assert report.first_bad_seq == 2
        assert report.problem and "prev_hash" in report.problem


class NotificationSinkContract:
    """Fixtures: ``notification_sink`` and ``published_events()``, which returns every event
    the sink has delivered so far (from the file, queue or subscription it publishes to)."""

    @staticmethod
    def event(n: int = 0, **extra: Any) -> dict[str, Any]:
        return {
            "type": RESULT_EVENT_TYPE,
            "source": RESULT_EVENT_SOURCE,
            "id": f"scan-{n}",
            "uri": f"s3://inbox/photos/{n}.jpg",
            "decision": "review",
            "score": 0.73,
            "signals": ["c2pa", "spectral"],
            **extra,
        }

    def test_published_event_arrives_intact(
        self,
        notification_sink: NotificationSink,
        published_events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        event = self.event(explanation="Le détecteur a vu un motif périodique")
        notification_sink.publish(event)
        assert published_events() == [event]

    def test_every_event_arrives_once(
        self,
        notification_sink: NotificationSink,
        published_events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        for n in range(5):
            notification_sink.publish(self.event(n))
        ids = sorted(e["id"] for e in published_events())
        assert ids == [f"scan-{n}" for n in range(5)]

    def test_concurrent_publishes_all_arrive(
        self,
        notification_sink: NotificationSink,
        published_events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        _in_threads(
            8, lambda i: [notification_sink.publish(self.event(i * 10 + n)) for n in range(5)]
        )
        ids = sorted(e["id"] for e in published_events())
        assert ids == sorted(f"scan-{i * 10 + n}" for i in range(8) for n in range(5))

    def test_bad_events_are_refused_and_nothing_is_published(
        self,
        notification_sink: NotificationSink,
        published_events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        bad: list[Any] = [
            self.event(blob=object()),
            self.event(raw=b"media bytes"),
            self.event(score=math.nan),
            ["not", "a", "mapping"],
        ]
        for event in bad:
            with pytest.raises((TypeError, ValueError)):
                notification_sink.publish(event)
        with pytest.raises(LimitExceeded):
            notification_sink.publish(self.event(padding="x" * MAX_EVENT_BYTES))
        assert published_events() == []

    def test_event_is_plain_json(
        self,
        notification_sink: NotificationSink,
        published_events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        notification_sink.publish(self.event(nested={"a": [1, 2.5, None, True]}))
        (got,) = published_events()
        assert json.loads(json.dumps(got)) == got
        assert got["nested"] == {"a": [1, 2.5, None, True]}
