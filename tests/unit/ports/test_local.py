"""The local-filesystem ports pass the shared contracts, plus filesystem-specific hazards."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fakewatch
from fakewatch.errors import AccessDenied, LimitExceeded, ObjectNotFound
from fakewatch.ports.audit import canonical
from fakewatch.ports.audit_store import AuditLogCorrupt
from fakewatch.ports.local import (
    META_DIR,
    TMP_DIR,
    JsonlAuditLog,
    JsonlNotificationSink,
    LocalStore,
)
from fakewatch.ports.store import InvalidKey
from fakewatch.stores import open_uri
from fakewatch.testing import AuditSinkContract, NotificationSinkContract, ObjectStoreContract


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "root", buckets=["inbox", "quarantine"])


class TestLocalStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, local: LocalStore) -> LocalStore:
        return local

    @pytest.fixture
    def bucket(self) -> str:
        return "inbox"

    @pytest.fixture
    def other_bucket(self) -> str:
        return "quarantine"


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class TestLayout:
    def test_object_is_a_plain_file_and_sidecars_stay_hidden(self, local: LocalStore) -> None:
        local.put("inbox", "photos/a.jpg", b"jpeg", metadata={"origin": "cam"})
        local.set_tags("inbox", "photos/a.jpg", {"fakewatch-status": "scanned"})
        assert (local.root / "inbox" / "photos" / "a.jpg").read_bytes() == b"jpeg"
        assert [i.key for i in local.list("inbox")] == ["photos/a.jpg"]
        assert (local.root / META_DIR).is_dir()
        assert not any(TMP_DIR in f or "put-" in f for f in _files(local.root / "inbox"))

    def test_etag_is_md5_hex_like_s3(self, local: LocalStore) -> None:
        info = local.put("inbox", "k", b"abc")
        assert info.etag == hashlib.md5(b"abc").hexdigest() == local.head("inbox", "k").etag

    def test_state_survives_a_restart(self, local: LocalStore) -> None:
        local.put("inbox", "k", b"data", content_type="image/png", metadata={"origin": "cam"})
        local.set_tags("inbox", "k", {"a": "b"})
        again = LocalStore(local.root)
        head = again.head("inbox", "k")
        assert (head.content_type, dict(head.metadata)) == ("image/png", {"origin": "cam"})
        assert again.get_tags("inbox", "k") == {"a": "b"}

    def test_files_dropped_in_by_hand_are_objects(self, local: LocalStore) -> None:
        (local.root / "inbox" / "dropped").mkdir()
        (local.root / "inbox" / "dropped" / "x.png").write_bytes(b"by hand")
        (info,) = local.list("inbox")
        assert (info.key, info.size) == ("dropped/x.png", 7)
        assert info.etag == hashlib.md5(b"by hand").hexdigest()
        assert local.get_tags("inbox", "dropped/x.png") == {}

    def test_a_file_replaced_by_hand_gets_a_fresh_etag(self, local: LocalStore) -> None:
        local.put("inbox", "k", b"old")
        path = local.root / "inbox" / "k"
        path.write_bytes(b"replaced!")
        os.utime(path, ns=(1, 1))  # a different mtime, whatever the clock's resolution
        assert local.head("inbox", "k").etag == hashlib.md5(b"replaced!").hexdigest()

    def test_delete_prunes_empty_folders(self, local: LocalStore) -> None:
        local.put("inbox", "x/y/z.jpg", b"1")
        local.delete("inbox", "x/y/z.jpg")
        assert not (local.root / "inbox" / "x").exists()
        local.put("inbox", "x", b"a file where the folder was")
        assert local.get("inbox", "x") == b"a file where the folder was"

    def test_a_key_cannot_be_both_object_and_folder(self, local: LocalStore) -> None:
        local.put("inbox", "a", b"1")
        with pytest.raises(InvalidKey, match="folder"):
            local.put("inbox", "a/b", b"2")
        local.put("inbox", "c/d", b"3")
        with pytest.raises(InvalidKey, match="folder"):
            local.put("inbox", "c", b"4")
        with pytest.raises(ObjectNotFound):
            local.get("inbox", "c")  # a folder is not an object
        assert [i.key for i in local.list("inbox")] == ["a", "c/d"]


class TestHostileKeys:
    @pytest.mark.parametrize(
        "key", ["../escape", "a/../../escape", "/etc/passwd", "a//b", "./a", "a/.", "a/..", "a/"]
    )
    def test_keys_that_leave_the_bucket_are_refused(self, local: LocalStore, key: str) -> None:
        before = _files(local.root.parent)
        with pytest.raises(InvalidKey):
            local.put("inbox", key, b"payload")
        with pytest.raises(InvalidKey):
            local.get("inbox", key)
        assert _files(local.root.parent) == before

    @pytest.mark.parametrize("bucket", ["", ".", "..", ".fakewatch-meta", "a/b", "nul\x00"])
    def test_bad_bucket_names_are_refused(self, local: LocalStore, bucket: str) -> None:
        with pytest.raises(InvalidKey):
            local.put(bucket, "k", b"payload")

    def test_symlinked_file_is_not_followed(self, local: LocalStore, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("outside the store")
        (local.root / "inbox" / "link").symlink_to(secret)
        with pytest.raises(AccessDenied):
            local.get("inbox", "link")
        assert list(local.list("inbox")) == []

    def test_symlinked_folder_is_not_followed(self, local: LocalStore, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("outside the store")
        (local.root / "inbox" / "dir").symlink_to(outside, target_is_directory=True)
        with pytest.raises(AccessDenied):
            local.get("inbox", "dir/secret.txt")
        with pytest.raises(AccessDenied):
            local.put("inbox", "dir/planted.txt", b"x")
        assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]

    def test_oversized_sparse_file_is_refused_before_reading(self, local: LocalStore) -> None:
        with (local.root / "inbox" / "huge.mp4").open("wb") as f:
            f.truncate(64 * 1024**3)  # 64 GiB, sparse: reading it would never finish
        with pytest.raises(LimitExceeded):
            local.get("inbox", "huge.mp4", max_bytes=10 * 1024**2)

    def test_failed_write_keeps_the_old_object(
        self, local: LocalStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        local.put("inbox", "k", b"old")

        def disk_full(*_: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", disk_full)
        with pytest.raises(OSError, match="No space"):
            local.put("inbox", "k", b"new")
        monkeypatch.undo()
        assert local.get("inbox", "k") == b"old"
        assert list((local.root / TMP_DIR).iterdir()) == []

    def test_uri_round_trips_through_open_uri(self, local: LocalStore) -> None:
        key = "dir with space/naïve #1.jpg"
        local.put("inbox", key, b"x")
        uri = local.uri("inbox", key)
        assert uri.startswith("file:///") and " " not in uri
        store, bucket, got = open_uri(uri, root=str(local.root))
        assert (bucket, got) == ("inbox", key)
        assert store.get(bucket, got) == b"x"


# -- JSON Lines audit log ---------------------------------------------------------------------
class TestJsonlAuditLog(AuditSinkContract):
    @pytest.fixture
    def audit_sink(self, tmp_path: Path) -> JsonlAuditLog:
        return JsonlAuditLog(tmp_path / "logs" / "audit.jsonl", fsync=False)

    @pytest.fixture
    def tamper_audit(self, audit_sink: JsonlAuditLog) -> Any:
        def tamper(seq: int, entry: dict[str, Any]) -> None:
            lines = audit_sink.path.read_bytes().splitlines()
            lines[seq] = canonical(entry)
            audit_sink.path.write_bytes(b"\n".join(lines) + b"\n")

        return tamper


WRITER = """
import sys
from fakewatch.ports.local import JsonlAuditLog
log = JsonlAuditLog(sys.argv[1], fsync=False)
for n in range(int(sys.argv[3])):
    log.append({"writer": int(sys.argv[2]), "n": n})
"""


class TestJsonlAuditLogOnDisk:
    def test_reopened_log_continues_the_chain(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        first = JsonlAuditLog(path)
        for n in range(3):
            first.append({"n": n})
        again = JsonlAuditLog(path)
        assert again.head() == (3, first.head()[1])
        assert again.append({"n": 3})["seq"] == 3
        assert again.verify().ok and again.verify().entries == 4

    def test_one_canonical_json_object_per_line(self, tmp_path: Path) -> None:
        log = JsonlAuditLog(tmp_path / "audit.jsonl")
        log.append({"text": "multi\nline ✓", "z": 1, "a": 2})
        (line,) = log.path.read_bytes().splitlines()
        assert canonical(json.loads(line)) == line

    def test_processes_appending_at_once_share_one_chain(self, tmp_path: Path) -> None:
        path = str(tmp_path / "audit.jsonl")
        env = {**os.environ, "PYTHONPATH": str(Path(fakewatch.__file__).parents[1])}
        procs = [
            subprocess.Popen([sys.executable, "-c", WRITER, path, str(w), "25"], env=env)
            for w in range(4)
        ]
        assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0, 0]
        log = JsonlAuditLog(path)
        report = log.verify()
        assert report.ok, report.problem
        assert report.entries == 100
        got = {(e["record"]["writer"], e["record"]["n"]) for e in log.entries()}
        assert got == {(w, n) for w in range(4) for n in range(25)}

    def test_torn_last_line_is_reported_not_extended(self, tmp_path: Path) -> None:
        path = tmp_path / "audit.jsonl"
        log = JsonlAuditLog(path)
        log.append({"n": 0})
        with path.open("ab") as f:
            f.write(b'{"seq":1,"prev_hash":"ab')  # a crash mid-write
        with pytest.raises(AuditLogCorrupt, match="incomplete"):
            JsonlAuditLog(path)
        with pytest.raises(AuditLogCorrupt):
            log.append({"n": 1})
        report = log.verify()
        assert (report.ok, report.first_bad_seq) == (False, 1)
        assert report.problem and "audit.jsonl:2" in report.problem

    def test_removed_line_is_detected(self, tmp_path: Path) -> None:
        log = JsonlAuditLog(tmp_path / "audit.jsonl")
        for n in range(4):
            log.append({"n": n})
        lines = log.path.read_bytes().splitlines(keepends=True)
        log.path.write_bytes(b"".join(lines[:1] + lines[2:]))
        report = log.verify()
        assert (report.ok, report.first_bad_seq) == (False, 1)

    def test_missing_file_is_an_empty_log(self, tmp_path: Path) -> None:
        log = JsonlAuditLog(tmp_path / "not-yet.jsonl")
        assert list(log.entries()) == [] and log.verify().ok


class TestJsonlNotificationSink(NotificationSinkContract):
    @pytest.fixture
    def notification_sink(self, tmp_path: Path) -> JsonlNotificationSink:
        return JsonlNotificationSink(tmp_path / "events" / "results.jsonl")

    @pytest.fixture
    def published_events(self, notification_sink: JsonlNotificationSink) -> Any:
        return notification_sink.events
