"""A moto server for the whole AWS test session: a real HTTP endpoint boto3 talks to.

Every test makes its own buckets and queues (unique names), so tests share the server but
not state. Credentials are throwaway values; nothing here can reach AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakewatch_aws.emulator import FAKE_CREDENTIALS, REGION, MotoServer
from fakewatch_aws.store import make_client

from .aws_helpers import scanner, stack, unique, uploads  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    import os

    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_PROFILE")}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    with MotoServer(ready_timeout_s=60) as endpoint:
        yield endpoint
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws(moto_endpoint: str) -> dict[str, Any]:
    """Keyword arguments for a boto3 client on the emulator."""
    return {"endpoint_url": moto_endpoint, "region_name": REGION}


@pytest.fixture
def s3_client(aws: dict[str, Any]) -> Any:
    return make_client("s3", **aws)


@pytest.fixture
def sqs_client(aws: dict[str, Any]) -> Any:
    return make_client("sqs", **aws)


@pytest.fixture
def new_bucket(s3_client: Any) -> Any:
    def make(prefix: str = "fw") -> str:
        name = unique(prefix)
        s3_client.create_bucket(Bucket=name)
        return name

    return make
