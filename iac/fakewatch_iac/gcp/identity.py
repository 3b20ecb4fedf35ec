"""Service accounts and the narrowest grants that let them work.

- the scanner (runtime) account: a custom role on the input bucket with exactly
  get/update(metadata)/delete, object viewer+creator on results and quarantine, publisher on the
  results topic, and Vertex AI user on the escalation endpoint only;
- the trigger account: invoker on the function's Cloud Run service only, plus
  ``roles/eventarc.eventReceiver`` on the project (Eventarc accepts no narrower scope);
- the Cloud Storage service agent: ``roles/pubsub.publisher`` on the project, which Eventarc
  requires for Cloud Storage triggers (the topic it creates is not known in advance).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.manifest import ManifestRef
from fakewatch_iac.naming import physical, slug

INPUT_PERMISSIONS = ("storage.objects.get", "storage.objects.update", "storage.objects.delete")
# Project-level grants Eventarc leaves no narrower choice for (checked by the policy rules).
UNAVOIDABLE_PROJECT_ROLES = {
    "roles/eventarc.eventReceiver": "Eventarc receives events only with a project-level grant",
    "roles/pubsub.publisher": "the Cloud Storage agent publishes to Eventarc's own topic",
}


def manifest_condition(ref: ManifestRef) -> str:
    """CEL: objects under the manifest's folder (Cloud Storage object resource names)."""
    return f'resource.name.startsWith("projects/_/buckets/{ref.bucket}/objects/{ref.prefix}")'


def account_id(cfg: ScannerConfig, part: str) -> str:
    """Service account ids: 6-30 characters, a letter first."""
    return physical(cfg, part, 30)


def input_role_id(cfg: ScannerConfig) -> str:
    return slug(f"fakewatch-{cfg.stack}-{cfg.name_prefix}-scanner-input").replace("-", "_")[:64]


class ScannerIdentities(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        project: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:Identities", name, None, opts)
        self.label = name
        child = pulumi.ResourceOptions(parent=self)
        self.scanner = gcp.serviceaccount.Account(
            f"{name}-scanner",
            project=project,
            account_id=account_id(cfg, "scan"),
            display_name="fakewatch scanner (runtime)",
            opts=child,
        )
        self.trigger = gcp.serviceaccount.Account(
            f"{name}-trigger",
            project=project,
            account_id=account_id(cfg, "trig"),
            display_name="fakewatch scanner (Eventarc trigger)",
            opts=child,
        )
        self.input_role = gcp.projects.IAMCustomRole(
            f"{name}-input-role",
            project=project,
            role_id=input_role_id(cfg),
            title="fakewatch scanner: read, tag and move uploads",
            permissions=list(INPUT_PERMISSIONS),
            stage="GA",
            opts=child,
        )
        gcp.projects.IAMMember(
            f"{name}-trigger-receiver",
            project=project,
            role="roles/eventarc.eventReceiver",
            member=self.trigger.member,
            opts=child,
        )
        agent = gcp.storage.get_project_service_account_output(
            project=project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        gcp.projects.IAMMember(
            f"{name}-gcs-agent-publisher",
            project=project,
            role="roles/pubsub.publisher",
            member=agent.email_address.apply(lambda e: f"serviceAccount:{e}"),
            opts=child,
        )
        self.register_outputs({"scanner": self.scanner.email, "trigger": self.trigger.email})

    def grant_manifest(self, ref: ManifestRef) -> gcp.storage.BucketIAMMember:
        """Read the model manifest's folder of a bucket the stack does not own.

        Cloud Storage grants live on the bucket (there is no prefix resource to grant on), so
        this is a bucket-level object viewer binding narrowed by an IAM condition to objects
        under the manifest's folder. IAM conditions need uniform bucket-level access on that
        bucket; Cloud Storage refuses the binding otherwise.
        """
        return gcp.storage.BucketIAMMember(
            f"{self.label}-model-read",
            bucket=ref.bucket,
            role="roles/storage.objectViewer",
            member=self.scanner.member,
            condition=gcp.storage.BucketIAMMemberConditionArgs(
                title="fakewatch-model-folder",
                description="the scanner reads its model manifest and model, nothing else",
                expression=manifest_condition(ref),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def grant_buckets(
        self,
        *,
        input_bucket: pulumi.Input[str],
        results_bucket: pulumi.Input[str],
        quarantine_bucket: pulumi.Input[str],
    ) -> list[gcp.storage.BucketIAMMember]:
        child = pulumi.ResourceOptions(parent=self)
        grants: list[tuple[str, pulumi.Input[str], pulumi.Input[str]]] = [
            ("input", input_bucket, self.input_role.name),
            ("results-read", results_bucket, "roles/storage.objectViewer"),
            ("results-write", results_bucket, "roles/storage.objectCreator"),
            ("quarantine-read", quarantine_bucket, "roles/storage.objectViewer"),
            ("quarantine-write", quarantine_bucket, "roles/storage.objectCreator"),
        ]
        return [
            gcp.storage.BucketIAMMember(
                f"{self.label}-{part}",
                bucket=bucket,
                role=role,
                member=self.scanner.member,
                opts=child,
            )
            for part, bucket, role in grants
        ]
