"""Fusion: many signal readings → one risk score, the decisive signal, and disagreements.

Each usable reading contributes evidence ``e = min(1, weight × confidence × score)``; the risk
is the noisy-OR ``1 − Π(1 − e)``: the chance that at least one signal is right. Failed and
inapplicable signals, and readings with confidence 0 ("found nothing"), contribute nothing:
absence of evidence never lowers the risk and never reads as authenticity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fakewatch.signals.base import SignalResult, Status

HIGH, LOW, SURE = 0.7, 0.3, 0.5  # what counts as a confident "yes" / "no" for disagreement


@dataclass(frozen=True)
class Fused:
    risk: float
    decisive: SignalResult | None  # the reading that contributed most evidence
    strong: tuple[SignalResult, ...]  # readings that alone justify "synthetic"
    tampering: tuple[SignalResult, ...]
    disagreements: tuple[str, ...]
    checked: tuple[str, ...]  # signals that ran (ok)
    unusable: tuple[str, ...]  # signals that failed


def evidence_of(result: SignalResult, weights: Mapping[str, float]) -> float:
    if not result.is_evidence or result.score is None:
        return 0.0
    weight = weights.get(result.name, weights.get(result.name.split(":", 1)[0], 1.0))
    return min(1.0, weight * result.confidence * result.score)


def fuse(results: Sequence[SignalResult], weights: Mapping[str, float] | None = None) -> Fused:
    weights = weights or {}
    remaining, decisive, best = 1.0, None, 0.0
    for result in results:
        e = evidence_of(result, weights)
        remaining *= 1.0 - e
        if e > best:
            decisive, best = result, e
    ok = [r for r in results if r.status is Status.OK]
    return Fused(
        risk=round(1.0 - remaining, 6),
        decisive=decisive,
        strong=tuple(r for r in ok if r.strong and r.score is not None and r.score >= HIGH),
        tampering=tuple(r for r in ok if r.tampering),
        disagreements=_disagreements(ok),
        checked=tuple(r.name for r in ok),
        unusable=tuple(r.name for r in results if r.status is Status.FAILED),
    )


def _disagreements(ok: Sequence[SignalResult]) -> tuple[str, ...]:
    confident = [r for r in ok if r.confidence >= SURE and r.score is not None]
    yes = [r for r in confident if r.score is not None and r.score >= HIGH]
    no = [r for r in confident if r.score is not None and r.score <= LOW]
    notes = []
    for a in yes:
        for b in no:
            across = f" ({a.modality} vs {b.modality})" if a.modality != b.modality else ""
            notes.append(
                f"{a.name} points to synthetic media (score {a.score:.2f}) while {b.name} "
                f"does not (score {b.score:.2f}){across}"
            )
    return tuple(notes)
