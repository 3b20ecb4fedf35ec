"""ScannerFunction: the Cloud Run function from the GCP bundle with its Eventarc trigger."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import physical

RUNTIME = "python311"
ENTRY_POINT = "scan_object"
EVENT_TYPE = "google.cloud.storage.object.v1.finalized"
RETRY = "RETRY_POLICY_RETRY"


def cpu_for(memory_mb: int) -> str | None:
    """Cloud Run's CPU minimums for a memory size; None keeps the platform default (< 512 MiB)."""
    if memory_mb < 512:
        return None
    for limit, cpu in ((4096, "1"), (8192, "2"), (16384, "4")):
        if memory_mb <= limit:
            return cpu
    return "8"


class ScannerFunction(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        project: str,
        artifact: Artifact,
        source_bucket: pulumi.Input[str],
        input_bucket: pulumi.Input[str],
        runtime_account: pulumi.Input[str],
        trigger_account: gcp.serviceaccount.Account,
        environment: dict[str, pulumi.Input[str]],
        labels: dict[str, str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:ScannerFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        source: pulumi.Asset | pulumi.Archive = (
            pulumi.FileArchive(str(artifact.path))
            if artifact.is_dir
            else pulumi.FileAsset(str(artifact.path))
        )
        self.source = gcp.storage.BucketObject(
            f"{name}-source",
            bucket=source_bucket,
            name=f"fakewatch-gcp-source-{artifact.sha256_hex[:16]}.zip",
            source=source,
            opts=child,
        )
        fn = cfg.function
        service = gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
            max_instance_count=fn.max_concurrency,
            min_instance_count=0,
            max_instance_request_concurrency=1,
            available_memory=f"{fn.memory_mb}Mi",
            available_cpu=cpu_for(fn.memory_mb),
            timeout_seconds=fn.timeout_s,
            environment_variables=environment,
            ingress_settings="ALLOW_INTERNAL_ONLY",
            all_traffic_on_latest_revision=True,
            service_account_email=runtime_account,
        )
        self.function = gcp.cloudfunctionsv2.Function(
            name,
            project=project,
            location=cfg.region,
            name=physical(cfg, "scanner"),
            description="fakewatch: scans every object finalized in the input bucket",
            build_config={
                "runtime": RUNTIME,
                "entry_point": ENTRY_POINT,
                "source": {"storage_source": {"bucket": source_bucket, "object": self.source.name}},
            },
            service_config=service,
            event_trigger={
                "trigger_region": cfg.region,
                "event_type": EVENT_TYPE,
                "event_filters": [{"attribute": "bucket", "value": input_bucket}],
                "retry_policy": RETRY,
                "service_account_email": trigger_account.email,
            },
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        # Gen 2 functions run as a Cloud Run service of the same name: only the trigger's
        # account may invoke it.
        gcp.cloudrunv2.ServiceIamMember(
            f"{name}-invoker",
            project=project,
            location=cfg.region,
            name=self.function.name,
            role="roles/run.invoker",
            member=trigger_account.member,
            opts=child,
        )
        self.name = self.function.name
        self.register_outputs({"name": self.name})


def answers_trigger(
    name: str,
    cfg: ScannerConfig,
    *,
    project: str,
    function: gcp.cloudfunctionsv2.Function,
    answers_bucket: pulumi.Input[str],
    trigger_account: gcp.serviceaccount.Account,
    labels: dict[str, str],
    parent: pulumi.Resource,
) -> gcp.eventarc.Trigger:
    """A second ``finalized`` trigger, on the answers bucket, to the same function.

    A Cloud Run function has one built-in trigger (the uploads); this one is an Eventarc trigger
    addressed to the function's Cloud Run service (a gen 2 function runs as the service of the
    same name), invoked as the same trigger account. The answers bucket holds nothing but
    answers, so no upload event arrives here twice. Eventarc retries a failed delivery with
    backoff for 24 hours (Cloud Run destinations are always retried).
    """
    return gcp.eventarc.Trigger(
        name,
        project=project,
        location=cfg.region,
        name=physical(cfg, "answers"),
        matching_criterias=[
            gcp.eventarc.TriggerMatchingCriteriaArgs(attribute="type", value=EVENT_TYPE),
            gcp.eventarc.TriggerMatchingCriteriaArgs(attribute="bucket", value=answers_bucket),
        ],
        destination=gcp.eventarc.TriggerDestinationArgs(
            cloud_run_service=gcp.eventarc.TriggerDestinationCloudRunServiceArgs(
                service=function.name, region=cfg.region
            )
        ),
        service_account=trigger_account.email,
        labels=labels,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[function]),
    )
