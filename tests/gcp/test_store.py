"""GcsStore against a real gcp-storage-emulator: the core's contract suite, plus GCS specifics."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from fakewatch.errors import LimitExceeded, ObjectChanged, ObjectNotFound
from fakewatch.testing import ObjectStoreContract
from fakewatch_gcp.store import TAG_INDEX, GcsStore

if TYPE_CHECKING:
    from google.cloud.storage import Client

pytestmark = pytest.mark.integration


class TestGcsStoreContract(ObjectStoreContract):
    @pytest.fixture
    def store(self, gcs_client: Client) -> GcsStore:
        return GcsStore(gcs_client)

    @pytest.fixture
    def bucket(self, make_bucket: Callable[[str], str]) -> str:
        return make_bucket("contract")

    @pytest.fixture
    def other_bucket(self, make_bucket: Callable[[str], str]) -> str:
        return make_bucket("contract-other")


@pytest.fixture
def store(gcs_client: Client) -> GcsStore:
    return GcsStore(gcs_client)


def test_etag_is_the_content_md5_and_survives_metadata_patches(
    store: GcsStore, make_bucket: Callable[[str], str]
) -> None:
    bucket = make_bucket("etag")
    info = store.put(bucket, "k", b"abc")
    assert info.etag == base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    store.set_tags(bucket, "k", {"fakewatch-label": "no_evidence"})
    assert store.head(bucket, "k").etag == info.etag  # GCS's own etag would have moved


def test_version_is_the_generation_and_moves_on_overwrite(
    store: GcsStore, gcs_client: Client, make_bucket: Callable[[str], str]
) -> None:
    bucket = make_bucket("gen")
    first = store.put(bucket, "k", b"1")
    blob = gcs_client.bucket(bucket).get_blob("k")
    assert first.version == str(blob.generation)
    second = store.put(bucket, "k", b"1")
    assert second.version != first.version


def test_tags_are_custom_metadata_visible_to_other_tools(
    store: GcsStore, gcs_client: Client, make_bucket: Callable[[str], str]
) -> None:
    bucket = make_bucket("tags")
    store.put(bucket, "k", b"1", metadata={"origin": "camera"})
    store.set_tags(bucket, "k", {"fakewatch-label": "synthetic", "owner": "team-a"})
    meta = gcs_client.bucket(bucket).get_blob("k").metadata
    assert meta["fakewatch-label"] == "synthetic"
    assert meta["origin"] == "camera"
    assert meta[TAG_INDEX] == "owner"  # the one tag outside the fakewatch- namespace
    store.set_tags(bucket, "k", {"fakewatch-label": "no_evidence"})
    meta = {k: v for k, v in gcs_client.bucket(bucket).get_blob("k").metadata.items() if v}
    assert meta == {"fakewatch-label": "no_evidence", "origin": "camera"}


def test_skip_tag_set_at_upload_is_a_tag(
    store: GcsStore, gcs_client: Client, make_bucket: Callable[[str], str]
) -> None:
    """A user marks an upload with x-goog-meta-fakewatch-skip: the scanner sees the tag."""
    bucket = make_bucket("skip")
    blob = gcs_client.bucket(bucket).blob("k")
    blob.metadata = {"fakewatch-skip": "true", "origin": "camera"}
    blob.upload_from_string(b"1")
    assert store.get_tags(bucket, "k") == {"fakewatch-skip": "true"}
    assert dict(store.head(bucket, "k").metadata) == {"origin": "camera"}


def test_write_once_falls_back_to_a_verified_lock_on_this_emulator(
    store: GcsStore, make_bucket: Callable[[str], str]
) -> None:
    """gcp-storage-emulator ignores ifGenerationMatch: the probe must find that out, and no
    probe object may be left behind."""
    bucket = make_bucket("probe")
    assert store.put_once(bucket, "once", b"1") is True
    assert store._server_preconditions is False
    assert [i.key for i in store.list(bucket)] == ["once"]


def test_google_endpoint_is_trusted_to_enforce_preconditions() -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="p", credentials=AnonymousCredentials())
    assert GcsStore(client)._enforces_preconditions("any-bucket") is True


def test_read_is_bounded_even_if_the_object_grew(
    store: GcsStore, gcs_client: Client, make_bucket: Callable[[str], str]
) -> None:
    bucket = make_bucket("grow")
    store.put(bucket, "k", b"x" * 10)
    with pytest.raises(LimitExceeded):
        store.get(bucket, "k", max_bytes=9)


def test_gzip_encoded_object_is_read_raw_not_inflated(
    store: GcsStore, gcs_client: Client, make_bucket: Callable[[str], str]
) -> None:
    """A hostile upload with Content-Encoding: gzip must not inflate past the byte limit."""
    import gzip

    bucket = make_bucket("gzip")
    bomb = gzip.compress(b"\0" * 2_000_000)
    blob = gcs_client.bucket(bucket).blob("bomb.png")
    blob.content_encoding = "gzip"
    blob.upload_from_string(bomb, content_type="image/png")
    data = store.get(bucket, "bomb.png", max_bytes=len(bomb))
    assert data == bomb


def test_changed_between_head_and_read_is_detected(
    store: GcsStore, make_bucket: Callable[[str], str]
) -> None:
    bucket = make_bucket("race")
    etag = store.put(bucket, "k", b"announced").etag
    store.put(bucket, "k", b"replaced!")
    assert etag is not None
    with pytest.raises(ObjectChanged):
        store.get(bucket, "k", if_match=etag)


def test_tags_on_a_missing_object(store: GcsStore, make_bucket: Callable[[str], str]) -> None:
    bucket = make_bucket("gone")
    with pytest.raises(ObjectNotFound):
        store.update_tags(bucket, "nope", {"fakewatch-label": "x"})
