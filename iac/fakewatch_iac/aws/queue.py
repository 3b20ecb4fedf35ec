"""ScanQueue: the buffer between the bucket and the function, with a dead-letter queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import document, statement

MAX_RECEIVE_COUNT = 5  # deliveries before a message is parked in the DLQ
DLQ_RETENTION_S = 14 * 24 * 3600  # the SQS maximum: time to inspect and redrive


@dataclass(frozen=True)
class QueueSource:
    """A service allowed to send to the queue, only on behalf of ``source_arn``."""

    service: str  # s3.amazonaws.com or events.amazonaws.com
    source_arn: pulumi.Input[str]


class ScanQueue(pulumi.ComponentResource):
    """Queue + DLQ with redrive, SSE, TLS-only, and a policy naming exactly who may send."""

    def __init__(
        self,
        name: str,
        *,
        visibility_timeout_s: int,
        account_id: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:ScanQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account_id = account_id
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DLQ_RETENTION_S,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            name,
            visibility_timeout_seconds=visibility_timeout_s,
            message_retention_seconds=4 * 24 * 3600,
            receive_wait_time_seconds=20,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                )
            ),
            tags=tags,
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        self._name = name
        self.register_outputs({"queue_arn": self.queue.arn, "dlq_arn": self.dlq.arn})

    def allow(self, sources: list[QueueSource]) -> aws.sqs.QueuePolicy:
        """Attach the queue policy: TLS only, and SendMessage for ``sources`` only."""
        return self._policy(f"{self._name}-policy", self.queue, sources)

    def allow_dead_letters(self, sources: list[QueueSource]) -> aws.sqs.QueuePolicy:
        """The DLQ's policy: TLS only, and SendMessage for deliveries that park their failures
        there themselves (an EventBridge target, an SNS subscription); SQS's own redrive needs
        no grant."""
        return self._policy(f"{self._name}-dlq-policy", self.dlq, sources)

    def _policy(
        self, name: str, queue: aws.sqs.Queue, sources: list[QueueSource]
    ) -> aws.sqs.QueuePolicy:
        def build(args: list[str]) -> str:
            queue_arn, account, *arns = args
            stmts = [
                statement(
                    "DenyInsecureTransport",
                    ["sqs:*"],
                    [queue_arn],
                    effect="Deny",
                    principal="*",
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                )
            ]
            for i, (src, arn) in enumerate(zip(sources, arns, strict=True)):
                stmts.append(
                    statement(
                        f"AllowSend{i}",
                        ["sqs:SendMessage"],
                        [queue_arn],
                        principal={"Service": src.service},
                        condition={
                            "ArnEquals": {"aws:SourceArn": arn},
                            "StringEquals": {"aws:SourceAccount": account},
                        },
                    )
                )
            return document(stmts)

        policy = pulumi.Output.all(
            queue.arn, self.account_id, *[s.source_arn for s in sources]
        ).apply(build)
        return aws.sqs.QueuePolicy(
            name,
            queue_url=queue.url,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
