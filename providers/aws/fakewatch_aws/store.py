"""The object store on Amazon S3 (or any S3 API: moto, MinIO), with boto3.

Write-once puts use S3 conditional writes (``If-None-Match: *``), atomic on the server; gets
carry ``If-Match`` so an object overwritten since its event is noticed, not scanned in its
new form under the old identity. ETags are returned without their quotes, as the core keeps
them. The client is injected, or built lazily on first use from the standard AWS settings
(``AWS_ENDPOINT_URL``, ``AWS_REGION``, credentials chain), with botocore's standard retry mode.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from fakewatch.errors import ConfigError, ObjectChanged
from fakewatch.ports.store import ObjectInfo, ObjectStore, check_key, check_tags, limit_size
from fakewatch_aws.errors import aws_errors

MAX_COPY_BYTES = 5 * 1024**3  # CopyObject's limit; larger objects go through a multipart copy


def strip_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def quote_etag(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


class S3Store(ObjectStore):
    """``S3Store()``, ``S3Store(client=boto3.client("s3"))`` or ``S3Store(endpoint_url=...)``."""

    scheme: ClassVar[str] = "s3"

    def __init__(self, client: Any = None, **client_kwargs: Any) -> None:
        self._client = client
        self._client_kwargs = client_kwargs
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client("s3", **self._client_kwargs)
        return self._client

    def check_conditional_writes(self) -> None:
        """Refuse to start on a botocore too old to send ``If-None-Match`` on PutObject.

        Lambda's bundled boto3 lags behind PyPI; a scanner that silently lost write-once puts
        could write a verdict twice. Raises ConfigError naming the fix.
        """
        shape = self.client.meta.service_model.operation_model("PutObject").input_shape
        if "IfNoneMatch" not in shape.members:
            import botocore

            raise ConfigError(
                f"botocore {botocore.__version__} cannot send If-None-Match on PutObject "
                "(write-once verdicts need botocore >= 1.35.8): bundle boto3 with "
                "`fakewatch aws bundle --include-sdk`"
            )

    # -- primitives ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectInfo:
        with aws_errors(self.uri(bucket, key)):
            resp = self.client.head_object(Bucket=bucket, Key=key)
        return _info(bucket, key, resp, size=int(resp["ContentLength"]))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        max_bytes: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if if_match is not None:
            kwargs["IfMatch"] = quote_etag(if_match)
        uri = self.uri(bucket, key)
        with aws_errors(uri, precondition=ObjectChanged):
            resp = self.client.get_object(**kwargs)
        body = resp["Body"]
        try:
            limit_size(int(resp["ContentLength"]), max_bytes)  # before reading a byte
            with aws_errors(uri):
                data: bytes = body.read() if max_bytes is None else body.read(max_bytes + 1)
        finally:
            body.close()
        limit_size(len(data), max_bytes)  # a length header that lied
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
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": bytes(data)}
        if content_type:
            kwargs["ContentType"] = content_type
        if metadata:
            kwargs["Metadata"] = dict(metadata)
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        with aws_errors(self.uri(bucket, key)):
            resp = self.client.put_object(**kwargs)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=strip_etag(resp.get("ETag")),
            version=resp.get("VersionId"),
            content_type=content_type,
            metadata=dict(metadata or {}),
        )

    def delete(self, bucket: str, key: str) -> None:
        with aws_errors(self.uri(bucket, key)):
            self.client.delete_object(Bucket=bucket, Key=key)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        check_key(dst_key)
        source = {"Bucket": src_bucket, "Key": src_key}
        what = f"{self.uri(src_bucket, src_key)} -> {self.uri(dst_bucket, dst_key)}"
        size = self.head(src_bucket, src_key).size
        with aws_errors(what):
            if size > MAX_COPY_BYTES:  # managed multipart copy; tags copied by hand below
                self.client.copy(source, dst_bucket, dst_key)
                tags = self.get_tags(src_bucket, src_key)
                if tags:
                    self.set_tags(dst_bucket, dst_key, tags)
            else:
                self.client.copy_object(
                    CopySource=source,
                    Bucket=dst_bucket,
                    Key=dst_key,
                    MetadataDirective="COPY",
                    TaggingDirective="COPY",
                )
        return self.head(dst_bucket, dst_key)

    def get_tags(self, bucket: str, key: str) -> dict[str, str]:
        with aws_errors(self.uri(bucket, key)):
            resp = self.client.get_object_tagging(Bucket=bucket, Key=key)
        return {t["Key"]: t["Value"] for t in resp.get("TagSet", [])}

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(tags)
        tag_set = [{"Key": k, "Value": v} for k, v in checked.items()]
        with aws_errors(self.uri(bucket, key)):
            if tag_set:
                self.client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})
            else:
                self.client.head_object(Bucket=bucket, Key=key)  # missing → ObjectNotFound
                self.client.delete_object_tagging(Bucket=bucket, Key=key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        with aws_errors(self.uri(bucket, prefix)):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        bucket=bucket,
                        key=item["Key"],
                        size=int(item["Size"]),
                        etag=strip_etag(item.get("ETag")),
                        last_modified=item.get("LastModified"),
                    )


def _info(bucket: str, key: str, resp: Mapping[str, Any], *, size: int) -> ObjectInfo:
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=size,
        etag=strip_etag(resp.get("ETag")),
        version=resp.get("VersionId"),
        content_type=resp.get("ContentType"),
        last_modified=resp.get("LastModified"),
        metadata=dict(resp.get("Metadata") or {}),
    )


def make_client(service: str, **kwargs: Any) -> Any:
    """A boto3 client with botocore's standard retry mode (throttling and 5xx backoff)."""
    import boto3
    from botocore.config import Config

    config = kwargs.pop("config", None) or Config(
        retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60
    )
    session: Any = kwargs.pop("session", None) or boto3.session.Session()
    return session.client(service, config=config, **kwargs)
