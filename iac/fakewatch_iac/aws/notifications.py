"""Asynchronous escalation answers come back through the scan queue.

SageMaker Asynchronous Inference announces every finished request on a success or an error SNS
topic. Both topics deliver to the existing scan queue with raw message delivery, so the SQS body
is SageMaker's own notification JSON (``inferenceId``, ``invocationStatus`` ``Completed`` or
``Failed``, ``failureReason``, ``requestParameters.inputLocation``,
``responseParameters.outputLocation``) and the scanner folds it back into the verdict. The
queue's dead-letter path, retries and alarms then cover answers exactly as they cover uploads.

The topics are encrypted (the stack's KMS key, else the AWS-managed ``alias/aws/sns`` key, which
SageMaker may use as a same-account principal), refuse non-TLS publishes, and refuse publishes
from anyone but the endpoint's execution role: a notification on the scan queue is trusted.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import document, statement
from fakewatch_iac.aws.queue import QueueSource

AWS_MANAGED_SNS_KEY = "alias/aws/sns"
OUTCOMES = ("success", "error")


class AsyncNotifications(pulumi.ComponentResource):
    """Success and error topics, each subscribed to the scan queue with raw delivery."""

    def __init__(
        self,
        name: str,
        *,
        queue_arn: pulumi.Input[str],
        dead_letter_arn: pulumi.Input[str],
        publisher_role_arn: pulumi.Input[str],
        kms_key_arn: str | None,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:AsyncNotifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topics: dict[str, aws.sns.Topic] = {}
        for outcome in OUTCOMES:
            topic = aws.sns.Topic(
                f"{name}-{outcome}",
                kms_master_key_id=kms_key_arn or AWS_MANAGED_SNS_KEY,
                tags=tags,
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-{outcome}-policy",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, publisher_role_arn).apply(
                    lambda a: _topic_policy(a[0], a[1])
                ),
                opts=child,
            )
            aws.sns.TopicSubscription(
                f"{name}-{outcome}-to-queue",
                topic=topic.arn,
                protocol="sqs",
                endpoint=queue_arn,
                raw_message_delivery=True,
                # An answer SNS cannot deliver is parked in the scan DLQ, not dropped.
                redrive_policy=pulumi.Output.from_input(dead_letter_arn).apply(
                    lambda arn: json.dumps({"deadLetterTargetArn": arn})
                ),
                opts=child,
            )
            self.topics[outcome] = topic
        self.success_arn = self.topics["success"].arn
        self.error_arn = self.topics["error"].arn
        self.register_outputs({"success": self.success_arn, "error": self.error_arn})

    def queue_sources(self) -> list[QueueSource]:
        """The scan queue's (and its DLQ's) policy lets SNS send for these two topics only."""
        return [QueueSource("sns.amazonaws.com", t.arn) for t in self.topics.values()]


def _topic_policy(topic_arn: str, publisher_role_arn: str) -> str:
    return document(
        [
            statement(
                "DenyInsecureTransport",
                ["sns:Publish"],
                [topic_arn],
                effect="Deny",
                principal="*",
                condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
            statement(
                "OnlyTheEndpointPublishes",
                ["sns:Publish"],
                [topic_arn],
                effect="Deny",
                principal="*",
                condition={"ArnNotEquals": {"aws:PrincipalArn": publisher_role_arn}},
            ),
        ]
    )
