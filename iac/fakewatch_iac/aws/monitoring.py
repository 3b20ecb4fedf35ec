"""Alarms on errors, throttles and the dead-letter queue; an optional monthly budget."""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import document, statement
from fakewatch_iac.config import ScannerConfig

PERIOD_S = 300


class Alerts(pulumi.ComponentResource):
    """SNS alert topic (encrypted, optional email subscription) and CloudWatch alarms."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        function_name: pulumi.Input[str],
        queue_name: pulumi.Input[str],
        dlq_name: pulumi.Input[str],
        account_id: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # CloudWatch and Budgets cannot use the AWS-managed aws/sns key: a customer key whose
        # policy lets them encrypt is the only way to keep the alert topic encrypted.
        self.key = aws.kms.Key(
            f"{name}-key",
            description="fakewatch alert topic encryption",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(account_id).apply(_key_policy),
            tags=tags,
            opts=child,
        )
        self.topic = aws.sns.Topic(
            f"{name}-topic", kms_master_key_id=self.key.arn, tags=tags, opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account_id).apply(
                lambda a: _topic_policy(a[0], a[1])
            ),
            opts=child,
        )
        if cfg.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=cfg.alert_email,
                opts=child,
            )
        actions = [self.topic.arn]
        fn_dims = {"FunctionName": function_name}
        self._alarm(
            name,
            "errors",
            "AWS/Lambda",
            "Errors",
            fn_dims,
            "Sum",
            0,
            actions,
            "The scanner function raised errors: objects may be waiting for a retry.",
        )
        self._alarm(
            name,
            "throttles",
            "AWS/Lambda",
            "Throttles",
            fn_dims,
            "Sum",
            0,
            actions,
            "The scanner was throttled: raise function.maxConcurrency or the account limit.",
        )
        self._alarm(
            name,
            "dlq-depth",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": dlq_name},
            "Maximum",
            0,
            actions,
            "Messages reached the dead-letter queue: objects were not scanned.",
        )
        self._alarm(
            name,
            "queue-age",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": queue_name},
            "Maximum",
            3600,
            actions,
            "The oldest queued upload waited over an hour: the scanner is falling behind.",
        )
        if cfg.monthly_budget is not None:
            self._budget(name, cfg, cfg.monthly_budget, child)
        self.register_outputs({"topic_arn": self.topic.arn})

    def _alarm(
        self,
        name: str,
        suffix: str,
        namespace: str,
        metric: str,
        dimensions: dict[str, pulumi.Input[str]],
        statistic: str,
        threshold: int,
        actions: list[pulumi.Output[str]],
        description: str,
    ) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{suffix}",
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=PERIOD_S,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_description=description,
            alarm_actions=actions,
            ok_actions=actions,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(
        self, name: str, cfg: ScannerConfig, amount: Decimal, child: pulumi.ResourceOptions
    ) -> None:
        notifications = [
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": 80,
                "threshold_type": "PERCENTAGE",
                "notification_type": "ACTUAL",
                "subscriber_sns_topic_arns": [self.topic.arn],
            },
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": 100,
                "threshold_type": "PERCENTAGE",
                "notification_type": "FORECASTED",
                "subscriber_sns_topic_arns": [self.topic.arn],
            },
        ]
        aws.budgets.Budget(
            f"{name}-budget",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(amount),
            limit_unit=cfg.budget_currency,
            # Counts costs carrying the stack tag once it is activated as a cost allocation tag.
            cost_filters=[
                {"name": "TagKeyValue", "values": [f"user:fakewatch:stack${cfg.base_name}"]}
            ],
            notifications=notifications,  # type: ignore[arg-type]
            opts=child,
        )


def _key_policy(account: str) -> str:
    # In a key policy, Resource "*" means "this key": it is the only form AWS accepts.
    return document(
        [
            statement(
                "AccountAdministers",
                ["kms:*"],
                "*",
                principal={"AWS": f"arn:aws:iam::{account}:root"},
            ),
            statement(
                "AlarmsAndBudgetsEncrypt",
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                "*",
                principal={"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
            ),
        ]
    )


def _topic_policy(topic_arn: str, account: str) -> str:
    return document(
        [
            statement(
                "AllowAlarmsAndBudgets",
                ["sns:Publish"],
                [topic_arn],
                principal={"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                condition={"StringEquals": {"aws:SourceAccount": account}},
            ),
            statement(
                "DenyInsecureTransport",
                ["sns:Publish"],
                [topic_arn],
                effect="Deny",
                principal="*",
                condition={"Bool": {"aws:SecureTransport": "false"}},
            ),
        ]
    )
