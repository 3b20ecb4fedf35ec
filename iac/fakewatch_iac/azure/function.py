"""FlexFunctionApp: the Azure bundle on a Flex Consumption plan, run by a managed identity."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage, web

from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.config import ScannerConfig

FUNCTION_NAME = "scan_blob"
PACKAGE_CONTAINER = "deployments"


class FlexFunctionApp(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        artifact: Artifact,
        resource_group: pulumi.Input[str],
        runtime_account_name: pulumi.Input[str],
        runtime_blob_endpoint: pulumi.Input[str],
        identity_id: pulumi.Input[str],
        identity_client_id: pulumi.Input[str],
        app_settings: dict[str, pulumi.Input[str]],
        tags: dict[str, str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:FlexFunctionApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.package = storage.Blob(
            f"{name}-package",
            account_name=runtime_account_name,
            resource_group_name=resource_group,
            container_name=PACKAGE_CONTAINER,
            blob_name=f"fakewatch-functionapp-{artifact.sha256_hex[:16]}.zip",
            type="Block",
            content_type="application/zip",
            source=pulumi.FileAsset(str(artifact.path)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.plan = web.AppServicePlan(
            f"{name}-plan",
            resource_group_name=resource_group,
            location=cfg.region,
            kind="functionapp",
            reserved=True,
            sku={"name": "FC1", "tier": "FlexConsumption"},
            tags=tags,
            opts=child,
        )
        settings = [
            {"name": "AzureWebJobsStorage__accountName", "value": runtime_account_name},
            {"name": "AzureWebJobsStorage__credential", "value": "managedidentity"},
            {"name": "AzureWebJobsStorage__clientId", "value": identity_client_id},
            {"name": "AZURE_CLIENT_ID", "value": identity_client_id},
            *({"name": k, "value": v} for k, v in sorted(app_settings.items())),
        ]
        self.app = web.WebApp(
            name,
            resource_group_name=resource_group,
            location=cfg.region,
            kind="functionapp,linux",
            server_farm_id=self.plan.id,
            https_only=True,
            client_cert_enabled=False,
            public_network_access="Enabled",
            identity={"type": "UserAssigned", "user_assigned_identities": [identity_id]},
            key_vault_reference_identity=identity_id,
            site_config={
                "min_tls_version": "1.2",
                "scm_min_tls_version": "1.2",
                "ftps_state": "Disabled",
                "http20_enabled": True,
                "app_settings": settings,
            },
            function_app_config={
                "deployment": {
                    "storage": {
                        "type": "blobContainer",
                        "value": pulumi.Output.concat(runtime_blob_endpoint, PACKAGE_CONTAINER),
                        "authentication": {
                            "type": "UserAssignedIdentity",
                            "user_assigned_identity_resource_id": identity_id,
                        },
                    }
                },
                "runtime": {"name": "python", "version": "3.11"},
                "scale_and_concurrency": {
                    "maximum_instance_count": cfg.function.max_concurrency,
                    "instance_memory_mb": cfg.function.memory_mb,
                },
            },
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.package, *depends_on]),
        )
        self.function_id = self.app.id.apply(lambda i: f"{i}/functions/{FUNCTION_NAME}")
        self.register_outputs({"app": self.app.name})
