"""Build the zip Azure Functions deploys: the app, its settings and its packages, ready to run.

``python -m fakewatch_azure.bundle --out dist/azure`` (``make bundle-azure``) writes::

    dist/azure/
      function_app.py                       the entry (scan_blob), from providers/azure/
      host.json                             the host's settings, from providers/azure/
      requirements.txt                      the project wheel's name and every runtime pin
      .python_packages/lib/site-packages/   the wheel + the core's and the azure extra's
                                            dependencies, installed for Linux x86_64, 3.11
    dist/azure.zip                          the same folder zipped

The packages are installed here, for the Functions platform (``uv pip install --target ...
--python-platform x86_64-manylinux_2_28 --python-version 3.11 --only-binary :all:``), so the
zip deploys as it is — ``az functionapp deployment source config-zip`` or a Flex Consumption
one-deploy — with no remote build. The packages ship compiled (``--compile-bytecode``): a
package mounted read-only cannot cache bytecode, so without it every cold start would compile
every module again. Left out: type stubs and packaged test suites; nothing the Functions
Python worker itself provides is assumed, so ``azure-functions`` ships too (Microsoft asks
for it in requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

DIST_NAME = "fakewatch"
EXTRA = "azure"
PLATFORM = "x86_64-manylinux_2_28"  # Functions on Linux (Debian 12 based images, glibc 2.36)
PYTHON = "3.11"
SITE = Path(".python_packages") / "lib" / "site-packages"
APP_FILES = ("function_app.py", "host.json")
PRUNE_DIRS = frozenset({"tests", "test", "testing_data"})
PRUNE_SUFFIXES = (".pyi",)


@dataclass(frozen=True)
class Bundle:
    folder: str
    archive: str
    wheel: str
    requirements: list[str]
    unzipped_bytes: int
    files: int
    archive_bytes: int
    pruned_bytes: int


def project_root() -> Path:
    """The checkout this package lives in (providers/azure/fakewatch_azure -> repo root)."""
    return Path(__file__).resolve().parents[3]


def app_source() -> Path:
    return Path(__file__).resolve().parents[1]


def build_wheel(root: Path, outdir: Path) -> Path:
    """Build the project wheel with uv (or python -m build) into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    cmd = (
        [uv, "build", "--wheel", "--out-dir", str(outdir), str(root)]
        if uv
        else [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(root)]
    )
    subprocess.run(cmd, check=True, capture_output=True)
    wheels = sorted(outdir.glob(f"{DIST_NAME}-*-py3-none-any.whl"))
    if not wheels:
        raise FileNotFoundError(f"no {DIST_NAME} wheel was built in {outdir}")
    return wheels[-1]


_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def runtime_requirements(extra: str = EXTRA) -> list[str]:
    """The core's and ``extra``'s dependencies, pinned to the versions tested here."""
    pins: dict[str, str] = {}
    for req in metadata.requires(DIST_NAME) or []:
        spec, _, marker = req.partition(";")
        wanted = _EXTRA_MARKER.search(marker)
        if marker.strip() and (wanted is None or wanted.group(1) != extra):
            continue
        match = _NAME.match(spec)
        if match is not None:
            name = match.group(1)
            pins[name.lower()] = f"{name}=={metadata.version(name)}"
    return sorted(pins.values(), key=str.lower)


def install(site: Path, wheel: Path, requirements: list[str]) -> None:
    """Install the wheel and its pinned dependencies for the Functions platform."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("building the Azure bundle needs uv (pip install uv)")
    cmd = [
        uv, "pip", "install", "--quiet", "--compile-bytecode", "--target", str(site),
        "--python-platform", PLATFORM, "--python-version", PYTHON,
        "--only-binary", ":all:", str(wheel), *requirements,
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)


def prune(site: Path) -> int:
    """Remove what never runs on the platform; the bytes removed."""
    removed = 0
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in PRUNE_DIRS and not path.is_symlink():
            removed += folder_size(path)[0]
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in PRUNE_SUFFIXES:
            removed += path.stat().st_size
            path.unlink()
    return removed


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


DEFAULT_OUT = Path("dist/azure")  # make bundle-azure


def archive_path(out: Path) -> Path:
    """The zip beside the deployable folder: the Pulumi stack's default artifact path."""
    return out.with_suffix(".zip")


def build(out: Path, *, wheel: Path | None = None) -> Bundle:
    """Build the deployable folder and its zip."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="fakewatch-azure-") as tmp:
        built = wheel or build_wheel(project_root(), Path(tmp) / "wheel")
        for name in APP_FILES:
            shutil.copy2(app_source() / name, out / name)
        requirements = runtime_requirements()
        header = "# Generated by python -m fakewatch_azure.bundle; installed in .python_packages\n"
        lines = [f"{DIST_NAME}=={metadata.version(DIST_NAME)}", *requirements]
        (out / "requirements.txt").write_text(header + "\n".join(lines) + "\n")
        install(out / SITE, built, requirements)
    pruned = prune(out / SITE)
    archive = archive_path(out)
    zip_folder(out, archive)
    unzipped, files = folder_size(out)
    return Bundle(
        folder=str(out),
        archive=str(archive),
        wheel=built.name,
        requirements=lines,
        unzipped_bytes=unzipped,
        files=files,
        archive_bytes=archive.stat().st_size,
        pruned_bytes=pruned,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakewatch_azure.bundle", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--wheel", type=Path, default=None, help="use this wheel, do not build")
    args = parser.parse_args(argv)
    bundle = build(args.out, wheel=args.wheel)
    print(json.dumps(asdict(bundle), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
