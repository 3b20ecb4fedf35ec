"""Cloud-neutral figures derived from a profile, shared by the three stacks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from fakewatch_cost.profile import MEDIA, UsageProfile
from fakewatch_cost.quantity import Q, qmax

HOURS_PER_MONTH = Decimal(730)
DAYS_PER_MONTH = Decimal(30)
MB_PER_GB = Decimal(1024)
KB_PER_GB = Decimal(1024 * 1024)
KB_PER_TB = Decimal(1024**3)


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """Round up to a multiple of ``step`` (billing granularity)."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def chunks(size_kb: Decimal, chunk_kb: int) -> int:
    """Billing chunks per message (SQS and EventBridge bill per 64 KB)."""
    return max(1, math.ceil(size_kb / chunk_kb))


@dataclass(frozen=True)
class GpuHours:
    busy: Q
    idle: Q


class Workload:
    """Derived monthly quantities; each is a ``Q`` that knows what it is missing."""

    def __init__(self, profile: UsageProfile) -> None:
        self.p = profile
        self.scans = Q.of(profile.objects_per_month, "objects_per_month")

    def ingest_gb(self) -> Q:
        total = Q(Decimal(0))
        for media in MEDIA:
            share = self.p.media_mix[media]
            if share:
                size = Q.of(self.p.object_size_mb[media], f"object_size_mb.{media}")
                total = total + self.scans * share * size / MB_PER_GB
        return total

    def stored_gb(self) -> Q:
        """Average GB stored: input objects plus verdict records, over the retention."""
        if self.p.stored_gb is not None:
            return Q(self.p.stored_gb)
        months = Q.of(self.p.retention_days, "storage.retention_days") / DAYS_PER_MONTH
        results = self.scans * Q.of(self.p.results_kb, "storage.results_kb") / KB_PER_GB
        return (self.ingest_gb() + results) * months

    def write_requests(self) -> Q:
        per_scan = self.p.writes_per_scan + self.p.tags_per_scan + self.p.quarantine_rate
        uploads = Decimal(1) if self.p.uploads_billed else Decimal(0)
        return self.scans * (per_scan + uploads)

    def read_requests(self) -> Q:
        return self.scans * self.p.reads_per_scan

    def invocations(self) -> Q:
        return self.scans

    def scan_seconds(self) -> Q:
        return Q.of(self.p.scan.seconds, "scan.seconds")

    def memory_mb(self) -> Q:
        return Q.of(self.p.scan.memory_mb, "scan.memory_mb")

    def gb_seconds(self, step_s: Decimal, min_s: Decimal, memory_mb: Q) -> Q:
        """Function GB-seconds with the cloud's duration granularity and minimum."""
        seconds = self.scan_seconds()
        if seconds.value is not None:
            seconds = Q(max(ceil_to(seconds.value, step_s), min_s))
        return self.scans * seconds * memory_mb / MB_PER_GB

    def escalations(self) -> Q:
        return self.scans * Q.of(self.p.escalation_rate, "escalation.rate")

    def gpu_hours(self) -> GpuHours:
        gpu = self.p.gpu
        busy = self.escalations() * Q.of(self.p.gpu_seconds, "escalation.gpu_seconds") / 3600
        if gpu.hours is not None:
            total = Q(gpu.hours)
            busy = busy.clamp(high=gpu.hours) if busy.known else Q(Decimal(0))
        else:
            floor = Q(gpu.min_instances * HOURS_PER_MONTH)
            total = qmax(floor, busy / gpu.target_utilization)
            total = total.clamp(high=gpu.max_instances * HOURS_PER_MONTH)
            busy = busy.clamp(high=total.value) if total.known else busy
        return GpuHours(busy=busy, idle=(total - busy).clamp(low=Decimal(0)))

    def face_images(self) -> Q:
        face = self.p.face_api
        if face.images is not None:
            return Q(face.images)
        return self.scans * self.p.media_mix["image"] * Q.of(face.rate, "face_api.rate")

    def queue_requests(self) -> Q:
        return self.scans * self.p.queue_requests_per_scan * chunks(self.p.message_kb, 64)

    def events(self) -> Q:
        return self.scans * self.p.events_per_scan

    def log_gb(self) -> Q:
        if self.p.log_ingest_gb is not None:
            return Q(self.p.log_ingest_gb)
        return self.scans * Q.of(self.p.log_kb_per_scan, "logs.kb_per_scan") / KB_PER_GB

    def log_stored_gb(self, free_days: Decimal = Decimal(0)) -> Q:
        """GB-months of logs kept beyond ``free_days`` of included retention."""
        days = Q.of(self.p.log_retention_days, "logs.retention_days")
        extra = (days - free_days).clamp(low=Decimal(0))
        return self.log_gb() * extra / DAYS_PER_MONTH

    def egress_gb(self) -> Q:
        return Q.of(self.p.egress_gb, "egress_gb")
