"""The serving benchmark itself: a tiny run end to end, so its figures stay honest — the
direct side replays exactly the batches the server formed, and a missing GPU provider falls
back to CPU with a message instead of failing."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_serving", ROOT / "bench" / "bench_serving.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_serving"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_a_missing_gpu_provider_falls_back_to_cpu_and_says_so(bench: ModuleType) -> None:
    providers, note = bench.resolve_providers(("CUDAExecutionProvider",))
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert providers == ("CUDAExecutionProvider", "CPUExecutionProvider") and note is None
    else:
        assert providers == ("CPUExecutionProvider",)
        assert "CUDAExecutionProvider not available" in note and "falling back" in note


def test_a_tiny_run_replays_the_served_batches_directly(bench: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "serving.json"
    argv = ["--model", "small", "--batch", "4", "--concurrency", "4", "--rounds", "2"]
    argv += ["--requests", "16", "--video-frames", "4", "--out", str(out)]
    assert bench.main(argv) == 0
    doc = json.loads(out.read_text())
    (result,) = doc["models"]["small"]["batches"]
    assert result["max_batch"] == 4 and len(result["rounds"]) == 2
    for r in result["rounds"]:
        server = r["served"]["server"]
        assert server["requests"] == 16 and server["rows"] == 16  # timings from readiness
        assert sum(int(k) * v for k, v in server["histogram"].items()) == 16
        assert r["direct_seq"]["items"] == 16  # the same batches, replayed on the session
        assert r["served"]["items_per_s"] > 0 and r["direct_pipe"]["items_per_s"] > 0
    summary = result["summary"]
    assert summary["wall_overhead"]["best"] > -1 and summary["server_side"]["wall"] > 0
    assert summary["server_side"]["run_ms_per_batch"] > 0
