"""Attach the scanner to a storage account (and Event Grid system topic) you already have.

The account is looked up, never declared: the stack cannot change its settings, so it checks
them and stops with a message when the account falls short of what the scanner promises
(HTTPS only, TLS 1.2 or later, no anonymous blob access; no shared keys when read gating is on,
because keys and SAS bypass the RBAC condition that gates reads; no hierarchical namespace,
which has no blob index tags). It creates only the scanner's own containers in the account,
and leaves them behind on ``pulumi destroy`` (they hold verdicts and quarantined evidence).

Azure allows one Event Grid system topic per storage account. When the account already has
one, ``azure.existingSystemTopic`` names it and the stack adds its subscription there; the
topic needs a system-assigned identity, which dead-letters undeliverable events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import eventgrid, storage

from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.errors import ConfigError

SECURE_TLS = ("TLS1_2", "TLS1_3")
BLOB_KINDS = ("StorageV2", "BlockBlobStorage", "BlobStorage")
STORAGE_TOPIC_TYPE = "microsoft.storage.storageaccounts"


def posture_problems(account: Any, cfg: ScannerConfig) -> list[str]:
    """What keeps ``account`` (a ``getStorageAccount`` result) from hosting the scanner."""
    ref = cfg.azure.existing_account
    where = f"fakewatch:azure.existingStorageAccount {ref.name if ref else '?'}"
    problems = []
    if account.enable_https_traffic_only is not True:
        problems.append(f"{where} accepts plain HTTP: turn on 'Secure transfer required'")
    if account.minimum_tls_version not in SECURE_TLS:
        found = account.minimum_tls_version or "unset (TLS 1.0)"
        problems.append(f"{where} allows TLS below 1.2 (minimum is {found}): set TLS1_2")
    if account.allow_blob_public_access is not False:
        problems.append(
            f"{where} allows anonymous blob access: disable 'Allow Blob anonymous access'"
        )
    if account.is_hns_enabled:
        problems.append(
            f"{where} has a hierarchical namespace (Data Lake): blob index tags, which carry "
            "the scanner's decision, are not available there"
        )
    if account.kind not in BLOB_KINDS:
        problems.append(f"{where} is a {account.kind} account: Event Grid needs StorageV2")
    if cfg.read_gating.enabled and account.allow_shared_key_access is not False:
        problems.append(
            f"{where} allows shared keys: with read gating on, a key or SAS would read uploads "
            "the scanner has not allowed; disable 'Allow storage account key access'"
        )
    return problems


def lookup_account(cfg: ScannerConfig) -> Any:
    """The account's current settings, checked; stops the program before it declares anything."""
    ref = cfg.azure.existing_account
    assert ref is not None
    account = storage.get_storage_account(
        account_name=ref.name, resource_group_name=ref.resource_group
    )
    problems = posture_problems(account, cfg)
    if problems:
        raise ConfigError(problems)
    return account


@dataclass(frozen=True)
class ExistingTopic:
    name: str
    resource_group: str
    id: str
    principal_id: str


def lookup_topic(cfg: ScannerConfig, account_id: str) -> ExistingTopic | None:
    """The account's own system topic, when the config names one; checked like the account."""
    ref = cfg.azure.existing_system_topic
    if ref is None:
        return None
    topic = eventgrid.get_system_topic(
        resource_group_name=ref.resource_group, system_topic_name=ref.name
    )
    where = f"fakewatch:azure.existingSystemTopic {ref.name}"
    problems = []
    if str(topic.source or "").lower() != account_id.lower():
        problems.append(f"{where} is the topic of {topic.source}, not of {account_id}")
    if str(topic.topic_type or "").lower() != STORAGE_TOPIC_TYPE:
        problems.append(f"{where} is a {topic.topic_type} topic, not a storage account's")
    identity = topic.identity
    principal = getattr(identity, "principal_id", None) if identity else None
    if not principal or "SystemAssigned" not in str(getattr(identity, "type", "")):
        problems.append(
            f"{where} has no system-assigned identity, which dead-letters undeliverable "
            f"events: Update-AzEventGridSystemTopic -Name {ref.name} "
            f"-ResourceGroupName {ref.resource_group} -EnableSystemAssignedIdentity $true"
        )
    if problems:
        raise ConfigError(problems)
    return ExistingTopic(ref.name, ref.resource_group, str(topic.id), str(principal))


class ExistingStorageAccount(pulumi.ComponentResource):
    """The data account you brought (``account``: its checked :func:`lookup_account` result):
    the scanner's containers in it, nothing else changed."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        account: Any,
        *,
        create: list[str],
        reference: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``create`` the scanner's containers; ``reference`` ones that must exist already (an
        input container you scan, the container holding your models)."""
        ref = cfg.azure.existing_account
        assert ref is not None
        super().__init__("fakewatch:azure:ExistingStorageAccount", name, None, opts)
        self.resource_group = ref.resource_group
        self.name: pulumi.Input[str] = ref.name
        self.account_id: pulumi.Input[str] = str(account.id)
        self.location: pulumi.Input[str] = str(account.location)
        self.blob_endpoint: pulumi.Input[str] = str(account.primary_endpoints.blob)
        queue = getattr(account.primary_endpoints, "queue", None)
        self.queue_endpoint: pulumi.Input[str] = str(
            queue or f"https://{ref.name}.queue.core.windows.net/"
        )
        self.container_ids: dict[str, pulumi.Input[str]] = {
            c: f"{account.id}/blobServices/default/containers/{c}" for c in reference
        }
        for c in create:
            # Created here, kept on destroy: they hold verdicts and quarantined evidence. An
            # existing container of that name makes the create fail instead of adopting it.
            created = storage.BlobContainer(
                f"{name}-{c}",
                account_name=ref.name,
                resource_group_name=ref.resource_group,
                container_name=c,
                public_access=storage.PublicAccess.NONE,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.container_ids[c] = created.id
        self.register_outputs({"name": self.name})
