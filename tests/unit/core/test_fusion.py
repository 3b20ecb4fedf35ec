"""Fusion: failed or inapplicable signals are not evidence; disagreement is reported."""

from __future__ import annotations

from fakewatch.fusion import fuse
from fakewatch.signals.base import SignalResult, Status


def ok(name: str, score: float, confidence: float, **kw: object) -> SignalResult:
    return SignalResult(name, Status.OK, "image", score=score, confidence=confidence, **kw)  # type: ignore[arg-type]


def test_nothing_found_is_zero_risk_not_half() -> None:
    fused = fuse([ok("c2pa", 0.0, 0.0), ok("frequency", 0.0, 0.0)])
    assert fused.risk == 0.0 and fused.decisive is None and fused.checked == ("c2pa", "frequency")


def test_failed_and_not_applicable_contribute_nothing() -> None:
    failed = SignalResult("learned", Status.FAILED, "image", evidence=("boom",))
    na = SignalResult("audio", Status.NOT_APPLICABLE, "image")
    alone = fuse([ok("frequency", 0.8, 0.5)])
    assert fuse([ok("frequency", 0.8, 0.5), failed, na]).risk == alone.risk
    assert fuse([failed, na]).checked == () and fuse([failed]).unusable == ("learned",)


def test_independent_evidence_accumulates_and_decisive_is_the_largest() -> None:
    one = fuse([ok("frequency", 0.8, 0.5)])
    two = fuse([ok("frequency", 0.8, 0.5), ok("learned", 0.9, 0.7)])
    assert two.risk > one.risk and two.decisive is not None and two.decisive.name == "learned"
    assert abs(two.risk - (1 - (1 - 0.4) * (1 - 0.63))) < 1e-6


def test_weights_scale_a_signal() -> None:
    assert (
        fuse([ok("frequency", 0.8, 0.5)], {"frequency": 0.5}).risk
        < fuse([ok("frequency", 0.8, 0.5)]).risk
    )


def test_strong_and_tampering_are_surfaced() -> None:
    fused = fuse([ok("c2pa", 0.97, 0.9, strong=True), ok("meta", 0.2, 0.3, tampering=True)])
    assert [r.name for r in fused.strong] == ["c2pa"] and [r.name for r in fused.tampering] == [
        "meta"
    ]


def test_disagreement_across_modalities_is_reported() -> None:
    video = ok("learned", 0.9, 0.8)
    audio = SignalResult("voice", Status.OK, "audio", score=0.1, confidence=0.7)
    (note,) = fuse([video, audio]).disagreements
    assert "learned" in note and "voice" in note and "image vs audio" in note
    assert fuse([ok("a", 0.9, 0.8), ok("b", 0.1, 0.2)]).disagreements == ()
