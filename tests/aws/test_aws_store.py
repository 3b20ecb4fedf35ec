"""S3Store against a moto server: the core's ObjectStore contract, plus what is S3's own."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from fakewatch.errors import (
    AccessDenied,
    ConfigError,
    ObjectChanged,
    ObjectNotFound,
    PreconditionFailed,
    TransientError,
)
from fakewatch.stores import get_store_class
from fakewatch.testing.contracts import ObjectStoreContract
from fakewatch_aws.errors import AwsError, translate
from fakewatch_aws.store import S3Store

pytestmark = pytest.mark.integration


class TestS3StoreContract(ObjectStoreContract):
    @pytest.fixture
    def store(self, aws: dict[str, Any]) -> S3Store:
        return S3Store(**aws)

    @pytest.fixture
    def bucket(self, new_bucket: Any) -> str:
        return str(new_bucket("contract"))

    @pytest.fixture
    def other_bucket(self, new_bucket: Any) -> str:
        return str(new_bucket("contract-other"))


def test_registry_opens_s3_uris_with_this_store() -> None:
    assert get_store_class("s3") is S3Store


def test_etags_come_back_without_quotes(aws: dict[str, Any], new_bucket: Any) -> None:
    store, bucket = S3Store(**aws), new_bucket()
    put = store.put(bucket, "k", b"abc")
    assert put.etag == "900150983cd24fb0d6963f7d28e17f72"  # MD5 of b"abc", single-part upload
    assert store.head(bucket, "k").etag == put.etag
    assert [i.etag for i in store.list(bucket)] == [put.etag]
    assert store.get(bucket, "k", if_match='"900150983cd24fb0d6963f7d28e17f72"') == b"abc"


def test_versioned_bucket_reports_version_ids(
    aws: dict[str, Any], new_bucket: Any, s3_client: Any
) -> None:
    store, bucket = S3Store(**aws), new_bucket()
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = store.put(bucket, "v", b"1")
    second = store.put(bucket, "v", b"2")
    assert first.version and second.version and first.version != second.version
    assert store.head(bucket, "v").version == second.version


def test_client_is_built_lazily_once(aws: dict[str, Any]) -> None:
    store = S3Store(**aws)
    assert store._client is None
    assert store.client is store.client


def test_current_botocore_sends_conditional_writes(aws: dict[str, Any]) -> None:
    S3Store(**aws).check_conditional_writes()  # does not raise


def test_too_old_botocore_is_refused_at_start() -> None:
    """A fake client (no emulator can play an old botocore) whose PutObject lacks IfNoneMatch."""

    class Shape:
        members = {"Bucket": None, "Key": None, "Body": None}

    class Meta:
        class service_model:
            @staticmethod
            def operation_model(name: str) -> Any:
                return type("Op", (), {"input_shape": Shape})

    client = type("Client", (), {"meta": Meta})()
    with pytest.raises(ConfigError, match="include-sdk"):
        S3Store(client=client).check_conditional_writes()


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, ObjectNotFound),
        ("404", 404, ObjectNotFound),
        ("NoSuchBucket", 404, ObjectNotFound),
        ("PreconditionFailed", 412, PreconditionFailed),
        ("AccessDenied", 403, AccessDenied),
        ("KMS.DisabledException", 400, AccessDenied),
        ("SlowDown", 503, TransientError),
        ("InternalError", 500, TransientError),
        ("ThrottlingException", 400, TransientError),
        ("ConditionalRequestConflict", 409, TransientError),
        ("InvalidArgument", 400, AwsError),
    ],
)
def test_client_errors_are_classified(code: str, status: int, expected: type) -> None:
    assert type(translate(_client_error(code, status), "s3://b/k")) is expected


def test_precondition_can_mean_changed() -> None:
    err = translate(_client_error("PreconditionFailed", 412), precondition=ObjectChanged)
    assert isinstance(err, ObjectChanged)


def test_network_errors_are_transient() -> None:
    assert isinstance(translate(EndpointConnectionError(endpoint_url="http://x")), TransientError)
    assert isinstance(translate(ReadTimeoutError(endpoint_url="http://x")), TransientError)


def test_unreachable_endpoint_raises_transient_with_cause(new_bucket: Any) -> None:
    from botocore.config import Config

    from fakewatch_aws.emulator import free_port

    dead = S3Store(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    with pytest.raises(TransientError) as caught:
        dead.head("any-bucket", "k")
    assert isinstance(caught.value.__cause__, EndpointConnectionError)
