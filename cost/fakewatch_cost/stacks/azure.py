"""Azure stack: Blob containers -> Event Grid -> Azure Functions (Flex Consumption or
Consumption), Event Grid verdict events, Azure ML endpoint, optional Face API, Log
Analytics (Application Insights), egress."""

from __future__ import annotations

from decimal import Decimal

from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.quantity import Q
from fakewatch_cost.stacks.gpu import GPU_INSTANCES
from fakewatch_cost.stacks.usage import Usage
from fakewatch_cost.stacks.workload import Workload, ceil_to, chunks

CONSUMPTION_STEP = Decimal("0.001")
CONSUMPTION_MIN = Decimal("0.1")
MEMORY_STEP = Decimal(128)
FLEX_STEP = Decimal("0.001")


def usage(profile: UsageProfile) -> list[Usage]:
    w = Workload(profile)
    operations = (w.scans + w.events()) * (2 * chunks(profile.message_kb, 64))
    lines = [
        Usage(
            "storage",
            "Blob containers (input, results, quarantine)",
            "Hot LRS storage",
            "blob.storage.hot-lrs",
            w.stored_gb(),
        ),
        Usage(
            "requests",
            "Blob containers",
            "Write operations (uploads, verdicts, tags, moves)",
            "blob.ops.write",
            w.write_requests(),
        ),
        Usage(
            "requests",
            "Blob containers",
            "Read operations (scanner reads)",
            "blob.ops.read",
            w.read_requests(),
        ),
        *_functions(profile, w),
        Usage(
            "messaging",
            "Event Grid",
            "Operations: blob events + verdict events (publish + delivery)",
            "eventgrid.operations",
            operations,
        ),
        *_gpu(profile, w),
        *_face(profile, w),
        Usage(
            "monitoring",
            "Application Insights (Log Analytics)",
            "Analytics log ingestion",
            "loganalytics.ingest",
            w.log_gb(),
        ),
        Usage(
            "monitoring",
            "Application Insights (Log Analytics)",
            "Retention beyond 31 days (GB-month)",
            "loganalytics.retention",
            w.log_stored_gb(Decimal(31)),
        ),
        Usage(
            "monitoring",
            "Azure Monitor alerts",
            "Metric alert rules",
            "monitor.alerts",
            Q(profile.alarms),
        ),
        Usage(
            "egress",
            "Bandwidth",
            "Internet egress (Microsoft network)",
            "egress.internet",
            w.egress_gb(),
        ),
    ]
    return lines


def _functions(profile: UsageProfile, w: Workload) -> list[Usage]:
    plan = profile.options["azure_functions_plan"]
    resource = f"Azure Functions scanner ({plan})"
    if plan == "flex":
        # Flex bills the instance memory size for the time executions are active.
        instance_mb = Q(Decimal(profile.options["azure_flex_instance_mb"]))
        gb_s = w.gb_seconds(FLEX_STEP, FLEX_STEP, instance_mb)
        time_label = "On-demand execution time (instance GB-seconds)"
    else:
        memory = w.memory_mb()
        rounded = Q(ceil_to(memory.value, MEMORY_STEP)) if memory.value is not None else memory
        gb_s = w.gb_seconds(CONSUMPTION_STEP, CONSUMPTION_MIN, rounded)
        time_label = "Execution time (GB-seconds, 128 MB steps, 100 ms minimum)"
    return [
        Usage("compute", resource, "Executions", f"functions.{plan}.executions", w.invocations()),
        Usage("compute", resource, time_label, f"functions.{plan}.execution-time", gb_s),
    ]


def _gpu(profile: UsageProfile, w: Workload) -> list[Usage]:
    if not profile.gpu.enabled:
        return []
    hours = w.gpu_hours()
    lines = []
    for key, label in GPU_INSTANCES["azure"][profile.gpu.accelerator]:
        lines.append(
            Usage("gpu_inference", label, "Instance-hours serving escalations", key, hours.busy)
        )
        lines.append(Usage("gpu_inference", label, "Idle instance-hours", key, hours.idle))
    return lines


def _face(profile: UsageProfile, w: Workload) -> list[Usage]:
    if not profile.face_api.enabled:
        return []
    return [
        Usage(
            "face_detection", "Azure AI Face", "Detect transactions", "face.detect", w.face_images()
        )
    ]
