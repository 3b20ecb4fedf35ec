"""BlobStore against a real Azurite: the core's contract suite, plus Azure specifics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from fakewatch.errors import ObjectChanged
from fakewatch.testing import ObjectStoreContract
from fakewatch_azure.emulator import Azurite
from fakewatch_azure.store import BlobStore

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

pytestmark = pytest.mark.integration


class TestBlobStoreContract(ObjectStoreContract):
    @pytest.fixture
    def store(self, blob_service: BlobServiceClient) -> BlobStore:
        return BlobStore(blob_service)

    @pytest.fixture
    def bucket(self, make_container: Callable[[str], str]) -> str:
        return make_container("contract")

    @pytest.fixture
    def other_bucket(self, make_container: Callable[[str], str]) -> str:
        return make_container("contract-other")


@pytest.fixture
def container(make_container: Callable[[str], str]) -> str:
    return make_container("az")


def test_index_tags_leave_etag_and_metadata_alone(
    blob_store: BlobStore, blob_service: BlobServiceClient, container: str
) -> None:
    """The scanner's tags must not look like an overwrite: Set Blob Tags keeps the ETag."""
    info = blob_store.put(container, "k.jpg", b"jpeg", metadata={"origin": "camera"})
    blob_store.set_tags(container, "k.jpg", {"fakewatch-label": "synthetic"})
    props = blob_service.get_blob_client(container, "k.jpg").get_blob_properties()
    assert props.etag == info.etag
    assert props.tag_count == 1
    assert dict(props.metadata) == {"origin": "camera"}
    tags = blob_service.get_blob_client(container, "k.jpg").get_blob_tags()
    assert tags == {"fakewatch-label": "synthetic"}  # real index tags, visible to other tools


def test_etag_compares_with_or_without_quotes(blob_store: BlobStore, container: str) -> None:
    """Event Grid sends "\\"0x8D...\\"" while users may pass the bare value."""
    info = blob_store.put(container, "q", b"abc")
    assert info.etag and info.etag.startswith('"')
    assert blob_store.get(container, "q", if_match=info.etag.strip('"')) == b"abc"
    blob_store.put(container, "q", b"abcd")
    with pytest.raises(ObjectChanged):
        blob_store.get(container, "q", if_match=info.etag.strip('"'))


def test_uri_is_az_container_and_name(blob_store: BlobStore) -> None:
    assert blob_store.uri("inbox", "a b/c.jpg") == "az://inbox/a b/c.jpg"


def test_write_once_put_does_not_retry_inside_the_sdk(
    blob_store: BlobStore, container: str
) -> None:
    """A write-once put that lost is a clean PreconditionFailed, never a retried 409."""
    assert blob_store.put_once(container, "v.json", b"{}")
    assert not blob_store.put_once(container, "v.json", b"{}")
    assert blob_store.get(container, "v.json") == b"{}"


def test_az_uris_open_a_blob_store(azurite: Azurite, container: str) -> None:
    """The core's URI registry maps az:// to fakewatch_azure.store:BlobStore."""
    from fakewatch.stores import open_uri

    store, bucket, key = open_uri(
        f"az://{container}/dir/x.jpg", connection_string=azurite.connection_string
    )
    assert isinstance(store, BlobStore)
    assert (bucket, key) == (container, "dir/x.jpg")
    store.put(bucket, key, b"via uri")
    assert store.get(bucket, key) == b"via uri"
