"""Usage profiles: the workload in one cloud-neutral vocabulary.

A profile is YAML (schema ``fakewatch-cost-profile/1``). Figures describing the user's
workload (objects, sizes, retention, scan time and memory, escalation, logs, egress) have no
defaults: one left out or ``null`` yields a cost line that shows the unit price and says the
figure is missing, never a guessed cost. Figures describing what the fakewatch pipeline does
per scan (one read, one verdict write, one tag, queue requests) default to the pipeline's
behaviour and can be overridden.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fakewatch_cost.errors import CostInputError
from fakewatch_cost.money import plain, to_decimal
from fakewatch_cost.resources import data_dir
from fakewatch_cost.safe_yaml import load_yaml_file, read_text
from fakewatch_cost.validate import check

MEDIA = ("image", "video", "audio")
FREE_TIER_MODES = ("none", "monthly", "trial")
MAX_BENCH_BYTES = 1024 * 1024

# What the fakewatch pipeline does per scanned object (see docs/cost.md, "pipeline defaults").
PIPELINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "storage": {"results_kb": 4, "quarantine_rate": 0},
    "requests": {
        "uploads_billed": True,
        "reads_per_scan": 1,
        "writes_per_scan": 1,
        "tags_per_scan": 1,
    },
    "messages": {"queue_requests_per_scan": 3, "events_per_scan": 1, "size_kb": 2},
    "logs": {"alarms": 4},
    "state": {"writes_per_scan": 2},
    "gpu": {
        "enabled": True,
        "accelerator": "t4",
        "min_instances": 1,
        "max_instances": 4,
        "target_utilization": 0.6,
    },
    "face_api": {"enabled": False},
    "options": {
        "lambda_arch": "x86_64",
        "azure_functions_plan": "flex",
        "azure_flex_instance_mb": 2048,
    },
}


def _q(section: dict[str, Any], key: str, where: str) -> Decimal | None:
    value = section.get(key)
    return None if value is None else to_decimal(value, f"{where}.{key}")


@dataclass(frozen=True)
class Scan:
    seconds: Decimal | None
    memory_mb: Decimal | None
    vcpu: Decimal | None
    bench: str | None = None


@dataclass(frozen=True)
class Gpu:
    enabled: bool
    accelerator: str
    min_instances: Decimal
    max_instances: Decimal
    target_utilization: Decimal
    hours: Decimal | None


@dataclass(frozen=True)
class FaceApi:
    enabled: bool
    images: Decimal | None
    rate: Decimal | None
    self_hosted_seconds: Decimal | None


@dataclass(frozen=True)
class UsageProfile:
    name: str
    description: str
    free_tiers: str
    objects_per_month: Decimal | None
    media_mix: dict[str, Decimal]
    object_size_mb: dict[str, Decimal | None]
    retention_days: Decimal | None
    stored_gb: Decimal | None
    results_kb: Decimal | None
    quarantine_rate: Decimal
    uploads_billed: bool
    reads_per_scan: Decimal
    writes_per_scan: Decimal
    tags_per_scan: Decimal
    scan: Scan
    escalation_rate: Decimal | None
    gpu_seconds: Decimal | None
    cpu_seconds: Decimal | None
    gpu: Gpu
    face_api: FaceApi
    queue_requests_per_scan: Decimal
    events_per_scan: Decimal
    message_kb: Decimal
    log_kb_per_scan: Decimal | None
    log_ingest_gb: Decimal | None
    log_retention_days: Decimal | None
    alarms: Decimal
    state_writes_per_scan: Decimal
    egress_gb: Decimal | None
    options: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    source: str = ""

    def with_values(self, values: dict[str, Any], *, validate: bool = True) -> UsageProfile:
        """A copy with dotted-path figures replaced, e.g. ``{"gpu.hours": 283.81}``.

        ``validate=False`` skips the JSON Schema pass for values this package computed
        itself (volume sweeps); the figures are still parsed and range-checked.
        """
        document = copy.deepcopy(self.raw)
        for dotted, value in values.items():
            node = document
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise CostInputError(f"override {dotted!r}: {part!r} is not a section")
            node[leaf] = value
        return parse_profile(document, f"{self.source} (with overrides)", validate=validate)

    def with_objects(self, objects: Decimal) -> UsageProfile:
        """The same workload at another monthly volume; explicit volume figures scale too."""
        if not self.objects_per_month:
            raise CostInputError(f"profile {self.name}: objects_per_month is needed to scale it")
        factor = objects / self.objects_per_month
        scaled: dict[str, Any] = {"objects_per_month": plain(objects)}
        for dotted, value in (
            ("storage.stored_gb", self.stored_gb),
            ("logs.ingest_gb", self.log_ingest_gb),
            ("egress_gb", self.egress_gb),
            ("face_api.images", self.face_api.images),
        ):
            if value is not None:
                scaled[dotted] = plain(value * factor)
        return self.with_values(scaled, validate=False)

    def with_free_tiers(self, mode: str) -> UsageProfile:
        return self.with_values({"free_tiers": mode})


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in data_dir("profiles").glob("*.yaml"))


def resolve_profile(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    path = data_dir("profiles") / f"{name_or_path}.yaml"
    if path.is_file():
        return path
    raise CostInputError(
        f"unknown profile {name_or_path!r} (built-in: {', '.join(builtin_profiles())})"
    )


def load_profile(name_or_path: str, bench: str | Path | None = None) -> UsageProfile:
    """Load a profile by name or path; ``bench`` (or ``scan.bench``) supplies scan figures."""
    path = resolve_profile(name_or_path)
    profile = parse_profile(load_yaml_file(path), str(path))
    bench_path = Path(bench) if bench else None
    if bench_path is None and profile.scan.bench:
        bench_path = (path.parent / profile.scan.bench).resolve()
    if bench_path is not None:
        profile = apply_bench(profile, bench_path)
    return profile


def apply_bench(profile: UsageProfile, path: Path) -> UsageProfile:
    """Take ``scan_seconds`` and ``memory_mb`` from the core benchmark's result file."""
    where = str(path)
    try:
        document = json.loads(read_text(path, MAX_BENCH_BYTES))
    except json.JSONDecodeError as exc:
        raise CostInputError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise CostInputError(f"{where}: expected a JSON object with scan_seconds and memory_mb")
    values: dict[str, Any] = {}
    for key, target in (("scan_seconds", "scan.seconds"), ("memory_mb", "scan.memory_mb")):
        if key not in document:
            raise CostInputError(f"{where}: missing {key!r}")
        number = to_decimal(document[key], f"{where}: {key}")
        if number <= 0:
            raise CostInputError(f"{where}: {key} must be positive, got {number}")
        values[target] = str(number)
    return profile.with_values(values)


def parse_profile(document: Any, where: str, *, validate: bool = True) -> UsageProfile:
    if validate:
        check(document, "profile", where)
    d = _with_defaults(document)
    mix = _media_mix(d.get("media_mix", {"image": 1}), where)
    sizes = d.get("object_size_mb", {})
    storage, req, esc = d["storage"], d["requests"], d.get("escalation", {})
    gpu, face, msg, logs = d["gpu"], d["face_api"], d["messages"], d["logs"]
    scan = d.get("scan", {})
    return UsageProfile(
        name=d["name"],
        description=d.get("description", ""),
        free_tiers=d.get("free_tiers", "monthly"),
        objects_per_month=_q(d, "objects_per_month", where),
        media_mix=mix,
        object_size_mb={m: _q(sizes, m, f"{where}: object_size_mb") for m in MEDIA},
        retention_days=_q(storage, "retention_days", f"{where}: storage"),
        stored_gb=_q(storage, "stored_gb", f"{where}: storage"),
        results_kb=_q(storage, "results_kb", f"{where}: storage"),
        quarantine_rate=_req(storage, "quarantine_rate", where),
        uploads_billed=bool(req["uploads_billed"]),
        reads_per_scan=_req(req, "reads_per_scan", where),
        writes_per_scan=_req(req, "writes_per_scan", where),
        tags_per_scan=_req(req, "tags_per_scan", where),
        scan=Scan(
            _q(scan, "seconds", f"{where}: scan"),
            _q(scan, "memory_mb", f"{where}: scan"),
            _q(scan, "vcpu", f"{where}: scan"),
            scan.get("bench"),
        ),
        escalation_rate=_q(esc, "rate", f"{where}: escalation"),
        gpu_seconds=_q(esc, "gpu_seconds", f"{where}: escalation"),
        cpu_seconds=_q(esc, "cpu_seconds", f"{where}: escalation"),
        gpu=Gpu(
            enabled=bool(gpu["enabled"]),
            accelerator=gpu["accelerator"],
            min_instances=_req(gpu, "min_instances", where),
            max_instances=_req(gpu, "max_instances", where),
            target_utilization=_req(gpu, "target_utilization", where),
            hours=_q(gpu, "hours", f"{where}: gpu"),
        ),
        face_api=FaceApi(
            enabled=bool(face["enabled"]),
            images=_q(face, "images", f"{where}: face_api"),
            rate=_q(face, "rate", f"{where}: face_api"),
            self_hosted_seconds=_q(face, "self_hosted_seconds", f"{where}: face_api"),
        ),
        queue_requests_per_scan=_req(msg, "queue_requests_per_scan", where),
        events_per_scan=_req(msg, "events_per_scan", where),
        message_kb=_req(msg, "size_kb", where),
        log_kb_per_scan=_q(logs, "kb_per_scan", f"{where}: logs"),
        log_ingest_gb=_q(logs, "ingest_gb", f"{where}: logs"),
        log_retention_days=_q(logs, "retention_days", f"{where}: logs"),
        alarms=_req(logs, "alarms", where),
        state_writes_per_scan=_req(d["state"], "writes_per_scan", where),
        egress_gb=_q(d, "egress_gb", where),
        options=dict(d["options"]),
        assumptions=list(d.get("assumptions", [])),
        raw=copy.deepcopy(document),
        source=where,
    )


def _req(section: dict[str, Any], key: str, where: str) -> Decimal:
    value = _q(section, key, where)
    if value is None:
        raise CostInputError(f"{where}: {key} may not be null")
    return value


def _with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(document)
    for section, defaults in PIPELINE_DEFAULTS.items():
        given = merged.get(section) or {}
        merged[section] = {**defaults, **given}
    return merged


def _media_mix(raw: dict[str, Any], where: str) -> dict[str, Decimal]:
    mix = {m: to_decimal(raw.get(m) or 0, f"{where}: media_mix.{m}") for m in MEDIA}
    total = sum(mix.values(), Decimal(0))
    if abs(total - 1) > Decimal("0.001"):
        raise CostInputError(f"{where}: media_mix must add up to 1, got {total}")
    return mix
