"""Every environment variable fakewatch reads, in one place, under one prefix.

Providers and the Pulumi stacks use these names; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "FAKEWATCH_"

POLICY = f"{PREFIX}POLICY"  # path, store URI or inline JSON/YAML of the policy
MODEL_MANIFEST = f"{PREFIX}MODEL_MANIFEST"  # path or store URI of a model manifest (optional)
RESULTS_BUCKET = f"{PREFIX}RESULTS_BUCKET"  # bucket/container for verdicts and audit log
RESULTS_PREFIX = f"{PREFIX}RESULTS_PREFIX"  # key prefix of verdict documents
AUDIT_PREFIX = f"{PREFIX}AUDIT_PREFIX"  # key prefix of the hash-chained audit log
QUARANTINE_BUCKET = f"{PREFIX}QUARANTINE_BUCKET"  # bucket/container quarantined objects go to
RESULT_TOPIC = f"{PREFIX}RESULT_TOPIC"  # event bus / Pub/Sub topic / Event Grid topic endpoint
ESCALATION_ENDPOINT = f"{PREFIX}ESCALATION_ENDPOINT"  # endpoint name or URL (optional)
ESCALATION_TIMEOUT_S = f"{PREFIX}ESCALATION_TIMEOUT_S"
IDEMPOTENCY_TABLE = f"{PREFIX}IDEMPOTENCY_TABLE"  # AWS: DynamoDB table for Powertools Idempotency
LOG_LEVEL = f"{PREFIX}LOG_LEVEL"
C2PA_TRUST_ANCHORS = f"{PREFIX}C2PA_TRUST_ANCHORS"  # PEM file of C2PA signers treated as trusted

# Provider-specific names, read by that provider through ``Settings.extra`` (not in ALL).
AZURE_ACCOUNT_URL = f"{PREFIX}AZURE_ACCOUNT_URL"  # blob endpoint, used with the managed identity
AZURE_CONNECTION_STRING = f"{PREFIX}AZURE_CONNECTION_STRING"  # key-based: Azurite / local runs
EVENTGRID_KEY = f"{PREFIX}EVENTGRID_KEY"  # access key of the result topic (else Entra ID)
ESCALATION_MODE = f"{PREFIX}ESCALATION_MODE"  # realtime (bytes in the call) or async (by URI)
ESCALATION_KEY = f"{PREFIX}ESCALATION_KEY"  # Azure ML endpoint key (else a managed-identity token)
ESCALATION_DEPLOYMENT = f"{PREFIX}ESCALATION_DEPLOYMENT"  # Azure ML deployment to pin, optional
# Queued (async) mode on GCP/Azure: the job queue (Pub/Sub topic path / Storage queue URL) and
# the bucket the GPU worker writes answers to (default: the results bucket).
ESCALATION_QUEUE = f"{PREFIX}ESCALATION_QUEUE"
ANSWERS_BUCKET = f"{PREFIX}ANSWERS_BUCKET"
# Fail-closed read gating by copy: allowed objects (the exact bytes scanned) are copied here.
RELEASE_BUCKET = f"{PREFIX}RELEASE_BUCKET"
# The GPU serving application (fakewatch_serve); the cloud's own variables (AIP_*, ...) win.
SERVE_CONTRACT = f"{PREFIX}SERVE_CONTRACT"  # sagemaker | vertex | azureml
SERVE_MODE = f"{PREFIX}SERVE_MODE"  # realtime | async (larger requests, by-reference media)
SERVE_PORT = f"{PREFIX}SERVE_PORT"  # overrides the contract's port
SERVE_MAX_BATCH = f"{PREFIX}SERVE_MAX_BATCH"  # rows per inference call
SERVE_MAX_WAIT_MS = f"{PREFIX}SERVE_MAX_WAIT_MS"  # how long a batch may wait to fill
SERVE_MAX_REQUEST_BYTES = f"{PREFIX}SERVE_MAX_REQUEST_BYTES"  # larger requests get 413
SERVE_PROVIDERS = f"{PREFIX}SERVE_PROVIDERS"  # comma-separated ONNX Runtime providers
SERVE_URI_PREFIXES = f"{PREFIX}SERVE_URI_PREFIXES"  # store URI prefixes instances may name
SERVE_ANSWER_PREFIXES = f"{PREFIX}SERVE_ANSWER_PREFIXES"  # where queued jobs' answers may go

ALL = (
    POLICY,
    MODEL_MANIFEST,
    RESULTS_BUCKET,
    RESULTS_PREFIX,
    AUDIT_PREFIX,
    QUARANTINE_BUCKET,
    RESULT_TOPIC,
    ESCALATION_ENDPOINT,
    ESCALATION_TIMEOUT_S,
    IDEMPOTENCY_TABLE,
    LOG_LEVEL,
    C2PA_TRUST_ANCHORS,
    ESCALATION_MODE,
    ESCALATION_QUEUE,
    ANSWERS_BUCKET,
    RELEASE_BUCKET,
    SERVE_CONTRACT,
    SERVE_MODE,
    SERVE_PORT,
    SERVE_MAX_BATCH,
    SERVE_MAX_WAIT_MS,
    SERVE_MAX_REQUEST_BYTES,
    SERVE_PROVIDERS,
    SERVE_URI_PREFIXES,
    SERVE_ANSWER_PREFIXES,
)


@dataclass(frozen=True)
class Settings:
    """The settings a deployed scanner runs with, read once at cold start."""

    results_bucket: str
    quarantine_bucket: str | None = None
    results_prefix: str = "verdicts/"
    audit_prefix: str = "audit/"
    policy: str | None = None
    model_manifest: str | None = None
    result_topic: str | None = None
    escalation_endpoint: str | None = None
    escalation_timeout_s: float = 10.0
    escalation_mode: str = "realtime"
    escalation_queue: str | None = None
    answers_bucket: str | None = None
    release_bucket: str | None = None
    idempotency_table: str | None = None
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        results = env.get(RESULTS_BUCKET)
        if not results:
            from fakewatch.errors import ConfigError

            raise ConfigError(f"{RESULTS_BUCKET} must name the bucket verdicts are written to")
        return cls(
            results_bucket=results,
            quarantine_bucket=env.get(QUARANTINE_BUCKET) or None,
            results_prefix=env.get(RESULTS_PREFIX, "verdicts/"),
            audit_prefix=env.get(AUDIT_PREFIX, "audit/"),
            policy=env.get(POLICY) or None,
            model_manifest=env.get(MODEL_MANIFEST) or None,
            result_topic=env.get(RESULT_TOPIC) or None,
            escalation_endpoint=env.get(ESCALATION_ENDPOINT) or None,
            escalation_timeout_s=float(env.get(ESCALATION_TIMEOUT_S, "10")),
            escalation_mode=env.get(ESCALATION_MODE) or "realtime",
            escalation_queue=env.get(ESCALATION_QUEUE) or None,
            answers_bucket=env.get(ANSWERS_BUCKET) or None,
            release_bucket=env.get(RELEASE_BUCKET) or None,
            idempotency_table=env.get(IDEMPOTENCY_TABLE) or None,
            log_level=env.get(LOG_LEVEL, "INFO"),
            extra={k: v for k, v in env.items() if k.startswith(PREFIX) and k not in ALL},
        )
