"""Manifest validation: a bad manifest is refused with an error naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakewatch.errors import ConfigError
from fakewatch.models import load_manifest, manifest_from_dict, parse_manifest
from fakewatch.testing.onnx_models import manifest_for, statistic_classifier, write_model


def good() -> dict[str, Any]:
    return manifest_for(statistic_classifier())


def test_a_complete_manifest_parses_into_typed_fields() -> None:
    m = manifest_from_dict(good())
    assert m.name == "test-model"
    assert m.input.layout == "NCHW" and m.input.size == (32, 32)
    assert m.input.scale == pytest.approx(1 / 255)
    assert m.output.labels == ("real", "synthetic")
    assert m.output.positive_indices == (1,)
    assert m.calibration.threshold == 0.5 and m.calibration.temperature == 1.0
    assert m.crop == "whole_image" and m.modality == "image"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input": {"layout": "NCWH"}}, "input.layout: 'NCWH' is not one of"),
        ({"input": {"size": [224]}}, "input.size"),
        ({"input": {"std": [0.2, 0.0, 0.2]}}, "input.std[1]"),
        ({"output": {"kind": "softmax"}}, "output.kind: 'softmax' is not one of"),
        ({"sha256": "ABC"}, "sha256: 'ABC' does not match"),
        ({"name": "Has Spaces"}, "name: 'Has Spaces' does not match"),
        ({"calibration": {"threshold": 1.0}}, "calibration.threshold"),
        ({"calibration": {"temperature": 0}}, "calibration.temperature"),
        ({"task": "detection"}, "task: 'binary-classification' was expected"),
        ({"crop": "torso"}, "crop: 'torso' is not one of"),
        ({"modality": 3}, "modality: 3 is not one of"),
        ({"labels": ["a", "b"]}, "Additional properties are not allowed ('labels' was unexpected)"),
    ],
)
def test_a_wrong_field_is_named_in_the_error(change: dict[str, Any], message: str) -> None:
    doc = good()
    for key, value in change.items():
        doc[key] = {**doc[key], **value} if isinstance(value, dict) and key in doc else value
    with pytest.raises(ConfigError) as err:
        manifest_from_dict(doc, origin="manifest m.json")
    assert message in str(err.value)
    assert str(err.value).startswith("manifest m.json is invalid")


@pytest.mark.parametrize("field", ["name", "sha256", "input", "output", "domain", "license"])
def test_a_missing_required_field_is_named(field: str) -> None:
    doc = good()
    del doc[field]
    with pytest.raises(ConfigError, match=f"{field}: is required"):
        manifest_from_dict(doc)


def test_a_missing_nested_field_is_named_with_its_path() -> None:
    doc = good()
    del doc["output"]["positive"]
    with pytest.raises(ConfigError, match=r"output\.positive: is required"):
        manifest_from_dict(doc)


def test_image_input_needs_layout_and_size() -> None:
    doc = good()
    del doc["input"]["layout"]
    with pytest.raises(ConfigError, match=r"input\.layout: is required"):
        manifest_from_dict(doc)


def test_several_errors_are_reported_together() -> None:
    doc = good()
    doc["input"]["layout"] = "XY"
    doc["output"]["kind"] = "nope"
    with pytest.raises(ConfigError) as err:
        manifest_from_dict(doc)
    assert "input.layout" in str(err.value) and "output.kind" in str(err.value)


def test_positive_labels_must_be_among_the_labels() -> None:
    doc = good()
    doc["output"]["positive"] = ["fake"]
    with pytest.raises(ConfigError, match=r"output\.positive: \['fake'\] are not among"):
        manifest_from_dict(doc)


def test_a_classifier_needs_a_negative_label() -> None:
    doc = good()
    doc["output"]["positive"] = ["real", "synthetic"]
    with pytest.raises(ConfigError, match="every label is positive"):
        manifest_from_dict(doc)


def test_exactly_one_of_file_and_uri() -> None:
    both = {**good(), "uri": "s3://models/m.onnx"}
    with pytest.raises(ConfigError, match="exactly one of 'file'"):
        manifest_from_dict(both)
    neither = good()
    del neither["file"]
    with pytest.raises(ConfigError, match="exactly one of 'file'"):
        manifest_from_dict(neither)


@pytest.mark.parametrize("path", ["../outside.onnx", "/etc/model.onnx", "a/../../b.onnx"])
def test_file_must_stay_beside_the_manifest(path: str) -> None:
    with pytest.raises(ConfigError, match="must be relative"):
        manifest_from_dict({**good(), "file": path})


def test_audio_models_need_log_mel_input() -> None:
    doc = {**good(), "modality": "audio"}
    with pytest.raises(ConfigError, match=r"input\.kind"):
        manifest_from_dict(doc)
    doc["input"] = {
        "name": "mel",
        "kind": "log-mel",
        "n_mels": 64,
        "sample_rate": 16000,
        "window": 400,
    }
    m = manifest_from_dict(doc)
    assert m.input.kind == "log-mel" and m.input.n_mels == 64


def test_log_mel_input_needs_its_parameters() -> None:
    doc = {**good(), "modality": "audio", "input": {"name": "mel", "kind": "log-mel"}}
    with pytest.raises(ConfigError, match=r"input\.n_mels: is required"):
        manifest_from_dict(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[1, 2, 3]", "must be a mapping of fields, got list"),
        (b"just a string", "must be a mapping of fields, got str"),
        (b"{unclosed: [", "not valid JSON or YAML"),
        (b"x" * 70_000, "larger than 65536 bytes"),
    ],
)
def test_text_that_is_not_a_manifest_is_refused(text: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_manifest(text)


def test_yaml_and_json_manifests_are_equivalent(tmp_path: Path) -> None:
    built = statistic_classifier()
    as_json = load_manifest(write_model(tmp_path / "j", built))
    as_yaml = load_manifest(write_model(tmp_path / "y", built, manifest_file="manifest.yaml"))
    assert (tmp_path / "y" / "manifest.yaml").read_text().startswith("manifest_version: 1")
    assert as_yaml.input == as_json.input and as_yaml.output == as_json.output
    assert as_yaml.sha256 == as_json.sha256
    assert as_json.base == str(tmp_path / "j" / "manifest.json")


def test_the_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    from fakewatch.models.manifest import schema

    Draft202012Validator.check_schema(schema())
    assert json.dumps(schema())  # JSON-safe, loadable from the installed package
