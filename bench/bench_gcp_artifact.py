"""GCP deployment artifact: bundle size and cold start, as ratios measured in one run.

The source folder is built as ``make bundle-gcp`` builds it and its requirements are
installed for the Cloud Run functions platform (Linux x86_64, CPython 3.11, bytecode compiled
as pip compiles it when the image is built): what the function's image holds. Both timed
processes run from there — ``python -S`` with only the source folder and the installed
packages on the path — so nothing from this machine's venv is measured, and with bytecode
writes off, as a fresh instance starts from the image (the source folder ships no bytecode).

Cold start = a fresh interpreter that loads ``main.py`` the way Cloud Run functions does
(functions-framework's ``create_app``, which imports the module and so runs the one-time
``get_runtime()``: storage and Pub/Sub clients, policy, scanner), timed to "ready to serve".
Baseline = a fresh interpreter importing google-cloud-storage and numpy. Wall times of whole
processes, median of N interleaved runs, in this one run; no network is touched (the clients
point at unused loopback emulator addresses).

    python bench/bench_gcp_artifact.py [--runs 7] [--reuse FOLDER]

``--reuse FOLDER`` measures a source folder built earlier (for example by an older commit,
whose requirements.txt named the project wheel), so a before/after comparison uses one method.
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

BASELINE = "import google.cloud.storage, numpy"
COLD_START = """
import functions_framework
functions_framework.create_app(target="scan_object", source="main.py",
                               signature_type="cloudevent")
"""
IN_PROCESS = """
import time
t0 = time.perf_counter()
import functions_framework
t1 = time.perf_counter()
functions_framework.create_app(target="scan_object", source="main.py",
                               signature_type="cloudevent")
t2 = time.perf_counter()
print(f"{t1 - t0:.4f} {t2 - t1:.4f}")
"""


def function_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "PYTHON"))}
    env.update(
        FAKEWATCH_RESULTS_BUCKET="results",
        FAKEWATCH_QUARANTINE_BUCKET="quarantine",
        FAKEWATCH_RESULT_TOPIC="projects/bench/topics/results",
        FAKEWATCH_LOG_LEVEL="WARNING",
        STORAGE_EMULATOR_HOST="http://127.0.0.1:9",  # never contacted during init
        PUBSUB_EMULATOR_HOST="127.0.0.1:9",
        GOOGLE_CLOUD_PROJECT="bench",
        PYTHONDONTWRITEBYTECODE="1",  # each instance starts from the image
    )
    return env


def command(code: str, folder: Path, site: Path) -> list[str]:
    prelude = f"import sys; sys.path[:0] = {[str(folder), str(site)]!r}\n"
    return [sys.executable, "-S", "-c", prelude + code]


def wall(code: str, folder: Path, site: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command(code, folder, site), check=True, env=env, capture_output=True,
                   cwd=folder)  # fmt: skip
    return time.perf_counter() - start


def interleaved(
    runs: int, folder: Path, site: Path, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Alternate the two so drift on a shared machine hits both alike."""
    wall(BASELINE, folder, site, env), wall(COLD_START, folder, site, env)  # warm the file cache
    base, cold = [], []
    for _ in range(runs):
        base.append(wall(BASELINE, folder, site, env))
        cold.append(wall(COLD_START, folder, site, env))
    return base, cold


def split(runs: int, folder: Path, site: Path, env: dict[str, str]) -> tuple[float, float]:
    imports, inits = [], []
    for _ in range(runs):
        out = subprocess.run(
            command(IN_PROCESS, folder, site),
            check=True, env=env, capture_output=True, text=True, cwd=folder,
        ).stdout.split()  # fmt: skip
        imports.append(float(out[-2]))
        inits.append(float(out[-1]))
    return statistics.median(imports), statistics.median(inits)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", type=Path, default=None, help="measure this source folder")
    args = parser.parse_args()

    from fakewatch.packaging import folder_bytes
    from fakewatch_gcp.bundle import archive_path, build, verify_install

    env = function_env()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        if args.reuse:
            folder = args.reuse.resolve()
            installed_bytes, installed_files = verify_install(folder, site)
            source_bytes, zip_bytes = folder_bytes(folder)[0], archive_path(folder).stat().st_size
            lines = (folder / "requirements.txt").read_text().splitlines()
            requirements = [line for line in lines if line and not line.startswith("#")]
        else:
            bundle = build(Path(tmp) / "gcp", verify=True, install_to=site)
            folder = Path(bundle.folder)
            installed_bytes, installed_files = bundle.installed_bytes, bundle.installed_files
            source_bytes, zip_bytes = bundle.source_bytes, bundle.archive_bytes
            requirements = bundle.requirements
        installed = sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info"))
        base, cold = interleaved(args.runs, folder, site, env)
        ff_import, load_and_init = split(max(3, args.runs // 2), folder, site, env)
    base_s, cold_s = statistics.median(base), statistics.median(cold)
    doc = {
        "bundle": {
            "source_folder_bytes": source_bytes,
            "zip_bytes": zip_bytes,
            "installed_bytes": installed_bytes,
            "installed_files": installed_files,
            "installed_top_level": installed,
            "platform": "x86_64-manylinux_2_28, cp311",
            "requirements": requirements,
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
            "measured_from": "source folder + requirements installed for the platform, "
            "python -S, no bytecode writes",
        },
    }
    path = write("gcp_artifact", doc)
    mib = 1024 * 1024
    rows = [
        ("source folder (main.py, packages, requirements)", f"{source_bytes / mib:.2f} MiB"),
        ("source zip", f"{zip_bytes / mib:.2f} MiB"),
        ("installed for Cloud Run (requirements)",
         f"{(installed_bytes or 0) / mib:.1f} MiB, {installed_files} files"),
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
