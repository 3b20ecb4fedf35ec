"""AWS stack: S3 buckets -> SQS (+DLQ) -> Lambda, DynamoDB idempotency, EventBridge
verdict events, SageMaker endpoint, optional Rekognition, CloudWatch, egress."""

from __future__ import annotations

from decimal import Decimal

from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.quantity import Q
from fakewatch_cost.stacks.gpu import GPU_INSTANCES
from fakewatch_cost.stacks.usage import Usage
from fakewatch_cost.stacks.workload import Workload, chunks

MS = Decimal("0.001")


def usage(profile: UsageProfile) -> list[Usage]:
    w = Workload(profile)
    arch = profile.options["lambda_arch"]
    lines = [
        Usage(
            "storage",
            "S3 buckets (input, results, quarantine)",
            "S3 Standard storage",
            "s3.storage.standard",
            w.stored_gb(),
        ),
        Usage(
            "requests",
            "S3 buckets",
            "PUT/COPY/POST (uploads, verdicts, tags, moves)",
            "s3.requests.put",
            w.write_requests(),
        ),
        Usage(
            "requests", "S3 buckets", "GET (scanner reads)", "s3.requests.get", w.read_requests()
        ),
        Usage(
            "compute", f"Lambda scanner ({arch})", "Requests", "lambda.requests", w.invocations()
        ),
        Usage(
            "compute",
            f"Lambda scanner ({arch})",
            "Duration (GB-seconds, 1 ms steps)",
            f"lambda.duration.{arch}",
            w.gb_seconds(MS, MS, w.memory_mb()),
        ),
        Usage(
            "messaging",
            "SQS queue + DLQ",
            "Requests (send, receive, delete; 64 KB chunks)",
            "sqs.requests.standard",
            w.queue_requests(),
        ),
        Usage(
            "messaging",
            "EventBridge",
            "Verdict events (PutEvents, 64 KB chunks)",
            "eventbridge.custom-events",
            w.events() * chunks(profile.message_kb, 64),
        ),
        Usage(
            "state",
            "DynamoDB idempotency table",
            "On-demand write request units",
            "dynamodb.write-request-units",
            w.scans * profile.state_writes_per_scan,
        ),
        *_gpu(profile, w),
        *_face(profile, w),
        Usage(
            "monitoring",
            "CloudWatch Logs",
            "Lambda log ingestion",
            "cloudwatch.logs.ingest",
            w.log_gb(),
        ),
        Usage(
            "monitoring",
            "CloudWatch Logs",
            "Log storage (GB-month)",
            "cloudwatch.logs.storage",
            w.log_stored_gb(),
        ),
        Usage(
            "monitoring",
            "CloudWatch alarms",
            "Standard-resolution alarms",
            "cloudwatch.alarms",
            Q(profile.alarms),
        ),
        Usage("egress", "Data transfer out", "Internet egress", "egress.internet", w.egress_gb()),
    ]
    return lines


def _gpu(profile: UsageProfile, w: Workload) -> list[Usage]:
    if not profile.gpu.enabled:
        return []
    hours = w.gpu_hours()
    lines = []
    for key, label in GPU_INSTANCES["aws"][profile.gpu.accelerator]:
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
            "face_detection",
            "Rekognition",
            "DetectFaces images",
            "rekognition.detect-faces",
            w.face_images(),
        )
    ]
