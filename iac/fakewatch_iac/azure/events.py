"""Event Grid: BlobCreated on the input container -> the scan_blob function, with retries and
dead-lettering (and, with gpu.mode async, BlobCreated under the answers container's
``escalations/`` -> the same function); and the custom topic verdicts are published to."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import eventgrid

from fakewatch_iac.azure.existing import ExistingTopic
from fakewatch_iac.config import ScannerConfig

MAX_DELIVERY_ATTEMPTS = 30
EVENT_TTL_MINUTES = 1440


class BlobCreatedSubscription(pulumi.ComponentResource):
    """The account's system topic (new, or the one it already has) and the scanner's
    subscription to it. Azure allows a single system topic per storage account."""

    def __init__(
        self,
        name: str,
        *,
        resource_group: pulumi.Input[str],
        location: pulumi.Input[str],
        account_id: pulumi.Input[str],
        input_container: str,
        dead_letter_container: str,
        function_id: pulumi.Input[str],
        existing_topic: ExistingTopic | None,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:azure:BlobCreatedSubscription", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic: eventgrid.SystemTopic | None = None
        if existing_topic is not None:
            self.topic_name: pulumi.Input[str] = existing_topic.name
            self.topic_group: pulumi.Input[str] = existing_topic.resource_group
            self.topic_id: pulumi.Input[str] = existing_topic.id
            self.principal_id: pulumi.Input[str] = existing_topic.principal_id
        else:
            # The topic lives where its source account does.
            self.topic = eventgrid.SystemTopic(
                f"{name}-topic",
                resource_group_name=resource_group,
                location=location,
                source=account_id,
                topic_type="Microsoft.Storage.StorageAccounts",
                identity={"type": "SystemAssigned"},
                tags=tags,
                opts=child,
            )
            self.topic_name = self.topic.name
            self.topic_group = resource_group
            self.topic_id = self.topic.id
            self.principal_id = self.topic.identity.apply(
                lambda i: str(i.principal_id) if i and i.principal_id else ""
            )
        self._args = (name, account_id, input_container, dead_letter_container, function_id)
        self.register_outputs({"topic": self.topic_name})

    def subscribe(
        self,
        depends_on: list[pulumi.Resource],
        *,
        part: str = "subscription",
        container: str | None = None,
        prefix: str = "",
        suffix: str | None = None,
    ) -> eventgrid.SystemTopicEventSubscription:
        """Create a subscription once the topic may write dead letters (role assigned): blobs
        created in ``container`` (the input container by default) under ``prefix``, ending in
        ``suffix`` when given."""
        name, account_id, input_container, dead_letter, function_id = self._args
        container = container or input_container
        subject = f"/blobServices/default/containers/{container}/blobs/{prefix}"
        filters = eventgrid.EventSubscriptionFilterArgs(
            included_event_types=["Microsoft.Storage.BlobCreated"],
            subject_begins_with=subject,
            subject_ends_with=suffix,
        )
        return eventgrid.SystemTopicEventSubscription(
            f"{name}-{part}",
            resource_group_name=self.topic_group,
            system_topic_name=self.topic_name,
            destination={
                "endpoint_type": "AzureFunction",
                "resource_id": function_id,
                "max_events_per_batch": 1,
                "preferred_batch_size_in_kilobytes": 64,
            },
            filter=filters,
            event_delivery_schema="EventGridSchema",
            retry_policy={
                "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                "event_time_to_live_in_minutes": EVENT_TTL_MINUTES,
            },
            dead_letter_with_resource_identity={
                "identity": {"type": "SystemAssigned"},
                "dead_letter_destination": {
                    "endpoint_type": "StorageBlob",
                    "resource_id": account_id,
                    "blob_container_name": dead_letter,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )


def results_topic(
    name: str,
    cfg: ScannerConfig,
    *,
    resource_group: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> eventgrid.Topic:
    """Custom topic for verdict events; Entra auth only (no access keys)."""
    return eventgrid.Topic(
        name,
        resource_group_name=resource_group,
        location=cfg.region,
        input_schema="CloudEventSchemaV1_0",
        disable_local_auth=True,
        public_network_access="Enabled",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
