"""Event Grid storage events in both schemas, as Event Grid delivers them (fixtures copied from
the "Azure Blob Storage as an Event Grid source" reference), parsed as dicts and as the
``azure.functions`` objects the worker builds from the same JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakewatch_azure.events import (
    SOURCE_CLOUDEVENTS,
    SOURCE_EVENTGRID,
    MalformedEvent,
    as_dict,
    blob_from_url,
    parse_events,
)
from fakewatch_azure.local import decode

EVENTS = Path(__file__).resolve().parents[1] / "events" / "azure"


def fixture(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("eventgrid_blob_created.json", SOURCE_EVENTGRID),
        ("cloudevents_blob_created.json", SOURCE_CLOUDEVENTS),
    ],
)
def test_blob_created_in_both_schemas(name: str, source: str) -> None:
    (event,) = parse_events(fixture(name))
    assert (event.bucket, event.key) == ("testcontainer", "new-file.txt")
    assert event.etag == '"0x8D4BCC2E4835CD0"'
    assert event.size == 524288
    assert event.event_id == "831e1650-001e-001b-66ab-eeb76e069631"
    assert event.event_time == "2017-06-26T18:41:00.9584103Z"
    assert event.source == source


@pytest.mark.parametrize("name", ["eventgrid_blob_created.json", "cloudevents_blob_created.json"])
def test_functions_objects_parse_like_the_json(name: str) -> None:
    """The worker's converter yields EventGridEvent or CloudEvent; both parse the same."""
    payload = fixture(name)[0]
    obj = decode(payload)
    assert type(obj).__name__ == ("CloudEvent" if "specversion" in payload else "EventGridEvent")
    (from_obj,) = parse_events(obj)
    (from_json,) = parse_events(payload)
    assert (from_obj.bucket, from_obj.key, from_obj.etag, from_obj.size) == (
        from_json.bucket,
        from_json.key,
        from_json.etag,
        from_json.size,
    )
    assert from_obj.source == from_json.source
    assert as_dict(obj).account == "my-storage-account"


@pytest.mark.parametrize(
    "name",
    [
        "eventgrid_blob_deleted.json",
        "cloudevents_blob_deleted.json",
        "eventgrid_blob_tier_changed.json",
        "eventgrid_datalake_create_file.json",
        "cloudevents_datalake_create_file.json",
        "eventgrid_subscription_validation.json",
    ],
)
def test_other_events_are_ignored_with_a_reason(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="fakewatch_azure.events")
    assert parse_events(fixture(name)) == []
    (record,) = [r for r in caplog.records if r.name == "fakewatch_azure.events"]
    assert record.getMessage().startswith("ignoring event: ")
    assert getattr(record, "ignored", "")


def test_flush_with_close_after_create_file_is_scanned() -> None:
    """Data Lake: the zero-length CreateFile is skipped, the FlushWithClose carries content."""
    assert parse_events(fixture("eventgrid_datalake_create_file.json")) == []
    (event,) = parse_events(fixture("eventgrid_datalake_flush_with_close.json"))
    assert (event.bucket, event.key, event.size) == ("my-file-system", "new-file.txt", 115739)
    assert event.etag == '"0x8D4BCC2E4D3F7A1"'


def test_subject_without_leading_slash_and_nested_names() -> None:
    payload = fixture("cloudevents_blob_created.json")[0]
    payload["subject"] = "blobServices/default/containers/inbox/blobs/a/b c/ü.jpg"
    (event,) = parse_events(payload)
    assert (event.bucket, event.key) == ("inbox", "a/b c/ü.jpg")


def test_blob_from_url_account_and_path_style() -> None:
    url = "https://acct.blob.core.windows.net/inbox/dir/a%20b.jpg"
    assert blob_from_url(url) == ("inbox", "dir/a b.jpg")
    emulator = "http://127.0.0.1:10000/devstoreaccount1/inbox/dir/a%20b.jpg"
    assert blob_from_url(emulator) == ("inbox", "dir/a b.jpg")
    with pytest.raises(MalformedEvent):
        blob_from_url("https://acct.blob.core.windows.net/inbox")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.update(subject="/nonsense", data={**e["data"], "url": None}),
        lambda e: e.update(data="not json {"),
        lambda e: e.update(data=[1, 2]),
        lambda e: e.update(data={**e["data"], "contentLength": "many"}),
        lambda e: e.update(data={**e["data"], "contentLength": -5}),
        lambda e: e.update(eventType="Contoso.Items.ItemReceived"),
    ],
)
def test_malformed_events_raise(mutate: Any) -> None:
    event = fixture("eventgrid_blob_created.json")[0]
    mutate(event)
    with pytest.raises(MalformedEvent):
        parse_events(event)


@pytest.mark.parametrize("payload", [b"\xff\x00 not json", "[", 42, None])
def test_hostile_payloads_raise_malformed(payload: Any) -> None:
    with pytest.raises(MalformedEvent):
        parse_events(payload)


def test_an_array_of_events_yields_each_created_blob() -> None:
    created = fixture("eventgrid_blob_created.json")[0]
    deleted = fixture("eventgrid_blob_deleted.json")[0]
    other = {**created, "subject": "/blobServices/default/containers/c2/blobs/x.png"}
    events = parse_events(json.dumps([created, deleted, other]))
    assert [(e.bucket, e.key) for e in events] == [
        ("testcontainer", "new-file.txt"),
        ("c2", "x.png"),
    ]
