"""The in-memory ports pass the shared contracts, plus what is specific to them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from fakewatch.media.types import MediaKind
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.ports.memory import (
    CallableEscalationClient,
    MemoryAuditLog,
    MemoryNotificationSink,
    MemoryStore,
)
from fakewatch.signals.base import SignalResult, Status
from fakewatch.testing import AuditSinkContract, NotificationSinkContract, ObjectStoreContract


class TestMemoryStore(ObjectStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore(buckets=["inbox", "quarantine"])

    @pytest.fixture
    def bucket(self) -> str:
        return "inbox"

    @pytest.fixture
    def other_bucket(self) -> str:
        return "quarantine"

    def test_etag_is_md5_hex_like_s3(self, store: MemoryStore) -> None:
        info = store.put("inbox", "k", b"abc")
        assert info.etag == hashlib.md5(b"abc").hexdigest()

    def test_every_write_gets_a_new_version(self, store: MemoryStore) -> None:
        first = store.put("inbox", "k", b"1").version
        second = store.put("inbox", "k", b"1").version
        copied = store.copy("inbox", "k", "quarantine", "k").version
        assert len({first, second, copied}) == 3

    def test_put_resets_tags_and_copy_keeps_them(self, store: MemoryStore) -> None:
        store.put("inbox", "k", b"1")
        store.set_tags("inbox", "k", {"a": "b"})
        store.copy("inbox", "k", "quarantine", "k")
        assert store.get_tags("quarantine", "k") == {"a": "b"}
        store.put("inbox", "k", b"2")  # S3 semantics: a new object has no tags
        assert store.get_tags("inbox", "k") == {}

    def test_callers_cannot_mutate_stored_data(self, store: MemoryStore) -> None:
        data = bytearray(b"original")
        store.put("inbox", "k", data)  # type: ignore[arg-type]
        data[:] = b"mutated!"
        assert store.get("inbox", "k") == b"original"

    def test_bucket_names_are_checked(self) -> None:
        with pytest.raises(ValueError):
            MemoryStore(buckets=["a/b"])


class TestMemoryAuditLog(AuditSinkContract):
    @pytest.fixture
    def audit_sink(self) -> MemoryAuditLog:
        return MemoryAuditLog()

    @pytest.fixture
    def tamper_audit(self, audit_sink: MemoryAuditLog) -> Any:
        return audit_sink.replace_entry


class TestMemoryNotificationSink(NotificationSinkContract):
    @pytest.fixture
    def notification_sink(self) -> MemoryNotificationSink:
        return MemoryNotificationSink()

    @pytest.fixture
    def published_events(self, notification_sink: MemoryNotificationSink) -> Any:
        return lambda: list(notification_sink.events)

    def test_events_are_copies(self, notification_sink: MemoryNotificationSink) -> None:
        event: dict[str, Any] = {"id": "1", "signals": ["c2pa"]}
        notification_sink.publish(event)
        event["signals"].append("spectral")
        assert notification_sink.events == [{"id": "1", "signals": ["c2pa"]}]


def test_callable_escalation_client_passes_the_request_through() -> None:
    seen: list[EscalationRequest] = []

    def endpoint(request: EscalationRequest) -> SignalResult:
        seen.append(request)
        return SignalResult("gpu-model", Status.OK, "image", score=0.9, confidence=0.8)

    client = CallableEscalationClient(endpoint, name="gpu-model")
    request = EscalationRequest("memory://inbox/a.jpg", "0" * 64, MediaKind.IMAGE, "image/jpeg")
    result = client.escalate(request)
    assert seen == [request]
    assert (client.name, result.score, result.confidence) == ("gpu-model", 0.9, 0.8)
