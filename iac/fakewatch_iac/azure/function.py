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
            type=storage.BlobType.BLOCK,
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
        pairs: dict[str, pulumi.Input[str]] = {
            "AzureWebJobsStorage__accountName": runtime_account_name,
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": identity_client_id,
            "AZURE_CLIENT_ID": identity_client_id,
        }
        settings = [web.NameValuePairArgs(name=k, value=v) for k, v in pairs.items()]
        settings += [
            web.NameValuePairArgs(name=k, value=v) for k, v in sorted(app_settings.items())
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
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity_id],
            ),
            key_vault_reference_identity=identity_id,
            site_config=web.SiteConfigArgs(
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
                app_settings=settings,
            ),
            function_app_config=web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                        value=pulumi.Output.concat(runtime_blob_endpoint, PACKAGE_CONTAINER),
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type=web.AuthenticationType.USER_ASSIGNED_IDENTITY,
                            user_assigned_identity_resource_id=identity_id,
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version="3.11"),
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=cfg.function.max_concurrency,
                    instance_memory_mb=cfg.function.memory_mb,
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.package, *depends_on]),
        )
        self.function_id = self.app.id.apply(lambda i: f"{i}/functions/{FUNCTION_NAME}")
        self.register_outputs({"app": self.app.name})
