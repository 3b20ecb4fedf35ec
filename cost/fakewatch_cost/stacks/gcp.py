"""GCP stack: GCS buckets -> Eventarc (Pub/Sub) -> Cloud Run functions, Pub/Sub verdict
events, Vertex AI endpoint, optional Vision API, Cloud Logging, egress."""

from __future__ import annotations

from decimal import Decimal

from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.quantity import Q
from fakewatch_cost.stacks.gpu import GPU_INSTANCES
from fakewatch_cost.stacks.usage import Usage
from fakewatch_cost.stacks.workload import KB_PER_GB, Workload

STEP = Decimal("0.1")
# Cloud Run functions: vCPU that comes with each memory size (smallest size >= memory).
VCPU_FOR_MEMORY = [
    (128, "0.083"),
    (256, "0.167"),
    (512, "0.333"),
    (1024, "0.583"),
    (2048, "1"),
    (4096, "2"),
    (8192, "2"),
    (16384, "4"),
    (32768, "8"),
]
PUBSUB_MIN_KB = Decimal(1)


def vcpu_for(memory_mb: Decimal) -> Decimal:
    for size, vcpu in VCPU_FOR_MEMORY:
        if memory_mb <= size:
            return Decimal(vcpu)
    return Decimal(VCPU_FOR_MEMORY[-1][1])


def usage(profile: UsageProfile) -> list[Usage]:
    w = Workload(profile)
    memory = w.memory_mb()
    if profile.scan.vcpu is not None:
        vcpu = Q(profile.scan.vcpu)
    else:
        vcpu = Q(vcpu_for(memory.value)) if memory.value is not None else memory
    vcpu_seconds = w.gb_seconds(STEP, STEP, Q(Decimal(1024))) * vcpu
    message_kb = max(profile.message_kb, PUBSUB_MIN_KB)
    # Publish and delivery are both billed, each at least 1 KB.
    pubsub_gib = (w.scans + w.events()) * (2 * message_kb) / KB_PER_GB
    lines = [
        Usage(
            "storage",
            "GCS buckets (input, results, quarantine)",
            "Standard storage",
            "gcs.storage.standard",
            w.stored_gb(),
        ),
        Usage(
            "requests",
            "GCS buckets",
            "Class A (uploads, verdicts, metadata, copies)",
            "gcs.ops.class-a",
            w.write_requests(),
        ),
        Usage(
            "requests",
            "GCS buckets",
            "Class B (scanner reads)",
            "gcs.ops.class-b",
            w.read_requests(),
        ),
        Usage(
            "compute", "Cloud Run functions scanner", "Requests", "run.requests", w.invocations()
        ),
        Usage(
            "compute",
            "Cloud Run functions scanner",
            "vCPU-seconds (100 ms steps)",
            "run.cpu",
            vcpu_seconds,
        ),
        Usage(
            "compute",
            "Cloud Run functions scanner",
            "GiB-seconds (100 ms steps)",
            "run.memory",
            w.gb_seconds(STEP, STEP, memory),
        ),
        Usage(
            "messaging",
            "Eventarc trigger",
            "Cloud Storage events (Google source)",
            "eventarc.google-source-events",
            w.scans,
        ),
        Usage(
            "messaging",
            "Pub/Sub",
            "Throughput: trigger + verdict events (min 1 KB)",
            "pubsub.throughput",
            pubsub_gib,
        ),
        *_gpu(profile, w),
        *_face(profile, w),
        Usage("monitoring", "Cloud Logging", "Log ingestion", "logging.ingest", w.log_gb()),
        Usage(
            "monitoring",
            "Cloud Logging",
            "Retention beyond 30 days (GiB-month)",
            "logging.retention",
            w.log_stored_gb(Decimal(30)),
        ),
        Usage(
            "egress", "Network", "Internet egress (Premium Tier)", "egress.internet", w.egress_gb()
        ),
    ]
    return lines


def _gpu(profile: UsageProfile, w: Workload) -> list[Usage]:
    if not profile.gpu.enabled:
        return []
    hours = w.gpu_hours()
    lines = []
    for key, label in GPU_INSTANCES["gcp"][profile.gpu.accelerator]:
        lines.append(
            Usage("gpu_inference", label, "Node-hours serving escalations", key, hours.busy)
        )
        lines.append(Usage("gpu_inference", label, "Idle node-hours", key, hours.idle))
    return lines


def _face(profile: UsageProfile, w: Workload) -> list[Usage]:
    if not profile.face_api.enabled:
        return []
    return [
        Usage(
            "face_detection",
            "Cloud Vision API",
            "Face detection units",
            "vision.face-detection",
            w.face_images(),
        )
    ]
