"""Log Analytics + Application Insights with retention, alerts on function failures and on
dead-lettered events, and the optional monthly budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pulumi
import pulumi_azure_native.applicationinsights as appinsights
from pulumi_azure_native import consumption, monitor, operationalinsights

from fakewatch_iac.config import ScannerConfig


class Telemetry(pulumi.ComponentResource):
    """Workspace-based Application Insights, Entra-only ingestion, retention from config."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        resource_group: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:Telemetry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=resource_group,
            location=cfg.region,
            sku={"name": "PerGB2018"},
            retention_in_days=cfg.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.insights = appinsights.Component(
            f"{name}-insights",
            resource_group_name=resource_group,
            location=cfg.region,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.workspace.id,
            retention_in_days=cfg.log_retention_days,
            disable_local_auth=True,
            disable_ip_masking=False,
            tags=tags,
            opts=child,
        )
        self.register_outputs({"insights": self.insights.name})


class Alerts(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        resource_group: pulumi.Input[str],
        resource_group_id: pulumi.Input[str],
        insights_id: pulumi.Input[str],
        system_topic_id: pulumi.Input[str],
        subscription_names: list[pulumi.Input[str]],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        receivers = (
            [
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name="secops", email_address=cfg.alert_email, use_common_alert_schema=True
                )
            ]
            if cfg.alert_email
            else []
        )
        self.group = monitor.ActionGroup(
            f"{name}-group",
            resource_group_name=resource_group,
            location="global",
            group_short_name="fakewatch",
            enabled=True,
            email_receivers=receivers,
            tags=tags,
            opts=child,
        )
        self._alert(
            name,
            "failures",
            resource_group,
            insights_id,
            "microsoft.insights/components",
            "requests/failed",
            "Count",
            "The scanner function failed: Event Grid retries.",
        )
        self._alert(
            name,
            "dead-letters",
            resource_group,
            system_topic_id,
            "Microsoft.EventGrid/systemTopics",
            "DeadLetteredCount",
            "Total",
            "Events were dead-lettered: uploads (or GPU answers) were not processed.",
            # The topic may be shared with its owner's subscriptions: count only ours.
            dimensions=[
                monitor.MetricDimensionArgs(
                    name="EventSubscriptionName", operator="Include", values=subscription_names
                )
            ],
        )
        if cfg.monthly_budget is not None:
            self._budget(name, cfg, cfg.monthly_budget, resource_group_id, child)
        self.register_outputs({"group": self.group.id})

    def _alert(
        self,
        name: str,
        part: str,
        resource_group: pulumi.Input[str],
        scope: pulumi.Input[str],
        namespace: str,
        metric: str,
        aggregation: str,
        description: str,
        dimensions: list[monitor.MetricDimensionArgs] | None = None,
    ) -> None:
        monitor.MetricAlert(
            f"{name}-{part}",
            resource_group_name=resource_group,
            location="global",
            description=description,
            severity=2,
            enabled=True,
            scopes=[scope],
            evaluation_frequency="PT5M",
            window_size="PT5M",
            # A union-typed input: typed args so the SDK writes ARM's camelCase names.
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=metric.replace("/", "-"),
                        metric_name=metric,
                        metric_namespace=namespace,
                        operator="GreaterThan",
                        threshold=0,
                        time_aggregation=aggregation,
                        dimensions=dimensions,
                    )
                ],
            ),
            actions=[{"action_group_id": self.group.id}],
            auto_mitigate=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(
        self,
        name: str,
        cfg: ScannerConfig,
        amount: Decimal,
        scope: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        start = datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")
        emails = [cfg.alert_email] if cfg.alert_email else []
        notifications = {
            "actual-80": consumption.NotificationArgs(
                enabled=True,
                operator="GreaterThan",
                threshold=80,
                threshold_type="Actual",
                contact_emails=emails,
            ),
            "forecast-100": consumption.NotificationArgs(
                enabled=True,
                operator="GreaterThan",
                threshold=100,
                threshold_type="Forecasted",
                contact_emails=emails,
            ),
        }
        consumption.Budget(
            f"{name}-budget",
            scope=scope,
            category="Cost",
            # ARM takes a JSON number: the Decimal is converted only at this boundary.
            amount=float(amount),
            time_grain="Monthly",
            time_period={"start_date": start},
            notifications=notifications,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["timePeriod"])
            ),
        )
