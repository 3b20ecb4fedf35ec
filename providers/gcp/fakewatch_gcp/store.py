"""Cloud Storage as a fakewatch :class:`~fakewatch.ports.store.ObjectStore` (``gs://``).

Choices GCS forces, made once here:

- **ETag = content hash.** A GCS ``etag`` changes with every metadata patch, and the scanner
  patches metadata (its tags) between reading an object and quarantining it. So the store's
  ``etag`` is the object's ``md5Hash`` (``crc32c:<value>`` for composite objects, which have
  none): it moves when the bytes move, not when labels do. ``version`` is the generation.
- **Tags are custom metadata keys.** GCS has no object tags, so a tag is a custom metadata
  key: every ``fakewatch-*`` key (the scanner's namespace: ``fakewatch-label``,
  ``fakewatch-skip`` set at upload with ``x-goog-meta-fakewatch-skip: true``, ...), plus any
  other key a ``set_tags`` call wrote, which the ``fakewatch-tag-keys`` key lists. The rest of
  the custom metadata is the object's ``metadata`` and tag writes never touch it. Metadata
  changes fire ``metadataUpdated``, never ``finalized``: tagging cannot re-trigger a scan.
- **Reads are pinned to a generation** (``ifGenerationMatch``), bounded by ``max_bytes``
  (a ranged read) and fetched raw (no decompressive transcoding: a gzip bomb stays small).
- **Write-once** is ``ifGenerationMatch=0``, enforced atomically by GCS. Emulators that
  ignore preconditions (gcp-storage-emulator does) are detected by a one-time probe and get a
  process-local lock around check-then-write instead: correct for every thread of one
  process (one function instance), not across processes — never the case on real GCS.
- Write-once puts are never retried inside the SDK: an ambiguous retry could turn our own
  landed write into a 412. A transient failure surfaces as TransientError instead, so the
  platform redelivers the whole (idempotent) event.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from fakewatch.errors import ObjectChanged, ObjectNotFound, PreconditionFailed
from fakewatch.ports.store import ObjectInfo, ObjectStore, check_key, check_tags, limit_size
from fakewatch_gcp.errors import translate

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.cloud.storage import Blob, Client

log = logging.getLogger(__name__)

PROBE_PREFIX = ".fakewatch-probe/"
TAG_PREFIX = "fakewatch-"
TAG_INDEX = "fakewatch-tag-keys"  # lists the tag keys outside the fakewatch- namespace
METADATA_ATTEMPTS = 5  # optimistic retries of a metadata patch guarded by metageneration


def content_etag(md5_hash: str | None, crc32c: str | None) -> str | None:
    """The store's ETag for an object: its MD5 (base64, as GCS reports it), else its CRC32C."""
    if md5_hash:
        return md5_hash
    return f"crc32c:{crc32c}" if crc32c else None


def etag_of(data: bytes, like: str) -> str:
    """The ETag ``data`` would have, in the same form as ``like``."""
    if like.startswith("crc32c:"):
        import google_crc32c

        digest = google_crc32c.Checksum(data).digest()
        return "crc32c:" + base64.b64encode(digest).decode()
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def custom_metadata(blob: Blob) -> dict[str, str]:
    """The object's custom metadata without keys an emulator kept as null after a delete."""
    return {k: v for k, v in (blob.metadata or {}).items() if v is not None}


def is_tag_key(key: str, listed: set[str]) -> bool:
    return key != TAG_INDEX and (key.startswith(TAG_PREFIX) or key in listed)


def split_metadata(meta: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(tags, plain metadata) of an object's custom metadata."""
    listed = {k for k in meta.get(TAG_INDEX, "").split(",") if k}
    tags = {k: v for k, v in meta.items() if is_tag_key(k, listed)}
    plain = {k: v for k, v in meta.items() if k != TAG_INDEX and k not in tags}
    return tags, plain


def join_metadata(tags: Mapping[str, str], plain: Mapping[str, str]) -> dict[str, str]:
    """Custom metadata holding ``tags`` beside ``plain``, with the index of foreign tag keys."""
    meta = {k: v for k, v in plain.items() if k not in tags}
    meta.update(tags)
    listed = sorted(k for k in tags if not k.startswith(TAG_PREFIX))
    if listed:
        meta[TAG_INDEX] = ",".join(listed)  # tag keys never hold a comma (check_tags)
    return meta


def info_of(blob: Blob) -> ObjectInfo:
    return ObjectInfo(
        bucket=blob.bucket.name,
        key=blob.name,
        size=int(blob.size or 0),
        etag=content_etag(blob.md5_hash, blob.crc32c),
        version=None if blob.generation is None else str(blob.generation),
        content_type=blob.content_type,
        last_modified=blob.updated,
        metadata=split_metadata(custom_metadata(blob))[1],
    )


class GcsStore(ObjectStore):
    """Objects in Cloud Storage buckets through google-cloud-storage.

    ``client``: a ``google.cloud.storage.Client`` (created lazily with the SDK's defaults —
    ADC on GCP, ``STORAGE_EMULATOR_HOST`` locally). ``retry``: the SDK retry for idempotent
    calls (the SDK default when None; pass a short one where the platform retries anyway).
    ``server_preconditions``: whether the server enforces ``ifGenerationMatch``; None
    decides by itself (True on ``*.googleapis.com``, probed once elsewhere).
    """

    scheme: ClassVar[str] = "gs"

    def __init__(
        self,
        client: Client | None = None,
        *,
        project: str | None = None,
        retry: Retry | None = None,
        timeout: float = 60.0,
        server_preconditions: bool | None = None,
    ) -> None:
        self._client = client
        self._project = project
        self._retry = retry
        self.timeout = timeout
        self._server_preconditions = server_preconditions
        self._write_once_lock = threading.Lock()

    # -- wiring -------------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        if self._client is None:
            from google.cloud import storage

            self._client = storage.Client(project=self._project)
        return self._client

    @property
    def retry(self) -> Retry:
        if self._retry is None:
            from google.cloud.storage.retry import DEFAULT_RETRY

            self._retry = DEFAULT_RETRY
        return self._retry

    def _blob(self, bucket: str, key: str) -> Blob:
        return self.client.bucket(bucket).blob(key)

    def _kw(self) -> dict[str, Any]:
        return {"retry": self.retry, "timeout": self.timeout}

    def _fetch(self, bucket: str, key: str) -> Blob:
        with translate(self.uri(bucket, key)):
            blob = self.client.bucket(bucket).get_blob(key, **self._kw())
        if blob is None:
            raise ObjectNotFound(f"{self.uri(bucket, key)} does not exist")
        return blob

    # -- primitives ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        return info_of(self._fetch(bucket, key))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        uri = self.uri(bucket, key)
        blob = self._fetch(bucket, key)
        etag = content_etag(blob.md5_hash, blob.crc32c)
        if if_match is not None and etag != if_match:
            raise ObjectChanged(f"{uri} has ETag {etag}, not {if_match}")
        limit_size(int(blob.size or 0), max_bytes)
        # A ranged read bounds memory even if the object grew (the range end is inclusive:
        # one byte more than allowed proves it is too big). No range on an empty object.
        end = max_bytes if max_bytes is not None and blob.size else None
        with translate(uri, precondition=ObjectChanged):
            data = blob.download_as_bytes(
                end=end,
                raw_download=True,
                if_generation_match=blob.generation,
                **self._kw(),
            )
        if max_bytes is not None:
            limit_size(len(data), max_bytes)
        if if_match is not None and etag_of(data, if_match) != if_match:
            raise ObjectChanged(f"{uri} changed while it was read")
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
        check_key(key)
        blob = self._blob(bucket, key)
        if metadata:
            blob.metadata = dict(metadata)
        body = bytes(data)
        ctype = content_type or "application/octet-stream"
        uri = self.uri(bucket, key)
        if not if_absent:
            with translate(uri):
                blob.upload_from_string(body, content_type=ctype, **self._kw())
            return info_of(blob)
        if self._enforces_preconditions(bucket):
            with translate(uri):
                blob.upload_from_string(
                    body, content_type=ctype, if_generation_match=0, retry=None,
                    timeout=self.timeout,
                )  # fmt: skip
            return info_of(blob)
        with self._write_once_lock:  # emulator only: see the module docstring
            if self._exists_raw(bucket, key):
                raise PreconditionFailed(f"{uri} already exists")
            with translate(uri):
                blob.upload_from_string(body, content_type=ctype, retry=None, timeout=self.timeout)
        return info_of(blob)

    def delete(self, bucket: str, key: str) -> None:
        try:
            with translate(self.uri(bucket, key)):
                self._blob(bucket, key).delete(**self._kw())
        except ObjectNotFound:
            return

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        check_key(dst_key)
        source = self._blob(src_bucket, src_key)
        target = self._blob(dst_bucket, dst_key)
        token: str | None = None
        with translate(f"copy {self.uri(src_bucket, src_key)} -> {self.uri(dst_bucket, dst_key)}"):
            while True:  # rewrite, not copyTo: large or cross-region objects take several calls
                token, _done, _total = target.rewrite(source, token=token, **self._kw())
                if token is None:
                    break
        return info_of(target)

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        return split_metadata(custom_metadata(self._fetch(bucket, key)))[0]

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replace the object's tags; its other custom metadata stays as it is."""
        checked = check_tags(tags)
        self._patch_metadata(
            bucket, key, lambda current: join_metadata(checked, split_metadata(current)[1])
        )

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        with translate(self.uri(bucket, prefix)):
            pages = self.client.list_blobs(bucket, prefix=prefix or None, **self._kw())
            infos = [info_of(blob) for blob in pages]
        return iter(sorted(infos, key=lambda info: info.key))

    # -- internals ----------------------------------------------------------------------------
    def _patch_metadata(
        self, bucket: str, key: str, change: Callable[[dict[str, str]], dict[str, str]]
    ) -> None:
        """Read, change and write the custom metadata, guarded by the metageneration so a
        concurrent writer's change is retried on, not overwritten (on real GCS)."""
        uri = self.uri(bucket, key)
        for _ in range(METADATA_ATTEMPTS):
            blob = self._fetch(bucket, key)
            current = custom_metadata(blob)
            wanted = change(current)
            # null removes a key on GCS (and on the emulator, which stores the null)
            blob.metadata = {**dict.fromkeys(set(current) - set(wanted)), **wanted}
            try:
                with translate(uri, precondition=ObjectChanged):
                    blob.patch(if_metageneration_match=blob.metageneration, **self._kw())
            except ObjectChanged:
                log.info("metadata of %s changed meanwhile; retrying", uri)
                continue
            return
        raise ObjectChanged(f"{uri}: metadata kept changing over {METADATA_ATTEMPTS} attempts")

    def _exists_raw(self, bucket: str, key: str) -> bool:
        with translate(self.uri(bucket, key)):
            return self.client.bucket(bucket).get_blob(key, **self._kw()) is not None

    def _enforces_preconditions(self, bucket: str) -> bool:
        if self._server_preconditions is None:
            base = str(getattr(self.client._connection, "API_BASE_URL", ""))
            if base.rstrip("/").endswith("googleapis.com"):
                self._server_preconditions = True
            else:
                self._server_preconditions = self._probe_preconditions(bucket)
                log.warning(
                    "storage endpoint %s %s ifGenerationMatch",
                    base,
                    "enforces" if self._server_preconditions else "ignores",
                )
        return self._server_preconditions

    def _probe_preconditions(self, bucket: str) -> bool:
        """Write a probe object twice with ifGenerationMatch=0: does the second write fail?"""
        probe = self._blob(bucket, f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        uri = self.uri(bucket, probe.name)
        try:
            with translate(uri):
                probe.upload_from_string(b"1", if_generation_match=0, timeout=self.timeout)
            try:
                with translate(uri):
                    probe.upload_from_string(b"2", if_generation_match=0, timeout=self.timeout)
            except PreconditionFailed:
                return True
            return False
        finally:
            self.delete(bucket, probe.name)


__all__ = ["GcsStore", "content_etag", "etag_of"]
