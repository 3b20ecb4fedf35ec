"""Lambda's SQS event source mapping, played locally against moto (or a real queue).

``SqsEventSourceMapping`` does what the managed poller does for a function with
``ReportBatchItemFailures``: long-polls up to ``batch_size`` messages, builds the exact event
Lambda sends (``Records[].messageId/receiptHandle/body/attributes/messageAttributes/md5OfBody/
eventSource/eventSourceARN/awsRegion``), invokes the handler with a Lambda context whose
deadline is the function timeout, deletes only the records the response does not list as
failed, and leaves the failed ones for SQS to show again once their visibility timeout lapses
(so the queue's redrive policy moves a record that keeps failing to the DLQ). An invocation
that raises, or a response naming an unknown message, fails the whole batch, as in Lambda.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("fakewatch_aws.local")

Handler = Callable[[dict[str, Any], Any], Any]
MAX_BATCH = 10  # SQS ReceiveMessage returns at most 10 messages per call


@dataclass
class LocalLambdaContext:
    """The attributes and method of Lambda's context object that handlers use."""

    timeout_s: float
    function_name: str = "fakewatch-scanner"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/fakewatch-scanner"
    log_stream_name: str = "local/[$LATEST]fakewatch"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_s - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


@dataclass(frozen=True)
class BatchReport:
    received: int
    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    elapsed_s: float
    overran_visibility: bool = False
    response: Any = None


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS ReceiveMessage message in the shape Lambda puts in ``Records``."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attr["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attr["binaryValue"] = _b64(value["BinaryValue"])
    return attr


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


class SqsEventSourceMapping:
    """``SqsEventSourceMapping(sqs_client, queue_url, handler).run(...)``."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = MAX_BATCH,
        wait_time_s: int = 1,
        function_timeout_s: float | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1-{MAX_BATCH}, not {batch_size}")
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.batch_size, self.wait_time_s = batch_size, wait_time_s
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
        )["Attributes"]
        self.queue_arn = str(attrs["QueueArn"])
        self.region = self.queue_arn.split(":")[3] or "us-east-1"
        self.visibility_timeout_s = float(attrs.get("VisibilityTimeout", 30))
        # Lambda refuses a mapping whose function timeout exceeds the visibility timeout.
        self.function_timeout_s = min(
            function_timeout_s or self.visibility_timeout_s, self.visibility_timeout_s
        )

    def receive(self) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_time_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(resp.get("Messages", []))

    def invoke(self, messages: list[dict[str, Any]]) -> BatchReport:
        """Invoke the handler with one batch; delete what succeeded."""
        event = {"Records": [lambda_sqs_record(m, self.queue_arn, self.region) for m in messages]}
        context = LocalLambdaContext(timeout_s=self.function_timeout_s, region=self.region)
        ids = [m["MessageId"] for m in messages]
        started = time.monotonic()
        try:
            response = self.handler(event, context)
            failed = _failed_ids(response, ids)
        except Exception:  # an invocation error: the whole batch comes back
            log.exception("invocation failed; every record in the batch will be retried")
            response, failed = None, set(ids)
        elapsed = time.monotonic() - started
        overran = elapsed > self.visibility_timeout_s
        if overran:
            log.warning(
                "batch ran %.1fs, past the %.0fs visibility timeout: SQS may already have "
                "delivered its messages again",
                elapsed,
                self.visibility_timeout_s,
            )
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(done)
        return BatchReport(
            received=len(messages),
            succeeded=tuple(m["MessageId"] for m in done),
            failed=tuple(i for i in ids if i in failed),
            elapsed_s=elapsed,
            overran_visibility=overran,
            response=response,
        )

    def poll(self) -> BatchReport | None:
        """Receive one batch and invoke the handler; None when the queue had nothing."""
        messages = self.receive()
        return self.invoke(messages) if messages else None

    def batches(
        self, max_batches: int | None = None, until_idle: bool = True
    ) -> Iterator[BatchReport]:
        """Poll repeatedly. With ``until_idle``, stop once nothing is visible or in flight."""
        count = 0
        while max_batches is None or count < max_batches:
            report = self.poll()
            if report is not None:
                count += 1
                yield report
            elif until_idle and self.idle():
                return

    def idle(self) -> bool:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs.get("ApproximateNumberOfMessages", 0)) == 0
            and int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)) == 0
        )

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        resp = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        for failure in resp.get("Failed", []):
            log.warning("could not delete a processed message: %s", failure.get("Message"))


def _failed_ids(response: Any, ids: list[str]) -> set[str]:
    """The message ids a partial batch response reports as failed."""
    if response is None or not isinstance(response, Mapping):
        return set()
    failures = response.get("batchItemFailures") or []
    failed = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, Mapping)}
    if not failed <= set(ids) or len(failed) != len(failures):
        log.error("partial batch response names unknown records; failing the whole batch")
        return set(ids)
    return failed


# -- the one-command demo ---------------------------------------------------------------------
def sample_uploads() -> dict[str, bytes]:
    """A mixed batch: generator-metadata PNG, C2PA-declared AI image, photo-like JPEG, a
    corrupt file, and a key with spaces and non-ASCII letters."""
    from fakewatch import samples

    photo = samples.photo_like_jpeg()
    return {
        "uploads/generated-with-a1111.png": samples.a1111_png(),
        "uploads/c2pa-declared-ai.jpg": samples.c2pa_signed(
            photo, "image/jpeg", "trainedAlgorithmicMedia"
        ),
        "uploads/holiday photo été (1).jpg": photo,
        "uploads/broken-upload.jpg": samples.corrupt_file("jpeg"),
    }


def upload(s3: Any, bucket: str, objects: Mapping[str, bytes]) -> None:
    for key, data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
