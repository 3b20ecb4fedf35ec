"""The URI registry: lazy imports, helpful errors for missing extras, URI parsing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakewatch import stores
from fakewatch.ports.local import LocalStore
from fakewatch.ports.memory import MemoryStore
from fakewatch.stores import Implementation, get_store, get_store_class, open_uri, register


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    known = dict(stores.known_implementations)
    classes = dict(stores._classes)
    stores.clear_cache()
    yield
    stores.known_implementations.clear()
    stores.known_implementations.update(known)
    stores._classes.clear()
    stores._classes.update(classes)
    stores.clear_cache()


def test_cloud_schemes_point_at_the_provider_packages() -> None:
    assert stores.known_implementations["s3"] == Implementation(
        "fakewatch_aws.store:S3Store", "aws"
    )
    assert stores.known_implementations["gs"] == Implementation(
        "fakewatch_gcp.store:GcsStore", "gcp"
    )
    assert stores.known_implementations["az"] == Implementation(
        "fakewatch_azure.store:BlobStore", "azure"
    )


def test_core_schemes_resolve() -> None:
    assert get_store_class("memory") is MemoryStore
    assert get_store_class("file") is LocalStore


@pytest.mark.parametrize(("scheme", "extra"), [("s3", "aws"), ("gs", "gcp"), ("az", "azure")])
def test_missing_extra_is_named_in_the_import_error(
    scheme: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = stores.known_implementations[scheme].target.partition(":")[0]
    monkeypatch.setitem(sys.modules, module, None)  # what an uninstalled package looks like
    stores._classes.pop(scheme, None)
    with pytest.raises(ImportError, match=rf'pip install "fakewatch\[{extra}\]"') as caught:
        open_uri(f"{scheme}://bucket/key.jpg")
    assert isinstance(caught.value.__cause__, ImportError)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known: .*memory"):
        get_store("ftp")


def test_register_a_dotted_target_and_a_class() -> None:
    register("mem2", "fakewatch.ports.memory:MemoryStore")
    assert get_store_class("mem2") is MemoryStore

    class Custom(MemoryStore):
        scheme = "custom"

    register("custom", Custom)
    assert isinstance(get_store("custom"), Custom)
    with pytest.raises(ValueError, match="already registered"):
        register("custom", MemoryStore)
    register("custom", MemoryStore, clobber=True)
    assert type(get_store("custom")) is MemoryStore


def test_a_target_that_is_not_a_store_is_refused() -> None:
    register("bogus", "fakewatch.errors:FakewatchError")
    with pytest.raises(ImportError, match="not an ObjectStore"):
        get_store("bogus")
    register("gone", "fakewatch_no_such_module.store:Store", extra="gone")
    with pytest.raises(ImportError, match=r"fakewatch\[gone\]"):
        get_store("gone")


def test_stores_are_shared_per_scheme_and_arguments(tmp_path: Path) -> None:
    assert get_store("memory") is get_store("memory")
    a = get_store("file", root=str(tmp_path / "a"))
    assert a is get_store("file", root=str(tmp_path / "a"))
    assert a is not get_store("file", root=str(tmp_path / "b"))


def test_cloud_uri_splits_bucket_and_key() -> None:
    store, bucket, key = open_uri("memory://inbox/photos/with%20space/x.jpg")
    assert isinstance(store, MemoryStore)
    assert (bucket, key) == ("inbox", "photos/with space/x.jpg")
    assert open_uri("memory://inbox")[1:] == ("inbox", "")


@pytest.mark.parametrize("uri", ["inbox/a.jpg", "s3:/inbox/a.jpg", "memory:///a.jpg", ""])
def test_malformed_uris_are_refused(uri: str) -> None:
    with pytest.raises(ValueError):
        open_uri(uri)


class TestFileUris:
    def test_with_a_root(self, tmp_path: Path) -> None:
        uri = (tmp_path / "inbox" / "a" / "b.jpg").as_uri()
        store, bucket, key = open_uri(uri, root=str(tmp_path))
        assert isinstance(store, LocalStore) and store.root == tmp_path.resolve()
        assert (bucket, key) == ("inbox", "a/b.jpg")

    def test_without_a_root_the_folder_is_the_bucket(self, tmp_path: Path) -> None:
        store, bucket, key = open_uri((tmp_path / "inbox" / "b.jpg").as_uri())
        assert isinstance(store, LocalStore) and store.root == tmp_path.resolve()
        assert (bucket, key) == ("inbox", "b.jpg")

    def test_a_trailing_slash_names_a_prefix(self, tmp_path: Path) -> None:
        assert open_uri((tmp_path / "results").as_uri() + "/")[1:] == ("results", "")
        got = open_uri((tmp_path / "results" / "audit").as_uri() + "/", root=str(tmp_path))
        assert got[1:] == ("results", "audit/")

    @pytest.mark.parametrize(
        "uri", ["file://host/srv/x/y", "file:///srv/../etc/passwd", "file:///outside/x/y"]
    )
    def test_refused(self, uri: str, tmp_path: Path) -> None:
        with pytest.raises(ValueError):
            open_uri(uri, root=str(tmp_path))

    def test_the_root_itself_is_not_a_bucket(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="root"):
            open_uri(tmp_path.as_uri(), root=str(tmp_path))
