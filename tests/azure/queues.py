"""Azurite's Queue service for the queued-escalation tests (imported by their modules).

``azurite-queue`` runs beside the session's ``azurite-blob`` (tests/azure/conftest.py), one
per test module, on a free loopback port with the same flags. Queues are named per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.storage.queue import QueueClient

from fakewatch_azure.emulator import AzuriteQueue, emulator_queue, ensure_queue


@pytest.fixture(scope="module")
def azurite_queue() -> Iterator[AzuriteQueue]:
    emulator = AzuriteQueue()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def new_queue(emulator: AzuriteQueue, stem: str = "jobs") -> QueueClient:
    """A fresh, empty queue on ``emulator`` with a name unique to the caller."""
    client = emulator_queue(emulator.endpoint, f"{stem}-{uuid.uuid4().hex[:10]}")
    ensure_queue(client)
    return client


def waiting(client: QueueClient) -> list[str]:
    """The contents of the visible messages (peeked: nothing is dequeued)."""
    return [str(m.content) for m in client.peek_messages(max_messages=32)]
