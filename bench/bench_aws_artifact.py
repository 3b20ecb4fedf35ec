"""AWS Lambda artifact: unzipped bundle size and cold start, as ratios measured in one run.

The bundle is built by ``fakewatch_aws.bundle`` for x86_64 and arm64 (or reused from ``--dir``).
Cold start runs from the x86_64 zip, extracted as Lambda extracts it into ``/var/task``: a
fresh interpreter started with ``-S`` (no site-packages) whose path is the extracted zip plus
boto3/botocore/s3transfer from this environment (what the Lambda runtime provides), with
bytecode writes off (``/var/task`` is read-only: only the bytecode the zip ships is used),
importing ``fakewatch_aws.handler`` and building the runtime (clients, policy, scanner with
its signals: ``get_runtime()``). Baseline: the same kind of fresh interpreter importing boto3
and numpy (numpy from the bundle). Both are wall times of whole processes, median of N
interleaved runs. No network is touched.

The same bundle process then scans sample media (generator-metadata PNG, C2PA JPEG, MP4 and
WAV via PyAV, a corrupt file) and runs an ONNX model, to prove the trimmed, debug-stripped
libraries still work.

    python bench/bench_aws_artifact.py [--runs 7] [--dir dist/aws] [--reuse]

``--reuse`` measures the bundle already in ``--dir`` (for example one an older commit built),
so a before/after comparison uses one method.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402

RUNTIME_SDK = ("boto3", "botocore", "s3transfer")
BASELINE = "import boto3, numpy"
COLD_START = "import fakewatch_aws.handler as h; h.get_runtime()"
SMOKE = """
import json, sys, time
t0 = time.perf_counter()
import fakewatch_aws.handler as h
t1 = time.perf_counter()
rt = h.get_runtime()
t2 = time.perf_counter()
from fakewatch.verdict import ObjectIdentity
media = json.loads(sys.argv[1])
labels = {}
for name, path in media.items():
    data = open(path, "rb").read()
    ident = ObjectIdentity(uri=f"s3://bench/{name}", bucket="bench", key=name, size=len(data))
    v = rt.service.scanner.scan(data, ident)
    media_kind = (v.object.media_type or {}).get("kind")
    labels[name] = [v.label.value, (v.error or {}).get("reason"), media_kind]
import numpy as np, onnxruntime as ort
import yaml._yaml, rpds, wrapt, PIL._imaging, PIL._webp, PIL._avif  # native modules, stripped
sess = ort.InferenceSession(sys.argv[2], providers=["CPUExecutionProvider"])
out = sess.run(None, {"x": np.ones((1, 4), dtype=np.float32)})[0]
print(json.dumps({"import_s": t1 - t0, "init_s": t2 - t1, "labels": labels,
                  "onnx_output": out.tolist(), "onnxruntime": ort.__version__,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def sdk_dir(tmp: Path) -> Path:
    """Symlinks to this environment's boto3/botocore/s3transfer: the runtime-provided SDK."""
    import importlib

    target = tmp / "runtime-sdk"
    target.mkdir()
    for name in RUNTIME_SDK:
        module = importlib.import_module(name)
        (target / name).symlink_to(Path(module.__file__ or "").parent)
    return target


def function_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAKEWATCH_", "PYTHON"))
    }
    env.update(
        {
            "FAKEWATCH_RESULTS_BUCKET": "bench-results",
            "FAKEWATCH_QUARANTINE_BUCKET": "bench-quarantine",
            "FAKEWATCH_RESULT_TOPIC": "bench-bus",
            "FAKEWATCH_IDEMPOTENCY_TABLE": "bench-idempotency",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never contacted during init
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
        }
    )
    return env


def run(code: str, paths: list[Path], env: dict[str, str], *args: str) -> tuple[float, str]:
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", prelude + code, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return time.perf_counter() - started, done.stdout


def tiny_onnx(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [0.25, 0.25, 0.25, 0.25])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def sample_media(tmp: Path) -> dict[str, str]:
    from fakewatch import samples

    photo = samples.photo_like_jpeg()
    made = {
        "a1111.png": samples.a1111_png(),
        "c2pa.jpg": samples.c2pa_signed(photo, "image/jpeg", "trainedAlgorithmicMedia"),
        "clip.mp4": samples.small_mp4(),
        "tone.wav": samples.small_wav(),
        "corrupt.jpg": samples.corrupt_file("jpeg"),
    }
    paths = {}
    for name, data in made.items():
        (tmp / name).write_bytes(data)
        paths[name] = str(tmp / name)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=ROOT / "dist" / "aws")
    parser.add_argument("--reuse", action="store_true", help="use an existing bundle in --dir")
    args = parser.parse_args()

    from fakewatch.packaging import extract_as_deployed
    from fakewatch_aws.bundle import GOAL_UNZIPPED, LAMBDA_UNZIPPED_LIMIT, bundle

    if args.reuse:
        reports = [
            json.loads((args.dir / a / "bundle.json").read_text()) for a in ("x86_64", "arm64")
        ]
    else:
        reports = [r.__dict__ for r in bundle(args.dir, ("x86_64", "arm64"))]
    with tempfile.TemporaryDirectory(prefix="fw-bench-aws-") as tmp_name:
        tmp = Path(tmp_name)
        package = extract_as_deployed(Path(reports[0]["zip_path"]), tmp / "task")
        sdk, env = sdk_dir(tmp), function_env()
        paths = [package, sdk]
        baseline, cold = [], []
        run(COLD_START, paths, env)  # warm the OS page cache once for both
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            baseline.append(run(BASELINE, paths, env)[0])
            cold.append(run(COLD_START, paths, env)[0])
        onnx_path = tmp / "tiny.onnx"
        tiny_onnx(onnx_path)
        _, out = run(SMOKE, paths, env, json.dumps(sample_media(tmp)), str(onnx_path))
        smoke = json.loads(out.strip().splitlines()[-1])

    base_s, cold_s = statistics.median(baseline), statistics.median(cold)
    sizes = {
        r["arch"]: {
            "unzipped_bytes": r["unzipped_bytes"],
            "zipped_bytes": r["zipped_bytes"],
            "files": r["files"],
            "removed_bytes": r["removed_bytes"],
            "removed_distributions": r.get("removed_distributions", []),
            "bytecode_files": r.get("bytecode_files", 0),
            "within_250MB_limit": r["unzipped_bytes"] <= LAMBDA_UNZIPPED_LIMIT,
            "goal_150MB_met": r["unzipped_bytes"] <= GOAL_UNZIPPED,
            "top_packages_bytes": dict(list(r["packages"].items())[:10]),
        }
        for r in reports
    }
    doc = {
        "bundle": sizes,
        "cold_start": {
            "runs": args.runs,
            "baseline": BASELINE,
            "baseline_s": round(base_s, 4),
            "handler_import_and_init_s": round(cold_s, 4),
            "ratio": round(cold_s / base_s, 3),
            "goal_ratio": 2.0,
            "in_process_import_s": round(smoke["import_s"], 4),
            "in_process_init_s": round(smoke["init_s"], 4),
            "baseline_samples_s": [round(t, 4) for t in baseline],
            "handler_samples_s": [round(t, 4) for t in cold],
            "measured_from": "x86_64 zip extracted, python -S, no bytecode writes, "
            "runtime SDK from this environment",
        },
        "smoke_from_bundle": {
            "labels": smoke["labels"],
            "onnx_output": smoke["onnx_output"],
            "loaded_packages": [m for m in smoke["loaded"] if not m.startswith("_")],
        },
    }
    path = write("aws_artifact", doc)
    mb = 1_000_000
    print(f"{'arch':8} {'unzipped MB':>12} {'zipped MB':>10} {'<=250MB':>8} {'<=150MB':>8}")
    for arch, s in sizes.items():
        print(
            f"{arch:8} {s['unzipped_bytes'] / mb:12.1f} {s['zipped_bytes'] / mb:10.1f} "
            f"{s['within_250MB_limit']!s:>8} {s['goal_150MB_met']!s:>8}"
        )
    c = doc["cold_start"]
    print(
        f"cold start (zip extracted, read-only): baseline ({BASELINE}) {c['baseline_s']:.3f}s, "
        "handler import+init "
        f"{c['handler_import_and_init_s']:.3f}s -> ratio {c['ratio']:.2f} (goal <= 2.0)"
    )
    print(f"smoke scan from the bundle: {smoke['labels']}; onnx output {smoke['onnx_output']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
