"""Log retention, alert policies and the optional budget for the GCP scanner."""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_gcp as gcp

from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import physical


def money(amount: Decimal) -> tuple[str, int]:
    """google.type.Money parts: whole units as a string, nanos as an int, from an exact Decimal."""
    units = int(amount)
    return str(units), int((amount - units) * Decimal(1_000_000_000))


class Observability(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        project: str,
        function_name: pulumi.Input[str],
        dead_letter_subscription: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_bucket = gcp.logging.ProjectBucketConfig(
            f"{name}-logs",
            project=project,
            location="global",
            bucket_id=physical(cfg, "logs", 100),
            retention_days=cfg.log_retention_days,
            description="fakewatch scanner logs",
            opts=child,
        )
        gcp.logging.ProjectSink(
            f"{name}-logs-sink",
            project=project,
            name=physical(cfg, "logs", 100),
            destination=self.log_bucket.id.apply(lambda i: f"logging.googleapis.com/{i}"),
            filter=pulumi.Output.from_input(function_name).apply(
                lambda fn: (
                    f'resource.type="cloud_run_revision" AND resource.labels.service_name="{fn}"'
                )
            ),
            unique_writer_identity=True,
            opts=child,
        )
        channels: list[pulumi.Output[str]] = []
        if cfg.alert_email:
            channel = gcp.monitoring.NotificationChannel(
                f"{name}-email",
                project=project,
                display_name="fakewatch alerts",
                type="email",
                labels={"email_address": cfg.alert_email},
                opts=child,
            )
            channels.append(channel.name)
        self.channels = channels
        self._errors(name, cfg, project, function_name, channels)
        self._backlog(name, cfg, project, function_name, channels)
        if dead_letter_subscription is not None:
            self._dead_letters(name, cfg, project, dead_letter_subscription, channels)
        if cfg.monthly_budget is not None:
            self._budget(name, cfg, project, cfg.monthly_budget, channels)
        self.register_outputs({"log_bucket": self.log_bucket.id})

    def _errors(
        self,
        name: str,
        cfg: ScannerConfig,
        project: str,
        function_name: pulumi.Input[str],
        channels: list[pulumi.Output[str]],
    ) -> None:
        metric = pulumi.Output.from_input(function_name).apply(
            lambda fn: (
                'resource.type = "cloud_run_revision" '
                f'AND resource.labels.service_name = "{fn}" '
                'AND metric.type = "run.googleapis.com/request_count" '
                'AND metric.labels.response_code_class = "5xx"'
            )
        )
        gcp.monitoring.AlertPolicy(
            f"{name}-errors",
            project=project,
            display_name=f"fakewatch {cfg.base_name}: scanner errors",
            combiner="OR",
            conditions=[
                {
                    "display_name": "scanner returned errors",
                    "condition_threshold": {
                        "filter": metric,
                        "comparison": "COMPARISON_GT",
                        "threshold_value": 0,
                        "duration": "0s",
                        "aggregations": [
                            {"alignment_period": "300s", "per_series_aligner": "ALIGN_SUM"}
                        ],
                    },
                }
            ],
            notification_channels=channels,
            documentation={
                "content": "The scanner failed; Eventarc retries the object (retry policy on).",
                "mime_type": "text/markdown",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _backlog(
        self,
        name: str,
        cfg: ScannerConfig,
        project: str,
        function_name: pulumi.Input[str],
        channels: list[pulumi.Output[str]],
    ) -> None:
        # Eventarc delivers through a Pub/Sub subscription named after the trigger: an old
        # unacknowledged message is an upload still unscanned after its retries (the DLQ signal).
        metric = pulumi.Output.from_input(function_name).apply(
            lambda fn: (
                'resource.type = "pubsub_subscription" '
                'AND metric.type = "pubsub.googleapis.com/subscription/oldest_unacked_message_age" '
                f'AND resource.labels.subscription_id = starts_with("eventarc-{cfg.region}-{fn}")'
            )
        )
        gcp.monitoring.AlertPolicy(
            f"{name}-backlog",
            project=project,
            display_name=f"fakewatch {cfg.base_name}: uploads waiting over an hour",
            combiner="OR",
            conditions=[
                {
                    "display_name": "oldest undelivered upload older than 1 h",
                    "condition_threshold": {
                        "filter": metric,
                        "comparison": "COMPARISON_GT",
                        "threshold_value": 3600,
                        "duration": "300s",
                        "aggregations": [
                            {"alignment_period": "300s", "per_series_aligner": "ALIGN_MAX"}
                        ],
                    },
                }
            ],
            notification_channels=channels,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _dead_letters(
        self,
        name: str,
        cfg: ScannerConfig,
        project: str,
        subscription: pulumi.Input[str],
        channels: list[pulumi.Output[str]],
    ) -> None:
        # async: a job the GPU worker never answered after every retry waits here; its verdict
        # stays "escalation pending" (decided from the cheap signals) until someone looks.
        metric = pulumi.Output.from_input(subscription).apply(
            lambda sub: (
                'resource.type = "pubsub_subscription" '
                'AND metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" '
                f'AND resource.labels.subscription_id = "{sub}"'
            )
        )
        gcp.monitoring.AlertPolicy(
            f"{name}-dead-jobs",
            project=project,
            display_name=f"fakewatch {cfg.base_name}: escalation jobs dead-lettered",
            combiner="OR",
            conditions=[
                {
                    "display_name": "a GPU job exhausted its deliveries",
                    "condition_threshold": {
                        "filter": metric,
                        "comparison": "COMPARISON_GT",
                        "threshold_value": 0,
                        "duration": "0s",
                        "aggregations": [
                            {"alignment_period": "300s", "per_series_aligner": "ALIGN_MAX"}
                        ],
                    },
                }
            ],
            notification_channels=channels,
            documentation={
                "content": "The GPU worker did not answer a queued escalation after every "
                "retry; the verdict keeps its pending escalation. Inspect the dead-letter "
                "subscription and the worker's logs.",
                "mime_type": "text/markdown",
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(
        self,
        name: str,
        cfg: ScannerConfig,
        project: str,
        amount: Decimal,
        channels: list[pulumi.Output[str]],
    ) -> None:
        number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        units, nanos = money(amount)
        gcp.billing.Budget(
            f"{name}-budget",
            billing_account=str(cfg.billing_account),
            display_name=f"fakewatch {cfg.base_name}",
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    currency_code=cfg.budget_currency, units=units, nanos=nanos
                )
            ),
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                projects=[number.apply(lambda n: f"projects/{n}")]
            ),
            threshold_rules=[
                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=0.8),
                gcp.billing.BudgetThresholdRuleArgs(
                    threshold_percent=1.0, spend_basis="FORECASTED_SPEND"
                ),
            ],
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=channels
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
