"""How uploads reach the queue: S3 notifications for buckets the stack owns, EventBridge for
buckets it does not.

An S3 bucket has exactly one notification configuration and ``BucketNotification`` replaces it
whole, so attaching to an existing bucket that way would silently delete its owner's
notifications. For an existing bucket the stack instead matches its "Object Created" events on
the default EventBridge bus (the bucket must have EventBridge delivery switched on; see
iac/aws/README.md) and leaves the bucket's configuration alone.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def s3_notification(
    name: str,
    *,
    bucket_id: pulumi.Input[str],
    queue_arn: pulumi.Input[str],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.s3.BucketNotification:
    """Owned bucket: every created object is announced to the queue."""
    return aws.s3.BucketNotification(
        name,
        bucket=bucket_id,
        queues=[{"queue_arn": queue_arn, "events": ["s3:ObjectCreated:*"]}],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def object_created_pattern(bucket_name: str) -> str:
    """EventBridge pattern for S3 "Object Created" events of one bucket."""
    return json.dumps(
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]}},
        },
        sort_keys=True,
    )


class EventBridgeIntake(pulumi.ComponentResource):
    """Existing bucket: a rule on the default bus forwards its Object Created events to SQS."""

    def __init__(
        self,
        name: str,
        *,
        bucket_name: str,
        queue_arn: pulumi.Input[str],
        dead_letter_arn: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:EventBridgeIntake", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.rule = aws.cloudwatch.EventRule(
            name,
            description=f"fakewatch: objects created in {bucket_name}",
            event_pattern=object_created_pattern(bucket_name),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-to-queue",
            rule=self.rule.name,
            arn=queue_arn,
            retry_policy={"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185},
            # An event EventBridge cannot deliver (queue policy, KMS) is parked, not dropped.
            dead_letter_config={"arn": dead_letter_arn},
            opts=child,
        )
        self.register_outputs({"rule_arn": self.rule.arn})
