"""SecureStorageAccount: HTTPS only, TLS 1.2+, no public blob access, encrypted, private
containers, soft delete and versioning, lifecycle for what expires."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage


@dataclass(frozen=True)
class Expiry:
    prefix: str  # "<container>/" or "<container>/<prefix>"
    days: int


class SecureStorageAccount(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        account_name: pulumi.Input[str],
        resource_group: pulumi.Input[str],
        location: str,
        containers: list[str],
        expiries: list[Expiry],
        shared_key_access: bool,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:StorageAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = storage.StorageAccount(
            name,
            account_name=account_name,
            resource_group_name=resource_group,
            location=location,
            kind="StorageV2",
            sku={"name": "Standard_ZRS"},
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=shared_key_access,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            encryption={
                "key_source": "Microsoft.Storage",
                "require_infrastructure_encryption": True,
                "services": {"blob": {"enabled": True, "key_type": "Account"}},
            },
            tags=tags,
            opts=child,
        )
        self.name = self.account.name
        self.account_id = self.account.id
        props = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.name,
            resource_group_name=resource_group,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy={"enabled": True, "days": 7},
            container_delete_retention_policy={"enabled": True, "days": 7},
            opts=child,
        )
        self.containers = {
            c: storage.BlobContainer(
                f"{name}-{c}",
                account_name=self.name,
                resource_group_name=resource_group,
                container_name=c,
                public_access=storage.PublicAccess.NONE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[props]),
            )
            for c in containers
        }
        if expiries:
            storage.ManagementPolicy(
                f"{name}-lifecycle",
                account_name=self.name,
                resource_group_name=resource_group,
                management_policy_name="default",
                policy={
                    "rules": [
                        {
                            "name": f"expire-{i}",
                            "enabled": True,
                            "type": "Lifecycle",
                            "definition": {
                                "filters": {
                                    "blob_types": ["blockBlob"],
                                    "prefix_match": [e.prefix],
                                },
                                "actions": {
                                    "base_blob": {
                                        "delete": {"days_after_modification_greater_than": e.days}
                                    },
                                    "version": {"delete": {"days_after_creation_greater_than": 30}},
                                },
                            },
                        }
                        for i, e in enumerate(expiries)
                    ]
                },
                opts=child,
            )
        self.register_outputs({"name": self.name})
