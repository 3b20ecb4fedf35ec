"""The pipeline for one object's bytes: intake → signals → fusion → escalation → decision.

``Scanner`` is pure: bytes in, :class:`~fakewatch.verdict.Verdict` out, never raising for bad
input. Storage, tagging and quarantine live in :mod:`fakewatch.service`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from fakewatch import PIPELINE_VERSION
from fakewatch.errors import (
    CorruptMedia,
    EscalationUnavailable,
    LimitExceeded,
    ScanTimeout,
    TransientError,
    UnsupportedMedia,
)
from fakewatch.explain import explain, explain_error, explain_skip
from fakewatch.fusion import Fused, fuse
from fakewatch.labels import Action, ErrorReason, Label
from fakewatch.media.intake import open_media
from fakewatch.media.types import Media
from fakewatch.policy import Policy
from fakewatch.ports.escalation import (
    EscalationAnswer,
    EscalationClient,
    EscalationRequest,
    is_pending,
)
from fakewatch.signals.base import ModelInfo, Signal, SignalResult, Status
from fakewatch.verdict import ObjectIdentity, Verdict, verdict_id

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _intake_error(exc: Exception) -> tuple[ErrorReason, str]:
    if isinstance(exc, LimitExceeded):
        return ErrorReason.TOO_LARGE, str(exc)
    if isinstance(exc, ScanTimeout):
        return ErrorReason.TIMEOUT, str(exc)
    if isinstance(exc, UnsupportedMedia):
        return ErrorReason.UNSUPPORTED, str(exc)
    return ErrorReason.CORRUPT, str(exc)


class Scanner:
    """Runs the signals a policy enables over one object and decides."""

    def __init__(
        self,
        signals: Sequence[Signal],
        policy: Policy | None = None,
        escalation: EscalationClient | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.signals = list(signals)
        self.policy = policy or Policy()
        self.escalation = escalation
        self.clock = clock
        self.fingerprint = self._fingerprint()

    @classmethod
    def default(cls, policy: Policy | None = None) -> Scanner:
        return build_scanner(policy)

    def _fingerprint(self) -> str:
        parts = [PIPELINE_VERSION, self.policy.fingerprint()]
        parts += sorted(f"{m.name}@{m.version}#{m.sha256}" for m in self.models())
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def models(self) -> list[ModelInfo]:
        return [s.model_info() for s in self.signals]

    # -- outcomes that are not scans --------------------------------------------------------------
    def _base(self, obj: ObjectIdentity, policy: Policy, started: float) -> dict[str, object]:
        return {
            "object": obj,
            "scanned_at": _iso(self.clock()),
            "pipeline_version": PIPELINE_VERSION,
            "fingerprint": self.fingerprint,
            "policy": policy.summary(),
            "timings": {"total_ms": (time.perf_counter() - started) * 1000.0},
        }

    def error_verdict(
        self,
        obj: ObjectIdentity,
        reason: ErrorReason,
        detail: str,
        *,
        policy: Policy | None = None,
        signals: Sequence[SignalResult] = (),
        started: float | None = None,
    ) -> Verdict:
        policy = policy or self.policy.for_object(obj.bucket, obj.key)
        action = policy.action_for(Label.ERROR)
        return Verdict(
            label=Label.ERROR,
            action=action,
            explanation=explain_error(reason.value, detail, action),
            risk_score=None,
            error={"reason": reason.value, "detail": detail},
            signals=tuple(s.to_dict() for s in signals),
            **self._base(obj, policy, started or time.perf_counter()),  # type: ignore[arg-type]
        )

    def skipped_verdict(
        self, obj: ObjectIdentity, rule: str, *, policy: Policy | None = None
    ) -> Verdict:
        policy = policy or self.policy.for_object(obj.bucket, obj.key)
        action = policy.action_for(Label.SKIPPED)
        return Verdict(
            label=Label.SKIPPED,
            action=action,
            explanation=explain_skip(rule, action),
            risk_score=None,
            skip_reason=rule,
            **self._base(obj, policy, time.perf_counter()),  # type: ignore[arg-type]
        )

    # -- the scan ---------------------------------------------------------------------------------
    def scan(self, data: bytes, obj: ObjectIdentity, tenant: str | None = None) -> Verdict:
        started = time.perf_counter()
        policy = self.policy.for_object(obj.bucket, obj.key, tenant)
        obj = replace(obj, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if not data:
            return self.error_verdict(obj, ErrorReason.EMPTY, "the object is empty", policy=policy)
        try:
            media = open_media(data, obj.key, policy.limits)
        except (UnsupportedMedia, CorruptMedia, LimitExceeded, ScanTimeout) as exc:
            reason, detail = _intake_error(exc)
            return self.error_verdict(obj, reason, detail, policy=policy, started=started)
        intake_ms = (time.perf_counter() - started) * 1000.0
        obj = replace(
            obj,
            media_type={
                "kind": media.kind.value,
                "format": media.type.format,
                "mime": media.type.mime,
            },
        )
        skip = policy.skip.reason_for_kind(media.kind.value)
        if skip:
            return self.skipped_verdict(obj, skip, policy=policy)
        return self._decide(media, obj, policy, started, intake_ms)

    def _run_signals(self, media: Media, policy: Policy) -> list[SignalResult]:
        enabled = set(policy.signals)
        return [s.run(media) for s in self.signals if not enabled or _enabled(s.name, enabled)]

    def _decide(
        self, media: Media, obj: ObjectIdentity, policy: Policy, started: float, intake_ms: float
    ) -> Verdict:
        results = self._run_signals(media, policy)
        signals_ms = sum(r.duration_ms for r in results)
        escalation = None
        fused = fuse(results, policy.weights)
        if policy.escalation.in_grey_zone(fused.risk) and not fused.strong:
            results, escalation = self._escalate(media, obj, results)
        base = self._base(obj, policy, started)
        base["timings"] = {
            "intake_ms": intake_ms,
            "signals_ms": signals_ms,
            "total_ms": (time.perf_counter() - started) * 1000.0,
        }
        return self._judge(obj, policy, results, escalation, base)

    def _judge(
        self,
        obj: ObjectIdentity,
        policy: Policy,
        results: Sequence[SignalResult],
        escalation: Mapping[str, object] | None,
        base: dict[str, object],
        **extra: object,
    ) -> Verdict:
        """Fuse the readings and decide: the same rule for a scan and for its revision."""
        fused = fuse(results, policy.weights)
        if not fused.checked:
            failures = (
                "; ".join(r.evidence[0] for r in results if r.evidence) or "no signal applies"
            )
            verdict = self.error_verdict(
                obj, ErrorReason.NO_SIGNAL, failures, policy=policy, signals=results
            )
            return replace(verdict, escalation=escalation, **extra)  # type: ignore[arg-type]
        label = _label(fused, policy)
        action = _action(label, fused, policy)
        explanation = explain(label, action, fused, policy)
        if escalation and escalation.get("status") == "pending":
            explanation += " A heavier model's reading is pending; it will revise this verdict."
        return Verdict(
            label=label,
            action=action,
            explanation=explanation,
            risk_score=fused.risk,
            signals=tuple(r.to_dict() for r in results),
            disagreements=fused.disagreements,
            escalation=escalation,
            models=tuple(m.to_dict() for m in self.models()),
            **base,  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )

    def _escalate(
        self, media: Media, obj: ObjectIdentity, results: list[SignalResult]
    ) -> tuple[list[SignalResult], dict[str, object]]:
        client = self.escalation
        if client is None:
            return results, {
                "status": "unavailable",
                "endpoint": None,
                "reason": "no endpoint configured",
            }
        request = EscalationRequest(
            uri=obj.uri,
            sha256=obj.sha256 or "",
            media_kind=media.kind,
            mime=media.type.mime,
            data=media.data,
            request_id=verdict_id(obj, self.fingerprint),
        )
        try:
            result = client.escalate(request)
        except (EscalationUnavailable, TransientError, TimeoutError, ConnectionError) as exc:
            note: dict[str, object] = {
                "status": "unavailable",
                "endpoint": client.name,
                "reason": str(exc),
            }
            return results, note
        if is_pending(result):
            return [*results, result], {
                "status": "pending",
                "endpoint": client.name,
                "reason": "asynchronous endpoint: its answer revises this verdict when it lands",
                "request_id": request.request_id,
            }
        return [*results, result], {"status": "used", "endpoint": client.name, "reason": None}

    # -- an asynchronous escalation's answer ------------------------------------------------------
    def revise(self, original: Verdict, answer: EscalationAnswer) -> Verdict:
        """Fold an asynchronous endpoint's answer into the verdict that awaited it: the pending
        placeholder is replaced by the reading (or dropped, on failure) and the decision is
        taken again by the same rule. Revision 2, superseding the original."""
        obj = original.object
        policy = self.policy.for_object(obj.bucket, obj.key)
        results = [SignalResult.from_dict(s) for s in original.signals if not is_pending(s)]
        note: dict[str, object] = {
            **(original.escalation or {}),
            "status": "used" if answer.reading is not None else "failed",
            "endpoint": answer.endpoint,
            "reason": answer.failure,
            "request_id": answer.request_id,
            "mode": "async",
        }
        if answer.reading is not None:
            results.append(answer.reading)
        base = self._base(obj, policy, time.perf_counter())
        base["timings"] = dict(original.timings)
        return self._judge(
            obj,
            policy,
            results,
            note,
            base,
            revision=original.revision + 1,
            supersedes=original.id,
        )


def build_scanner(
    policy: Policy | None = None,
    model: str | None = None,
    escalation: EscalationClient | None = None,
) -> Scanner:
    """The scanner every entry point uses: the policy's signals (default: c2pa,
    generator_metadata, frequency), plus the learned model when a manifest is given
    (path, ``package://`` or store URI — e.g. ``Settings.model_manifest``)."""
    from fakewatch.signals import registry

    policy = policy or Policy()
    signals = registry.build(policy.signals)
    if model and not any(s.name == "learned" for s in signals):
        from fakewatch.signals.learned import LearnedModelSignal

        signals.append(LearnedModelSignal(model))
    return Scanner(signals, policy, escalation=escalation)


def _enabled(name: str, enabled: set[str]) -> bool:
    return name in enabled or name.split(":", 1)[0] in enabled


def _label(fused: Fused, policy: Policy) -> Label:
    if fused.strong:
        return Label.SYNTHETIC
    if fused.risk >= policy.thresholds.review or fused.tampering:
        return Label.SUSPICIOUS
    return Label.NO_EVIDENCE


def _action(label: Label, fused: Fused, policy: Policy) -> Action:
    if label is Label.SUSPICIOUS and fused.risk >= policy.thresholds.quarantine:
        return Action.QUARANTINE
    return policy.action_for(label)


__all__ = ["Scanner", "Status"]
