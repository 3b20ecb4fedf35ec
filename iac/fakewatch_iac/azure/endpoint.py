"""Optional GPU escalation endpoint: Azure ML workspace, online endpoint and deployment of the
fakewatch serving container, autoscaled between the configured bounds."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.machinelearningservices as ml
from pulumi_azure_native import keyvault, monitor

from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import physical

DEPLOYMENT = "primary"
SERVING_PORT = 5001  # providers/azure/serving/Dockerfile: EXPOSE 5001, /live, /ready, /score


class MlOnlineEndpoint(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        resource_group: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        storage_account_id: pulumi.Input[str],
        insights_id: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:MlOnlineEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gpu = cfg.gpu
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=resource_group,
            location=cfg.region,
            properties={
                "tenant_id": tenant_id,
                "sku": {"family": keyvault.SkuFamily.A, "name": keyvault.SkuName.STANDARD},
                "enable_rbac_authorization": True,
                "enable_purge_protection": True,
                "enable_soft_delete": True,
                "public_network_access": "Enabled",
            },
            tags=tags,
            opts=child,
        )
        self.workspace = ml.Workspace(
            f"{name}-workspace",
            resource_group_name=resource_group,
            location=cfg.region,
            identity=ml.ManagedServiceIdentityArgs(
                type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            storage_account=storage_account_id,
            key_vault=vault.id,
            application_insights=insights_id,
            system_datastores_auth_mode="identity",
            public_network_access="Enabled",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            tags=tags,
            opts=child,
        )
        environment = ml.EnvironmentVersion(
            f"{name}-environment",
            resource_group_name=resource_group,
            workspace_name=self.workspace.name,
            name=physical(cfg, "serve"),
            version="1",
            properties={
                "image": gpu.image_uri,
                "os_type": "Linux",
                # The serving image's azureml contract (fakewatch_serve.contracts).
                "inference_config": {
                    "liveness_route": {"path": "/live", "port": SERVING_PORT},
                    "readiness_route": {"path": "/ready", "port": SERVING_PORT},
                    "scoring_route": {"path": "/score", "port": SERVING_PORT},
                },
            },
            opts=child,
        )
        self.endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            resource_group_name=resource_group,
            workspace_name=self.workspace.name,
            location=cfg.region,
            identity={"type": "SystemAssigned"},
            properties={"auth_mode": "AADToken", "public_network_access": "Enabled"},
            tags=tags,
            opts=child,
        )
        self.deployment = ml.OnlineDeployment(
            f"{name}-deployment",
            resource_group_name=resource_group,
            workspace_name=self.workspace.name,
            endpoint_name=self.endpoint.name,
            deployment_name=DEPLOYMENT,
            location=cfg.region,
            sku={"name": "Default", "capacity": gpu.min_instances},
            # A union-typed input: typed args so the SDK writes ARM's camelCase names.
            properties=ml.ManagedOnlineDeploymentArgs(
                endpoint_compute_type="Managed",
                instance_type=gpu.instance_type,
                environment_id=environment.id,
                scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
                app_insights_enabled=True,
                egress_public_network_access="Disabled",
            ),
            tags=tags,
            opts=child,
        )
        monitor.AutoscaleSetting(
            f"{name}-autoscale",
            resource_group_name=resource_group,
            location=cfg.region,
            enabled=True,
            target_resource_uri=self.deployment.id,
            profiles=[
                monitor.AutoscaleProfileArgs(
                    name="gpu",
                    capacity=monitor.ScaleCapacityArgs(
                        minimum=str(gpu.min_instances),
                        maximum=str(gpu.max_instances),
                        default=str(gpu.min_instances),
                    ),
                    rules=[
                        _rule(
                            self.deployment.id,
                            monitor.ComparisonOperationType.GREATER_THAN,
                            70,
                            monitor.ScaleDirection.INCREASE,
                        ),
                        _rule(
                            self.deployment.id,
                            monitor.ComparisonOperationType.LESS_THAN,
                            25,
                            monitor.ScaleDirection.DECREASE,
                        ),
                    ],
                )
            ],
            tags=tags,
            opts=child,
        )
        self.scoring_uri = self.endpoint.properties.apply(lambda p: p.scoring_uri or "")
        self.register_outputs({"scoring_uri": self.scoring_uri})


def _rule(
    target: pulumi.Input[str],
    operator: monitor.ComparisonOperationType,
    threshold: int,
    direction: monitor.ScaleDirection,
) -> monitor.ScaleRuleArgs:
    return monitor.ScaleRuleArgs(
        metric_trigger=monitor.MetricTriggerArgs(
            metric_name="GpuUtilizationPercentage",
            metric_resource_uri=target,
            operator=operator,
            statistic=monitor.MetricStatisticType.AVERAGE,
            threshold=threshold,
            time_aggregation=monitor.TimeAggregationType.AVERAGE,
            time_grain="PT1M",
            time_window="PT5M",
        ),
        scale_action=monitor.ScaleActionArgs(
            direction=direction,
            type=monitor.ScaleType.CHANGE_COUNT,
            value="1",
            cooldown="PT5M",
        ),
    )
