"""Parsing Eventarc's storage CloudEvents, read with the same cloudevents library
functions-framework uses, from fixtures in the shapes Google publishes."""

from __future__ import annotations

import json
import logging

import pytest
from cloudevents.http import from_http

from fakewatch_gcp.events import (
    FINALIZED,
    MalformedEvent,
    StorageObjectData,
    from_cloud_event,
    parse_cloud_event,
)

from .events import binary_fixture, load


def _binary(name: str = "finalized.binary.json"):  # type: ignore[no-untyped-def]
    headers, body = binary_fixture(name)
    return from_http(headers, json.dumps(body).encode())


def test_binary_mode_finalized_becomes_one_object_event() -> None:
    (event,) = parse_cloud_event(_binary())
    assert event.bucket == "sample-bucket"
    assert event.key == "folder/Test.cs"
    assert event.version == "1587627537231057"  # the generation: idempotency is per generation
    assert event.size == 352
    assert event.etag == "kF8MuJ5+CTJxvyhHS1xzRg=="  # the content MD5, not GCS's etag
    assert event.event_id == "1234567890"
    assert event.event_time == "2020-04-23T07:38:57.230Z"
    assert event.source == "gcp.eventarc"


def test_structured_mode_gives_the_same_event() -> None:
    doc = load("finalized.structured.json")
    ce = from_http({"Content-Type": "application/cloudevents+json"}, json.dumps(doc).encode())
    assert parse_cloud_event(ce) == parse_cloud_event(_binary())
    assert parse_cloud_event(doc) == parse_cloud_event(_binary())  # a plain mapping works too


@pytest.mark.parametrize(
    "name", ["metadata_updated.binary.json", "deleted.binary.json", "archived.binary.json"]
)
def test_other_storage_events_are_ignored_and_logged(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fakewatch_gcp.events"):
        assert parse_cloud_event(_binary(name)) == []
    assert "ignoring storage event type" in caplog.text


def test_unexpected_event_type_is_ignored() -> None:
    doc = load("finalized.structured.json")
    doc["type"] = "google.cloud.pubsub.topic.v1.messagePublished"
    assert parse_cloud_event(doc) == []


def test_int64_fields_as_numbers_are_read() -> None:
    data = StorageObjectData(load("storage_object_data.numbers.json"))
    assert (data.generation, data.metageneration, data.size) == (96883251, 1, 0)
    doc = load("finalized.structured.json")
    doc["data"] = load("storage_object_data.numbers.json")
    doc["source"] = "//storage.googleapis.com/projects/_/buckets/sample-bucket"
    doc["subject"] = "objects/MyFile"
    (event,) = parse_cloud_event(doc)
    assert (event.version, event.size) == ("96883251", 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["data"].pop("bucket"), "no bucket"),
        (lambda d: d["data"].pop("name"), "no name"),
        (lambda d: d["data"].update(generation="12abc"), "generation"),
        (lambda d: d["data"].update(size=True), "size"),
        (lambda d: d.update(data="not an object"), "not a storage object"),
        (lambda d: d.update(data=None), "not a storage object"),
        (lambda d: d.update(source="//storage.googleapis.com/projects/_/buckets/other"), "other"),
        (lambda d: d.update(subject="objects/elsewhere"), "subject"),
    ],
)
def test_malformed_finalized_events_are_refused_clearly(change, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = load("finalized.structured.json")
    change(doc)
    with pytest.raises(MalformedEvent, match=message):
        parse_cloud_event(doc)


def test_not_a_cloud_event() -> None:
    with pytest.raises(MalformedEvent, match="missing id, type, source"):
        from_cloud_event({"data": {}})


def test_finalized_constant_matches_the_fixture() -> None:
    headers, _ = binary_fixture()
    assert headers["ce-type"] == FINALIZED
