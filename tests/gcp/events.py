"""Load the Eventarc fixtures under tests/events/gcp and re-aim them at real objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakewatch_gcp.delivery import HttpEvent

EVENTS = Path(__file__).resolve().parents[1] / "events" / "gcp"


def load(name: str) -> dict[str, Any]:
    doc = json.loads((EVENTS / name).read_text())
    doc.pop("_comment", None)
    return doc


def binary_fixture(name: str = "finalized.binary.json") -> tuple[dict[str, str], dict[str, Any]]:
    doc = load(name)
    return doc["headers"], doc["body"]


def aimed_binary(resource: dict[str, Any], event_id: str, **headers: str) -> HttpEvent:
    """The binary-mode fixture with every field the object's resource has replaced by the
    emulator's value (bucket, name, generation, size, md5Hash, ...) and the ce-* attributes
    recomputed; the fixture's shape and its other fields stay exactly as Google sends them."""
    fixture_headers, body = binary_fixture()
    data = {**body, **{k: v for k, v in resource.items() if k in body or k == "metadata"}}
    for key in ("generation", "metageneration", "size"):
        data[key] = str(data[key])
    hdrs = {
        **fixture_headers,
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{data['bucket']}",
        "ce-subject": f"objects/{data['name']}",
        "ce-id": event_id,
        **headers,
    }
    return HttpEvent(hdrs, json.dumps(data).encode())


def aimed_structured(resource: dict[str, Any], event_id: str) -> HttpEvent:
    doc = load("finalized.structured.json")
    binary = aimed_binary(resource, event_id)
    doc.update(
        source=binary.headers["ce-source"],
        subject=binary.headers["ce-subject"],
        id=event_id,
        data=json.loads(binary.body),
    )
    return HttpEvent({"Content-Type": "application/cloudevents+json"}, json.dumps(doc).encode())
