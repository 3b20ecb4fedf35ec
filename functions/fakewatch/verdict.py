"""The verdict record: one versioned JSON document per scan (schema: schemas/verdict.schema.json).

It records what was checked and what was found — never media, frames, faces, or anything that
re-identifies a person beyond the object's own identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from fakewatch.labels import Action, ErrorReason, Label

SCHEMA_VERSION = "1.1"  # 1.1 adds revision/supersedes and escalation pending/failed


@dataclass(frozen=True)
class ObjectIdentity:
    uri: str
    bucket: str
    key: str
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    version: str | None = None
    media_type: Mapping[str, str] | None = None  # {kind, format, mime}

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "version": self.version,
            "media_type": dict(self.media_type) if self.media_type else None,
        }


@dataclass(frozen=True)
class Verdict:
    object: ObjectIdentity
    label: Label
    action: Action
    explanation: str
    risk_score: float | None
    scanned_at: str
    pipeline_version: str
    fingerprint: str  # pipeline + models + policy: a rescan after an upgrade gets a new verdict
    signals: tuple[Mapping[str, Any], ...] = ()
    error: Mapping[str, str] | None = None
    disagreements: tuple[str, ...] = ()
    escalation: Mapping[str, Any] | None = None
    models: tuple[Mapping[str, Any], ...] = ()
    policy: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    skip_reason: str | None = None
    revision: int = 1  # 2+: an asynchronous escalation's answer folded into an earlier verdict
    supersedes: str | None = None  # the id of the verdict this revision replaces

    @property
    def id(self) -> str:
        return verdict_id(self.object, self.fingerprint, self.revision)

    @property
    def error_reason(self) -> ErrorReason | None:
        return ErrorReason(self.error["reason"]) if self.error else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "object": self.object.to_dict(),
            "label": self.label.value,
            "action": self.action.value,
            "risk_score": None if self.risk_score is None else round(self.risk_score, 4),
            "explanation": self.explanation,
            "signals": [dict(s) for s in self.signals],
            "error": dict(self.error) if self.error else None,
            "skip_reason": self.skip_reason,
            "disagreements": list(self.disagreements),
            "escalation": dict(self.escalation) if self.escalation else None,
            "models": [dict(m) for m in self.models],
            "policy": dict(self.policy),
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "pipeline_version": self.pipeline_version,
            "fingerprint": self.fingerprint,
            "scanned_at": self.scanned_at,
            "revision": self.revision,
            "supersedes": self.supersedes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def summary(self) -> dict[str, Any]:
        """The key fields: what result events, tags and audit records carry."""
        return {
            "verdict_id": self.id,
            "uri": self.object.uri,
            "bucket": self.object.bucket,
            "key": self.object.key,
            "version": self.object.version,
            "etag": self.object.etag,
            "sha256": self.object.sha256,
            "label": self.label.value,
            "action": self.action.value,
            "risk_score": None if self.risk_score is None else round(self.risk_score, 4),
            "error_reason": self.error["reason"] if self.error else None,
            "fingerprint": self.fingerprint,
            "pipeline_version": self.pipeline_version,
            "scanned_at": self.scanned_at,
            "revision": self.revision,
            "supersedes": self.supersedes,
        }


def verdict_id(obj: ObjectIdentity, fingerprint: str, revision: int = 1) -> str:
    """Stable id of the verdict on one object version by one scanner configuration; known
    before the scan ends, so an asynchronous endpoint can echo it back with its answer."""
    ident = f"{obj.uri}|{obj.version or obj.etag}|{fingerprint}"
    if revision > 1:
        ident += f"|r{revision}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


@cache
def verdict_schema() -> dict[str, Any]:
    text = resources.files("fakewatch").joinpath("schemas/verdict.schema.json").read_text()
    return dict(json.loads(text))


def validate_verdict(doc: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError if ``doc`` is not a valid verdict document."""
    import jsonschema

    jsonschema.validate(doc, verdict_schema(), cls=jsonschema.Draft202012Validator)
