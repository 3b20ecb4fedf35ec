"""Build the Lambda deployment package: ``python -m fakewatch_aws.bundle --out dist/aws``.

From the project's wheel (built with ``uv build``, or given with ``--wheel``), for each target
architecture of the Lambda Python 3.11 runtime (Amazon Linux 2023, glibc 2.34):

1. ``uv pip install --target DIR --link-mode copy --python-platform <arch>-manylinux_2_34
   --python-version 3.11 --only-binary :all: "fakewatch[aws] @ <wheel>"`` — binary wheels
   only, for Linux, whatever machine builds it; copies, never hard links into uv's cache, since
   step 2 edits files;
2. keep only what the function runs (:func:`fakewatch.packaging.trim_site`): the core, the
   modules of this adapter and of ``fakewatch_serve`` that the handler imports (not the CLI,
   local runner, emulator or backfill helpers) and the dependency closure of the core and
   the ``aws`` extra — no other cloud's adapter, no ``fakewatch_cost``/``fakewatch_iac``,
   no CLI (typer, rich, pygments, pydantic), no ``cryptography`` (only sample media signs
   with it); then remove what the runtime provides (boto3, botocore, s3transfer;
   ``--include-sdk`` keeps them, for a runtime whose botocore is too old for conditional
   writes), stubs, tooling and test-only modules (``NEVER_IMPORTED``), and debug sections of
   extension modules (GNU strip of the module's own architecture);
3. compile every module to unchecked-hash bytecode (PEP 552): ``/var/task`` is read-only, so
   without shipped ``.pyc`` every cold start compiles every module it imports, and
   unchecked-hash ``.pyc`` stay valid whatever times the zip gives the sources;
4. zip it (sorted entries, fixed timestamps: the same inputs give the same zip) and write
   ``bundle.json`` with the unzipped size per package, checked against Lambda's 250 MB limit.

Handler: ``fakewatch_aws.handler.lambda_handler``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fakewatch import packaging
from fakewatch.packaging import remove_distribution, strip_debug

LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000  # bytes, code and layers together
GOAL_UNZIPPED = 150 * 1000 * 1000
PYTHON_VERSION = "3.11"
PLATFORMS = {"x86_64": "x86_64-manylinux_2_34", "arm64": "aarch64-manylinux_2_34"}  # uv names
PIP_PLATFORMS = {"x86_64": "manylinux_2_34_x86_64", "arm64": "manylinux_2_34_aarch64"}
CLOUD = EXTRA = "aws"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
HANDLER = "fakewatch_aws.handler.lambda_handler"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

__all__ = [
    "BundleReport",
    "archive_path",
    "bundle",
    "describe",
    "package_sizes",
    "remove_distribution",
    "strip_debug",
    "trim",
    "write_zip",
]


@dataclass
class BundleReport:
    arch: str
    platform: str
    directory: str
    zip_path: str
    unzipped_bytes: int = 0
    zipped_bytes: int = 0
    files: int = 0
    removed_bytes: int = 0
    removed_distributions: list[str] = field(default_factory=list)
    bytecode_files: int = 0
    packages: dict[str, int] = field(default_factory=dict)  # top-level entry → bytes
    handler: str = HANDLER

    @property
    def within_limit(self) -> bool:
        return self.unzipped_bytes <= LAMBDA_UNZIPPED_LIMIT


DEFAULT_OUT = Path("dist/aws")  # make bundle-aws


def archive_path(out: Path, arch: str) -> Path:
    """Where the zip for ``arch`` lands: the Pulumi stack's default artifact path."""
    return out / f"fakewatch-aws-lambda-{arch}.zip"


def project_root() -> Path | None:
    """The source checkout this module runs from, if it is one."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() else None


def build_wheel(out_dir: Path, root: Path | None = None) -> Path:
    """Build the project wheel into ``out_dir`` and return its path."""
    root = root or project_root()
    if root is None:
        raise FileNotFoundError("not running from a checkout: pass --wheel PATH")
    return packaging.build_wheel(root, out_dir)


def install(wheel: Path, target: Path, arch: str) -> None:
    """Install the wheel with the aws extra into ``target``: binary wheels for ``arch``."""
    uv = shutil.which("uv")
    requirement = f"fakewatch[aws] @ {wheel.resolve().as_uri()}"
    if uv:
        cmd = [
            uv, "pip", "install", "--quiet", "--target", str(target), "--link-mode", "copy",
            "--python-platform", PLATFORMS[arch], "--python-version", PYTHON_VERSION,
            "--only-binary", ":all:", requirement,
        ]  # fmt: skip
    else:
        cmd = [
            sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
            "--platform", PIP_PLATFORMS[arch], "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "--only-binary=:all:", requirement,
        ]  # fmt: skip
    subprocess.run(cmd, check=True)


def trim(target: Path, include_sdk: bool = False) -> packaging.Pruned:
    """Keep what the function runs; remove what Lambda provides and what never runs."""
    entry = target.joinpath(*HANDLER.split(".")[:-1]).with_suffix(".py")
    pruned = packaging.trim_site(target, CLOUD, EXTRA, [entry], runtime_provided=RUNTIME_PROVIDED)
    if not include_sdk:
        for name in RUNTIME_PROVIDED:
            freed = remove_distribution(target, name)
            if freed:
                pruned.bytes += freed
                pruned.distributions.append(name)
    pruned.bytes += strip_debug(target)
    return pruned


def package_sizes(target: Path) -> dict[str, int]:
    sizes = {
        p.name: packaging.size(p) for p in target.iterdir() if not p.name.endswith(".dist-info")
    }
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


def write_zip(target: Path, zip_path: Path) -> int:
    """A reproducible zip of ``target``; returns its size in bytes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(target).as_posix(), ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, path.read_bytes())
    return zip_path.stat().st_size


def bundle(
    out: Path,
    archs: Sequence[str] = ("x86_64", "arm64"),
    wheel: Path | None = None,
    include_sdk: bool = False,
) -> list[BundleReport]:
    """Build one package per architecture under ``out/<arch>/``; return what was built."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fakewatch-wheel-") as tmp:
        wheel = wheel or build_wheel(Path(tmp))
        reports = []
        for arch in archs:
            platform = PLATFORMS[arch]
            directory = out / arch / "package"
            if directory.exists():
                shutil.rmtree(directory)
            directory.mkdir(parents=True)
            install(wheel, directory, arch)
            report = BundleReport(
                arch=arch,
                platform=platform,
                directory=str(directory),
                zip_path=str(archive_path(out, arch)),
            )
            pruned = trim(directory, include_sdk)
            report.removed_bytes = pruned.bytes
            report.removed_distributions = sorted(pruned.distributions)
            report.bytecode_files = packaging.compile_bytecode(directory, PYTHON_VERSION)
            report.packages = package_sizes(directory)
            report.unzipped_bytes = packaging.size(directory)
            report.files = sum(1 for p in directory.rglob("*") if p.is_file())
            report.zipped_bytes = write_zip(directory, Path(report.zip_path))
            (out / arch / "bundle.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
            reports.append(report)
    return reports


def describe(report: BundleReport, top: int = 8) -> str:
    mb = 1_000_000
    lines = [
        f"{report.arch}: {report.unzipped_bytes / mb:.1f} MB unzipped "
        f"({'within' if report.within_limit else 'OVER'} Lambda's 250 MB; goal 150 MB), "
        f"{report.zipped_bytes / mb:.1f} MB zipped, {report.files} files -> {report.zip_path}",
    ]
    lines += [
        f"  {size / mb:8.1f} MB  {name}" for name, size in list(report.packages.items())[:top]
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakewatch_aws.bundle", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--arch", action="append", choices=sorted(PLATFORMS))
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of building one")
    parser.add_argument(
        "--include-sdk", action="store_true", help="bundle boto3/botocore instead of the runtime's"
    )
    args = parser.parse_args(argv)
    reports = bundle(args.out, args.arch or ["x86_64", "arm64"], args.wheel, args.include_sdk)
    for report in reports:
        print(describe(report))
    return 0 if all(r.within_limit for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
