"""A moto server in a subprocess, and the resources the AWS path needs, created on it.

Used by the tests, by ``fakewatch aws local --start-moto`` and by the benchmark. The server
is a real HTTP endpoint on 127.0.0.1; boto3 talks to it as it would to AWS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fakewatch import settings
from fakewatch_aws.store import make_client

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``with MotoServer() as endpoint: ...`` — started, waited for (bounded), then killed."""

    def __init__(self, port: int | None = None, ready_timeout_s: float = 30.0) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return self.endpoint
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"moto server not ready on {self.endpoint} in {self.ready_timeout_s}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Deployment:
    """What ``provision`` created: the names a deployed stack would hand the function."""

    endpoint_url: str | None
    region: str
    input_bucket: str
    results_bucket: str
    quarantine_bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    table: str
    bus: str
    results_queue_url: str  # an EventBridge rule delivers every result event here

    def env(self) -> dict[str, str]:
        """The function's environment variables (and the SDK's endpoint) for this stack."""
        env = {
            settings.RESULTS_BUCKET: self.results_bucket,
            settings.QUARANTINE_BUCKET: self.quarantine_bucket,
            settings.RESULT_TOPIC: self.bus,
            settings.IDEMPOTENCY_TABLE: self.table,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def provision(
    endpoint_url: str | None,
    name: str,
    *,
    region: str = REGION,
    visibility_timeout_s: int = 30,
    max_receive_count: int = 3,
) -> Deployment:
    """Create the buckets, queue + DLQ, S3 → SQS notification, idempotency table and bus."""
    kw: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": region}
    s3, sqs = make_client("s3", **kw), make_client("sqs", **kw)
    ddb, events = make_client("dynamodb", **kw), make_client("events", **kw)
    buckets = {part: f"{name}-{part}" for part in ("input", "results", "quarantine")}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    dlq_url, dlq_arn = _queue(sqs, f"{name}-dlq", {"MessageRetentionPeriod": "1209600"})
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    queue_url, queue_arn = _queue(
        sqs,
        f"{name}-scan",
        {"VisibilityTimeout": str(visibility_timeout_s), "RedrivePolicy": json.dumps(redrive)},
    )
    s3.put_bucket_notification_configuration(
        Bucket=buckets["input"],
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "fakewatch-scan", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    _drain(sqs, queue_url)  # S3 sends an s3:TestEvent when the notification is configured
    table = f"{name}-idempotency"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    bus = f"{name}-results"
    events.create_event_bus(Name=bus)
    results_queue_url, results_queue_arn = _queue(sqs, f"{name}-result-events", {})
    events.put_rule(
        Name=f"{name}-all-results",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["fakewatch"]}),
    )
    events.put_targets(
        Rule=f"{name}-all-results",
        EventBusName=bus,
        Targets=[{"Id": "results-queue", "Arn": results_queue_arn}],
    )
    return Deployment(
        endpoint_url=endpoint_url,
        region=region,
        input_bucket=buckets["input"],
        results_bucket=buckets["results"],
        quarantine_bucket=buckets["quarantine"],
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        table=table,
        bus=bus,
        results_queue_url=results_queue_url,
    )


def _queue(sqs: Any, name: str, attributes: Mapping[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=dict(attributes))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(url), str(arn["Attributes"]["QueueArn"])


def _drain(sqs: Any, queue_url: str) -> None:
    resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    for msg in resp.get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])


def use_fake_credentials(env: dict[str, str] | None = None) -> None:
    """Point the SDK at throwaway credentials (never real ones) for the emulator."""
    target = os.environ if env is None else env
    target.update(FAKE_CREDENTIALS)
    target.pop("AWS_PROFILE", None)
    target.pop("AWS_SESSION_TOKEN", None)
