"""Stack configuration: read every ``fakewatch:*`` key once, validate all of it, fail clearly.

Values arrive as Pulumi config strings (structured values as JSON), so the same parser serves
``pulumi up`` (:class:`PulumiConfigSource`) and tests (a plain mapping). Every problem found is
reported at once in a :class:`~fakewatch_iac.errors.ConfigError`, naming the key, the value and
what is allowed, before a single resource is created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from fakewatch_iac.azure_config import AzureConfig, parse_azure
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.limits import (
    ACA_GPU_PROFILES,
    ACR_IMAGE_RE,
    CLOUD_RUN_GPUS,
    DEFAULT_CLOUD_RUN_GPU,
    ECR_IMAGE_RE,
    GCP_IMAGE_RE,
    LIMITS,
    CloudLimits,
)
from fakewatch_iac.manifest import MANIFEST_FILE, STORE_SCHEME, ManifestRef, parse_manifest_ref

Cloud = Literal["aws", "gcp", "azure"]
NAMESPACE = "fakewatch"

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

KNOWN_KEYS = frozenset(
    {
        "namePrefix",
        "region",
        "project",
        "function",
        "policy",
        "resultsRetentionDays",
        "logRetentionDays",
        "gpu",
        "alertEmail",
        "monthlyBudget",
        "budgetCurrency",
        "billingAccount",
        "artifactPath",
        "architecture",
        "existingInputBucket",
        "inputBucketKmsKeyArn",
        "kmsKeyArn",
        "readGating",
        "logLevel",
        "modelManifest",
        "azure",
    }
)
GPU_MODES = ("realtime", "async")
# Clouds whose async mode is a job queue and a scale-to-zero GPU worker built from parts
# (Pub/Sub push -> Cloud Run GPU; Storage queue -> Container Apps serverless GPU), rather than a
# managed asynchronous endpoint (SageMaker Asynchronous Inference on AWS).
QUEUED_CLOUDS = ("gcp", "azure")


@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    timeout_s: int
    max_concurrency: int
    batch_size: int = 10


@dataclass(frozen=True)
class PolicyConfig:
    """Decision thresholds on the fused risk score; ``document`` overrides them verbatim."""

    review_threshold: Decimal
    quarantine_threshold: Decimal
    document: str | None = None

    def render(self, *, escalate: bool = False) -> str:
        """The FAKEWATCH_POLICY value (inline JSON in the core's policy schema)."""
        if self.document is not None:
            return self.document
        doc: dict[str, Any] = {
            "name": "stack",
            "version": "1",
            # Probabilities, not money: JSON numbers, written from the exact decimal text.
            "thresholds": {
                "review": float(self.review_threshold),
                "quarantine": float(self.quarantine_threshold),
            },
        }
        if escalate:
            doc["escalation"] = {"enabled": True}
        return json.dumps(doc, sort_keys=True)


@dataclass(frozen=True)
class GpuConfig:
    enabled: bool = False
    instance_type: str = ""
    image_uri: str = ""
    min_instances: int = 1
    max_instances: int = 1
    target_invocations_per_instance: int = 100
    model_data_url: str | None = None
    accelerator_type: str | None = None  # GCP: NVIDIA_L4 (Vertex AI), nvidia-l4 (Cloud Run)
    # realtime: warm instances answer the function's calls. async: AWS queues requests in
    # SageMaker Asynchronous Inference; GCP and Azure queue jobs for a GPU worker that scales to
    # zero (Cloud Run with a GPU / Container Apps serverless GPU) and writes answers to a bucket.
    mode: str = "realtime"
    target_backlog_per_instance: int = 5  # async: queued requests per instance to aim for
    # async on GCP/Azure: <gpu.modelDataUrl>/manifest.json, the worker's model manifest.
    worker_manifest: ManifestRef | None = None

    @property
    def is_async(self) -> bool:
        return self.enabled and self.mode == "async"


@dataclass(frozen=True)
class ReadGating:
    """Fail-closed read gating: objects are readable only once the scanner tagged them allow."""

    enabled: bool = False
    readers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScannerConfig:
    cloud: Cloud
    name_prefix: str
    stack: str
    region: str
    function: FunctionConfig
    policy: PolicyConfig
    results_retention_days: int
    log_retention_days: int
    artifact: Path
    gpu: GpuConfig = field(default_factory=GpuConfig)
    alert_email: str | None = None
    monthly_budget: Decimal | None = None
    budget_currency: str = "USD"
    log_level: str = "INFO"
    project: str | None = None  # GCP project id
    billing_account: str | None = None  # GCP billing account for the budget
    architecture: str = "x86_64"  # AWS Lambda architecture
    existing_input_bucket: str | None = None
    input_bucket_kms_key_arn: str | None = None  # AWS: KMS key of an existing input bucket
    kms_key_arn: str | None = None  # AWS: customer-managed key for the buckets the stack creates
    read_gating: ReadGating = field(default_factory=ReadGating)
    model_manifest: ManifestRef | None = None
    azure: AzureConfig = field(default_factory=AzureConfig)

    @property
    def base_name(self) -> str:
        """``<prefix>-<stack>``: the stem of every physical name the stack chooses."""
        return f"{self.name_prefix}-{self.stack}"


class _Problems:
    """Collects every validation problem so the user fixes them all in one go."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{NAMESPACE}:{key} {message}")


def _obj(raw: Mapping[str, str | None], key: str, problems: _Problems) -> dict[str, Any]:
    value = raw.get(key)
    if value is None or value == "":
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        problems.add(key, f"must be an object (YAML map or JSON), got {value!r}: {exc.msg}")
        return {}
    if not isinstance(parsed, dict):
        problems.add(key, f"must be an object (YAML map or JSON), got {type(parsed).__name__}")
        return {}
    return parsed


def _int(value: Any, key: str, default: int, lo: int, hi: int, problems: _Problems) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        problems.add(key, f"must be an integer, got {value!r}")
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        problems.add(key, f"must be an integer, got {value!r}")
        return default
    if not lo <= number <= hi:
        problems.add(key, f"must be between {lo} and {hi}, got {number}")
    return number


def _bool(value: Any, key: str, problems: _Problems) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    problems.add(key, f"must be true or false, got {value!r}")
    return False


def _decimal(value: Any, key: str, problems: _Problems) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # JSON numbers reach us as floats; go through their shortest repr, not binary value.
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(key, f"must be a decimal number, got {value!r}")
        return None
    if not number.is_finite():
        problems.add(key, f"must be a finite number, got {value!r}")
        return None
    return number


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _given(raw: Mapping[str, str | None], key: str) -> set[str]:
    """The sub-keys the user set in object ``key`` (empty when absent or malformed)."""
    try:
        value = json.loads(raw.get(key) or "{}")
    except json.JSONDecodeError:
        return set()
    return (
        {k for k, v in value.items() if v not in (None, "")} if isinstance(value, dict) else set()
    )


def _unknown_keys(raw: Mapping[str, str | None], problems: _Problems) -> None:
    for key in sorted(raw):
        if key not in KNOWN_KEYS:
            known = ", ".join(sorted(KNOWN_KEYS))
            problems.add(key, f"is not a fakewatch setting (typo?); known settings: {known}")


def _function(
    raw: Mapping[str, str | None], limits: CloudLimits, problems: _Problems
) -> FunctionConfig:
    spec = _obj(raw, "function", problems)
    for extra in sorted(set(spec) - {"memoryMb", "timeoutSeconds", "maxConcurrency", "batchSize"}):
        problems.add(f"function.{extra}", "is not a function setting")
    memory = _int(
        spec.get("memoryMb"),
        "function.memoryMb",
        limits.default_memory_mb,
        limits.memory_mb[0],
        limits.memory_mb[1],
        problems,
    )
    if limits.memory_choices and memory not in limits.memory_choices:
        choices = ", ".join(str(c) for c in limits.memory_choices)
        problems.add(
            "function.memoryMb", f"must be one of {choices} on {limits.cloud}, got {memory}"
        )
    timeout = _int(
        spec.get("timeoutSeconds"),
        "function.timeoutSeconds",
        limits.default_timeout_s,
        1,
        limits.max_timeout_s,
        problems,
    )
    concurrency = _int(
        spec.get("maxConcurrency"),
        "function.maxConcurrency",
        limits.default_concurrency,
        limits.concurrency[0],
        limits.concurrency[1],
        problems,
    )
    batch = _int(spec.get("batchSize"), "function.batchSize", 10, 1, 10, problems)
    return FunctionConfig(memory, timeout, concurrency, batch)


def _policy(raw: Mapping[str, str | None], problems: _Problems) -> PolicyConfig:
    spec = _obj(raw, "policy", problems)
    for extra in sorted(set(spec) - {"reviewThreshold", "quarantineThreshold", "document"}):
        problems.add(f"policy.{extra}", "is not a policy setting")
    review = _decimal(spec.get("reviewThreshold", "0.5"), "policy.reviewThreshold", problems)
    quarantine = _decimal(
        spec.get("quarantineThreshold", "0.85"), "policy.quarantineThreshold", problems
    )
    review = Decimal("0.5") if review is None else review
    quarantine = Decimal("0.85") if quarantine is None else quarantine
    if not Decimal(0) < review <= quarantine <= Decimal(1):
        problems.add(
            "policy",
            "thresholds must satisfy 0 < reviewThreshold <= quarantineThreshold <= 1, "
            f"got review={review} quarantine={quarantine}",
        )
    document = spec.get("document")
    if document is not None and not isinstance(document, str):
        document = json.dumps(document, sort_keys=True)
    return PolicyConfig(review, quarantine, document)


def _gpu(raw: Mapping[str, str | None], limits: CloudLimits, problems: _Problems) -> GpuConfig:
    spec = _obj(raw, "gpu", problems)
    allowed = {
        "enabled",
        "instanceType",
        "imageUri",
        "minInstances",
        "maxInstances",
        "targetInvocationsPerInstance",
        "modelDataUrl",
        "acceleratorType",
        "mode",
        "targetBacklogPerInstance",
    }
    for extra in sorted(set(spec) - allowed):
        problems.add(f"gpu.{extra}", "is not a gpu setting")
    enabled = _bool(spec.get("enabled"), "gpu.enabled", problems)
    if not enabled:
        return GpuConfig()
    mode = _str(spec.get("mode")) or "realtime"
    if mode not in GPU_MODES:
        problems.add("gpu.mode", f"must be realtime or async, got {mode!r}")
    is_async = mode == "async"
    queued = is_async and limits.cloud in QUEUED_CLOUDS
    instance_type = _gpu_instance(_str(spec.get("instanceType")) or "", limits, queued, problems)
    image_uri = _str(spec.get("imageUri")) or ""
    if not image_uri:
        problems.add("gpu.imageUri", "is required when gpu.enabled: the serving container image")
    # Async endpoints scale to zero unless told otherwise; real-time ones keep one warm.
    lo = _int(spec.get("minInstances"), "gpu.minInstances", 0 if is_async else 1, 0, 100, problems)
    if lo == 0 and not is_async:
        problems.add(
            "gpu.minInstances",
            "0 (scale to zero) needs gpu.mode: async; a real-time endpoint keeps at least "
            "one instance",
        )
    if queued and lo != 0:
        problems.add(
            "gpu.minInstances",
            f"must be 0 with gpu.mode: async on {limits.cloud}: the worker scales to zero when "
            f"its queue is empty (for a warm GPU use gpu.mode: realtime), got {lo}",
        )
    hi = _int(spec.get("maxInstances"), "gpu.maxInstances", max(lo, 1), 1, 100, problems)
    if hi < lo:
        problems.add("gpu", f"maxInstances ({hi}) must be >= minInstances ({lo})")
    _mode_only(spec, "targetInvocationsPerInstance", "realtime", mode, problems)
    _mode_only(spec, "targetBacklogPerInstance", "async", mode, problems)
    target = _int(
        spec.get("targetInvocationsPerInstance"),
        "gpu.targetInvocationsPerInstance",
        100,
        1,
        100_000,
        problems,
    )
    backlog = _int(
        spec.get("targetBacklogPerInstance"), "gpu.targetBacklogPerInstance", 5, 1, 10_000, problems
    )
    accelerator = _str(spec.get("acceleratorType"))
    if queued and limits.cloud == "gcp":
        accelerator = _cloud_run_gpu(accelerator, problems)
    return GpuConfig(
        enabled=True,
        instance_type=instance_type,
        image_uri=image_uri,
        min_instances=lo,
        max_instances=hi,
        target_invocations_per_instance=target,
        model_data_url=_str(spec.get("modelDataUrl")),
        accelerator_type=accelerator,
        mode=mode,
        target_backlog_per_instance=backlog,
    )


def _gpu_instance(value: str, limits: CloudLimits, queued: bool, problems: _Problems) -> str:
    """``gpu.instanceType`` as each cloud and mode means it."""
    cloud = limits.cloud
    if queued and cloud == "gcp":
        if value:
            problems.add(
                "gpu.instanceType",
                "does not apply with gpu.mode: async on gcp: the Cloud Run worker is sized by "
                "gpu.acceleratorType (nvidia-l4: 4 CPU, 16 GiB)",
            )
        return ""
    if queued and cloud == "azure":
        profiles = " or ".join(ACA_GPU_PROFILES)
        if not value:
            problems.add(
                "gpu.instanceType",
                f"is required with gpu.mode: async on azure: a serverless GPU profile ({profiles})",
            )
        elif value not in ACA_GPU_PROFILES:
            problems.add(
                "gpu.instanceType",
                f"{value!r} is not a Container Apps serverless GPU profile: use {profiles}",
            )
        return value
    if not value:
        problems.add(
            "gpu.instanceType", f"is required when gpu.enabled (e.g. {limits.gpu_example})"
        )
    elif not limits.gpu_instance_re.match(value):
        problems.add(
            "gpu.instanceType",
            f"{value!r} is not a {cloud} instance type (e.g. {limits.gpu_example})",
        )
    return value


def _cloud_run_gpu(value: str | None, problems: _Problems) -> str:
    accelerator = value or DEFAULT_CLOUD_RUN_GPU
    if accelerator not in CLOUD_RUN_GPUS:
        choices = ", ".join(CLOUD_RUN_GPUS)
        problems.add(
            "gpu.acceleratorType",
            f"{accelerator!r} is not a Cloud Run GPU: with gpu.mode: async on gcp use {choices}",
        )
    return accelerator


def _mode_only(
    spec: Mapping[str, Any], key: str, wanted: str, mode: str, problems: _Problems
) -> None:
    if spec.get(key) not in (None, "") and mode != wanted:
        problems.add(f"gpu.{key}", f"only applies with gpu.mode: {wanted}, not {mode}")


def _read_gating(raw: Mapping[str, str | None], problems: _Problems) -> ReadGating:
    spec = _obj(raw, "readGating", problems)
    for extra in sorted(set(spec) - {"enabled", "readers"}):
        problems.add(f"readGating.{extra}", "is not a readGating setting")
    enabled = _bool(spec.get("enabled"), "readGating.enabled", problems)
    readers = spec.get("readers", [])
    if not isinstance(readers, list) or not all(isinstance(r, str) and r for r in readers):
        problems.add("readGating.readers", f"must be a list of principal ids, got {readers!r}")
        readers = []
    return ReadGating(enabled, tuple(readers))


def _region(
    raw: Mapping[str, str | None], fallback: str | None, limits: CloudLimits, problems: _Problems
) -> str:
    region = _str(raw.get("region")) or _str(fallback)
    if region is None:
        problems.add(
            "region",
            f"is required (or set {limits.provider_region_key}), e.g. {limits.region_example}",
        )
        return ""
    if not limits.region_re.match(region):
        problems.add(
            "region", f"{region!r} is not a {limits.cloud} region (e.g. {limits.region_example})"
        )
    return region


def _artifact(
    raw: Mapping[str, str | None], limits: CloudLimits, architecture: str, base_dir: Path
) -> Path:
    configured = _str(raw.get("artifactPath"))
    default = limits.default_artifact.format(arch=architecture)
    path = Path(configured or default)
    return path if path.is_absolute() else (base_dir / path).resolve()


def parse(
    cloud: Cloud,
    raw: Mapping[str, str | None],
    *,
    stack: str,
    base_dir: Path,
    provider_region: str | None = None,
    provider_project: str | None = None,
) -> ScannerConfig:
    """Validate raw ``fakewatch:*`` values (key without namespace -> string) for ``cloud``."""
    limits = LIMITS[cloud]
    problems = _Problems()
    _unknown_keys(raw, problems)

    prefix = _str(raw.get("namePrefix")) or "fakewatch"
    if not _PREFIX_RE.match(prefix):
        problems.add(
            "namePrefix",
            f"{prefix!r} must be 3-16 characters: lowercase letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen",
        )
    region = _region(raw, provider_region, limits, problems)
    function = _function(raw, limits, problems)
    policy = _policy(raw, problems)
    results_days = _int(
        raw.get("resultsRetentionDays"), "resultsRetentionDays", 365, 1, 3650, problems
    )
    log_days = _int(raw.get("logRetentionDays"), "logRetentionDays", 30, 1, 3653, problems)
    if limits.log_retention_choices and log_days not in limits.log_retention_choices:
        choices = ", ".join(str(c) for c in limits.log_retention_choices)
        problems.add("logRetentionDays", f"must be one of {choices} on {cloud}, got {log_days}")
    gpu = _gpu(raw, limits, problems)

    alert_email = _str(raw.get("alertEmail"))
    if alert_email is not None and not _EMAIL_RE.match(alert_email):
        problems.add("alertEmail", f"{alert_email!r} is not an email address")
    budget = _decimal(raw.get("monthlyBudget"), "monthlyBudget", problems)
    if budget is not None and budget <= 0:
        problems.add("monthlyBudget", f"must be a positive amount, got {budget}")
    currency = _str(raw.get("budgetCurrency")) or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.add("budgetCurrency", f"must be an ISO 4217 code like USD, got {currency!r}")

    log_level = (_str(raw.get("logLevel")) or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        problems.add("logLevel", f"must be one of {', '.join(_LOG_LEVELS)}, got {log_level!r}")

    architecture = _str(raw.get("architecture")) or "x86_64"
    project = _str(raw.get("project")) or _str(provider_project)
    billing = _str(raw.get("billingAccount"))
    existing = _str(raw.get("existingInputBucket"))
    input_kms = _str(raw.get("inputBucketKmsKeyArn"))
    kms = _str(raw.get("kmsKeyArn"))
    gating = _read_gating(raw, problems)
    manifest = parse_manifest_ref(_str(raw.get("modelManifest")), cloud, problems.add)
    azure = parse_azure(
        _obj(raw, "azure", problems), existing if cloud == "azure" else None, cloud, problems.add
    )
    _cloud_rules(
        cloud,
        problems,
        architecture=architecture,
        project=project,
        budget=budget,
        billing=billing,
        existing=existing,
        input_kms=input_kms,
        kms=kms,
        gating=gating,
        alert_email=alert_email,
        gpu=gpu,
        manifest=manifest,
        azure=azure,
    )
    _cloud_only_settings(cloud, problems, _given(raw, "function"), _given(raw, "gpu"), gpu)
    gpu = replace(gpu, worker_manifest=_worker_manifest(cloud, gpu, problems))
    if cloud == "azure":
        _azure_async_rules(problems, gpu, azure)

    if problems.items:
        raise ConfigError(problems.items)
    return ScannerConfig(
        cloud=cloud,
        name_prefix=prefix,
        stack=stack,
        region=region,
        function=function,
        policy=policy,
        results_retention_days=results_days,
        log_retention_days=log_days,
        artifact=_artifact(raw, limits, architecture, base_dir),
        gpu=gpu,
        alert_email=alert_email,
        monthly_budget=budget,
        budget_currency=currency,
        log_level=log_level,
        project=project,
        billing_account=billing,
        architecture=architecture,
        existing_input_bucket=existing,
        input_bucket_kms_key_arn=input_kms,
        kms_key_arn=kms,
        read_gating=gating,
        model_manifest=manifest,
        azure=azure,
    )


_KMS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
_S3_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GCS_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


def _cloud_rules(cloud: Cloud, problems: _Problems, **v: Any) -> None:
    """Rules that only make sense on one cloud, and settings another cloud would ignore."""
    if cloud == "aws":
        if v["architecture"] not in ("x86_64", "arm64"):
            problems.add("architecture", f"must be x86_64 or arm64, got {v['architecture']!r}")
        for key in ("kms", "input_kms"):
            if v[key] is not None and not _KMS_ARN_RE.match(v[key]):
                name = "kmsKeyArn" if key == "kms" else "inputBucketKmsKeyArn"
                problems.add(
                    name,
                    f"must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), "
                    f"got {v[key]!r}",
                )
        if v["input_kms"] is not None and v["existing"] is None:
            problems.add(
                "inputBucketKmsKeyArn",
                "only applies with existingInputBucket; "
                "use kmsKeyArn for the buckets this stack creates",
            )
        if v["existing"] is not None and not _S3_BUCKET_RE.match(v["existing"]):
            problems.add("existingInputBucket", f"{v['existing']!r} is not an S3 bucket name")
        if v["gating"].readers:
            problems.add(
                "readGating.readers",
                "is not used on AWS: the bucket policy denies reads "
                "of untagged objects to every principal; grant readers through IAM",
            )
    else:
        for key, name in (
            ("architecture", "architecture"),
            ("kms", "kmsKeyArn"),
            ("input_kms", "inputBucketKmsKeyArn"),
        ):
            if key == "architecture":
                if v[key] != "x86_64":
                    problems.add(name, f"only applies on AWS, not {cloud}")
            elif v[key] is not None:
                problems.add(name, f"only applies on AWS, not {cloud}")
    if cloud == "gcp":
        if v["project"] is None:
            problems.add("project", "is required on GCP (or set gcp:project)")
        if v["budget"] is not None and v["billing"] is None:
            problems.add("billingAccount", "is required on GCP when monthlyBudget is set")
        if v["existing"] is not None and not _GCS_BUCKET_RE.match(v["existing"]):
            problems.add("existingInputBucket", f"{v['existing']!r} is not a GCS bucket name")
        if v["gating"].readers:
            problems.add(
                "readGating.readers",
                "cannot be honoured on GCP: Cloud Storage IAM "
                "conditions cannot test object metadata, so readers would see unscanned "
                "objects; see docs/iac.md 'Read gating' for the enforceable alternative",
            )
    elif v["billing"] is not None:
        problems.add("billingAccount", f"only applies on GCP, not {cloud}")
    if cloud == "azure":
        _azure_manifest_rules(problems, v["manifest"], v["azure"])
        if v["budget"] is not None and v["alert_email"] is None:
            problems.add(
                "alertEmail",
                "is required on Azure when monthlyBudget is set: "
                "budget notifications need a contact email",
            )
        for reader in v["gating"].readers:
            if not re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", reader):
                problems.add("readGating.readers", f"{reader!r} is not an Entra object id (GUID)")
        if v["gating"].readers and not v["gating"].enabled:
            problems.add("readGating.readers", "requires readGating.enabled: true")
    if cloud != "gcp" and v["project"] is not None:
        problems.add("project", f"only applies on GCP, not {cloud}")


# Sub-settings that mean something on some clouds only, and why (set elsewhere, they would be
# silently ignored).
_ONLY_ON: dict[str, tuple[tuple[str, ...], str]] = {
    "function.batchSize": (("aws",), "SQS messages per invocation"),
    "gpu.targetInvocationsPerInstance": (
        ("aws",),
        "Vertex AI scales on CPU or accelerator duty cycle, Azure ML on GPU utilisation",
    ),
    "gpu.acceleratorType": (("gcp",), "elsewhere the instance type carries the GPU"),
    "gpu.modelDataUrl": (
        ("aws", "gcp"),
        "Azure ML deployments run the image's own model; gpu.mode async takes an az:// folder",
    ),
}
_MODEL_SCHEME = {"aws": "s3://", "gcp": "gs://"}


def _cloud_only_settings(
    cloud: Cloud, problems: _Problems, function: set[str], gpu_keys: set[str], gpu: GpuConfig
) -> None:
    given = {f"function.{k}" for k in function} | {f"gpu.{k}" for k in gpu_keys}
    if cloud == "azure" and gpu.is_async:
        given.discard("gpu.modelDataUrl")  # the queued worker's model folder
    for key, (clouds, why) in _ONLY_ON.items():
        if key in given and cloud not in clouds:
            where = " and ".join(c.upper() if c != "azure" else "Azure" for c in clouds)
            problems.add(key, f"only applies on {where}, not {cloud} ({why})")
    url, scheme = gpu.model_data_url, _MODEL_SCHEME.get(cloud)
    if url and scheme and not url.startswith(scheme):
        problems.add("gpu.modelDataUrl", f"must be a {scheme} URL on {cloud}, got {url!r}")
    if gpu.image_uri:
        _image_registry(cloud, gpu, problems)


def _image_registry(cloud: Cloud, gpu: GpuConfig, problems: _Problems) -> None:
    """The serving image must be in a registry the platform pulls from without credentials."""
    image = gpu.image_uri
    if cloud == "aws" and not ECR_IMAGE_RE.match(image):
        problems.add(
            "gpu.imageUri",
            f"{image!r} must be an ECR image "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>): SageMaker pulls "
            "only from ECR",
        )
    elif cloud == "gcp" and not GCP_IMAGE_RE.match(image):
        platform = "Cloud Run" if gpu.is_async else "Vertex AI"
        problems.add(
            "gpu.imageUri",
            f"{image!r} must be in Artifact Registry "
            f"(<location>-docker.pkg.dev/<project>/<repository>/<image>:<tag>) or gcr.io: "
            f"{platform} pulls it with the project's service agent",
        )
    elif cloud == "azure" and gpu.is_async and not ACR_IMAGE_RE.match(image):
        problems.add(
            "gpu.imageUri",
            f"{image!r} must be in Azure Container Registry (<registry>.azurecr.io/<image>:<tag>): "
            "the Container Apps worker pulls it with its managed identity (AcrPull)",
        )


def _worker_manifest(cloud: Cloud, gpu: GpuConfig, problems: _Problems) -> ManifestRef | None:
    """async on GCP/Azure: ``gpu.modelDataUrl`` is the folder of the worker's manifest and model
    (what Vertex AI calls the artifact URI); the worker reads ``<folder>/manifest.json``."""
    url = gpu.model_data_url
    if not (gpu.is_async and cloud in QUEUED_CLOUDS and url):
        return None
    if not url.startswith(f"{STORE_SCHEME[cloud]}://"):
        if cloud == "azure":  # on gcp _cloud_only_settings reported it already
            problems.add("gpu.modelDataUrl", f"must be an az:// folder on azure, got {url!r}")
        return None

    scheme = STORE_SCHEME[cloud]
    bucket, _, folder = url[len(scheme) + 3 :].partition("/")
    if not folder.strip("/"):
        problems.add(
            "gpu.modelDataUrl",
            f"{url!r} names a whole {'container' if cloud == 'azure' else 'bucket'}: point it "
            f"at a folder of its own ({scheme}://{bucket or '<bucket>'}/<model>/) holding "
            f"{MANIFEST_FILE} and the model; the worker may read that folder and nothing else",
        )
        return None

    def report(_key: str, message: str) -> None:
        problems.add("gpu.modelDataUrl", message)

    return parse_manifest_ref(f"{url.rstrip('/')}/{MANIFEST_FILE}", cloud, report)


def _azure_async_rules(problems: _Problems, gpu: GpuConfig, azure: AzureConfig) -> None:
    """The worker's registry (it pulls with AcrPull on it) and its model container."""
    registry = azure.image_registry
    if not gpu.is_async:
        if registry is not None:
            problems.add("azure.imageRegistry", "only applies with gpu.mode: async")
        return
    found = ACR_IMAGE_RE.match(gpu.image_uri)
    if registry is None:
        problems.add(
            "azure.imageRegistry",
            "is required with gpu.mode: async: {name, resourceGroup} of the container registry "
            "holding gpu.imageUri (the worker is granted AcrPull on it, nothing else)",
        )
    elif found and found.group(1) != registry.name:
        problems.add(
            "azure.imageRegistry",
            f"{registry.name!r} is not the registry of gpu.imageUri ({found.group(1)}.azurecr.io)",
        )
    ref = gpu.worker_manifest
    if ref is not None and ref.bucket in azure.containers.every():
        problems.add(
            "gpu.modelDataUrl",
            f"{gpu.model_data_url!r} is in the scanner's {ref.bucket!r} container: keep the "
            "worker's model in a container of its own",
        )


def _azure_manifest_rules(
    problems: _Problems, manifest: ManifestRef | None, azure: AzureConfig
) -> None:
    """An az:// manifest lives in a container of the data account, outside the scanner's own."""
    if manifest is None or manifest.kind != "store":
        return
    names = azure.containers
    if manifest.bucket in names.every():
        problems.add(
            "modelManifest",
            f"{manifest.uri!r} is in the scanner's {manifest.bucket!r} container: keep models in "
            "a container of their own (uploads there are scanned, results expire, "
            "quarantine and dead letters are evidence)",
        )


class PulumiConfigSource:
    """Reads the ``fakewatch:*`` namespace of the running stack, unknown keys included."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        self.namespace = namespace

    def raw(self) -> dict[str, str | None]:
        from pulumi.runtime.config import CONFIG

        prefix = f"{self.namespace}:"
        values: dict[str, str | None] = {}
        for key, value in CONFIG.get().items():
            if key.startswith(prefix):
                values[key[len(prefix) :]] = None if value is None else str(value)
        return values


def load(cloud: Cloud, base_dir: Path) -> ScannerConfig:
    """Load and validate the running stack's configuration for ``cloud``."""
    import pulumi

    provider_region = {
        "aws": pulumi.Config("aws").get("region"),
        "gcp": pulumi.Config("gcp").get("region"),
        "azure": pulumi.Config("azure-native").get("location"),
    }[cloud]
    provider_project = pulumi.Config("gcp").get("project") if cloud == "gcp" else None
    return parse(
        cloud,
        PulumiConfigSource().raw(),
        stack=pulumi.get_stack(),
        base_dir=base_dir,
        provider_region=provider_region,
        provider_project=provider_project,
    )
