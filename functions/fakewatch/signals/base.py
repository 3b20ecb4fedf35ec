"""The signal contract: each analyzer is a small class with one job.

A signal looks at :class:`~fakewatch.media.types.Media` and returns a
:class:`SignalResult`: what it saw (``evidence``, in plain language), how strongly that
points to synthetic or manipulated media (``score``) and how much that reading deserves to be
trusted (``confidence``). A signal that found nothing says so with ``confidence`` 0: absence
of evidence is not evidence of authenticity. A signal that could not run says ``failed``; one
that does not apply to this media says ``not_applicable``. Neither counts as evidence.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from fakewatch.media.types import Media, MediaKind


class Status(StrEnum):
    OK = "ok"
    NOT_APPLICABLE = "not_applicable"
    FAILED = "failed"


@dataclass(frozen=True)
class ModelInfo:
    """Identity of a detector that ran, recorded in every verdict."""

    name: str
    version: str
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class SignalResult:
    """One signal's reading of one object.

    score:      probability-like strength of evidence for synthetic/manipulated media, in
                [0, 1]; ``None`` unless status is ok.
    confidence: how much weight the reading deserves, in [0, 1]; 0 when nothing was found.
    strong:     the evidence alone justifies the ``synthetic`` label (a signed C2PA
                declaration, explicit generator metadata).
    tampering:  the signal saw signs that provenance was altered (invalid signature, hash
                mismatch): reported, never read as proof either way.
    details:    small JSON-safe facts (no pixels, no faces, no raw metadata blobs).
    """

    name: str
    status: Status
    modality: str
    score: float | None = None
    confidence: float = 0.0
    evidence: tuple[str, ...] = ()
    strong: bool = False
    tampering: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    version: str = "1"
    duration_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.status is Status.OK:
            if self.score is None or not 0.0 <= self.score <= 1.0:
                raise ValueError(f"{self.name}: an ok signal needs a score in [0, 1]")
        elif self.score is not None:
            raise ValueError(f"{self.name}: only an ok signal carries a score")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"{self.name}: confidence must lie in [0, 1]")

    @property
    def is_evidence(self) -> bool:
        """Whether fusion may count this reading at all."""
        return self.status is Status.OK and self.confidence > 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "modality": self.modality,
            "status": self.status.value,
            "score": None if self.score is None else round(self.score, 4),
            "confidence": round(self.confidence, 4),
            "strong": self.strong,
            "tampering": self.tampering,
            "evidence": list(self.evidence),
            "details": dict(self.details),
            "duration_ms": round(self.duration_ms, 2),
        }

    @classmethod
    def from_dict(cls, doc: Any) -> SignalResult:
        """A reading from its :meth:`to_dict` form — a verdict document or an endpoint's
        answer, so every field is checked. ValueError names what is wrong."""
        if not isinstance(doc, Mapping):
            raise ValueError(f"a reading must be an object, got {type(doc).__name__}")
        try:
            evidence = doc.get("evidence", [])
            details = doc.get("details", {})
            if not isinstance(evidence, list | tuple) or not all(
                isinstance(e, str) for e in evidence
            ):
                raise ValueError("evidence must be a list of strings")
            if not isinstance(details, Mapping):
                raise ValueError("details must be an object")
            return cls(
                name=_text(doc, "name"),
                status=Status(doc["status"]),
                modality=_text(doc, "modality"),
                score=_number(doc.get("score"), "score", optional=True),
                confidence=_number(doc.get("confidence", 0.0), "confidence") or 0.0,
                evidence=tuple(evidence),
                strong=_flag(doc, "strong"),
                tampering=_flag(doc, "tampering"),
                details=dict(details),
                version=str(doc.get("version", "1")),
                duration_ms=_number(doc.get("duration_ms", 0.0), "duration_ms") or 0.0,
            )
        except KeyError as exc:
            raise ValueError(f"reading lacks field {exc}") from exc


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"reading field {key!r} must be a non-empty string")
    return value


def _flag(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"reading field {key!r} must be true or false")
    return value


def _number(value: Any, key: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"reading field {key!r} must be a finite number, got {value!r}")
    return float(value)


class Signal(ABC):
    """Base class of every analyzer. Subclasses set the class attributes and ``analyze``."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[MediaKind]] = frozenset(MediaKind)

    def applies_to(self, media: Media) -> bool:
        return media.kind in self.modalities

    @abstractmethod
    def analyze(self, media: Media) -> SignalResult:
        """Look at the media and report. May raise; :meth:`run` turns that into ``failed``."""

    def model_info(self) -> ModelInfo:
        return ModelInfo(self.name, self.version)

    # -- helpers for subclasses -------------------------------------------------------------
    def ok(
        self,
        media: Media,
        score: float,
        confidence: float,
        evidence: list[str] | tuple[str, ...],
        **kw: Any,
    ) -> SignalResult:
        return SignalResult(
            self.name,
            Status.OK,
            media.kind.value,
            score=score,
            confidence=confidence,
            evidence=tuple(evidence),
            version=self.version,
            **kw,
        )

    def nothing_found(self, media: Media, evidence: str, **kw: Any) -> SignalResult:
        """Looked and found nothing: score 0 with confidence 0 — not a claim of authenticity."""
        return self.ok(media, 0.0, 0.0, [evidence], **kw)

    def not_applicable(self, media: Media, why: str) -> SignalResult:
        return SignalResult(
            self.name,
            Status.NOT_APPLICABLE,
            media.kind.value,
            evidence=(why,),
            version=self.version,
        )

    def failed(self, media: Media, why: str) -> SignalResult:
        return SignalResult(
            self.name, Status.FAILED, media.kind.value, evidence=(why,), version=self.version
        )

    def run(self, media: Media) -> SignalResult:
        """Run the signal, never raising: errors become ``failed`` with the reason."""
        start = time.perf_counter()
        if not self.applies_to(media):
            result = self.not_applicable(media, f"{self.name} does not analyse {media.kind} media")
        else:
            try:
                result = self.analyze(media)
            except Exception as exc:  # a signal's bug must not sink the scan
                result = self.failed(media, f"{self.name} failed: {type(exc).__name__}: {exc}")
        elapsed = (time.perf_counter() - start) * 1000.0
        return _with_duration(result, elapsed)


def _with_duration(result: SignalResult, ms: float) -> SignalResult:
    from dataclasses import replace

    return replace(result, duration_ms=ms)
