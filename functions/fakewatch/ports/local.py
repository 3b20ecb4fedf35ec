"""Local-filesystem implementations of the ports: the embedded default, no cloud needed.

``LocalStore(root)``: a bucket is a directory under ``root`` and a key is a path relative to
it. Tags, metadata, content type and the ETag live in a sidecar tree ``root/.fakewatch-meta/``
(one JSON file per object, named by the SHA-256 of bucket and key) so they never show up in a
bucket's listing and never collide with a key. Writes go to ``root/.fakewatch-tmp/`` first and
are installed atomically with ``os.replace`` (or ``os.link`` for write-once puts, which fails
if the key exists). Keys that would leave their bucket (``..``, absolute paths, empty segments,
symbolic links) are refused.

``JsonlAuditLog(path)`` and ``JsonlNotificationSink(path)``: append-only JSON Lines files,
safe for several processes at once (an exclusive ``fcntl`` lock around each append). POSIX
only, like the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from fakewatch.errors import AccessDenied, ObjectChanged, ObjectNotFound, PreconditionFailed
from fakewatch.ports.audit import GENESIS, AuditSink, ChainReport, canonical, chain_entry
from fakewatch.ports.audit_store import AuditLogCorrupt, parse_entry, verify_raw
from fakewatch.ports.notify import NotificationSink, encode_event
from fakewatch.ports.store import (
    InvalidKey,
    ObjectInfo,
    ObjectStore,
    check_key,
    check_tags,
    limit_size,
)

META_DIR = ".fakewatch-meta"
TMP_DIR = ".fakewatch-tmp"
_CHUNK = 1 << 20


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


class LocalStore(ObjectStore):
    """Buckets as directories under ``root``; see the module docstring for the layout."""

    scheme: ClassVar[str] = "file"

    def __init__(self, root: str | os.PathLike[str], *, buckets: Iterable[str] = ()) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._meta = self.root / META_DIR
        self._tmp = self.root / TMP_DIR
        for bucket in buckets:
            self.make_bucket(bucket)

    def make_bucket(self, bucket: str) -> None:
        """Create a bucket directory (idempotent)."""
        self._check_bucket(bucket)
        (self.root / bucket).mkdir(exist_ok=True)

    def uri(self, bucket: str, key: str) -> str:
        """``file:///abs/root/bucket/key``, percent-encoded (``stores.open_uri`` reads it)."""
        return (self.root / bucket).joinpath(*key.split("/")).as_uri()

    # -- primitives ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        path = self._existing(bucket, key)
        return self._info(bucket, key, path, os.lstat(path))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        path = self._existing(bucket, key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise self._os_error(exc, bucket, key) from exc
        with os.fdopen(fd, "rb") as f:
            limit_size(os.fstat(fd).st_size, max_bytes)  # before reading a byte
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        limit_size(len(data), max_bytes)  # it grew while we read
        if if_match is not None:
            etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if etag != if_match:
                raise ObjectChanged(f"{self.uri(bucket, key)} has ETag {etag}, not {if_match}")
        return data

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> ObjectInfo:
        path = self._path(bucket, key)
        tmp = self._temp_file()
        try:
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._install(tmp, path, bucket, key, if_absent=if_absent)
        finally:
            tmp.unlink(missing_ok=True)
        st = os.lstat(path)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        self._write_meta(bucket, key, st, etag, content_type, dict(metadata or {}), {})
        return self._info(bucket, key, path, st)

    def delete(self, bucket: str, key: str) -> None:
        path = self._path(bucket, key)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except (IsADirectoryError, PermissionError, NotADirectoryError):
            return  # a folder, not an object: nothing to delete
        self._meta_path(bucket, key).unlink(missing_ok=True)
        self._prune(path.parent, self.root / bucket)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        src = self._existing(src_bucket, src_key)
        meta = self._read_meta(src_bucket, src_key, os.lstat(src))
        path = self._path(dst_bucket, dst_key)
        tmp = self._temp_file()
        try:
            with src.open("rb") as fin, tmp.open("wb") as fout:
                digest = hashlib.md5(usedforsecurity=False)
                while chunk := fin.read(_CHUNK):
                    digest.update(chunk)
                    fout.write(chunk)
                fout.flush()
                os.fsync(fout.fileno())
            self._install(tmp, path, dst_bucket, dst_key, if_absent=False)
        finally:
            tmp.unlink(missing_ok=True)
        st = os.lstat(path)
        self._write_meta(
            dst_bucket,
            dst_key,
            st,
            digest.hexdigest(),
            meta.get("content_type"),
            dict(meta.get("metadata") or {}),
            dict(meta.get("tags") or {}),  # tags travel with the copy, as S3 does by default
        )
        return self._info(dst_bucket, dst_key, path, st)

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        path = self._existing(bucket, key)
        return dict(self._read_meta(bucket, key, os.lstat(path)).get("tags") or {})

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(tags)
        path = self._existing(bucket, key)
        st = os.lstat(path)
        meta = self._read_meta(bucket, key, st)
        etag = meta.get("etag") if self._fresh(meta, st) else _md5_file(path)
        self._write_meta(
            bucket,
            key,
            st,
            str(etag),
            meta.get("content_type"),
            dict(meta.get("metadata") or {}),
            checked,
        )

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        bucket_dir = self._bucket_dir(bucket)
        found: list[tuple[str, Path, os.stat_result]] = []
        for dirpath, _dirs, files in os.walk(self._walk_start(bucket_dir, prefix)):
            for name in files:
                path = Path(dirpath, name)
                key = path.relative_to(bucket_dir).as_posix()
                st = os.lstat(path)
                if key.startswith(prefix) and stat.S_ISREG(st.st_mode):
                    found.append((key, path, st))
        found.sort(key=lambda item: item[0])
        return (self._info(bucket, key, path, st) for key, path, st in found)

    # -- paths --------------------------------------------------------------------------------
    @staticmethod
    def _check_bucket(bucket: str) -> None:
        if (
            not isinstance(bucket, str)
            or not bucket
            or bucket.startswith(".")
            or any(c in bucket for c in "/\\\x00")
        ):
            raise InvalidKey(f"invalid bucket name {bucket!r}: one folder name, not hidden")

    def _bucket_dir(self, bucket: str) -> Path:
        self._check_bucket(bucket)
        path = self.root / bucket
        if not path.is_dir() or path.is_symlink():
            raise ObjectNotFound(f"bucket {path.as_uri()} does not exist")
        return path

    def _path(self, bucket: str, key: str) -> Path:
        """The file for ``key``; refuses keys that would leave the bucket."""
        check_key(key)
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise InvalidKey(
                f"object key {key!r}: absolute paths, empty, '.' and '..' segments "
                "cannot be stored on a filesystem"
            )
        return self._bucket_dir(bucket).joinpath(*parts)

    def _existing(self, bucket: str, key: str) -> Path:
        """The file of an existing object, inside its bucket, not a link. Raises ObjectNotFound."""
        path = self._path(bucket, key)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(f"{self.uri(bucket, key)} does not exist") from None
        if stat.S_ISLNK(st.st_mode):
            raise AccessDenied(
                f"{self.uri(bucket, key)} is a symbolic link: LocalStore never follows links"
            )
        if not stat.S_ISREG(st.st_mode):
            raise ObjectNotFound(f"{self.uri(bucket, key)} is a folder, not an object")
        self._check_contained(path, bucket)
        return path

    def _check_contained(self, path: Path, bucket: str) -> None:
        """Refuse a path whose folders resolve outside the bucket (a linked folder)."""
        bucket_real = os.path.realpath(self.root / bucket)
        if not _within(os.path.realpath(path.parent), bucket_real):
            raise AccessDenied(f"{path} resolves outside bucket {bucket!r}: refused")

    @staticmethod
    def _walk_start(bucket_dir: Path, prefix: str) -> Path:
        folder = prefix.rpartition("/")[0]
        parts = folder.split("/") if folder else []
        if any(part in ("", ".", "..") for part in parts):
            return bucket_dir
        return bucket_dir.joinpath(*parts)

    def _temp_file(self) -> Path:
        self._tmp.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        os.close(fd)
        return Path(name)

    def _install(self, tmp: Path, path: Path, bucket: str, key: str, *, if_absent: bool) -> None:
        """Move a finished temp file into place atomically; retry if a folder was pruned."""
        for _ in range(5):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._check_contained(path, bucket)
                if path.is_dir() and not path.is_symlink():
                    raise InvalidKey(f"{self.uri(bucket, key)} is a folder of other objects")
                if if_absent:
                    os.link(tmp, path)
                else:
                    os.replace(tmp, path)
                return
            except FileExistsError as exc:
                if if_absent and path.exists() and not path.is_dir():
                    raise PreconditionFailed(f"{self.uri(bucket, key)} already exists") from exc
                raise self._conflict(bucket, key) from exc
            except NotADirectoryError as exc:
                raise self._conflict(bucket, key) from exc
            except FileNotFoundError:
                continue  # a concurrent delete pruned the folder between mkdir and install
            except OSError as exc:
                raise self._os_error(exc, bucket, key) from exc
        raise OSError(f"could not create the folder of {self.uri(bucket, key)}")

    def _conflict(self, bucket: str, key: str) -> InvalidKey:
        return InvalidKey(
            f"{self.uri(bucket, key)}: a folder on its path is an object (a filesystem cannot "
            "hold both 'a' and 'a/b')"
        )

    def _os_error(self, exc: OSError, bucket: str, key: str) -> Exception:
        if exc.errno == errno.ENAMETOOLONG:
            return InvalidKey(f"object key {key!r} has a segment too long for this filesystem")
        if exc.errno == errno.ELOOP:
            return AccessDenied(f"{self.uri(bucket, key)} is a symbolic link: refused")
        if isinstance(exc, FileNotFoundError):
            return ObjectNotFound(f"{self.uri(bucket, key)} does not exist")
        return exc

    def _prune(self, folder: Path, stop: Path) -> None:
        while folder != stop and _within(str(folder), str(stop)):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # -- sidecar ------------------------------------------------------------------------------
    def _meta_path(self, bucket: str, key: str) -> Path:
        name = hashlib.sha256(f"{bucket}\x00{key}".encode("utf-8", "surrogateescape")).hexdigest()
        return self._meta / bucket / name[:2] / f"{name}.json"

    def _read_meta(self, bucket: str, key: str, st: os.stat_result) -> dict[str, Any]:
        try:
            doc = json.loads(self._meta_path(bucket, key).read_bytes())
        except (FileNotFoundError, ValueError):
            return {}
        return doc if isinstance(doc, dict) and doc.get("key") == key else {}

    @staticmethod
    def _fresh(meta: Mapping[str, Any], st: os.stat_result) -> bool:
        """Whether the sidecar still describes the file (not replaced behind our back)."""
        return meta.get("size") == st.st_size and meta.get("mtime_ns") == st.st_mtime_ns

    def _write_meta(
        self,
        bucket: str,
        key: str,
        st: os.stat_result,
        etag: str,
        content_type: str | None,
        metadata: dict[str, str],
        tags: dict[str, str],
    ) -> None:
        doc = {
            "key": key,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "etag": etag,
            "content_type": content_type,
            "metadata": metadata,
            "tags": tags,
        }
        path = self._meta_path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temp_file()
        try:
            tmp.write_bytes(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogateescape"))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _info(self, bucket: str, key: str, path: Path, st: os.stat_result) -> ObjectInfo:
        meta = self._read_meta(bucket, key, st)
        etag = meta.get("etag") if self._fresh(meta, st) else _md5_file(path)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=st.st_size,
            etag=str(etag),
            version=None,
            content_type=meta.get("content_type"),
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
            metadata=dict(meta.get("metadata") or {}),
        )


# -- JSON Lines files -------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    """The file opened for reading and appending under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield f
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _last_line(f: IO[bytes]) -> bytes | None:
    """The file's last line without its newline; None for an empty file.

    Raises AuditLogCorrupt when the file does not end with a newline (a torn write).
    """
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return None
    f.seek(end - 1)
    if f.read(1) != b"\n":
        raise AuditLogCorrupt(f"{f.name!s} ends in an incomplete line (a torn write?)")
    pos, tail = end - 1, b""  # tail holds [pos, end - 1): everything before the last newline
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        f.seek(pos)
        tail = f.read(step) + tail
        cut = tail.rfind(b"\n")
        if cut >= 0:
            return tail[cut + 1 :]
    return tail


class JsonlAuditLog(AuditSink):
    """The hash-chained audit log as one JSON Lines file, one entry per line."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        if self.path.exists():
            self.head()  # recover the head now: a torn tail is reported at open, not later

    def head(self) -> tuple[int, str]:
        """(next seq, hash of the last entry), read from the end of the file."""
        with _locked(self.path) as f:
            return self._head(f)

    def _head(self, f: IO[bytes]) -> tuple[int, str]:
        line = _last_line(f)
        if line is None:
            return 0, GENESIS
        entry = parse_entry(line)
        if entry is None or not isinstance(entry.get("seq"), int) or "hash" not in entry:
            raise AuditLogCorrupt(f"{self.path}: the last line is not an audit entry")
        return entry["seq"] + 1, str(entry["hash"])

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        canonical(record)  # refuse what JSON cannot carry before taking the lock
        with _locked(self.path) as f:
            seq, prev = self._head(f)
            entry = chain_entry(seq, prev, record)
            f.write(canonical(entry) + b"\n")
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        return entry

    def entries(self) -> Iterator[dict[str, Any]]:
        for number, line in self._lines():
            entry = parse_entry(line)
            if entry is None:
                raise AuditLogCorrupt(f"{self.path}:{number} is not an audit entry")
            yield entry

    def verify(self) -> ChainReport:
        return verify_raw((f"{self.path}:{n}", line) for n, line in self._lines())

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return
        with f:
            for number, line in enumerate(f, start=1):
                yield number, line.rstrip(b"\n")


class JsonlNotificationSink(NotificationSink):
    """Result events appended to a JSON Lines file (one compact JSON object per line)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def publish(self, event: Mapping[str, Any]) -> None:
        data = encode_event(event) + b"\n"
        with _locked(self.path) as f:
            f.write(data)
            f.flush()

    def events(self) -> list[dict[str, Any]]:
        """Every event published so far, in order (lines that are not JSON are skipped)."""
        if not self.path.exists():
            return []
        docs = (parse_entry(line) for line in self.path.read_bytes().splitlines())
        return [doc for doc in docs if doc is not None]
