"""Session fixtures for the Azure adapter: a real Azurite (Blob) on loopback.

Azurite starts once per test session from ``.azurite/`` (``make emulators``) as a subprocess
on a free 127.0.0.1 port, with telemetry off and the SDK's API version accepted, is waited
for (bounded), and is stopped at the end. Each test gets fresh, uniquely named containers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from fakewatch_azure.emulator import Azurite, emulator_client, ensure_containers
from fakewatch_azure.store import BlobStore

from .topic import TopicRecorder

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    emulator = Azurite()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azurite_endpoint(azurite: Azurite) -> str:
    return azurite.endpoint


@pytest.fixture(scope="session")
def blob_service(azurite_endpoint: str) -> BlobServiceClient:
    return emulator_client(azurite_endpoint)


@pytest.fixture
def make_container(blob_service: BlobServiceClient) -> Callable[[str], str]:
    """``make_container("inbox")`` creates and returns a container name unique to this test."""

    def make(stem: str) -> str:
        name = f"{stem}-{uuid.uuid4().hex[:10]}"
        ensure_containers(blob_service, name)
        return name

    return make


@pytest.fixture
def blob_store(blob_service: BlobServiceClient) -> BlobStore:
    return BlobStore(blob_service)


@pytest.fixture
def topic() -> Iterator[TopicRecorder]:
    """A loopback HTTP endpoint the real Event Grid publisher client POSTs to."""
    recorder = TopicRecorder().start()
    try:
        yield recorder
    finally:
        recorder.stop()
