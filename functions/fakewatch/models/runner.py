"""Plain batch inference over a manifest-described ONNX classifier.

``ModelRunner`` is what the learned-model signal and the GPU serving application share:

    runner = ModelRunner.load("s3://models/deepfake/manifest.json", store=store, prefer_gpu=True)
    batch = runner.preprocess(frames)          # list of H x W x 3 uint8 RGB arrays
    raw = runner.predict(batch)                # the manifest's output tensor, (N, labels)
    p = runner.probabilities(raw)              # calibrated P(synthetic), (N,)
    p = runner.score_frames(frames)            # all three, in bounded batches

Loading resolves the manifest, finds the model file beside it (or at its ``uri``), reads the
bytes once, checks their SHA-256 against the manifest, then creates the session from those
same bytes — so what was verified is what runs. Sessions are cached per process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakewatch.errors import ConfigError
from fakewatch.models.locate import Location, read_bytes, resolve
from fakewatch.models.manifest import MAX_MANIFEST_BYTES, ModelManifest, parse_manifest
from fakewatch.models.postprocess import synthetic_probability
from fakewatch.models.preprocess import prepare_images
from fakewatch.models.providers import choose_providers
from fakewatch.models.sessions import (
    SESSIONS,
    LoadedSession,
    SessionCache,
    SessionFactory,
    create_session,
    verify_sha256,
)
from fakewatch.ports.store import ObjectStore
from fakewatch.signals.base import ModelInfo

ModelRef = str | Path | ModelManifest
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)", "uint8": "tensor(uint8)"}


def load_manifest(ref: str | Path, *, store: ObjectStore | None = None) -> ModelManifest:
    """Read and validate a manifest from a path, ``package://`` or store URI."""
    location = resolve(ref)
    data = read_bytes(location, store=store, max_bytes=MAX_MANIFEST_BYTES)
    manifest = parse_manifest(data, origin=f"model manifest {location.ref}")
    return dataclasses.replace(manifest, base=location.ref)


def model_location(manifest: ModelManifest) -> Location:
    """Where the manifest's model file is: its ``uri``, or ``file`` beside the manifest."""
    if manifest.uri:
        return resolve(manifest.uri)
    if manifest.base is None or manifest.file is None:
        raise ConfigError(
            f"model {manifest.name}: 'file' is relative to the manifest, but the manifest was "
            "not loaded from a location; load it with load_manifest() or give 'uri'"
        )
    return resolve(manifest.base).sibling(manifest.file)


class ModelRunner:
    """A verified, cached session plus the manifest's pre- and post-processing."""

    def __init__(self, manifest: ModelManifest, loaded: LoadedSession, location: str) -> None:
        self.manifest = manifest
        self.loaded = loaded
        self.location = location
        self._check_io()

    @classmethod
    def load(
        cls,
        ref: ModelRef,
        *,
        store: ObjectStore | None = None,
        prefer_gpu: bool = False,
        providers: Sequence[str] | None = None,
        cache: SessionCache = SESSIONS,
        session_factory: SessionFactory | None = None,
        threads: int | None = None,
    ) -> ModelRunner:
        """Load (or reuse) the model a manifest describes. Raises ModelIntegrityError,
        ConfigError (bad manifest, or a model that does not match it), ObjectNotFound."""
        manifest = ref if isinstance(ref, ModelManifest) else load_manifest(ref, store=store)
        location = model_location(manifest)
        choice = choose_providers(prefer_gpu=prefer_gpu, explicit=providers)
        what = f"model {manifest.name} v{manifest.version} ({location.ref})"

        def build() -> LoadedSession:
            data = read_bytes(location, store=store)
            verify_sha256(data, manifest.sha256, what=what)
            return create_session(data, choice, what=what, factory=session_factory, threads=threads)

        loaded = cache.get_or_create((location.ref, manifest.sha256, choice.providers), build)
        return cls(manifest, loaded, location.ref)

    # -- identity ---------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        return self.loaded.provider

    def model_info(self) -> ModelInfo:
        return ModelInfo(self.manifest.name, self.manifest.version, self.manifest.sha256)

    # -- inference --------------------------------------------------------------------------
    def preprocess(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """RGB frames (H x W x 3 uint8, any size) to one input batch."""
        if self.manifest.input.kind != "image":
            raise ConfigError(
                f"model {self.manifest.name}: {self.manifest.input.kind} input "
                "is not prepared from frames"
            )
        return prepare_images(frames, self.manifest.input)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch; returns the manifest's output tensor as (N, labels)."""
        spec = self.manifest.input
        if not isinstance(batch, np.ndarray) or str(batch.dtype) != spec.dtype:
            got = getattr(batch, "dtype", type(batch).__name__)
            raise ValueError(f"batch dtype {got} does not match input.dtype {spec.dtype}")
        (raw,) = self.loaded.session.run([self.manifest.output.name], {spec.name: batch})
        out = np.asarray(raw)
        return out.reshape(out.shape[0], -1)

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated P(synthetic) per item."""
        return synthetic_probability(
            raw, self.manifest.output, self.manifest.calibration.temperature
        )

    def score_frames(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """P(synthetic) for every frame, run in batches of at most ``input.max_batch``."""
        step = self.manifest.input.max_batch
        parts = [
            self.probabilities(self.predict(self.preprocess(frames[i : i + step])))
            for i in range(0, len(frames), step)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    # -- checks -----------------------------------------------------------------------------
    def _check_io(self) -> None:
        """The manifest must describe this model's real input and output."""
        m, session = self.manifest, self.loaded.session
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = {o.name: o for o in session.get_outputs()}
        where = f"model {m.name}"
        if m.input.name not in inputs:
            raise ConfigError(
                f"{where}: input.name {m.input.name!r} is not an input of the "
                f"model (it has {sorted(inputs)})"
            )
        if m.output.name not in outputs:
            raise ConfigError(
                f"{where}: output.name {m.output.name!r} is not an output of the "
                f"model (it has {sorted(outputs)})"
            )
        node = inputs[m.input.name]
        if m.input.kind == "image":
            _check_image_input(where, m, node.shape, node.type)
        labels = outputs[m.output.name].shape[-1] if outputs[m.output.name].shape else None
        if isinstance(labels, int) and labels != len(m.output.labels):
            raise ConfigError(
                f"{where}: output.labels lists {len(m.output.labels)} labels, "
                f"the model's {m.output.name!r} gives {labels} values"
            )


def _check_image_input(where: str, m: ModelManifest, shape: list[Any], ort_type: str) -> None:
    if ort_type != _ORT_TYPES[m.input.dtype]:
        raise ConfigError(f"{where}: input.dtype {m.input.dtype} but the model takes {ort_type}")
    if len(shape) != 4:
        raise ConfigError(
            f"{where}: input {m.input.name!r} has rank {len(shape)}, "
            f"an image model takes 4 ({m.input.layout})"
        )
    h, w = m.input.size
    want = [3, h, w] if m.input.layout == "NCHW" else [h, w, 3]
    for have, need, axis in zip(shape[1:], want, m.input.layout[1:], strict=True):
        if isinstance(have, int) and have != need:
            raise ConfigError(
                f"{where}: input.layout {m.input.layout} / input.size {list(m.input.size)} "
                f"expects {axis}={need}, the model's input shape is {shape}"
            )
