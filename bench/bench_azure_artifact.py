"""Azure deployment artifact: bundle size and cold start, as ratios measured in one run.

The bundle is built as ``make bundle-azure`` builds it (packages installed for Linux x86_64,
CPython 3.11, in ``.python_packages/lib/site-packages``). Both timed processes run from the
zip, extracted with the file times and modes it records (as Run From Package mounts it) —
``python -S`` with only the app root and its site-packages on the path, as the Functions
worker puts them — so nothing from this machine's venv is measured.

Cold start = a fresh interpreter importing ``function_app`` the way the worker indexes it,
which runs the one-time ``warm_up()`` (blob and Event Grid clients, policy, scanner), until
``scan_blob`` is registered. Baseline = a fresh interpreter importing azure-storage-blob and
numpy. Wall times of whole processes, median of N interleaved runs, in this one run; no
network is touched (the clients point at an unused loopback port), and no bytecode is written
(the package is read-only when deployed): only the bytecode the bundle ships is used.

    python bench/bench_azure_artifact.py [--runs 7] [--bundle dist/azure] [--reuse]

``--reuse`` measures the bundle already in ``--bundle`` (its zip beside it, for example one an
older commit built), so a before/after comparison uses one method.
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
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import write  # noqa: E402

if TYPE_CHECKING:
    from fakewatch_azure.bundle import Bundle

SITE = Path(".python_packages") / "lib" / "site-packages"
BASELINE = "import azure.storage.blob, numpy"
COLD_START = """
import function_app
from fakewatch_azure.runtime import _Holder
assert _Holder.runtime is not None, "warm-up failed"
assert [f.get_function_name() for f in function_app.app.get_functions()] == ["scan_blob"]
"""
SPLIT = """
import time
t0 = time.perf_counter()
import azure.functions, fakewatch_azure.handler, fakewatch_azure.runtime
t1 = time.perf_counter()
from fakewatch_azure.runtime import get_runtime
get_runtime()
t2 = time.perf_counter()
print(f"{t1 - t0:.4f} {t2 - t1:.4f}")
"""


def prelude(bundle: Path) -> str:
    paths = [str(bundle), str(bundle / SITE)]
    return f"import sys; sys.path[:0] = {paths!r}\n"


def function_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "PYTHON"))}
    key = "a2V5"
    env.update(
        FAKEWATCH_RESULTS_BUCKET="fakewatch-results",
        FAKEWATCH_QUARANTINE_BUCKET="fakewatch-quarantine",
        FAKEWATCH_AZURE_CONNECTION_STRING=(
            "DefaultEndpointsProtocol=http;AccountName=bench;AccountKey=" + key + ";"
            "BlobEndpoint=http://127.0.0.1:9/bench;"  # never contacted during init
        ),
        FAKEWATCH_RESULT_TOPIC="http://127.0.0.1:9/api/events",
        FAKEWATCH_EVENTGRID_KEY=key,
        FAKEWATCH_LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",  # read-only package: only the shipped bytecode is used
    )
    return env


def wall(code: str, bundle: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-S", "-c", prelude(bundle) + code],
        check=True,
        env=env,
        capture_output=True,
        cwd=bundle,
    )
    return time.perf_counter() - start


def interleaved(runs: int, bundle: Path, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Alternate the two so drift on a shared machine hits both alike."""
    wall(BASELINE, bundle, env), wall(COLD_START, bundle, env)  # warm caches, write .pyc
    base, cold = [], []
    for _ in range(runs):
        base.append(wall(BASELINE, bundle, env))
        cold.append(wall(COLD_START, bundle, env))
    return base, cold


def split(runs: int, bundle: Path, env: dict[str, str]) -> tuple[float, float]:
    imports, inits = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-S", "-c", prelude(bundle) + SPLIT],
            check=True, env=env, capture_output=True, text=True, cwd=bundle,
        ).stdout.split()  # fmt: skip
        imports.append(float(out[-2]))
        inits.append(float(out[-1]))
    return statistics.median(imports), statistics.median(inits)


def existing(folder: Path) -> Bundle:
    """A :class:`~fakewatch_azure.bundle.Bundle` describing a folder built earlier."""
    from fakewatch.packaging import folder_bytes
    from fakewatch_azure.bundle import Bundle, archive_path

    archive = archive_path(folder)
    unzipped, files = folder_bytes(folder)
    lines = (folder / "requirements.txt").read_text().splitlines()
    return Bundle(
        folder=str(folder),
        archive=str(archive),
        wheel="(reused)",
        requirements=[line for line in lines if line and not line.startswith("#")],
        unzipped_bytes=unzipped,
        files=files,
        archive_bytes=archive.stat().st_size,
        pruned_bytes=0,
        removed_distributions=[],
        bytecode_files=sum(1 for _ in folder.rglob("*.pyc")),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bundle", type=Path, default=None, help="build into this folder")
    parser.add_argument("--reuse", action="store_true", help="measure the bundle in --bundle")
    args = parser.parse_args()

    from fakewatch.packaging import extract_as_deployed
    from fakewatch_azure.bundle import build

    env = function_env()
    with tempfile.TemporaryDirectory() as tmp:
        if args.reuse:
            if args.bundle is None:
                parser.error("--reuse needs --bundle FOLDER")
            bundle = existing(args.bundle.resolve())
        else:
            bundle = build(args.bundle or Path(tmp) / "azure")
        folder = extract_as_deployed(Path(bundle.archive), Path(tmp) / "mounted")
        base, cold = interleaved(args.runs, folder, env)
        imports_s, init_s = split(max(3, args.runs // 2), folder, env)
    base_s, cold_s = statistics.median(base), statistics.median(cold)
    doc = {
        "bundle": {
            "unzipped_bytes": bundle.unzipped_bytes,
            "files": bundle.files,
            "zip_bytes": bundle.archive_bytes,
            "pruned_bytes": bundle.pruned_bytes,
            "removed_distributions": bundle.removed_distributions,
            "bytecode_files": bundle.bytecode_files,
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
            "in_process_imports_s": round(imports_s, 4),
            "in_process_init_s": round(init_s, 4),
            "baseline_samples_s": [round(x, 4) for x in base],
            "function_samples_s": [round(x, 4) for x in cold],
        },
    }
    path = write("azure_artifact", doc)
    mib = 1024 * 1024
    rows = [
        ("bundle unzipped (app + .python_packages)",
         f"{bundle.unzipped_bytes / mib:.1f} MiB, {bundle.files} files"),
        ("bundle zip", f"{bundle.archive_bytes / mib:.1f} MiB"),
        (f"baseline: {BASELINE}", f"{base_s:.3f} s"),
        ("cold start: import function_app incl. warm_up()", f"{cold_s:.3f} s"),
        ("cold start / baseline", f"{cold_s / base_s:.2f}x (goal <= 2x)"),
        ("  split, separate runs: imports", f"{imports_s:.3f} s"),
        ("  split, separate runs: get_runtime()", f"{init_s:.3f} s"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"-> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
