"""Build the Lambda deployment package: ``python -m fakewatch_aws.bundle --out dist/aws``.

From the project's wheel (built with ``uv build``, or given with ``--wheel``), for each target
architecture of the Lambda Python 3.11 runtime (Amazon Linux 2023, glibc 2.34):

1. ``uv pip install --target DIR --link-mode copy --python-platform <arch>-manylinux_2_34
   --python-version 3.11 --only-binary :all: "fakewatch[aws] @ <wheel>"`` — binary wheels
   only, for Linux, whatever machine builds it; copies, never hard links into uv's cache, since
   step 2 edits files;
2. remove what the runtime already provides (boto3, botocore, s3transfer; ``--include-sdk``
   keeps them, for a runtime whose botocore is too old for conditional writes) and what a
   function never runs: ``__pycache__``, ``*.pyc``, ``*.pyi`` stubs, test suites of numpy,
   build artefacts and tooling listed in ``NEVER_LOADED``; debug sections are stripped from
   shared libraries that carry them (GNU strip of the library's own architecture);
3. zip it (sorted entries, fixed timestamps: the same inputs give the same zip) and write
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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000  # bytes, code and layers together
GOAL_UNZIPPED = 150 * 1000 * 1000
PYTHON_VERSION = "3.11"
PLATFORMS = {"x86_64": "x86_64-manylinux_2_34", "arm64": "aarch64-manylinux_2_34"}  # uv names
PIP_PLATFORMS = {"x86_64": "manylinux_2_34_x86_64", "arm64": "manylinux_2_34_aarch64"}
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
TEST_DIRS = ("numpy",)  # packages whose bundled test suites are dropped
# Files a function never loads, each checked: the Rust static archive and depfile c2pa-python
# ships beside its shared library; ONNX Runtime's C-API library (the Python binding links the
# runtime in statically) and its model-conversion tooling.
NEVER_LOADED = (
    "c2pa/libs/*.rlib",
    "c2pa/libs/*.d",
    "onnxruntime/capi/libonnxruntime.so*",
    "onnxruntime/transformers",
    "onnxruntime/quantization",
    "onnxruntime/tools",
)
ELF_MAGIC = b"\x7fELF"
HANDLER = "fakewatch_aws.handler.lambda_handler"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


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
    out_dir.mkdir(parents=True, exist_ok=True)
    if shutil.which("uv"):
        cmd = ["uv", "build", "--wheel", "--out-dir", str(out_dir), str(root)]
    else:
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out_dir), str(root)]
    subprocess.run(cmd, check=True, capture_output=True)
    wheels = sorted(out_dir.glob("fakewatch-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise FileNotFoundError(f"no fakewatch wheel in {out_dir}")
    return wheels[-1]


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


def _size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _remove(paths: Iterable[Path]) -> int:
    freed = 0
    for path in paths:
        if not path.exists() and not path.is_symlink():
            continue
        freed += _size(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return freed


def remove_distribution(target: Path, name: str) -> int:
    """Remove an installed distribution by the files its RECORD lists (and its dist-info)."""
    freed = 0
    for info in target.glob("*.dist-info"):
        if info.name.split("-")[0].lower().replace("_", "-") != name.lower():
            continue
        record = info / "RECORD"
        paths = set()
        if record.is_file():
            for line in record.read_text().splitlines():
                rel = line.split(",")[0]
                if rel:
                    paths.add((target / rel).resolve())
        freed += _remove(p for p in paths if target.resolve() in p.parents)
        freed += _remove([info])
    for top in (target / name,):  # empty package folders left behind
        if top.is_dir() and not any(top.rglob("*.*")):
            freed += _remove([top])
    return freed


def trim(target: Path, include_sdk: bool = False) -> int:
    """Remove what Lambda provides and what a function never runs; return bytes freed."""
    freed = 0
    if not include_sdk:
        for name in RUNTIME_PROVIDED:
            freed += remove_distribution(target, name)
    freed += _remove(sorted(target.rglob("__pycache__"), reverse=True))
    freed += _remove(list(target.rglob("*.pyc")) + list(target.rglob("*.pyi")))
    for package in TEST_DIRS:
        root = target / package
        if root.is_dir():
            freed += _remove(sorted((p for p in root.rglob("tests") if p.is_dir()), reverse=True))
    freed += _remove(list(target.glob("bin")))  # console scripts: nothing runs them in Lambda
    freed += _remove([p for pattern in NEVER_LOADED for p in target.glob(pattern)])
    freed += strip_debug(target)
    return freed


def strip_debug(target: Path) -> int:
    """Remove debug sections (not symbols) from Python extension modules that carry them.

    Only extension modules (``*.abi3.so``, ``*.cpython-*.so``), never the libraries auditwheel
    vendored into ``<pkg>.libs/``: stripping those (with GNU strip or llvm-strip alike) breaks
    them ("ELF load command address/offset not page-aligned" — seen with numpy's libgfortran).
    Only GNU ``strip`` for the module's own machine (``strip`` on x86_64 hosts,
    ``aarch64-linux-gnu-strip`` from binutils-aarch64-linux-gnu); ``llvm-strip`` breaks even
    extension modules. A module whose machine has no such tool here, or whose strip fails, is
    left as it was. Returns bytes freed.
    """
    freed = 0
    for path in sorted(target.rglob("*.so")):
        if not path.is_file() or path.is_symlink() or not _is_extension_module(path):
            continue
        with path.open("rb") as fh:
            header = fh.read(20)
        if header[:4] != ELF_MAGIC or not _has_debug_info(path):
            continue
        tool = _strip_tool(int.from_bytes(header[18:20], "little"))
        if tool is None:
            continue
        _unshare(path)
        before = path.stat().st_size
        done = subprocess.run([tool, "--strip-debug", str(path)], capture_output=True, check=False)
        if done.returncode == 0:
            freed += before - path.stat().st_size
    return freed


def _is_extension_module(path: Path) -> bool:
    vendored = any(part.endswith(".libs") for part in path.parts)
    return not vendored and (path.name.endswith(".abi3.so") or ".cpython-" in path.name)


def _unshare(path: Path) -> None:
    """Give ``path`` its own inode before editing it: an installer's cache may hard-link the
    same file into other environments, which an in-place edit would change too."""
    if path.stat().st_nlink > 1:
        copy = path.with_name(path.name + ".fakewatch-copy")
        shutil.copy2(path, copy)
        copy.replace(path)


def _has_debug_info(path: Path) -> bool:
    return b".debug_info" in path.read_bytes()


def _strip_tool(machine: int) -> str | None:
    """GNU strip for an ELF ``e_machine`` (62 x86_64, 183 aarch64), if installed."""
    host = {"x86_64": 62, "aarch64": 183, "arm64": 183}.get(os.uname().machine)
    names = {62: "x86_64-linux-gnu-strip", 183: "aarch64-linux-gnu-strip"}
    if machine not in names:
        return None
    found = shutil.which(names[machine])
    if found is None and machine == host:
        found = shutil.which("strip")
    if found and "llvm" in Path(found).resolve().name:
        return None
    return found


def package_sizes(target: Path) -> dict[str, int]:
    sizes = {p.name: _size(p) for p in target.iterdir() if not p.name.endswith(".dist-info")}
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
            report.removed_bytes = trim(directory, include_sdk)
            report.packages = package_sizes(directory)
            report.unzipped_bytes = _size(directory)
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
