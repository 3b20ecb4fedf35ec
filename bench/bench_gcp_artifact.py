"""GCP deployment artifact: bundle size and cold start, as ratios measured in one run.

Cold start = a fresh interpreter that loads ``main.py`` the way Cloud Run functions does
(functions-framework's ``create_app``, which imports the module and so runs the one-time
``get_runtime()``: storage and Pub/Sub clients, policy, scanner), timed to "ready to serve".
Baseline = a fresh interpreter importing google-cloud-storage and numpy. Both are wall times
of whole processes (interpreter start included), median of N runs, in this one run; no
network is touched (the clients point at unused loopback emulator addresses).

    python bench/bench_gcp_artifact.py [--runs 7] [--no-install]
"""

from __future__ import annotations

import argparse
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

MAIN = ROOT / "providers" / "gcp" / "main.py"
BASELINE = "import google.cloud.storage, numpy"
COLD_START = f"""
import functions_framework
functions_framework.create_app(target="scan_object", source={str(MAIN)!r},
                               signature_type="cloudevent")
"""
IN_PROCESS = f"""
import time
t0 = time.perf_counter()
import functions_framework
t1 = time.perf_counter()
functions_framework.create_app(target="scan_object", source={str(MAIN)!r},
                               signature_type="cloudevent")
t2 = time.perf_counter()
print(f"{{t1 - t0:.4f}} {{t2 - t1:.4f}}")
"""


def function_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FAKEWATCH_RESULTS_BUCKET="results",
        FAKEWATCH_QUARANTINE_BUCKET="quarantine",
        FAKEWATCH_RESULT_TOPIC="projects/bench/topics/results",
        FAKEWATCH_LOG_LEVEL="WARNING",
        STORAGE_EMULATOR_HOST="http://127.0.0.1:9",  # never contacted during init
        PUBSUB_EMULATOR_HOST="127.0.0.1:9",
        GOOGLE_CLOUD_PROJECT="bench",
        PYTHONDONTWRITEBYTECODE="0",
    )
    path = [str(ROOT / p) for p in ("functions", "providers/gcp")]
    env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")])
    return env


def wall(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def interleaved(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Alternate the two so drift on a shared machine hits both alike."""
    wall(BASELINE, env), wall(COLD_START, env)  # warm the OS file cache and .pyc files
    base, cold = [], []
    for _ in range(runs):
        base.append(wall(BASELINE, env))
        cold.append(wall(COLD_START, env))
    return base, cold


def split(env: dict[str, str], runs: int) -> tuple[float, float]:
    imports, inits = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IN_PROCESS], check=True, env=env, capture_output=True, text=True
        ).stdout.split()
        imports.append(float(out[-2]))
        inits.append(float(out[-1]))
    return statistics.median(imports), statistics.median(inits)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-install", action="store_true", help="skip the platform install")
    args = parser.parse_args()

    from fakewatch_gcp.bundle import build

    env = function_env()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = build(Path(tmp) / "gcp", verify=not args.no_install)
    base, cold = interleaved(args.runs, env)
    ff_import, load_and_init = split(env, max(3, args.runs // 2))
    base_s, cold_s = statistics.median(base), statistics.median(cold)
    doc = {
        "bundle": {
            "source_folder_bytes": bundle.source_bytes,
            "zip_bytes": bundle.archive_bytes,
            "installed_bytes": bundle.installed_bytes,
            "installed_files": bundle.installed_files,
            "platform": "x86_64-manylinux_2_28, cp311",
            "requirements": bundle.requirements,
        },
        "cold_start": {
            "runs": args.runs,
            "baseline": BASELINE,
            "baseline_s": round(base_s, 4),
            "function_ready_s": round(cold_s, 4),
            "ratio": round(cold_s / base_s, 3),
            "goal_ratio": 2.0,
            "in_process_functions_framework_import_s": round(ff_import, 4),
            "in_process_main_load_and_init_s": round(load_and_init, 4),
            "baseline_samples_s": [round(x, 4) for x in base],
            "function_samples_s": [round(x, 4) for x in cold],
        },
    }
    path = write("gcp_artifact", doc)
    mib = 1024 * 1024
    installed = bundle.installed_bytes
    rows = [
        ("source folder (main.py, requirements, wheel)", f"{bundle.source_bytes / mib:.2f} MiB"),
        ("source zip", f"{bundle.archive_bytes / mib:.2f} MiB"),
        ("installed for Cloud Run (deps + wheel)",
         "skipped" if installed is None else f"{installed / mib:.1f} MiB, "
         f"{bundle.installed_files} files"),
        (f"baseline: {BASELINE}", f"{base_s:.3f} s"),
        ("cold start: create_app(main.py) incl. init", f"{cold_s:.3f} s"),
        ("cold start / baseline", f"{cold_s / base_s:.2f}x (goal <= 2x)"),
        ("  split, separate runs: functions-framework import", f"{ff_import:.3f} s"),
        ("  split, separate runs: main.py load + get_runtime()", f"{load_and_init:.3f} s"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"-> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
