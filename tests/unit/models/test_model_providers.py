"""Execution providers: TensorRT → CUDA → CPU, explicit lists, and falling back to CPU.

This machine's onnxruntime has no GPU provider, so the fallback tests use a *fake* session
factory that fails for GPU providers the way onnxruntime-gpu does without CUDA libraries
(there is no emulator for a missing GPU); it delegates CPU sessions to the real
``onnxruntime.InferenceSession``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from fakewatch.models import SESSIONS, ModelLoadError, ModelRunner, choose_providers
from fakewatch.models.providers import CPU, CUDA, TENSORRT

ALL = (TENSORRT, CUDA, "AzureExecutionProvider", CPU)


def test_cpu_by_default_even_where_a_gpu_exists() -> None:
    assert choose_providers(available=ALL).providers == (CPU,)


def test_prefer_gpu_orders_tensorrt_then_cuda_then_cpu() -> None:
    assert choose_providers(prefer_gpu=True, available=ALL).providers == (TENSORRT, CUDA, CPU)
    assert choose_providers(prefer_gpu=True, available=(CUDA, CPU)).providers == (CUDA, CPU)
    assert choose_providers(prefer_gpu=True, available=(CPU,)).providers == (CPU,)


def test_an_explicit_list_wins_and_unavailable_entries_are_reported() -> None:
    choice = choose_providers(explicit=[CUDA, "OpenVINOExecutionProvider"], available=ALL)
    assert choice.providers == (CUDA, CPU)
    assert choice.unavailable == ("OpenVINOExecutionProvider",)


def test_the_real_build_offers_cpu() -> None:
    assert CPU in ort.get_available_providers()
    assert choose_providers(prefer_gpu=True).providers[-1] == CPU


class GpuFailsFactory:
    """Fake factory: GPU providers fail to initialise; CPU sessions are real."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, model: bytes, *, sess_options: Any, providers: list[str]) -> Any:
        self.calls.append(list(providers))
        if any(p != CPU for p in providers):
            raise RuntimeError(
                "Failed to load library libonnxruntime_providers_cuda.so with error: "
                "libcublasLt.so.12: cannot open shared object file"
            )
        return ort.InferenceSession(model, sess_options=sess_options, providers=providers)


def test_a_failing_gpu_provider_falls_back_to_cpu_and_says_why(
    stat_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fakewatch.models.providers.available_providers", lambda: ALL)
    factory = GpuFailsFactory()
    runner = ModelRunner.load(stat_manifest, prefer_gpu=True, session_factory=factory)
    assert factory.calls == [[TENSORRT, CUDA, CPU], [CPU]]
    assert runner.provider == CPU
    assert runner.loaded.requested == (TENSORRT, CUDA, CPU)
    assert runner.loaded.fallback is not None
    assert "libcublasLt.so.12" in runner.loaded.fallback
    assert runner.score_frames([np.zeros((8, 8, 3), np.uint8)]).shape == (1,)


def test_gpu_and_cpu_sessions_are_cached_separately(
    stat_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fakewatch.models.providers.available_providers", lambda: ALL)
    ModelRunner.load(stat_manifest, prefer_gpu=True, session_factory=GpuFailsFactory())
    ModelRunner.load(stat_manifest)
    assert SESSIONS.created == 2


def test_an_unavailable_explicit_provider_is_recorded_on_the_real_runtime(
    stat_manifest: Path,
) -> None:
    runner = ModelRunner.load(stat_manifest, providers=["NoSuchExecutionProvider"])
    assert runner.provider == CPU
    assert runner.loaded.fallback == "not in this onnxruntime build: NoSuchExecutionProvider"


def test_a_model_that_fails_on_cpu_too_is_not_retried_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from fakewatch.testing.onnx_models import manifest_for, statistic_classifier

    monkeypatch.setattr("fakewatch.models.providers.available_providers", lambda: ALL)
    data = b"definitely not onnx"
    (tmp_path / "model.onnx").write_bytes(data)
    (tmp_path / "m.json").write_text(json.dumps(manifest_for(statistic_classifier(), data)))
    factory = GpuFailsFactory()
    with pytest.raises(ModelLoadError, match="not a loadable ONNX model"):
        ModelRunner.load(tmp_path / "m.json", providers=[CUDA], session_factory=factory)
    assert len(factory.calls) == 2  # the GPU try, one CPU retry, then a clear error
