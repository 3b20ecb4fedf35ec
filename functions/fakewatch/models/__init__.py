"""Learned detectors: ONNX classifiers described by a manifest, verified by hash, run once
loaded per process. See ``docs/models.md`` for packaging your own detector.

The heavy pieces (onnxruntime, OpenCV) are imported when a model is first loaded, so
importing this package stays cheap.
"""

from __future__ import annotations

from fakewatch.models.faces import FACES_EXTRA_HINT, FaceDetector, HaarFaceDetector
from fakewatch.models.locate import Location, resolve
from fakewatch.models.manifest import (
    Calibration,
    FaceCrop,
    InputSpec,
    ModelManifest,
    OutputSpec,
    manifest_from_dict,
    parse_manifest,
)
from fakewatch.models.providers import ProviderChoice, choose_providers
from fakewatch.models.runner import ModelRunner, load_manifest, model_location
from fakewatch.models.sessions import SESSIONS, LoadedSession, ModelLoadError, SessionCache

__all__ = [
    "FACES_EXTRA_HINT",
    "SESSIONS",
    "Calibration",
    "FaceCrop",
    "FaceDetector",
    "HaarFaceDetector",
    "InputSpec",
    "LoadedSession",
    "Location",
    "ModelLoadError",
    "ModelManifest",
    "ModelRunner",
    "OutputSpec",
    "ProviderChoice",
    "SessionCache",
    "choose_providers",
    "load_manifest",
    "manifest_from_dict",
    "model_location",
    "parse_manifest",
    "resolve",
]
