"""Prove the wheel installs every named package and nothing generic.

Usage: python tests/tools/check_wheel.py DIST_DIR
Installs the wheel (no dependencies) into a throwaway target folder and imports
each named package from there, not from the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

EXPECTED = {
    "fakewatch",
    "fakewatch_serve",
    "fakewatch_aws",
    "fakewatch_gcp",
    "fakewatch_azure",
    "fakewatch_cost",
    "fakewatch_iac",
}
DATA = {  # package data the code reads at run time
    "fakewatch/schemas/verdict.schema.json",
    "fakewatch/schemas/policy.schema.json",
    "fakewatch/schemas/model-manifest.schema.json",
}
GENERIC = {"functions", "providers", "cost", "iac", "tests", "bench"}


def _installer() -> list[str]:
    """uv's pip (the venv ``make setup`` builds has no pip of its own), else pip."""
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "-q", "--python", sys.executable]
    return [sys.executable, "-m", "pip", "install", "-q"]


def main(dist: str) -> int:
    wheels = sorted(Path(dist).glob("fakewatch-*.whl"))
    if not wheels:
        print(f"no wheel in {dist}", file=sys.stderr)
        return 1
    wheel = wheels[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
    tops = {t for t in tops if not t.endswith(".dist-info")}
    missing, generic = (EXPECTED - tops) | (DATA - names), tops & GENERIC
    if missing or generic:
        print(
            f"{wheel.name}: missing {sorted(missing)}, generic {sorted(generic)}", file=sys.stderr
        )
        return 1
    with tempfile.TemporaryDirectory() as target:
        subprocess.run([*_installer(), "--no-deps", "--target", target, str(wheel)], check=True)
        checks = (
            f"m=importlib.import_module({name!r});"
            f"assert m.__file__.startswith({target!r}),m.__file__"
            for name in sorted(EXPECTED)
        )
        code = "import importlib,sys;" + ";".join(checks)
        subprocess.run(
            [sys.executable, "-I", "-c", f"import sys;sys.path.insert(0,{target!r});{code}"],
            check=True,
        )
    print(f"{wheel.name}: installs {', '.join(sorted(EXPECTED))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
