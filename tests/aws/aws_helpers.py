"""What the AWS integration tests share: the stack on moto, and a throttling injector."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fakewatch.policy import Policy
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.scanner import Scanner
from fakewatch.settings import Settings
from fakewatch_aws import handler as handler_module
from fakewatch_aws import runtime as runtime_module
from fakewatch_aws.emulator import Deployment, provision
from fakewatch_aws.local import BatchReport, SqsEventSourceMapping, sample_uploads
from fakewatch_aws.runtime import AwsClients, build_runtime, reset_runtime
from fakewatch_aws.store import S3Store, make_client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


A1111 = "uploads/generated-with-a1111.png"
C2PA = "uploads/c2pa-declared-ai.jpg"
PHOTO = "uploads/holiday photo été (1).jpg"
CORRUPT = "uploads/broken-upload.jpg"


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    """The real default scanner, built once (the runtime builds the same from the env)."""
    from fakewatch.scanner import build_scanner

    return build_scanner(Policy())


@pytest.fixture(scope="session")
def uploads() -> dict[str, bytes]:
    return sample_uploads()


@dataclass
class Stack:
    deployment: Deployment
    s3: Any
    sqs: Any
    ddb: Any
    aws: dict[str, Any]

    @property
    def store(self) -> S3Store:
        return S3Store(client=self.s3)

    def run(self, max_batches: int | None = None) -> list[BatchReport]:
        mapping = SqsEventSourceMapping(
            self.sqs, self.deployment.queue_url, handler_module.lambda_handler, wait_time_s=1
        )
        return list(mapping.batches(max_batches=max_batches))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [i.key for i in self.store.list(bucket, prefix)]

    def verdicts(self) -> dict[str, dict[str, Any]]:
        d = self.deployment
        return {
            doc["object"]["key"]: doc
            for key in self.keys(d.results_bucket, "verdicts/")
            if key.endswith(".json")
            for doc in [self.store.get_json(d.results_bucket, key)]
        }

    def result_events(self) -> list[dict[str, Any]]:
        got = []
        while msgs := self.sqs.receive_message(
            QueueUrl=self.deployment.results_queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for m in msgs:
                got.append(json.loads(m["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.deployment.results_queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
        return got

    def audit(self) -> StoreAuditLog:
        return StoreAuditLog(self.store, self.deployment.results_bucket, "audit/")

    def dlq(self) -> list[str]:
        msgs = self.sqs.receive_message(
            QueueUrl=self.deployment.dlq_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        return [m["Body"] for m in msgs]

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.deployment.queue_url, MessageBody=body)


@pytest.fixture
def stack(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, scanner: Scanner
) -> Iterator[Stack]:
    deployment = provision(
        aws["endpoint_url"], unique("fw"), visibility_timeout_s=3, max_receive_count=2
    )
    for key, value in deployment.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setattr(runtime_module, "build_scanner", lambda settings, store: scanner)
    reset_runtime()
    yield Stack(
        deployment,
        make_client("s3", **aws),
        make_client("sqs", **aws),
        make_client("dynamodb", **aws),
        aws,
    )
    reset_runtime()


class FlakyS3:
    """The real S3 client, except GetObject of chosen keys answers 503 SlowDown ``times``
    times (``times=None``: always)."""

    def __init__(self, real: Any, keys: set[str], times: int | None = 1) -> None:
        self._real, self._keys, self._left = real, keys, times
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] in self._keys and (self._left is None or self._left > 0):
            self._left = None if self._left is None else self._left - 1
            self.failures += 1
            raise ClientError(
                {
                    "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
                "GetObject",
            )
        return self._real.get_object(**kwargs)


def use_flaky_s3(stack: Stack, monkeypatch: pytest.MonkeyPatch, flaky: FlakyS3) -> None:
    clients = AwsClients(s3=flaky, events=make_client("events", **stack.aws), dynamodb=stack.ddb)
    rt = build_runtime(Settings.from_env(), clients)
    monkeypatch.setattr(handler_module, "get_runtime", lambda: rt)
