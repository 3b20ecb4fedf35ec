"""The signal contract: each analyzer is a small class with one job.

A signal looks at :class:`~fakewatch.media.types.Media` and returns a
:class:`SignalResult`: what it saw (``evidence``, in plain language), how strongly that
points to synthetic or manipulated media (``score``) and how much that reading deserves to be
trusted (``confidence``). A signal that found nothing says so with ``confidence`` 0: absence
of evidence is not evidence of authenticity. A signal that could not run says ``failed``; one
that does not apply to this media says ``not_applicable``. Neither counts as evidence.
"""

from __future__ import annotations

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
    def from_dict(cls, doc: Mapping[str, Any]) -> SignalResult:
        """A reading back from a verdict document (the inverse of :meth:`to_dict`)."""
        return cls(
            name=str(doc["name"]),
            status=Status(doc["status"]),
            modality=str(doc["modality"]),
            score=doc.get("score"),
            confidence=float(doc.get("confidence", 0.0)),
            evidence=tuple(doc.get("evidence", ())),
            strong=bool(doc.get("strong", False)),
            tampering=bool(doc.get("tampering", False)),
            details=dict(doc.get("details") or {}),
            version=str(doc.get("version", "1")),
            duration_ms=float(doc.get("duration_ms", 0.0)),
        )


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
