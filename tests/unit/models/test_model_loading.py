"""Loading: from a path, a package or an object store; verified by hash; once per process."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fakewatch.errors import ConfigError, ModelIntegrityError, ObjectNotFound
from fakewatch.models import SESSIONS, ModelLoadError, ModelRunner, load_manifest, locate
from fakewatch.ports.memory import MemoryStore
from fakewatch.testing.onnx_models import (
    manifest_for,
    statistic_classifier,
    tiny_cnn_classifier,
    write_model,
)

RED = np.zeros((20, 20, 3), np.uint8)
RED[..., 0] = 255


def test_loads_from_a_path_and_scores(stat_manifest: Path) -> None:
    runner = ModelRunner.load(stat_manifest)
    p = runner.score_frames([RED])
    # logit(synthetic) = 8 * (mean R - mean B) = 8 for pure red; P = sigmoid(8)
    assert p[0] == pytest.approx(1 / (1 + np.exp(-8.0)), abs=1e-5)
    assert runner.provider == "CPUExecutionProvider"
    assert runner.model_info().sha256 == json.loads(stat_manifest.read_text())["sha256"]


def test_loads_from_a_file_uri(stat_manifest: Path) -> None:
    runner = ModelRunner.load(f"file://{stat_manifest}")
    assert runner.location == str(stat_manifest.parent / "model.onnx")


def test_a_hash_mismatch_refuses_to_load(tmp_path: Path) -> None:
    manifest = write_model(tmp_path, statistic_classifier())
    other = statistic_classifier(weights=(1.0, 2.0, 3.0)).to_bytes()
    (tmp_path / "model.onnx").write_bytes(other)  # swapped weights, manifest unchanged
    with pytest.raises(ModelIntegrityError, match=r"sha256 is .* the manifest says"):
        ModelRunner.load(manifest)
    assert SESSIONS.created == 0


def test_a_corrupt_onnx_file_is_a_clear_error(tmp_path: Path) -> None:
    garbage = b"\x08\x07not an onnx protobuf at all" * 10
    built = statistic_classifier()
    (tmp_path / "model.onnx").write_bytes(garbage)
    doc = manifest_for(built, garbage)  # the hash matches the garbage: loading must still fail
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ModelLoadError, match="not a loadable ONNX model"):
        ModelRunner.load(tmp_path / "manifest.json")


def test_a_truncated_onnx_file_is_a_clear_error(tmp_path: Path) -> None:
    data = tiny_cnn_classifier().to_bytes()[:300]
    (tmp_path / "model.onnx").write_bytes(data)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest_for(tiny_cnn_classifier(), data)))
    with pytest.raises(ModelLoadError, match="not a loadable ONNX model"):
        ModelRunner.load(tmp_path / "manifest.json")


def test_a_missing_model_file_is_object_not_found(tmp_path: Path) -> None:
    manifest = write_model(tmp_path, statistic_classifier())
    (tmp_path / "model.onnx").unlink()
    with pytest.raises(ObjectNotFound, match="no such file"):
        ModelRunner.load(manifest)


def test_a_missing_manifest_is_object_not_found(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        load_manifest(tmp_path / "absent.json")


# -- once per process --------
def test_one_session_per_model_per_process(stat_manifest: Path) -> None:
    first = ModelRunner.load(stat_manifest)
    second = ModelRunner.load(stat_manifest)
    assert SESSIONS.created == 1
    assert first.loaded.session is second.loaded.session


def test_a_cached_session_skips_reading_and_hashing(stat_manifest: Path) -> None:
    ModelRunner.load(stat_manifest)
    (stat_manifest.parent / "model.onnx").unlink()  # a warm function never re-reads the file
    assert ModelRunner.load(stat_manifest).score_frames([RED]).shape == (1,)
    assert SESSIONS.created == 1


def test_different_models_get_different_sessions(tmp_path: Path) -> None:
    a = ModelRunner.load(write_model(tmp_path / "a", statistic_classifier()))
    b = ModelRunner.load(write_model(tmp_path / "b", tiny_cnn_classifier()))
    assert SESSIONS.created == 2 and a.loaded.session is not b.loaded.session


def test_concurrent_first_loads_build_one_session(stat_manifest: Path) -> None:
    barrier = threading.Barrier(8)
    sessions: list[object] = []

    def load() -> None:
        barrier.wait()
        sessions.append(ModelRunner.load(stat_manifest).loaded.session)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert SESSIONS.created == 1
    assert len(sessions) == 8 and all(s is sessions[0] for s in sessions)


# -- object store --------
def _store_with_model(key_prefix: str = "detectors/stat/") -> MemoryStore:
    built = statistic_classifier()
    data = built.to_bytes()
    store = MemoryStore(buckets=["models"])
    store.put("models", key_prefix + "model.onnx", data)
    doc = manifest_for(built, data)
    store.put("models", key_prefix + "manifest.json", json.dumps(doc).encode())
    return store


def test_loads_from_an_injected_store_with_the_file_beside_the_manifest() -> None:
    store = _store_with_model()
    runner = ModelRunner.load("memory://models/detectors/stat/manifest.json", store=store)
    assert runner.location == "memory://models/detectors/stat/model.onnx"
    assert runner.score_frames([RED])[0] > 0.99


def test_a_manifest_uri_points_at_the_model_elsewhere() -> None:
    store = _store_with_model()
    built = statistic_classifier()
    doc = manifest_for(built, file=None, uri="memory://models/detectors/stat/model.onnx")
    store.put("models", "manifests/stat.json", json.dumps(doc).encode())
    runner = ModelRunner.load("memory://models/manifests/stat.json", store=store)
    assert runner.location == "memory://models/detectors/stat/model.onnx"


def test_without_a_store_the_process_wide_one_for_the_scheme_is_used() -> None:
    from fakewatch.stores import clear_cache, open_uri

    clear_cache()
    try:
        shared, _, _ = open_uri("memory://models/x")
        assert isinstance(shared, MemoryStore)
        source = _store_with_model()
        shared.make_bucket("models")
        for info in source.list("models"):
            shared.put("models", info.key, source.get("models", info.key))
        runner = ModelRunner.load("memory://models/detectors/stat/manifest.json")
        assert runner.score_frames([RED])[0] > 0.99
    finally:
        clear_cache()


def test_a_store_of_another_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="reads memory:// URIs, not s3://"):
        ModelRunner.load("s3://models/m/manifest.json", store=MemoryStore())


def test_a_tampered_model_in_the_store_is_refused() -> None:
    store = _store_with_model()
    store.put("models", "detectors/stat/model.onnx", tiny_cnn_classifier().to_bytes())
    with pytest.raises(ModelIntegrityError):
        ModelRunner.load("memory://models/detectors/stat/manifest.json", store=store)


def test_a_store_uri_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a bucket and a key"):
        ModelRunner.load("memory://models", store=MemoryStore())


# -- package resources --------
@pytest.fixture
def detector_package(tmp_path: Path) -> Iterator[str]:
    """A real installed-looking package ``fw_test_detectors`` holding a model, on sys.path."""
    pkg = tmp_path / "site" / "fw_test_detectors"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    write_model(pkg / "zoo" / "stat", statistic_classifier())
    sys.path.insert(0, str(pkg.parent))
    try:
        yield "fw_test_detectors"
    finally:
        sys.path.remove(str(pkg.parent))
        sys.modules.pop("fw_test_detectors", None)


def test_loads_from_a_package_resource(detector_package: str) -> None:
    ref = f"package://{detector_package}/zoo/stat/manifest.json"
    runner = ModelRunner.load(ref)
    assert runner.location == f"package://{detector_package}/zoo/stat/model.onnx"
    assert runner.score_frames([RED])[0] > 0.99


def test_package_shorthand_names_a_model_in_the_zoo(
    detector_package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locate, "ZOO_PACKAGE", detector_package)
    runner = ModelRunner.load("package://stat")
    assert runner.manifest.name == "test-model"
    with pytest.raises(ConfigError, match="no packaged model of that name"):
        ModelRunner.load("package://absent")


def test_a_package_that_is_not_installed_is_object_not_found() -> None:
    with pytest.raises(ObjectNotFound, match="is not installed"):
        ModelRunner.load("package://no_such_pkg_xyz/m/manifest.json")


def test_package_paths_cannot_climb_out() -> None:
    with pytest.raises(ConfigError, match=r"'\.\.' is not allowed"):
        ModelRunner.load("package://fakewatch/../etc/manifest.json")


# -- the manifest must describe the real model --------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"input": {"name": "pixels"}}, r"input.name 'pixels' is not an input of the model"),
        ({"output": {"name": "probs"}}, r"output.name 'probs' is not an output"),
        ({"input": {"size": [64, 64]}}, r"expects H=64, the model's input shape is"),
        ({"input": {"layout": "NHWC"}}, r"input.layout NHWC"),
        ({"input": {"dtype": "uint8"}}, r"input.dtype uint8 but the model takes tensor\(float\)"),
        (
            {"output": {"labels": ["real", "gan", "diffusion"], "positive": ["gan"]}},
            r"output.labels lists 3 labels, the model's 'scores' gives 2",
        ),
    ],
)
def test_a_manifest_that_does_not_match_the_model_is_refused(
    tmp_path: Path, overrides: dict[str, dict[str, object]], message: str
) -> None:
    manifest = write_model(tmp_path, statistic_classifier(), **overrides)
    with pytest.raises(ConfigError, match=message):
        ModelRunner.load(manifest)


def test_a_manifest_object_without_a_location_needs_a_uri() -> None:
    from fakewatch.models import manifest_from_dict

    m = manifest_from_dict(manifest_for(statistic_classifier()))
    with pytest.raises(ConfigError, match="relative to the manifest"):
        ModelRunner.load(m)
