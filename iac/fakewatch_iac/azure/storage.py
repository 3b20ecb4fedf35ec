"""SecureStorageAccount: HTTPS only, TLS 1.2+, no public blob access, encrypted, private
containers, soft delete and versioning, lifecycle for what expires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        self.location: pulumi.Input[str] = location
        self.blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        self.queue_endpoint = self.account.primary_endpoints.apply(lambda e: e.queue)
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
        self.container_ids: dict[str, pulumi.Input[str]] = {
            c: r.id for c, r in self.containers.items()
        }
        if expiries:
            lifecycle_policy(f"{name}-lifecycle", self.name, resource_group, expiries, self)
        self.register_outputs({"name": self.name})


def lifecycle_rules(expiries: list[Expiry]) -> list[dict[str, Any]]:
    """Management-policy rules deleting what expires (current blobs and their old versions)."""
    return [
        {
            "name": f"fakewatch-expire-{i}",
            "enabled": True,
            "type": "Lifecycle",
            "definition": {
                "filters": {"blob_types": ["blockBlob"], "prefix_match": [e.prefix]},
                "actions": {
                    "base_blob": {"delete": {"days_after_modification_greater_than": e.days}},
                    "version": {"delete": {"days_after_creation_greater_than": 30}},
                },
            },
        }
        for i, e in enumerate(expiries)
    ]


def arm_json(node: Any) -> Any:
    """The same rules as ARM (and ``az storage account management-policy``) spell them."""
    if isinstance(node, dict):
        return {_camel(k): arm_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [arm_json(v) for v in node]
    return node


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w.title() for w in rest)


def lifecycle_policy(
    name: str,
    account_name: pulumi.Input[str],
    resource_group: pulumi.Input[str],
    expiries: list[Expiry],
    parent: pulumi.Resource,
) -> storage.ManagementPolicy:
    """The account's one management policy. Only for accounts the stack owns: it replaces
    whatever policy an account already has."""
    policy: Any = {"rules": lifecycle_rules(expiries)}  # a TypedDict tree; checked by the tests
    return storage.ManagementPolicy(
        name,
        account_name=account_name,
        resource_group_name=resource_group,
        management_policy_name="default",
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent),
    )
