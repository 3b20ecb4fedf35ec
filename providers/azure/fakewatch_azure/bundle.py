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
one-deploy — with no remote build. Then only what the function runs is kept
(:func:`fakewatch.packaging.trim_site`): the core, the modules of this adapter and of
``fakewatch_serve`` that ``function_app.py`` imports (not the CLI, local runner, emulator,
backfill or the GPU queue worker) and the dependency closure of the core and the ``azure``
extra — no other cloud's adapter, no ``fakewatch_cost``/``fakewatch_iac``, no CLI (typer,
rich, pygments, pydantic); ``cryptography`` stays, the Azure SDK uses it. Also left out:
type stubs, packaged test suites, tooling (``NEVER_IMPORTED``) and debug sections of
extension modules. Nothing the Functions Python worker itself provides is assumed, so
``azure-functions`` ships too
(Microsoft asks for it in requirements.txt).

The packages ship compiled, to unchecked-hash bytecode (PEP 552): a package mounted
read-only cannot cache bytecode, and timestamp-checked ``.pyc`` go stale in a zip (its times
have two-second steps), so without it every cold start would compile every module again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from fakewatch import packaging
from fakewatch.packaging import build_wheel, folder_bytes, zip_folder

DIST_NAME = "fakewatch"
CLOUD = EXTRA = "azure"
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
    removed_distributions: list[str]
    bytecode_files: int


def project_root() -> Path:
    """The checkout this package lives in (providers/azure/fakewatch_azure -> repo root)."""
    return Path(__file__).resolve().parents[3]


def app_source() -> Path:
    return Path(__file__).resolve().parents[1]


def runtime_requirements(extra: str = EXTRA) -> list[str]:
    """The core's and the cloud extra's dependencies, pinned to the versions tested here."""
    return packaging.runtime_requirements(extra)


def install(site: Path, wheel: Path, requirements: list[str]) -> None:
    """Install the wheel and its pinned dependencies for the Functions platform."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("building the Azure bundle needs uv (pip install uv)")
    cmd = [
        uv, "pip", "install", "--quiet", "--target", str(site), "--link-mode", "copy",
        "--python-platform", PLATFORM, "--python-version", PYTHON,
        "--only-binary", ":all:", str(wheel), *requirements,
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)


def prune(site: Path, entry: Path) -> packaging.Pruned:
    """Keep what the function (``entry``: function_app.py) runs; remove what never runs."""
    pruned = packaging.trim_site(site, CLOUD, EXTRA, [entry])
    pruned.bytes += _prune_tests_and_stubs(site) + packaging.strip_debug(site)
    return pruned


def _prune_tests_and_stubs(site: Path) -> int:
    removed = 0
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in PRUNE_DIRS and not path.is_symlink():
            removed += folder_bytes(path)[0]
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in PRUNE_SUFFIXES:
            removed += path.stat().st_size
            path.unlink()
    return removed


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
    pruned = prune(out / SITE, out / "function_app.py")
    bytecode = packaging.compile_bytecode(out, PYTHON)
    archive = archive_path(out)
    zip_folder(out, archive)
    unzipped, files = folder_bytes(out)
    return Bundle(
        folder=str(out),
        archive=str(archive),
        wheel=built.name,
        requirements=lines,
        unzipped_bytes=unzipped,
        files=files,
        archive_bytes=archive.stat().st_size,
        pruned_bytes=pruned.bytes,
        removed_distributions=sorted(pruned.distributions),
        bytecode_files=bytecode,
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
