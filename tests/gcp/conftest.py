"""Session fixtures for the GCP adapter: a real gcp-storage-emulator on loopback.

The emulator starts once per test session as a subprocess on a free 127.0.0.1 port, is
waited for (bounded), and is killed at the end. Each test gets fresh, uniquely named buckets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from fakewatch_gcp.emulator import GcsEmulator, emulator_client, ensure_buckets

if TYPE_CHECKING:
    from google.cloud.storage import Client


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    with GcsEmulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gcs_client(gcs_endpoint: str) -> Client:
    return emulator_client(gcs_endpoint)


@pytest.fixture
def make_bucket(gcs_client: Client) -> Callable[[str], str]:
    """``make_bucket("inbox")`` creates and returns a bucket name unique to this test."""

    def make(stem: str) -> str:
        name = f"{stem}-{uuid.uuid4().hex[:10]}"
        ensure_buckets(gcs_client, name)
        return name

    return make
