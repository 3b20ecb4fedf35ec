"""The scanner decides from signals; failures are never a silent neutral score."""

from __future__ import annotations

from fakewatch.labels import Action, Label
from fakewatch.policy import Policy
from fakewatch.samples import photo_like_jpeg, small_wav
from fakewatch.scanner import Scanner
from fakewatch.signals.base import ModelInfo
from fakewatch.testing.fakes import BrokenSignal, FixedSignal
from fakewatch.verdict import ObjectIdentity, validate_verdict

OBJ = ObjectIdentity(uri="memory://b/k.jpg", bucket="b", key="k.jpg")


def test_every_signal_failing_is_an_error_not_no_evidence() -> None:
    verdict = Scanner([BrokenSignal()]).scan(photo_like_jpeg(), OBJ)
    assert verdict.label is Label.ERROR and verdict.error_reason == "no_signal"
    assert "detector crashed" in verdict.error["detail"]  # type: ignore[index]
    assert verdict.signals[0]["status"] == "failed"
    validate_verdict(verdict.to_dict())


def test_one_failed_signal_is_reported_beside_the_others() -> None:
    verdict = Scanner([BrokenSignal(), FixedSignal(0.0, 0.0)]).scan(photo_like_jpeg(), OBJ)
    assert verdict.label is Label.NO_EVIDENCE
    assert [s["status"] for s in verdict.signals] == ["failed", "ok"]
    assert "not proof that the media is authentic" in verdict.explanation


def test_explanation_names_signal_confidence_and_threshold() -> None:
    verdict = Scanner([FixedSignal(0.8, 0.8)]).scan(photo_like_jpeg(), OBJ)
    assert verdict.label is Label.SUSPICIOUS and verdict.action is Action.REVIEW
    assert "fixed" in verdict.explanation and "confidence 0.80" in verdict.explanation
    assert "review threshold 0.50" in verdict.explanation


def test_fingerprint_tracks_models_and_policy() -> None:
    a = Scanner([FixedSignal(0, 0)])
    b = Scanner([FixedSignal(0, 0)], Policy(signals=("fixed",)))

    class V2(FixedSignal):
        def model_info(self) -> ModelInfo:
            return ModelInfo("fixed", "2", "ab" * 32)

    assert a.fingerprint != b.fingerprint != Scanner([V2(0, 0)]).fingerprint
    assert a.fingerprint == Scanner([FixedSignal(0, 0)]).fingerprint


def test_media_kind_skip_rule() -> None:
    from fakewatch.policy import load_policy

    policy = load_policy("skip: {media_kinds: [audio]}")
    verdict = Scanner([FixedSignal(0.9, 0.9)], policy).scan(small_wav(), OBJ)
    assert (
        verdict.label is Label.SKIPPED and verdict.skip_reason == "audio media is skipped by policy"
    )


def test_verdicts_hold_no_media() -> None:
    data = photo_like_jpeg()
    text = Scanner([FixedSignal(0.8, 0.8)]).scan(data, OBJ).to_json()
    assert data[:64].hex() not in text and "rgb" not in text


def test_video_frames_go_through_the_image_signals() -> None:
    from fakewatch.samples import small_mp4

    verdict = Scanner.default().scan(small_mp4(frames=20, size=160, fps=10), OBJ)
    by_name = {s["name"]: s for s in verdict.signals}
    assert verdict.object.media_type == {"kind": "video", "format": "mp4", "mime": "video/mp4"}
    assert by_name["frequency"]["modality"] == "video" and by_name["frequency"]["status"] == "ok"
    assert by_name["c2pa"]["status"] in {"ok", "not_applicable"}
    validate_verdict(verdict.to_dict())


def test_audio_gets_provenance_and_frequency_says_not_applicable() -> None:
    verdict = Scanner.default().scan(small_wav(), OBJ)
    by_name = {s["name"]: s for s in verdict.signals}
    assert by_name["frequency"]["status"] == "not_applicable"
    assert by_name["c2pa"]["status"] == "ok" and verdict.label is Label.NO_EVIDENCE
    assert "checked: c2pa" in verdict.explanation


def test_weak_evidence_below_threshold_is_named_not_hidden() -> None:
    verdict = Scanner([FixedSignal(0.4, 0.5)]).scan(photo_like_jpeg(), OBJ)
    assert verdict.label is Label.NO_EVIDENCE and verdict.risk_score == 0.2
    assert "strongest reading" in verdict.explanation and "fixed reading" in verdict.explanation
    assert "0.20 < 0.50" in verdict.explanation
