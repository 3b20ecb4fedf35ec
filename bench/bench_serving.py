"""Serving benchmark: throughput and latency of the GPU endpoint app vs batch size and
concurrency, and its overhead against calling the ONNX Runtime session directly.

    python bench/bench_serving.py                       # CPU, small + EfficientNet-B0 (< 2 min)
    python bench/bench_serving.py --model efficientnet --providers CUDAExecutionProvider

For each model:

- **direct**: the same JPEGs decoded, preprocessed and run through ``ModelRunner.predict`` in
  one thread, per batch size — items/s for predict alone and for the whole model path;
- **served**: the real app (SageMaker contract, its own process as in a container) on
  loopback, ``concurrency`` clients each
  posting one JPEG at a time, ``max_batch`` rows per inference call — items/s, p50/p99
  request latency and the mean batch the micro-batcher actually formed;
- **overhead**: served seconds per item over direct seconds per item (decode + preprocess +
  predict at the same batch size) minus one, at the best cell per batch size — HTTP, JSON,
  threads and batching. The goal is ≤ 10 % at the best batch size;
- **1080p**: frames/s for preprocessing 1920x1080 frames and predicting them in batches (the
  bar from seed 003 is 60 fps on one GPU).

All ratios are taken in one run on one machine. The load generator shares the machine (and,
on CPU, the cores) with the server, which makes CPU overhead figures pessimistic. GPU memory
comes from ``nvidia-smi`` when present. Results: ``bench/results/serving.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODELS = {
    "small": {"width": 0.5, "depth": 0.5, "size": (128, 128)},  # 0.65M parameters
    "efficientnet": {},  # EfficientNet-B0 shape, 4.0M parameters, 224x224
}


def build_model(kind: str, directory: Path) -> Path:
    from fakewatch.testing.onnx_models import efficientnet_like_classifier, write_model

    built = efficientnet_like_classifier(**MODELS[kind])  # type: ignore[arg-type]
    return write_model(directory / kind, built, input={"max_batch": 64})


def jpegs(n: int, size: tuple[int, int] = (320, 240)) -> list[bytes]:
    from fakewatch.samples.images import photo_like_rgb

    out = []
    for seed in range(n):
        rgb = photo_like_rgb(size[0], size[1], seed=seed)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# -- direct -----------------------------------------------------------------------------------
def direct(runner: Any, images: list[bytes], batch: int, repeat: int) -> dict[str, float]:
    """Seconds per item for decode+preprocess, and for predict at this batch size."""
    from fakewatch.media.intake import open_media

    def decode(data: bytes) -> np.ndarray:
        media = open_media(data)
        assert media.image is not None
        return np.asarray(media.image.convert("RGB"))

    start = time.perf_counter()
    tensors = runner.preprocess([decode(d) for d in images[:batch]])
    prep_s = (time.perf_counter() - start) / batch
    runner.predict(tensors)  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        runner.predict(tensors)
        times.append(time.perf_counter() - start)
    predict_s = statistics.median(times) / batch
    return {
        "prepare_ms_per_item": prep_s * 1000,
        "predict_ms_per_item": predict_s * 1000,
        "predict_items_per_s": 1 / predict_s,
        "model_path_items_per_s": 1 / (prep_s + predict_s),
    }


def video_1080p(runner: Any, frames: int, batch: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    frame = (rng.random((1080, 1920, 3)) * 255).astype(np.uint8)
    runner.predict(runner.preprocess([frame] * batch))  # warm
    start = time.perf_counter()
    prep = 0.0
    for _ in range(0, frames, batch):
        t = time.perf_counter()
        x = runner.preprocess([frame] * batch)
        prep += time.perf_counter() - t
        runner.predict(x)
    total = time.perf_counter() - start
    done = (frames // batch) * batch
    return {
        "frames_per_s": done / total,
        "predict_only_frames_per_s": done / max(1e-9, total - prep),
        "batch": batch,
    }


# -- served -----------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(manifest: Path, providers: tuple[str, ...], max_batch: int) -> tuple[Any, str]:
    """The real entrypoint (``python -m fakewatch_serve run``) in its own process, as in a
    container, so the load generator does not share its interpreter."""
    port = free_port()
    cmd = [sys.executable, "-m", "fakewatch_serve", "run", "--contract", "sagemaker"]
    cmd += ["--manifest", str(manifest), "--port", str(port), "--max-batch", str(max_batch)]
    cmd += ["--max-wait-ms", "2", "--providers", ",".join(providers), "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "functions")}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/ping", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the serving process did not become ready")
        time.sleep(0.1)


def served(
    manifest: Path,
    providers: tuple[str, ...],
    images: list[bytes],
    max_batch: int,
    concurrency: int,
    requests: int,
) -> dict[str, float]:
    latencies: list[float] = []
    proc, url = start_server(manifest, providers, max_batch)
    try:
        clients = [httpx.Client(base_url=url, timeout=120) for _ in range(concurrency)]

        def post(i: int) -> None:
            client = clients[i % concurrency]
            data = images[i % len(images)]
            t = time.perf_counter()
            r = client.post("/invocations", content=data, headers={"content-type": "image/jpeg"})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200 or r.json()["predictions"][0]["status"] != "ok":
                raise RuntimeError(f"bad answer {r.status_code}: {r.text[:200]}")

        def worker(k: int) -> None:
            for i in range(k, requests, concurrency):
                post(i)

        with ThreadPoolExecutor(concurrency) as pool:  # warm every connection and the session
            list(pool.map(post, range(concurrency)))
        latencies.clear()
        ping = httpx.get(url + "/ping").json()["batching"]
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(worker, range(concurrency)))
        wall = time.perf_counter() - start
        after = httpx.get(url + "/ping").json()["batching"]
        for c in clients:
            c.close()
    finally:
        proc.terminate()
        proc.wait(30)
    batches = after["batches"] - ping["batches"]
    return {
        "max_batch": max_batch,
        "concurrency": concurrency,
        "requests": requests,
        "items_per_s": requests / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_batch": (after["rows"] - ping["rows"]) / max(1, batches),
    }


# -- report -----------------------------------------------------------------------------------
def gpu_memory() -> dict[str, Any] | None:
    if not shutil.which("nvidia-smi"):
        return None
    query = "--query-gpu=name,memory.used,memory.total"
    out = subprocess.run(
        ["nvidia-smi", query, "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not out:
        return None
    name, used, total = (x.strip() for x in out.splitlines()[0].split(","))
    return {"name": name, "used_mib": int(used), "total_mib": int(total)}


def bench_model(
    kind: str,
    directory: Path,
    providers: tuple[str, ...],
    grid: dict[str, list[int]],
    requests: int,
    video_frames: int,
) -> dict[str, Any]:
    from fakewatch.models.runner import ModelRunner

    manifest = build_model(kind, directory)
    runner = ModelRunner.load(str(manifest), providers=providers)
    images = jpegs(max(64, *grid["batch"]))
    print(f"[{kind}] provider {runner.provider}", flush=True)
    direct_rows = {}
    for b in sorted(set(grid["batch"])):
        direct_rows[b] = direct(runner, images, b, repeat=5)
        print(
            f"  direct b={b:>3}: {direct_rows[b]['predict_items_per_s']:8.1f} items/s", flush=True
        )
    cells = []
    for b in grid["batch"]:
        for c in grid["concurrency"]:
            cell = served(manifest, providers, images, b, c, requests)
            cells.append(cell)
            print(
                f"  served b={b:>3} c={c:>3}: {cell['items_per_s']:8.1f} items/s  "
                f"p50 {cell['p50_ms']:7.1f} ms  p99 {cell['p99_ms']:7.1f} ms  "
                f"mean batch {cell['mean_batch']:.1f}",
                flush=True,
            )
    overhead = {}
    for b in sorted(set(grid["batch"])):
        best = max((c for c in cells if c["max_batch"] == b), key=lambda c: c["items_per_s"])
        d = direct_rows[b]
        per_item_direct = (d["prepare_ms_per_item"] + d["predict_ms_per_item"]) / 1000
        per_item_served = 1 / best["items_per_s"]
        overhead[b] = {
            "concurrency": best["concurrency"],
            "served_items_per_s": best["items_per_s"],
            "direct_model_path_items_per_s": d["model_path_items_per_s"],
            "direct_predict_items_per_s": d["predict_items_per_s"],
            "overhead_vs_model_path": per_item_served / per_item_direct - 1,
            "overhead_vs_predict_only": per_item_served / (d["predict_ms_per_item"] / 1000) - 1,
        }
    best_b = max(overhead, key=lambda b: overhead[b]["served_items_per_s"])
    video = video_1080p(runner, video_frames, batch=min(16, max(grid["batch"])))
    return {
        "model": {"kind": kind, "shape": MODELS[kind], "provider": runner.provider},
        "direct": direct_rows,
        "served": cells,
        "overhead": overhead,
        "best_batch": best_b,
        "overhead_at_best_batch": overhead[best_b]["overhead_vs_model_path"],
        "video_1080p": video,
        "gpu_memory": gpu_memory(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["small", "efficientnet", "both"], default="both")
    parser.add_argument("--providers", default="CPUExecutionProvider")
    parser.add_argument("--batch", default="1,8,16")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--video-frames", type=int, default=32)
    parser.add_argument("--out", default=str(RESULTS / "serving.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "functions"))
    providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
    grid = {
        "batch": [int(x) for x in args.batch.split(",")],
        "concurrency": [int(x) for x in args.concurrency.split(",")],
    }
    kinds = ["small", "efficientnet"] if args.model == "both" else [args.model]
    started = time.perf_counter()
    doc: dict[str, Any] = {"providers": list(providers), "grid": grid, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            doc["models"][kind] = bench_model(
                kind, Path(tmp), providers, grid, args.requests, args.video_frames
            )
    doc["seconds"] = round(time.perf_counter() - started, 1)
    doc["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    for kind, result in doc["models"].items():
        b = result["best_batch"]
        print(
            f"[{kind}] best batch {b}: overhead vs direct model path "
            f"{result['overhead_at_best_batch']:+.1%}; 1080p "
            f"{result['video_1080p']['frames_per_s']:.1f} frames/s "
            f"(predict only {result['video_1080p']['predict_only_frames_per_s']:.1f})"
        )
    print(f"wrote {out} in {doc['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
