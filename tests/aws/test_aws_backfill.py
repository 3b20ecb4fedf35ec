"""Backfill and rescan through the real queue and handler (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakewatch.policy import load_policy
from fakewatch_aws import runtime as runtime_module
from fakewatch_aws.backfill import Mode, backfill, message_body, needs_scan
from fakewatch_aws.events import parse_body
from fakewatch_aws.local import upload
from fakewatch_aws.runtime import reset_runtime

from .aws_helpers import A1111, CORRUPT, PHOTO, Stack

pytestmark = pytest.mark.integration


def _preexisting(stack: Stack, objects: dict[str, bytes]) -> None:
    """Objects that were in the bucket before the kit: their notifications never happened."""
    upload(stack.s3, stack.deployment.input_bucket, objects)
    stack.sqs.purge_queue(QueueUrl=stack.deployment.queue_url)


def _backfill(
    stack: Stack, mode: Mode, fingerprint: str | None = None, prefix: str = "uploads/"
) -> Any:
    d = stack.deployment
    return backfill(
        stack.store,
        stack.sqs,
        d.queue_url,
        d.input_bucket,
        prefix,
        mode=mode,
        fingerprint=fingerprint,
    )


def test_backfill_then_rescan_after_an_upgrade(
    stack: Stack, uploads: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = stack.deployment
    before_the_kit = {k: uploads[k] for k in (PHOTO, CORRUPT, A1111)}
    _preexisting(stack, {**before_the_kit, "elsewhere/not-this-prefix.jpg": uploads[PHOTO]})

    report = _backfill(stack, Mode.MISSING)
    assert (report.listed, report.selected, report.enqueued) == (3, 3, 3)
    reports = stack.run()
    assert sum(r.received for r in reports) == 3 and not any(r.failed for r in reports)
    first = stack.verdicts()
    assert set(first) == {PHOTO, CORRUPT, A1111}
    fingerprint = first[PHOTO]["fingerprint"]

    # nothing is missing any more (A1111 went to quarantine; the other two carry the tag)
    again = _backfill(stack, Mode.MISSING)
    assert (again.listed, again.selected) == (2, 0)
    assert _backfill(stack, Mode.STALE, fingerprint).selected == 0

    # "all" re-enqueues, and the pipeline's dedupe makes that harmless
    assert _backfill(stack, Mode.ALL).enqueued == 2
    stack.run()
    assert stack.audit().verify().entries == 3

    # a model/policy upgrade: a new fingerprint makes the old verdicts stale
    from fakewatch.scanner import build_scanner

    new_scanner = build_scanner(load_policy('{"thresholds": {"review": 0.4, "quarantine": 0.8}}'))
    assert new_scanner.fingerprint != fingerprint
    monkeypatch.setattr(runtime_module, "build_scanner", lambda settings, store: new_scanner)
    reset_runtime()
    stale = _backfill(stack, Mode.STALE, new_scanner.fingerprint)
    assert (stale.selected, stale.enqueued) == (2, 2)
    stack.run()
    tags = stack.store.get_tags(d.input_bucket, PHOTO)
    assert tags["fakewatch-fingerprint"] == new_scanner.fingerprint
    verdict_keys = [
        k
        for k in stack.keys(d.results_bucket, f"verdicts/{d.input_bucket}/{PHOTO}/")
        if k.endswith(".json")
    ]
    assert sorted(k.rsplit("/", 1)[1] for k in verdict_keys) == sorted(
        [f"{fingerprint}.json", f"{new_scanner.fingerprint}.json"]
    )
    assert stack.audit().verify().entries == 5


def test_dry_run_counts_without_enqueueing(stack: Stack, uploads: dict[str, bytes]) -> None:
    _preexisting(stack, {PHOTO: uploads[PHOTO]})
    d = stack.deployment
    report = backfill(
        stack.store, stack.sqs, d.queue_url, d.input_bucket, mode=Mode.ALL, dry_run=True
    )
    assert (report.listed, report.selected, report.enqueued) == (1, 1, 0)
    attrs = stack.sqs.get_queue_attributes(
        QueueUrl=d.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_more_than_one_sqs_batch_of_objects(stack: Stack) -> None:
    d = stack.deployment
    for i in range(23):
        stack.store.put(d.input_bucket, f"many/{i:02d} é+.bin", b"x")
    stack.sqs.purge_queue(QueueUrl=d.queue_url)
    report = _backfill(stack, Mode.ALL, prefix="many/")
    assert report.enqueued == 23 and report.failed == []
    keys = set()
    while msgs := stack.sqs.receive_message(QueueUrl=d.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in msgs:
            keys |= {e.key for e in parse_body(m["Body"])}
            stack.sqs.delete_message(QueueUrl=d.queue_url, ReceiptHandle=m["ReceiptHandle"])
    assert keys == {f"many/{i:02d} é+.bin" for i in range(23)}


def test_message_is_the_s3_shape_with_an_encoded_key() -> None:
    from fakewatch.ports.store import ObjectInfo

    body = message_body(ObjectInfo("in", "a b/c+d é.jpg", 7, etag="abc", version="v1"), "eu-west-1")
    record = json.loads(body)["Records"][0]
    assert record["eventSource"] == "fakewatch:backfill"
    assert record["eventName"] == "ObjectCreated:Backfill"
    assert record["s3"]["object"]["key"] == "a+b/c%2Bd+%C3%A9.jpg"
    (event,) = parse_body(body)
    assert (event.bucket, event.key, event.etag, event.version, event.size, event.source) == (
        "in",
        "a b/c+d é.jpg",
        "abc",
        "v1",
        7,
        "backfill",
    )


def test_mode_rules() -> None:
    assert needs_scan({}, Mode.MISSING, None)
    assert not needs_scan({"fakewatch-fingerprint": "a"}, Mode.MISSING, "b")
    assert needs_scan({"fakewatch-fingerprint": "a"}, Mode.STALE, "b")
    assert not needs_scan({"fakewatch-fingerprint": "b"}, Mode.STALE, "b")
    assert needs_scan({"fakewatch-fingerprint": "b"}, Mode.ALL, "b")
