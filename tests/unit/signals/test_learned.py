"""The learned-model signal end to end: real intake, real ONNX models built here."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from fractions import Fraction
from io import BytesIO
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from fakewatch.media.intake import open_media
from fakewatch.media.limits import Limits
from fakewatch.media.types import Frame, Media, MediaKind, MediaType
from fakewatch.models import SESSIONS
from fakewatch.models.faces import reset_default_face_detector
from fakewatch.settings import MODEL_MANIFEST
from fakewatch.signals.base import Status
from fakewatch.signals.learned import LearnedModelSignal
from fakewatch.testing.onnx_models import schematic_face, statistic_classifier, write_model


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    SESSIONS.clear()
    yield
    SESSIONS.clear()


@pytest.fixture
def stat(tmp_path: Path) -> Path:
    return write_model(
        tmp_path / "stat",
        statistic_classifier(),
        name="redness",
        version="2.1",
        domain="flat colour test cards",
    )


def png(rgb: np.ndarray) -> bytes:
    out = BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def solid(rgb: tuple[int, int, int], size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (*size, 3)).copy()


def mp4(colours: list[tuple[int, int, int]], fps: int = 4) -> bytes:
    """An H.264 MP4, one frame per colour, every frame a keyframe."""
    out = BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.codec_context.options = {"g": "1", "crf": "10"}
        for rgb in colours:
            frame = av.VideoFrame.from_ndarray(solid(rgb, (64, 64)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()


# -- images --------
def test_a_red_image_leans_synthetic_with_plain_evidence(stat: Path) -> None:
    result = LearnedModelSignal(stat).run(open_media(png(solid((255, 0, 0))), "a.png"))
    assert result.status is Status.OK
    assert result.score == pytest.approx(1 / (1 + np.exp(-8.0)), abs=1e-4)
    assert result.confidence == pytest.approx(0.8 * (2 * result.score - 1), abs=1e-4)
    assert not result.strong  # a classifier alone never justifies the label
    text = " ".join(result.evidence)
    assert "Learned model redness v2.1" in text and "leans synthetic" in text
    assert "flat colour test cards" in text
    assert result.details["model"]["name"] == "redness"
    assert result.details["provider"] == "CPUExecutionProvider"
    assert result.details["frames_scored"] == 1 and result.details["in_domain"] is True
    json.dumps(result.to_dict())  # JSON-safe


def test_a_blue_image_does_not_lean_synthetic(stat: Path) -> None:
    result = LearnedModelSignal(stat).run(open_media(png(solid((0, 0, 255))), "b.png"))
    assert result.status is Status.OK and result.score is not None and result.score < 0.01
    assert "does not lean synthetic" in result.evidence[0]


def test_the_threshold_recentres_the_score(tmp_path: Path) -> None:
    path = write_model(tmp_path, statistic_classifier(), calibration={"threshold": 0.9})
    grey_red = solid((128, 0, 64))  # P ≈ sigmoid(2.0) ≈ 0.88, just under the 0.9 threshold
    result = LearnedModelSignal(path).run(open_media(png(grey_red)))
    assert result.score is not None and 0.45 < result.score < 0.5
    assert result.details["probability"] == pytest.approx(0.8808, abs=1e-3)


def test_model_info_names_the_model_and_hash(stat: Path) -> None:
    info = LearnedModelSignal(stat).model_info()
    assert (info.name, info.version) == ("redness", "2.1")
    assert info.sha256 == json.loads(stat.read_text())["sha256"]


def test_construction_is_cheap_and_loading_happens_once(stat: Path) -> None:
    signals = [LearnedModelSignal(stat) for _ in range(3)]
    assert SESSIONS.created == 0
    media = open_media(png(solid((255, 0, 0))))
    for signal in signals:
        signal.run(media)
        signal.run(media)
    assert SESSIONS.created == 1


# -- video --------
def test_video_frames_are_scored_in_batches_and_the_peak_is_located(tmp_path: Path) -> None:
    path = write_model(tmp_path, statistic_classifier(), input={"max_batch": 3})
    colours = [(0, 0, 255)] * 5 + [(255, 0, 0)] * 2 + [(0, 0, 255)] * 1
    media = open_media(
        mp4(colours),
        "clip.mp4",
        Limits(max_analysed_frames=16, video_sample_fps=4.0),
    )
    assert media.kind is MediaKind.VIDEO and len(media.frames) == 8
    signal = LearnedModelSignal(path)
    calls: list[int] = []
    real_run = signal.runner.loaded.session.run

    def counting_run(names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        calls.append(next(iter(feed.values())).shape[0])
        return list(real_run(names, feed))

    signal.runner.loaded.session.run = counting_run  # spy on the real session
    try:
        result = signal.run(media)
    finally:
        signal.runner.loaded.session.run = real_run
    assert result.status is Status.OK, result.evidence
    assert calls == [3, 3, 2]
    # two red frames of eight: the upper quarter is exactly those two
    assert result.score is not None and result.score > 0.99
    top = result.details["top_frames"]
    assert {t["index"] for t in top[:2]} == {5, 6}
    assert top[0]["timestamp_s"] == pytest.approx(top[0]["index"] / 4, abs=0.01)
    assert re.match(r"Highest-scoring frame: #[56] at 1\.(25|50) s", result.evidence[1])
    assert result.details["in_domain"] is False  # an image model on video frames
    assert "outside its declared modality" in result.evidence[-1]


def test_a_video_frame_model_is_in_domain_on_video(tmp_path: Path) -> None:
    path = write_model(tmp_path, statistic_classifier(), modality="video-frame")
    media = open_media(mp4([(255, 0, 0)] * 3), "v.mp4", Limits(video_sample_fps=4.0))
    result = LearnedModelSignal(path).run(media)
    assert result.details["in_domain"] is True
    assert result.confidence == pytest.approx(0.8 * (2 * result.score - 1), abs=1e-3)


def test_frames_beyond_max_frames_are_sampled_evenly(stat: Path) -> None:
    frames = [Frame(i, solid((i * 8, 0, 0)), i / 10) for i in range(30)]
    media = Media(b"", MediaType(MediaKind.VIDEO, "mp4", "video/mp4"), frames=frames)
    result = LearnedModelSignal(stat, max_frames=6).run(media)
    assert result.details["frames_scored"] == 6
    assert result.details["top_frames"][0]["index"] == 29


# -- face-crop models --------
@pytest.fixture
def face_model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "face", statistic_classifier(), crop="face", name="faces")


def test_a_face_model_scores_the_face(face_model: Path) -> None:
    pytest.importorskip("cv2", reason="the `faces` extra is not installed")
    result = LearnedModelSignal(face_model).run(open_media(png(schematic_face(200, (400, 400)))))
    assert result.status is Status.OK, result.evidence
    assert result.details["frames_with_face"] == 1
    assert "the largest face in this image" in result.evidence[0]


def test_no_face_is_not_applicable_never_a_neutral_score(face_model: Path) -> None:
    pytest.importorskip("cv2", reason="the `faces` extra is not installed")
    result = LearnedModelSignal(face_model).run(open_media(png(solid((90, 90, 90), (300, 300)))))
    assert result.status is Status.NOT_APPLICABLE
    assert result.evidence == ("no face found in the image",)
    assert result.score is None


def test_without_the_faces_extra_a_face_model_is_not_applicable(
    face_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_default_face_detector()
    monkeypatch.setitem(sys.modules, "cv2", None)
    try:
        result = LearnedModelSignal(face_model).run(open_media(png(schematic_face())))
    finally:
        reset_default_face_detector()
    assert result.status is Status.NOT_APPLICABLE
    assert "pip install fakewatch[faces]" in result.evidence[0]


# -- what it does not analyse, and failures --------
def test_audio_is_not_applicable(stat: Path) -> None:
    media = Media(b"RIFF", MediaType(MediaKind.AUDIO, "wav", "audio/wav"))
    result = LearnedModelSignal(stat).run(media)
    assert result.status is Status.NOT_APPLICABLE
    assert "image model; it does not analyse audio" in result.evidence[0]


def test_an_audio_model_says_its_input_path_is_not_there_yet(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        statistic_classifier(),
        modality="audio",
        input={"kind": "log-mel", "n_mels": 64, "sample_rate": 16000, "window": 400},
    )
    media = Media(b"RIFF", MediaType(MediaKind.AUDIO, "wav", "audio/wav"))
    result = LearnedModelSignal(path).run(media)
    assert result.status is Status.NOT_APPLICABLE
    assert "log-mel input is not implemented yet" in result.evidence[0]


def test_unconfigured_it_is_not_applicable_and_says_how_to_configure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MODEL_MANIFEST, raising=False)
    result = LearnedModelSignal().run(open_media(png(solid((255, 0, 0)))))
    assert result.status is Status.NOT_APPLICABLE
    assert MODEL_MANIFEST in result.evidence[0]


def test_the_manifest_can_come_from_the_environment(
    stat: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_MANIFEST, str(stat))
    result = LearnedModelSignal().run(open_media(png(solid((255, 0, 0)))))
    assert result.status is Status.OK and result.details["model"]["name"] == "redness"


def test_a_tampered_model_fails_the_signal_with_the_reason(stat: Path) -> None:
    (stat.parent / "model.onnx").write_bytes(statistic_classifier(bias=3.0).to_bytes())
    result = LearnedModelSignal(stat).run(open_media(png(solid((255, 0, 0)))))
    assert result.status is Status.FAILED
    assert "ModelIntegrityError" in result.evidence[0] and "refusing to load" in result.evidence[0]


def test_a_bad_manifest_fails_the_signal_naming_the_field(tmp_path: Path) -> None:
    path = write_model(tmp_path, statistic_classifier(), input={"layout": "CHWN"})
    result = LearnedModelSignal(path).run(open_media(png(solid((255, 0, 0)))))
    assert result.status is Status.FAILED and "input.layout" in result.evidence[0]


def test_a_hostile_frame_fails_cleanly(stat: Path) -> None:
    frames = [Frame(0, np.zeros((4, 4), np.float64))]
    media = Media(b"", MediaType(MediaKind.VIDEO, "mp4", "video/mp4"), frames=frames)
    result = LearnedModelSignal(stat).run(media)
    assert result.status is Status.FAILED and "H x W x 3 uint8" in result.evidence[0]


def test_media_without_frames_is_not_applicable(stat: Path) -> None:
    media = Media(b"", MediaType(MediaKind.VIDEO, "mp4", "video/mp4"))
    result = LearnedModelSignal(stat).run(media)
    assert result.status is Status.NOT_APPLICABLE and "no decoded frames" in result.evidence[0]


def test_a_variant_carries_its_own_name(stat: Path) -> None:
    faces_signal = LearnedModelSignal.variant("faces")
    result = faces_signal(stat).run(open_media(png(solid((255, 0, 0)))))
    assert result.name == "learned:faces" and LearnedModelSignal.name == "learned"
