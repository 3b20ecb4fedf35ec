"""The policy: thresholds, actions, skip rules, limits and escalation, varying by context.

A policy file (YAML or JSON) is validated against ``schemas/policy.schema.json`` and every
error names the field. ``overrides`` refine the base policy for a bucket, a key prefix or a
tenant (seed 002's dynamic thresholds); the first matching override wins per field.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fakewatch.errors import ConfigError
from fakewatch.labels import Action, Label
from fakewatch.media.limits import Limits

DEFAULT_ACTIONS: dict[Label, Action] = {
    Label.SYNTHETIC: Action.QUARANTINE,
    Label.SUSPICIOUS: Action.REVIEW,
    Label.NO_EVIDENCE: Action.ALLOW,
    Label.ERROR: Action.REVIEW,
    Label.SKIPPED: Action.ALLOW,
}
SKIP_TAG = "fakewatch-skip"


@dataclass(frozen=True)
class Thresholds:
    review: float = 0.5  # risk at or above: label suspicious, action review
    quarantine: float = 0.85  # risk at or above: action quarantine

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.quarantine <= 1.0:
            raise ConfigError(
                f"thresholds: need 0 < review <= quarantine <= 1, got review={self.review} "
                f"quarantine={self.quarantine}"
            )


@dataclass(frozen=True)
class Escalation:
    """Grey zone [low, high): screened cheaply, sent to the heavier model on the GPU endpoint."""

    enabled: bool = False
    low: float = 0.3
    high: float = 0.85

    def in_grey_zone(self, risk: float) -> bool:
        return self.enabled and self.low <= risk < self.high


@dataclass(frozen=True)
class SkipRules:
    prefixes: tuple[str, ...] = ()  # skip keys starting with any of these
    suffixes: tuple[str, ...] = ()  # skip keys ending with any of these (case-insensitive)
    include_prefixes: tuple[str, ...] = ()  # when set, only keys under these are scanned
    media_kinds: tuple[str, ...] = ()  # skip these kinds: image, video, audio, document
    min_bytes: int = 0
    max_bytes: int | None = None  # larger objects are skipped (limits.max_bytes is an error)
    skip_zero_length: bool = True
    skip_tags: Mapping[str, str] = field(default_factory=lambda: {SKIP_TAG: "true"})

    def reason_before_fetch(
        self, key: str, size: int | None, tags: Mapping[str, str]
    ) -> str | None:
        """Why this object is skipped, from its key, size and tags alone; None to scan it."""
        if self.include_prefixes and not key.startswith(self.include_prefixes):
            return "key is outside the scanned prefixes"
        hit = next((p for p in self.prefixes if key.startswith(p)), None)
        if hit is not None:
            return f"key starts with skipped prefix {hit!r}"
        low = key.lower()
        suffix = next((s for s in self.suffixes if low.endswith(s.lower())), None)
        if suffix is not None:
            return f"key ends with skipped suffix {suffix!r}"
        for tag, value in self.skip_tags.items():
            if tags.get(tag) == value:
                return f"object carries the skip tag {tag}={value}"
        if size is not None:
            if size == 0 and self.skip_zero_length:
                return "zero-length object"
            if size < self.min_bytes:
                return f"object is {size} bytes, below min_bytes {self.min_bytes}"
            if self.max_bytes is not None and size > self.max_bytes:
                return f"object is {size} bytes, above skip max_bytes {self.max_bytes}"
        return None

    def reason_for_kind(self, kind: str) -> str | None:
        return f"{kind} media is skipped by policy" if kind in self.media_kinds else None


@dataclass(frozen=True)
class Match:
    bucket: str | None = None  # glob
    prefix: str | None = None
    tenant: str | None = None  # glob on the tenant (first key segment, or the tenant metadata)

    def matches(self, bucket: str, key: str, tenant: str | None) -> bool:
        if self.bucket is not None and not fnmatch.fnmatchcase(bucket, self.bucket):
            return False
        if self.prefix is not None and not key.startswith(self.prefix):
            return False
        return self.tenant is None or (
            tenant is not None and fnmatch.fnmatchcase(tenant, self.tenant)
        )


@dataclass(frozen=True)
class Override:
    name: str
    match: Match
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    version: str = "1"
    thresholds: Thresholds = field(default_factory=Thresholds)
    actions: Mapping[Label, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    escalation: Escalation = field(default_factory=Escalation)
    skip: SkipRules = field(default_factory=SkipRules)
    limits: Limits = field(default_factory=Limits)
    signals: tuple[str, ...] = ()  # enabled signals by name; empty = every default signal
    weights: Mapping[str, float] = field(default_factory=dict)  # per-signal weight in fusion
    overrides: tuple[Override, ...] = ()
    rule: str | None = None  # the override that produced this effective policy

    def for_object(self, bucket: str, key: str, tenant: str | None = None) -> Policy:
        """The effective policy for one object: the first matching override applied."""
        tenant = tenant if tenant is not None else (key.split("/", 1)[0] if "/" in key else None)
        for override in self.overrides:
            if override.match.matches(bucket, key, tenant):
                return _apply(self, override)
        return self

    def action_for(self, label: Label) -> Action:
        return self.actions.get(label, DEFAULT_ACTIONS[label])

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.summary(), sort_keys=True).encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        """What a verdict records of the policy that applied."""
        return {
            "name": self.name,
            "version": self.version,
            "rule": self.rule,
            "thresholds": asdict(self.thresholds),
            "escalation": asdict(self.escalation),
            "actions": {k.value: v.value for k, v in self.actions.items()},
            "signals": list(self.signals),
            "weights": dict(self.weights),
        }


def _apply(base: Policy, override: Override) -> Policy:
    merged = _to_doc(base)
    for section, value in override.changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(section), Mapping):
            merged[section] = {**merged[section], **value}
        else:
            merged[section] = value
    merged.pop("overrides", None)
    policy = _from_doc(merged, where=f"overrides[{override.name}]")
    return replace(policy, overrides=(), rule=override.name)


def _to_doc(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "version": policy.version,
        "thresholds": asdict(policy.thresholds),
        "actions": {k.value: v.value for k, v in policy.actions.items()},
        "escalation": asdict(policy.escalation),
        "skip": {**asdict(policy.skip), "skip_tags": dict(policy.skip.skip_tags)},
        "limits": asdict(policy.limits),
        "signals": list(policy.signals),
        "weights": dict(policy.weights),
    }


# -- loading --------------------------------------------------------------------------------------
@cache
def _schema() -> dict[str, Any]:
    text = resources.files("fakewatch").joinpath("schemas/policy.schema.json").read_text()
    return dict(json.loads(text))


def _validate(doc: Any, where: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ConfigError(f"{where}: {path}: {first.message}")


def _from_doc(doc: Mapping[str, Any], where: str) -> Policy:
    skip = dict(doc.get("skip", {}))
    for name in ("prefixes", "suffixes", "include_prefixes", "media_kinds"):
        skip[name] = tuple(skip.get(name, ()))
    try:
        return Policy(
            name=str(doc.get("name", "custom")),
            version=str(doc.get("version", "1")),
            thresholds=Thresholds(**doc.get("thresholds", {})),
            actions={
                **DEFAULT_ACTIONS,
                **{Label(k): Action(v) for k, v in doc.get("actions", {}).items()},
            },
            escalation=Escalation(**doc.get("escalation", {})),
            skip=SkipRules(**skip),
            limits=Limits.from_dict(doc.get("limits")),
            signals=tuple(doc.get("signals", ())),
            weights=dict(doc.get("weights", {})),
            overrides=tuple(
                Override(o.get("name", f"override-{i}"), Match(**o["match"]), o.get("set", {}))
                for i, o in enumerate(doc.get("overrides", ()))
            ),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def parse_policy(doc: Any, where: str = "policy") -> Policy:
    _validate(doc, where)
    policy = _from_doc(doc, where)
    for override in policy.overrides:  # fail at load time, not on the first matching object
        _apply(policy, override)
    return policy


def _policy_text(source: str | Path) -> tuple[str, str]:
    """(text, where) of a policy given as a path or as inline YAML/JSON."""
    raw = str(source)
    inline = not isinstance(source, Path) and ("\n" in raw or raw.lstrip().startswith("{"))
    if not inline and (isinstance(source, Path) or Path(raw).is_file() or ":" not in raw):
        try:
            return Path(raw).read_text(), raw
        except OSError as exc:
            raise ConfigError(f"policy file {raw}: {exc.strerror or exc}") from exc
    return raw, "inline policy"


def load_policy(source: str | Path | None) -> Policy:
    """Load a policy from a path, inline JSON/YAML text, or return the default for None."""
    if source is None or source == "":
        return Policy()
    text, where = _policy_text(source)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: a policy is a mapping, got {type(doc).__name__}")
    return parse_policy(doc, where)


def dump_policy(policy: Policy) -> str:
    doc = _to_doc(policy)
    doc["overrides"] = [
        {
            "name": o.name,
            "match": {k: v for k, v in asdict(o.match).items() if v is not None},
            "set": dict(o.changes),
        }
        for o in policy.overrides
    ]
    return yaml.safe_dump(doc, sort_keys=False)
