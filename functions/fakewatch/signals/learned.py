"""The learned-model signal: an ONNX classifier described by a model manifest.

Name: ``learned``; the model that ran is in ``details["model"]`` and in
:meth:`model_info`. A deployment running two models makes a second name with
:meth:`LearnedModelSignal.variant` (``learned:faces``), so both readings appear in a verdict.

Images are scored whole (or on the largest face, for face-crop models); videos and
animations frame by frame, in batches, and the upper quarter of per-frame scores makes the
video's score (robust to one odd frame, still sensitive to a manipulated stretch). A learned
model is never ``strong`` evidence alone: its accuracy is limited to the domain it was trained
on, which the evidence says in words.

Construction is cheap; the manifest is read and the session created on first use, once
per process (sessions are shared through :data:`fakewatch.models.SESSIONS`). Built with no
manifest (as the signal registry does), it reads the reference from
``FAKEWATCH_MODEL_MANIFEST`` on first use, and is ``not_applicable`` when that is unset.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakewatch.errors import ConfigError
from fakewatch.media.types import Media, MediaKind
from fakewatch.models.faces import (
    FACES_EXTRA_HINT,
    FaceDetector,
    default_face_detector,
    largest_face_crop,
)
from fakewatch.models.manifest import ModelManifest
from fakewatch.models.postprocess import centred_score, confidence
from fakewatch.models.runner import ModelRunner, load_manifest
from fakewatch.ports.store import ObjectStore
from fakewatch.settings import MODEL_MANIFEST
from fakewatch.signals.base import ModelInfo, Signal, SignalResult

DEFAULT_MAX_FRAMES = 32
TOP_FRAMES_REPORTED = 5
_USE_DEFAULT_DETECTOR: Any = object()
NOT_CONFIGURED = f"set {MODEL_MANIFEST} to a manifest path, package:// or store URI"


class LearnedModelSignal(Signal):
    """Runs one manifest-described ONNX classifier over an image's pixels or a video's frames."""

    name = "learned"
    version = "1"
    modalities = frozenset({MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO})

    def __init__(
        self,
        manifest: str | Path | ModelManifest | None = None,
        *,
        store: ObjectStore | None = None,
        prefer_gpu: bool = False,
        providers: Sequence[str] | None = None,
        max_frames: int = DEFAULT_MAX_FRAMES,
        face_detector: FaceDetector | None = _USE_DEFAULT_DETECTOR,
    ) -> None:
        self._ref = manifest
        self._store = store
        self._prefer_gpu = prefer_gpu
        self._providers = tuple(providers) if providers else None
        self.max_frames = max(1, max_frames)
        self._face_detector = face_detector
        self._lock = threading.Lock()
        self._manifest: ModelManifest | None = (
            manifest if isinstance(manifest, ModelManifest) else None
        )
        self._runner: ModelRunner | None = None

    @classmethod
    def variant(cls, label: str) -> type[LearnedModelSignal]:
        """A subclass named ``learned:<label>``, for a second model in the same scan."""
        return type(f"LearnedModelSignal_{label}", (cls,), {"name": f"learned:{label}"})

    # -- lazy, once-per-instance set-up (the session itself is cached per process) ------------
    @property
    def configured(self) -> bool:
        """Whether a manifest was given or ``FAKEWATCH_MODEL_MANIFEST`` names one."""
        return self._ref is not None or bool(os.environ.get(MODEL_MANIFEST))

    @property
    def manifest(self) -> ModelManifest:
        if self._manifest is None:
            with self._lock:
                if self._manifest is None:
                    ref = self._ref or os.environ.get(MODEL_MANIFEST)
                    if not ref or isinstance(ref, ModelManifest):
                        raise ConfigError(f"no learned model configured: {NOT_CONFIGURED}")
                    self._manifest = load_manifest(ref, store=self._store)
        return self._manifest

    @property
    def runner(self) -> ModelRunner:
        if self._runner is None:
            manifest = self.manifest
            with self._lock:
                if self._runner is None:
                    self._runner = ModelRunner.load(
                        manifest,
                        store=self._store,
                        prefer_gpu=self._prefer_gpu,
                        providers=self._providers,
                    )
        return self._runner

    def model_info(self) -> ModelInfo:
        if not self.configured:
            return ModelInfo(self.name, self.version)
        m = self.manifest
        return ModelInfo(m.name, m.version, m.sha256)

    # -- analysis ---------------------------------------------------------------------------
    def analyze(self, media: Media) -> SignalResult:
        if not self.configured:
            return self.not_applicable(media, f"no learned model configured: {NOT_CONFIGURED}")
        m = self.manifest
        if m.modality == "audio" or media.kind is MediaKind.AUDIO:
            return self.not_applicable(media, self._audio_reason(m, media))
        frames = self._frames(media)
        if not frames:
            return self.not_applicable(media, "no decoded frames to analyse")
        inputs, kept = [f[2] for f in frames], frames
        if m.crop == "face":
            detector = self._detector()
            if detector is None:
                return self.not_applicable(media, FACES_EXTRA_HINT)
            kept = self._faces(frames, detector, m)
            if not kept:
                where = "the image" if len(frames) == 1 else f"any of {len(frames)} sampled frames"
                return self.not_applicable(media, f"no face found in {where}")
            inputs = [f[2] for f in kept]
        probabilities = self.runner.score_frames(inputs)
        return self._reading(media, m, kept, len(frames), probabilities)

    def _audio_reason(self, m: ModelManifest, media: Media) -> str:
        if m.modality != "audio":
            return f"model {m.name} is a {m.modality} model; it does not analyse audio"
        if media.kind is not MediaKind.AUDIO:
            return f"model {m.name} is an audio model; it does not analyse {media.kind}"
        return (
            f"audio model {m.name} not run: log-mel input is not implemented yet "
            "(intake does not hand decoded audio samples to signals)"
        )

    def _frames(self, media: Media) -> list[tuple[int, float | None, np.ndarray]]:
        """(index, timestamp, rgb) of up to ``max_frames`` frames, evenly sampled."""
        if media.frames:
            chosen = media.frames
            if len(chosen) > self.max_frames:
                picks = np.linspace(0, len(chosen) - 1, self.max_frames).round().astype(int)
                chosen = [chosen[i] for i in sorted(set(picks.tolist()))]
            return [(f.index, f.timestamp_s, f.rgb) for f in chosen]
        if media.image is not None:
            return [(0, None, np.asarray(media.image.convert("RGB")))]
        return []

    def _detector(self) -> FaceDetector | None:
        if self._face_detector is _USE_DEFAULT_DETECTOR:
            return default_face_detector()
        detector: FaceDetector | None = self._face_detector
        return detector

    @staticmethod
    def _faces(
        frames: list[tuple[int, float | None, np.ndarray]], detector: FaceDetector, m: ModelManifest
    ) -> list[tuple[int, float | None, np.ndarray]]:
        kept = []
        for index, ts, rgb in frames:
            crop = largest_face_crop(rgb, detector, margin=m.face.margin, min_size=m.face.min_size)
            if crop is not None:
                kept.append((index, ts, crop))
        return kept

    # -- the reading ------------------------------------------------------------------------
    def _reading(
        self,
        media: Media,
        m: ModelManifest,
        frames: list[tuple[int, float | None, np.ndarray]],
        sampled: int,
        probabilities: np.ndarray,
    ) -> SignalResult:
        cal = m.calibration
        per_frame = [centred_score(float(p), cal.threshold) for p in probabilities]
        score = _upper_quarter_mean(per_frame)
        in_domain = _in_domain(m, media)
        conf = confidence(score, cal.max_confidence, in_domain=in_domain)
        evidence = _evidence(m, media, frames, sampled, per_frame, score, in_domain)
        details: dict[str, Any] = {
            "model": self.model_info().to_dict(),
            "provider": self.runner.provider,
            "probability": round(_upper_quarter_mean([float(p) for p in probabilities]), 4),
            "threshold": cal.threshold,
            "temperature": cal.temperature,
            "crop": m.crop,
            "frames_scored": len(frames),
            "in_domain": in_domain,
        }
        if self.runner.loaded.fallback:
            details["provider_fallback"] = self.runner.loaded.fallback
        if m.crop == "face":
            details["frames_with_face"] = len(frames)
            details["frames_sampled"] = sampled
        if len(frames) > 1:
            details["top_frames"] = _top_frames(frames, per_frame)
        return self.ok(media, score, conf, evidence, details=details)


def _upper_quarter_mean(values: Sequence[float]) -> float:
    k = max(1, math.ceil(len(values) / 4))
    return float(np.mean(sorted(values, reverse=True)[:k]))


def _in_domain(m: ModelManifest, media: Media) -> bool:
    if m.modality == "image":
        return media.kind is MediaKind.IMAGE
    return media.kind is MediaKind.VIDEO  # video-frame model


def _top_frames(
    frames: list[tuple[int, float | None, np.ndarray]], scores: list[float]
) -> list[dict[str, Any]]:
    order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    return [
        {"index": frames[i][0], "timestamp_s": frames[i][1], "score": round(scores[i], 4)}
        for i in order[:TOP_FRAMES_REPORTED]
    ]


def _evidence(
    m: ModelManifest,
    media: Media,
    frames: list[tuple[int, float | None, np.ndarray]],
    sampled: int,
    per_frame: list[float],
    score: float,
    in_domain: bool,
) -> list[str]:
    positive = "/".join(repr(p) for p in m.output.positive)
    leaning = "leans synthetic" if score > 0.5 else "does not lean synthetic"
    what = "the largest face in " if m.crop == "face" else ""
    if len(frames) == 1:
        target = f"{what}this {media.kind.value}"
    else:
        target = f"{what}{len(frames)} of {sampled} sampled frames (upper-quarter average)"
    lines = [
        f"Learned model {m.name} v{m.version} (sha256 {m.short_sha}) rates {target} "
        f"{score:.2f} for {positive}, where 0.50 is its decision threshold: {leaning}."
    ]
    if len(frames) > 1:
        best = int(np.argmax(per_frame))
        index, ts, _ = frames[best]
        when = f" at {ts:.2f} s" if ts is not None else ""
        lines.append(f"Highest-scoring frame: #{index}{when} ({per_frame[best]:.2f}).")
    lines.append(
        f"Its accuracy holds only in the domain it was trained on: {m.domain.rstrip('.')}."
    )
    if not in_domain:
        lines.append(
            f"It is a {m.modality} model applied to a {media.kind.value}, outside its declared "
            "modality, so its confidence is halved."
        )
    return lines
