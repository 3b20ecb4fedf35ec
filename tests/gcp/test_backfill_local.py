"""Backfill/rescan and the local runner, against the emulator and the real function server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fakewatch import samples
from fakewatch.service import TAG_FINGERPRINT
from fakewatch.settings import Settings
from fakewatch_gcp.backfill import Mode, backfill, select
from fakewatch_gcp.emulator import emulator_client
from fakewatch_gcp.local import FunctionServer, Watcher, verdict_rows
from fakewatch_gcp.runtime import Runtime, build_runtime, set_runtime
from fakewatch_gcp.store import GcsStore

from .fakes import FakePublisher

if TYPE_CHECKING:
    from google.cloud.storage import Client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(gcs_endpoint: str) -> Iterator[tuple[str, Runtime, Client, str, FakePublisher]]:
    client = emulator_client(gcs_endpoint)
    suffix = uuid.uuid4().hex[:8]
    inbox, results = f"bf-inbox-{suffix}", f"bf-results-{suffix}"
    for name in (inbox, results):
        client.create_bucket(name)
    publisher = FakePublisher()
    settings = Settings(results_bucket=results, result_topic="projects/p/topics/t")
    runtime = build_runtime(settings, store=GcsStore(client), publisher=publisher)
    server = FunctionServer(runtime)
    url = server.start()
    try:
        yield url, runtime, client, inbox, publisher
    finally:
        server.stop()
        set_runtime(None)


def test_local_watcher_delivers_each_new_generation_once(served) -> None:  # type: ignore[no-untyped-def]
    url, runtime, client, inbox, _ = served
    bucket = client.bucket(inbox)
    bucket.blob("watch/a.png").upload_from_string(samples.a1111_png())
    bucket.blob("watch/b.jpg").upload_from_string(samples.photo_like_jpeg())
    watcher = Watcher(client, inbox, url, prefix="watch/")
    first = watcher.poll()
    assert sorted((d.key, d.status) for d in first) == [("watch/a.png", 200), ("watch/b.jpg", 200)]
    rows = {r["key"]: r for r in verdict_rows(runtime, inbox, first)}
    assert rows["watch/a.png"]["label"] == "synthetic"
    assert rows["watch/b.jpg"]["label"] == "no_evidence"
    assert watcher.poll() == []  # nothing new (tag patches do not make a new generation)
    bucket.blob("watch/b.jpg").upload_from_string(samples.a1111_png())  # a new generation
    (again,) = watcher.poll()
    assert again.key == "watch/b.jpg"
    assert verdict_rows(runtime, inbox, [again])[0]["label"] == "synthetic"


def test_backfill_modes_select_by_fingerprint(served) -> None:  # type: ignore[no-untyped-def]
    url, runtime, client, inbox, publisher = served
    bucket = client.bucket(inbox)
    fingerprint = runtime.service.scanner.fingerprint
    for name in ("old/new.jpg", "old/stale.jpg", "old/current.jpg"):
        bucket.blob(name).upload_from_string(samples.photo_like_jpeg())
    stale = bucket.get_blob("old/stale.jpg")
    stale.metadata = {TAG_FINGERPRINT: "0123456789abcdef", "fakewatch-label": "no_evidence"}
    stale.patch()
    current = bucket.get_blob("old/current.jpg")
    current.metadata = {TAG_FINGERPRINT: fingerprint}
    current.patch()

    def names(mode: Mode) -> list[str]:
        return [r["name"] for r in select(client, inbox, "old/", mode, fingerprint)]

    assert names(Mode.ALL) == ["old/current.jpg", "old/new.jpg", "old/stale.jpg"]
    assert names(Mode.STALE) == ["old/new.jpg", "old/stale.jpg"]
    assert names(Mode.UNTAGGED) == ["old/new.jpg"]

    dry = backfill(client, inbox, url, prefix="old/", fingerprint=fingerprint, dry_run=True)
    assert (dry.selected, dry.delivered, dry.skipped) == (2, 0, 2)
    before = len(publisher.messages)
    report = backfill(client, inbox, url, prefix="old/", fingerprint=fingerprint, workers=2)
    assert (report.selected, report.delivered, report.failed) == (2, 2, [])
    assert sorted(m.event["data"]["key"] for m in publisher.messages[before:]) == [
        "old/new.jpg",
        "old/stale.jpg",
    ]
    assert bucket.get_blob("old/stale.jpg").metadata[TAG_FINGERPRINT] == fingerprint
    assert names(Mode.STALE) == []  # rescanned: nothing stale is left

    # "all" also reaches old/current.jpg, hand-tagged but never scanned here: one new scan;
    # the two just rescanned are duplicates, answered without scanning or publishing.
    again = backfill(client, inbox, url, prefix="old/", mode=Mode.ALL)
    assert again.delivered == 3
    assert [m.event["data"]["key"] for m in publisher.messages[before + 2 :]] == ["old/current.jpg"]
    assert backfill(client, inbox, url, prefix="old/", mode=Mode.ALL).delivered == 3
    assert len(publisher.messages) == before + 3


def test_backfill_reports_failures(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client, inbox, _ = served
    client.bucket(inbox).blob("fail/x.jpg").upload_from_string(b"x")
    report = backfill(
        client, inbox, "http://127.0.0.1:9/", prefix="fail/", mode=Mode.ALL, attempts=1
    )
    assert report.delivered == 0 and report.failed == [("fail/x.jpg", 0)]


def test_cli_local_runs_the_whole_path(tmp_path: Path, gcs_endpoint: str) -> None:
    from typer.testing import CliRunner

    from fakewatch_gcp.cli import app

    media = tmp_path / "comfy.png"
    media.write_bytes(samples.comfyui_png())
    suffix = uuid.uuid4().hex[:8]
    result = CliRunner().invoke(
        app,
        ["local", str(media), "--emulator", gcs_endpoint, "--prefix", "up/",
         "--input-bucket", f"cli-in-{suffix}", "--results-bucket", f"cli-res-{suffix}",
         "--quarantine-bucket", f"cli-q-{suffix}"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"key"')]
    assert [(r["key"], r["http"], r["label"], r["action"]) for r in rows] == [
        ("up/comfy.png", 200, "synthetic", "quarantine")
    ]
