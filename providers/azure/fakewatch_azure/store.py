"""Azure Blob Storage as a fakewatch :class:`~fakewatch.ports.store.ObjectStore` (``az://``).

``az://<container>/<blob name>``: a bucket is a container of one storage account (the
client's), a key a blob name. Choices Azure forces, made once here:

- **Tags are blob index tags** (``Set Blob Tags``): up to 10 per blob, the same character
  rules as S3 (:func:`~fakewatch.ports.store.check_tags`). Writing them changes neither the
  blob's ETag nor its Last-Modified time and fires no ``BlobCreated`` event, so the scanner's
  own tags can never look like an overwrite or re-trigger a scan. (Blob *metadata* would do
  both: ``Set Blob Metadata`` moves the ETag and, with versioning on, makes a new version —
  which is why the scanner never writes metadata on the blob it scans.) Index tags need the
  ``.../blobs/tags/read`` and ``.../blobs/tags/write`` data actions (Storage Blob Data Owner,
  or a custom role) and are not available on hierarchical-namespace (Data Lake) accounts.
- **ETag** is the blob's own ETag (quoted, as the SDK and Event Grid report it); ``version``
  is the version id when blob versioning is on, else None.
- **Reads are pinned to the ETag** seen by ``head`` (``If-Match``) and bounded by
  ``max_bytes`` (a ranged read: one byte past the limit proves it is too big).
- **Write-once** is ``If-None-Match: *`` (the SDK's ``overwrite=False``), enforced
  atomically by the service (and by Azurite). Write-once puts are sent with the SDK's retries
  off: an ambiguous retry could turn our own landed write into a 409. A transient failure
  surfaces as TransientError instead, and Event Grid redelivers the whole, idempotent, event.
- **Copy** is ``Copy Blob`` (``start_copy_from_url``), polled until it completes: within one
  account it is authorized by the caller's own identity (no SAS), and it copies content,
  content type and metadata.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from fakewatch.errors import ConfigError, ObjectChanged, ObjectNotFound
from fakewatch.ports.store import ObjectInfo, ObjectStore, check_key, check_tags, limit_size
from fakewatch.settings import AZURE_ACCOUNT_URL, AZURE_CONNECTION_STRING
from fakewatch_azure.errors import translate

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobClient, BlobProperties, BlobServiceClient

log = logging.getLogger(__name__)

COPY_POLL_S = 0.2


def same_etag(a: str | None, b: str | None) -> bool:
    """ETags compare without their quotes (Event Grid and the SDK both quote them)."""
    return bool(a and b) and str(a).strip('"').lower() == str(b).strip('"').lower()


def info_of(container: str, props: BlobProperties) -> ObjectInfo:
    settings = props.content_settings
    return ObjectInfo(
        bucket=container,
        key=props.name,
        size=int(props.size or 0),
        etag=props.etag,
        version=props.version_id,
        content_type=settings.content_type if settings is not None else None,
        last_modified=props.last_modified,
        metadata=dict(props.metadata or {}),
    )


def service_client(
    *,
    account_url: str | None = None,
    connection_string: str | None = None,
    credential: Any = None,
    api_version: str | None = None,
    **client_kwargs: Any,
) -> BlobServiceClient:
    """A BlobServiceClient from a connection string, or an account URL and a credential
    (``DefaultAzureCredential`` — the Function App's managed identity — when none is given)."""
    from azure.storage.blob import BlobServiceClient

    if api_version:
        client_kwargs["api_version"] = api_version
    if connection_string:
        return BlobServiceClient.from_connection_string(connection_string, **client_kwargs)
    if not account_url:
        raise ConfigError(
            f"Azure Blob Storage needs {AZURE_ACCOUNT_URL} (the account's blob endpoint, used "
            f"with the managed identity) or {AZURE_CONNECTION_STRING}"
        )
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return BlobServiceClient(account_url, credential=credential, **client_kwargs)


class BlobStore(ObjectStore):
    """Blobs in the containers of one storage account, through azure-storage-blob.

    ``client``: a ``BlobServiceClient``; built lazily otherwise from ``account_url`` (with
    ``credential``, default ``DefaultAzureCredential``) or ``connection_string`` — falling
    back to ``FAKEWATCH_AZURE_ACCOUNT_URL`` / ``FAKEWATCH_AZURE_CONNECTION_STRING``.
    """

    scheme: ClassVar[str] = "az"

    def __init__(
        self,
        client: BlobServiceClient | None = None,
        *,
        account_url: str | None = None,
        connection_string: str | None = None,
        credential: TokenCredential | Any = None,
        api_version: str | None = None,
        copy_timeout_s: float = 300.0,
    ) -> None:
        self._client = client
        self._options: dict[str, Any] = {
            "account_url": account_url,
            "connection_string": connection_string,
            "credential": credential,
            "api_version": api_version,
        }
        self.copy_timeout_s = copy_timeout_s

    # -- wiring -------------------------------------------------------------------------------
    @property
    def client(self) -> BlobServiceClient:
        if self._client is None:
            opts = dict(self._options)
            if not opts["account_url"] and not opts["connection_string"]:
                opts["account_url"] = os.environ.get(AZURE_ACCOUNT_URL)
                opts["connection_string"] = os.environ.get(AZURE_CONNECTION_STRING)
            self._client = service_client(**opts)
        return self._client

    @property
    def account_name(self) -> str:
        return str(self.client.account_name)

    def _blob(self, container: str, name: str) -> BlobClient:
        return self.client.get_blob_client(container, name)

    def _props(self, container: str, name: str) -> BlobProperties:
        with translate(self.uri(container, name)):
            return self._blob(container, name).get_blob_properties()

    # -- primitives ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        return info_of(bucket, self._props(bucket, key))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        from azure.core import MatchConditions

        uri = self.uri(bucket, key)
        props = self._props(bucket, key)
        if if_match is not None and not same_etag(props.etag, if_match):
            raise ObjectChanged(f"{uri} has ETag {props.etag}, not {if_match}")
        size = int(props.size or 0)
        limit_size(size, max_bytes)
        if size == 0:
            return b""
        length = None if max_bytes is None else max_bytes + 1
        with translate(uri, precondition=ObjectChanged):
            stream = self._blob(bucket, key).download_blob(
                offset=0 if length else None,
                length=length,
                etag=props.etag,
                match_condition=MatchConditions.IfNotModified,
                max_concurrency=1,
            )
            data = stream.readall()
        if max_bytes is not None:
            limit_size(len(data), max_bytes)
        return bytes(data)

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
        from azure.storage.blob import ContentSettings

        check_key(key)
        ctype = content_type or "application/octet-stream"
        kwargs: dict[str, Any] = {
            "overwrite": not if_absent,  # False sends If-None-Match: *
            "content_settings": ContentSettings(content_type=ctype),
            "metadata": dict(metadata) if metadata else None,
        }
        if if_absent:
            kwargs["retry_total"] = 0  # see the module docstring
        body = bytes(data)
        with translate(self.uri(bucket, key)):
            resp = self._blob(bucket, key).upload_blob(body, **kwargs)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=resp.get("etag"),
            version=resp.get("version_id"),
            content_type=ctype,
            last_modified=resp.get("last_modified"),
            metadata=dict(metadata or {}),
        )

    def delete(self, bucket: str, key: str) -> None:
        try:
            with translate(self.uri(bucket, key)):
                self._blob(bucket, key).delete_blob(delete_snapshots="include")
        except ObjectNotFound:
            return

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        check_key(dst_key)
        what = f"copy {self.uri(src_bucket, src_key)} -> {self.uri(dst_bucket, dst_key)}"
        source = self._blob(src_bucket, src_key)
        target = self._blob(dst_bucket, dst_key)
        with translate(what):
            started = target.start_copy_from_url(source.url)
        status = started.get("copy_status")
        deadline = time.monotonic() + self.copy_timeout_s
        while status == "pending":
            if time.monotonic() > deadline:
                with translate(what):
                    target.abort_copy(str(started["copy_id"]))
                raise TimeoutError(f"{what}: not finished after {self.copy_timeout_s:g}s")
            time.sleep(COPY_POLL_S)
            props = self._props(dst_bucket, dst_key)
            status = props.copy.status if props.copy is not None else "success"
        if status != "success":
            raise OSError(f"{what}: copy ended {status}")
        return self.head(dst_bucket, dst_key)

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        with translate(self.uri(bucket, key)):
            return dict(self._blob(bucket, key).get_blob_tags() or {})

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(tags)
        with translate(self.uri(bucket, key)):
            self._blob(bucket, key).set_blob_tags(checked)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        uri = self.uri(bucket, prefix)
        container = self.client.get_container_client(bucket)
        with translate(uri):
            pages = container.list_blobs(name_starts_with=prefix or None, include=["metadata"])
            items = iter(pages)
            first = next(items, None)  # the first page: a missing container fails here
        if first is None:
            return iter(())
        return self._listing(bucket, uri, first, items)

    def _listing(
        self, bucket: str, uri: str, first: BlobProperties, rest: Iterator[BlobProperties]
    ) -> Iterator[ObjectInfo]:
        yield info_of(bucket, first)
        with translate(uri):
            for props in rest:
                yield info_of(bucket, props)


__all__ = ["BlobStore", "info_of", "same_etag", "service_client"]
