"""The model manifest: what an ONNX detector is, how to feed it and how to read it.

A manifest is a small JSON or YAML document validated against
``fakewatch/schemas/model-manifest.schema.json``. Errors name the field that is wrong
(``input.layout: 'NCWH' is not one of ['NCHW', 'NHWC']``) and are raised as
:class:`~fakewatch.errors.ConfigError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fakewatch.errors import ConfigError

Layout = Literal["NCHW", "NHWC"]
OutputKind = Literal["logits", "probabilities", "sigmoid"]
Modality = Literal["image", "video-frame", "audio"]
Crop = Literal["whole_image", "face"]
MAX_MANIFEST_BYTES = 64 * 1024
MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class InputSpec:
    """How a frame becomes the model's input tensor."""

    name: str
    kind: Literal["image", "log-mel"] = "image"
    layout: Layout = "NCHW"
    size: tuple[int, int] = (224, 224)  # height, width
    color: Literal["RGB", "BGR"] = "RGB"
    dtype: Literal["float32", "float16", "uint8"] = "float32"
    scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: Literal["stretch", "letterbox", "center_crop"] = "stretch"
    interpolation: Literal["nearest", "bilinear", "bicubic", "lanczos"] = "bilinear"
    pad_value: int = 0
    max_batch: int = 16
    n_mels: int | None = None
    sample_rate: int | None = None
    window: int | None = None
    hop: int | None = None


@dataclass(frozen=True)
class OutputSpec:
    """Which output to read, what its numbers are, and which labels mean synthetic."""

    name: str
    kind: OutputKind
    labels: tuple[str, ...]
    positive: tuple[str, ...]

    @property
    def positive_indices(self) -> tuple[int, ...]:
        return tuple(self.labels.index(label) for label in self.positive)


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    threshold: float = 0.5
    max_confidence: float = 0.8


@dataclass(frozen=True)
class FaceCrop:
    margin: float = 0.3
    min_size: int = 40


@dataclass(frozen=True)
class ModelManifest:
    """A validated manifest. ``base`` is where ``file`` is resolved from (set by the loader)."""

    name: str
    version: str
    sha256: str
    task: str
    modality: Modality
    input: InputSpec
    output: OutputSpec
    license: str
    source: str
    domain: str
    file: str | None = None
    uri: str | None = None
    crop: Crop = "whole_image"
    face: FaceCrop = field(default_factory=FaceCrop)
    calibration: Calibration = field(default_factory=Calibration)
    base: str | None = None

    @property
    def short_sha(self) -> str:
        return self.sha256[:12]


@cache
def schema() -> dict[str, Any]:
    text = resources.files("fakewatch").joinpath("schemas/model-manifest.schema.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def parse_manifest(data: bytes | str, *, origin: str = "model manifest") -> ModelManifest:
    """Parse JSON or YAML text into a validated :class:`ModelManifest`."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ConfigError(f"{origin}: larger than {MAX_MANIFEST_BYTES} bytes; not a manifest")
    try:
        doc = json.loads(data)
    except ValueError:
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{origin}: not valid JSON or YAML ({exc})") from exc
    return manifest_from_dict(doc, origin=origin)


def manifest_from_dict(doc: Any, *, origin: str = "model manifest") -> ModelManifest:
    """Validate a decoded document and build the manifest, naming every wrong field."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{origin}: must be a mapping of fields, got {type(doc).__name__}")
    validate_document(doc, origin=origin)
    manifest = _build(doc)
    _check_consistency(manifest, origin)
    return manifest


def validate_document(doc: dict[str, Any], *, origin: str = "model manifest") -> None:
    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [_describe(e) for e in errors[:MAX_ERRORS_SHOWN]]
        more = len(errors) - len(lines)
        if more:
            lines.append(f"... and {more} more")
        raise ConfigError(f"{origin} is invalid: " + "; ".join(lines))


def _describe(error: ValidationError) -> str:
    where = _path(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field_name = f"{where}.{missing}" if where else missing
        return f"{field_name}: is required"
    if error.validator == "additionalProperties":
        return f"{where or '(top level)'}: {error.message}"
    return f"{where or '(top level)'}: {error.message}"


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _build(doc: dict[str, Any]) -> ModelManifest:
    inp = dict(doc["input"])
    for key in ("size", "mean", "std"):
        if key in inp:
            inp[key] = tuple(inp[key])
    out = doc["output"]
    return ModelManifest(
        name=doc["name"],
        version=str(doc["version"]),
        sha256=doc["sha256"],
        task=doc["task"],
        modality=doc["modality"],
        input=InputSpec(**inp),
        output=OutputSpec(out["name"], out["kind"], tuple(out["labels"]), tuple(out["positive"])),
        license=doc["license"],
        source=doc["source"],
        domain=doc["domain"],
        file=doc.get("file"),
        uri=doc.get("uri"),
        crop=doc.get("crop", "whole_image"),
        face=FaceCrop(**doc.get("face", {})),
        calibration=Calibration(**doc.get("calibration", {})),
    )


def _check_consistency(m: ModelManifest, origin: str) -> None:
    problems: list[str] = []
    if (m.file is None) == (m.uri is None):
        problems.append("file / uri: give exactly one of 'file' (relative path) or 'uri'")
    if m.file is not None and (m.file.startswith("/") or ".." in m.file.split("/")):
        problems.append(f"file: {m.file!r} must be relative to the manifest, without '..'")
    unknown = [p for p in m.output.positive if p not in m.output.labels]
    if unknown:
        problems.append(f"output.positive: {unknown} are not among output.labels {m.output.labels}")
    if set(m.output.positive) == set(m.output.labels) and m.output.kind != "sigmoid":
        problems.append("output.positive: every label is positive; a classifier needs a negative")
    if m.output.kind != "sigmoid" and len(m.output.labels) < 2:
        problems.append(f"output.kind: {m.output.kind} needs at least two labels")
    if m.modality != "audio" and m.input.kind != "image":
        problems.append(f"input.kind: {m.input.kind} input needs modality 'audio'")
    if m.crop == "face" and m.modality == "audio":
        problems.append("crop: 'face' does not apply to an audio model")
    if problems:
        raise ConfigError(f"{origin} is invalid: " + "; ".join(problems))
