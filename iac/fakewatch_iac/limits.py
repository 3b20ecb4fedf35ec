"""What each cloud allows for the function and its logs, so config errors say so up front."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CloudLimits:
    cloud: str
    memory_mb: tuple[int, int]
    memory_choices: tuple[int, ...]
    default_memory_mb: int
    max_timeout_s: int
    default_timeout_s: int
    concurrency: tuple[int, int]
    default_concurrency: int
    log_retention_choices: tuple[int, ...]
    region_re: re.Pattern[str]
    region_example: str
    provider_region_key: str
    gpu_instance_re: re.Pattern[str]
    gpu_example: str
    default_artifact: str  # relative to the Pulumi project folder; {arch} is substituted


# SageMaker pulls serving images from ECR only: <account>.dkr.ecr.<region>.amazonaws.com/<repo>.
ECR_IMAGE_RE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")
# Vertex AI and Cloud Run pull the serving image from Artifact Registry
# (<location>-docker.pkg.dev/<project>/<repository>/<image>) or gcr.io, which Artifact Registry
# now serves; both with the project's own service agents, so nothing is granted here.
GCP_IMAGE_RE = re.compile(
    r"^(?:[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9.:-]+/[a-z0-9._-]+|(?:[a-z]+\.)?gcr\.io/[a-z0-9.:-]+)"
    r"/[a-z0-9][^\s]*$"
)
# The Container Apps worker pulls from Azure Container Registry with its managed identity.
ACR_IMAGE_RE = re.compile(r"^([a-z0-9]{5,50})\.azurecr\.io/[a-z0-9][^\s]*$")

# gpu.mode async on GCP: a Cloud Run service with a GPU. Accelerator -> the minimum CPU and memory
# Cloud Run requires with it (https://cloud.google.com/run/docs/configuring/services/gpu).
CLOUD_RUN_GPUS: dict[str, tuple[str, str]] = {"nvidia-l4": ("4", "16Gi")}
DEFAULT_CLOUD_RUN_GPU = "nvidia-l4"
# gpu.mode async on Azure: a Container App on a serverless GPU (Consumption) workload profile.
# Profile type -> the vCPU and memory of one replica, which gets the whole GPU.
ACA_GPU_PROFILES: dict[str, tuple[float, str]] = {
    "Consumption-GPU-NC8as-T4": (8.0, "56Gi"),
    "Consumption-GPU-NC24-A100": (24.0, "220Gi"),
}

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
_CLOUDWATCH_RETENTION = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

LIMITS: dict[str, CloudLimits] = {
    # Lambda: 128-10240 MB, 900 s; SQS event source maximum concurrency 2-1000.
    "aws": CloudLimits(
        cloud="aws",
        memory_mb=(128, 10240),
        memory_choices=(),
        default_memory_mb=2048,
        max_timeout_s=900,
        default_timeout_s=120,
        concurrency=(2, 1000),
        default_concurrency=10,
        log_retention_choices=_CLOUDWATCH_RETENTION,
        region_re=re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$"),
        region_example="eu-west-1",
        provider_region_key="aws:region",
        gpu_instance_re=re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$"),
        gpu_example="ml.g5.xlarge",
        default_artifact="../../dist/aws/fakewatch-aws-lambda-{arch}.zip",
    ),
    # Cloud Run functions: event-driven timeout up to 540 s; memory 128 MiB-32 GiB.
    "gcp": CloudLimits(
        cloud="gcp",
        memory_mb=(128, 32768),
        memory_choices=(),
        default_memory_mb=2048,
        max_timeout_s=540,
        default_timeout_s=120,
        concurrency=(1, 1000),
        default_concurrency=10,
        log_retention_choices=(),
        region_re=re.compile(r"^[a-z]+-[a-z]+\d$"),
        region_example="europe-west1",
        provider_region_key="gcp:region",
        gpu_instance_re=re.compile(r"^[a-z0-9]+-[a-z0-9]+(-[a-z0-9]+)*$"),
        gpu_example="g2-standard-4",
        default_artifact="../../dist/gcp.zip",
    ),
    # Flex Consumption: instance memory 512, 2048 or 4096 MB; maximum instances 1-1000.
    "azure": CloudLimits(
        cloud="azure",
        memory_mb=(512, 4096),
        memory_choices=(512, 2048, 4096),
        default_memory_mb=2048,
        max_timeout_s=3600,
        default_timeout_s=120,
        concurrency=(1, 1000),
        default_concurrency=40,
        log_retention_choices=(30, 31, 60, 90, 120, 180, 270, 365, 550, 730),
        region_re=re.compile(r"^[a-z]+[a-z0-9]*$"),
        region_example="westeurope",
        provider_region_key="azure-native:location",
        gpu_instance_re=re.compile(r"^Standard_[A-Za-z0-9_]+$"),
        gpu_example="Standard_NC4as_T4_v3",
        default_artifact="../../dist/azure.zip",
    ),
}
