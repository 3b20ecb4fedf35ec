"""Building deployable artifacts from the project wheel: shared by every cloud's bundle builder.

Standard library only (the core imports no cloud SDK); each provider's ``bundle`` module adds
what its platform needs (target platform, layout, what its runtime provides).

What a cloud's function artifact carries is decided here, the same way for every cloud:

* **third-party distributions**: the dependency closure of the core and the cloud's extra, read
  from the metadata of what was installed, except the edges in ``NOT_IMPORTED_AT_RUN_TIME`` —
  dependencies a distribution declares that no function ever imports (the CLI's typer and
  rich, c2pa-python's build-time downloader, ONNX Runtime's model tooling). A dependency that
  another kept distribution needs stays (Azure and GCP keep ``cryptography``: their SDKs use it);
* **first-party packages**: the core (minus its command-line, sample-media and test-helper
  modules, ``CORE_NOT_AT_RUN_TIME``, which need what a function does not ship) and the modules
  of the cloud's adapter and of ``fakewatch_serve`` (the escalation wire format) that the
  function's entry point imports; never the other clouds' adapters, ``fakewatch_cost`` or
  ``fakewatch_iac``, nor the adapter's CLI, local runner, emulator helpers or worker process;
* **files nothing imports** (``NEVER_IMPORTED``), each checked: build leftovers and tooling.

Bytecode is compiled with unchecked hashes (PEP 552) so it stays valid in a zip whatever the
file times: a function's package is read-only, so without it every cold start compiles again.
"""

from __future__ import annotations

import ast
import compileall
import os
import py_compile
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

DIST_NAME = "fakewatch"
FIRST_PARTY = (
    "fakewatch",
    "fakewatch_serve",
    "fakewatch_aws",
    "fakewatch_gcp",
    "fakewatch_azure",
    "fakewatch_cost",
    "fakewatch_iac",
)
SERVE_PACKAGE = "fakewatch_serve"  # only the modules the function imports ship
# Core modules a function never runs: the CLI (typer, rich), sample media (cryptography
# signers) and test helpers (onnx).
CORE_NOT_AT_RUN_TIME = ("fakewatch/cli", "fakewatch/samples", "fakewatch/testing")
# distribution -> {dependency it declares: where it is used instead of at a function's run time}
NOT_IMPORTED_AT_RUN_TIME: dict[str, dict[str, str]] = {
    "fakewatch": {
        "typer": "the fakewatch CLI",
        "rich": "the fakewatch CLI",
        "cryptography": "fakewatch.samples (throwaway signers for sample media)",
    },
    "c2pa-python": {
        "cryptography": "c2pa/build.py, which downloads the native library at build time",
        "requests": "c2pa/build.py, which downloads the native library at build time",
        "toml": "c2pa/build.py, which downloads the native library at build time",
    },
    "onnxruntime": {
        "protobuf": "onnxruntime.tools/transformers/quantization, dropped (NEVER_IMPORTED)",
        "flatbuffers": "onnxruntime.tools (ORT-format conversion), dropped (NEVER_IMPORTED)",
        "packaging": "onnxruntime.transformers/quantization, dropped (NEVER_IMPORTED)",
    },
}
# Files a function never loads, each checked: the Rust static archive, depfile and download
# helper c2pa-python ships beside its shared library; ONNX Runtime's C-API library (the Python
# binding links the runtime in statically) and its model-conversion tooling; numpy's C headers,
# static libraries, f2py, distutils and the extension modules only its own test suite loads.
NEVER_IMPORTED = (
    "c2pa/libs/*.rlib",
    "c2pa/libs/*.d",
    "c2pa/build.py",
    "onnxruntime/capi/libonnxruntime.so*",
    "onnxruntime/transformers",
    "onnxruntime/quantization",
    "onnxruntime/tools",
    "onnxruntime/backend",  # the ONNX backend-test API: needs the onnx package
    "numpy/_core/include",
    "numpy/_core/lib",
    "numpy/f2py",
    "numpy/distutils",
    "numpy/_pyinstaller",
    "numpy/_core/_simd.*",
    "numpy/_core/_*_tests.*",
    "numpy/_core/_rational_tests.*",
    "numpy/_core/_umath_tests.*",
    "numpy/tests",
    "numpy/*/tests",
    "numpy/_core/tests",
    "numpy/conftest.py",
    "bin",  # console scripts: nothing runs them in a function
    # where this build installed from (a temporary wheel path) and uv's cache bookkeeping (a
    # timestamp): neither is read at run time, and both made every build's zip differ
    "*.dist-info/direct_url.json",
    "*.dist-info/uv_cache.json",
)
ELF_MAGIC = b"\x7fELF"
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


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


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    """One ``Requires-Dist`` line, as far as choosing what ships needs it."""

    name: str
    extras: frozenset[str] = frozenset()
    only_for_extras: frozenset[str] = frozenset()  # empty: always wanted

    @classmethod
    def parse(cls, line: str) -> Requirement | None:
        spec, _, marker = line.partition(";")
        match = _NAME.match(spec)
        if match is None:
            return None
        extras = frozenset(canonical(e) for e in (match.group(2) or "").split(",") if e.strip())
        wanted = frozenset(canonical(e) for e in _EXTRA_MARKER.findall(marker))
        return cls(canonical(match.group(1)), extras, wanted)


def runtime_requirements(extra: str) -> list[str]:
    """The core's and ``extra``'s direct dependencies a function needs, pinned to the versions
    installed here (the ones tested); what only the CLI or sample media use is left out."""
    cut = {canonical(n) for n in NOT_IMPORTED_AT_RUN_TIME[DIST_NAME]}
    kept = closure({DIST_NAME: {extra}}, _installed_here())
    pins: dict[str, str] = {}
    for line in metadata.requires(DIST_NAME) or []:
        req = Requirement.parse(line)
        if req is None or (req.only_for_extras and canonical(extra) not in req.only_for_extras):
            continue
        if req.name in cut and req.name not in kept:
            continue
        name = metadata.metadata(req.name)["Name"]
        pins[req.name] = f"{name}=={metadata.version(req.name)}"
    return sorted(pins.values(), key=str.lower)


def _installed_here() -> dict[str, list[Requirement]]:
    return _graph(metadata.distributions())


def installed(site: Path) -> dict[str, list[Requirement]]:
    """Distributions installed in ``site`` → the requirements each declares."""
    return _graph(metadata.distributions(path=[str(site)]))


def _graph(dists: Iterable[metadata.Distribution]) -> dict[str, list[Requirement]]:
    graph: dict[str, list[Requirement]] = {}
    for dist in dists:
        reqs = (Requirement.parse(line) for line in dist.requires or [])
        graph.setdefault(canonical(dist.metadata["Name"]), [r for r in reqs if r is not None])
    return graph


def closure(
    roots: Mapping[str, Iterable[str]],
    graph: Mapping[str, list[Requirement]],
    cut: Mapping[str, Mapping[str, str]] = NOT_IMPORTED_AT_RUN_TIME,
) -> set[str]:
    """Every distribution the ``roots`` (name → extras wanted) need at run time.

    Follows each requirement whose markers ask for no extra or for one that is wanted, except
    the edges ``cut`` names. Markers other than ``extra`` count as true: keeping one package
    too many is safe, dropping one a function imports is not.
    """
    cuts = {canonical(d): {canonical(n) for n in names} for d, names in cut.items()}
    wanted: dict[str, set[str]] = {}
    todo = [(canonical(name), {canonical(e) for e in extras}) for name, extras in roots.items()]
    while todo:
        name, extras = todo.pop()
        have = wanted.get(name)
        if have is not None and extras <= have:
            continue
        wanted[name] = (have or set()) | extras
        for req in graph.get(name, []):
            if req.name in cuts.get(name, set()):
                continue
            if req.only_for_extras and not req.only_for_extras & wanted[name]:
                continue
            todo.append((req.name, set(req.extras)))
    return set(wanted)


@dataclass
class Pruned:
    """What pruning a site-packages folder removed."""

    distributions: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    bytes: int = 0

    def add(self, other: Pruned) -> None:
        self.distributions += other.distributions
        self.paths += other.paths
        self.bytes += other.bytes


def size(path: Path) -> int:
    """Bytes under ``path`` (a file or a folder), links not followed."""
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def remove(paths: Iterable[Path]) -> int:
    """Delete files and folders; the bytes freed."""
    freed = 0
    for path in paths:
        if not path.exists() and not path.is_symlink():
            continue
        freed += size(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return freed


def _dist_infos(site: Path) -> Iterator[tuple[str, Path]]:
    for info in sorted(site.glob("*.dist-info")):
        meta = info / "METADATA"
        name = None
        if meta.is_file():
            for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name:"):
                    name = line.partition(":")[2].strip()
                    break
        yield canonical(name or info.name.split("-")[0]), info


def remove_distribution(site: Path, name: str) -> int:
    """Remove an installed distribution by the files its RECORD lists (and its dist-info);
    nothing outside ``site`` is touched whatever RECORD says. Folders left empty go too."""
    freed = 0
    root = site.resolve()
    for dist, info in list(_dist_infos(site)):
        if dist != canonical(name):
            continue
        record = info / "RECORD"
        paths = set()
        if record.is_file():
            for line in record.read_text().splitlines():
                rel = line.split(",")[0]
                if rel:
                    paths.add((site / rel).resolve())
        inside = sorted(p for p in paths if root in p.parents)
        freed += remove(inside)
        freed += remove([info])
        remove_empty_parents(root, inside)
    return freed


def remove_empty_parents(site: Path, removed: Iterable[Path]) -> None:
    """Delete the folders of ``removed`` files that hold nothing else (bytecode aside)."""
    folders = {parent for path in removed for parent in path.parents if site in parent.parents}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        empty = folder.is_dir() and not folder.is_symlink()
        if empty and all(p.name == "__pycache__" for p in folder.iterdir()):
            shutil.rmtree(folder)


def prune_distributions(site: Path, keep: Iterable[str]) -> Pruned:
    """Remove every distribution in ``site`` not named in ``keep``."""
    kept = {canonical(n) for n in keep}
    pruned = Pruned()
    for name, _ in list(_dist_infos(site)):
        if name not in kept:
            pruned.bytes += remove_distribution(site, name)
            pruned.distributions.append(name)
    return pruned


def prune_first_party(site: Path, cloud: str, entries: Iterable[Path]) -> Pruned:
    """Keep the core and the modules of ``fakewatch_<cloud>`` and ``fakewatch_serve`` that the
    function's ``entries`` (its entry-point files) import; drop the other first-party packages
    and the core's CLI/sample/test modules. RECORD follows.

    The core stays whole (minus those): it loads signals and stores by name at run time. The
    adapter and ``fakewatch_serve`` are followed by their ``import`` statements, lazy ones
    inside functions included, so what only the CLI, the local runner, the emulator helpers or
    a separate worker process imports does not ship.
    """
    own = f"fakewatch_{cloud}"
    doomed = [site / p for p in FIRST_PARTY if p not in ("fakewatch", own, SERVE_PACKAGE)]
    doomed += [site / p for p in CORE_NOT_AT_RUN_TIME]
    needed = modules_needed(site, entries, within=(own, SERVE_PACKAGE))
    for package in (own, SERVE_PACKAGE):
        if (site / package).is_dir():
            doomed += sorted(p for p in (site / package).rglob("*.py") if p not in needed)
    doomed = [p for p in doomed if p.exists()]
    pruned = Pruned(paths=[p.relative_to(site).as_posix() for p in doomed], bytes=remove(doomed))
    remove_empty_parents(site.resolve(), [p.resolve() for p in doomed])
    rewrite_records(site)
    return pruned


def modules_needed(site: Path, entries: Iterable[Path], within: Iterable[str]) -> set[Path]:
    """The source files in the ``within`` packages that ``entries`` import, transitively,
    with each package's ``__init__.py``."""
    packages = [site / name for name in within]
    todo = list(entries)
    needed: set[Path] = set()
    for entry in todo:  # an entry inside a package is needed itself, with its packages
        if entry.is_relative_to(site):
            module = ".".join(entry.relative_to(site).with_suffix("").parts)
            needed.update(f for f in _module_files(site, module) if f.is_relative_to(site))
    needed = {f for f in needed if any(f.is_relative_to(package) for package in packages)}
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path, site):
            for file in _module_files(site, module):
                if any(file.is_relative_to(package) for package in packages):
                    needed.add(file)
                    todo.append(file)
    return needed


def imported_modules(path: Path, site: Path) -> set[str]:
    """Dotted names ``path`` imports (``from a import b`` gives ``a`` and ``a.b``); a file
    outside ``site`` (an app's entry beside it) counts as a top-level module."""
    parts = list(path.relative_to(site).with_suffix("").parts) if path.is_relative_to(site) else []
    here = parts[:-1]  # the package a relative import starts from (for __init__: itself)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - (node.level - 1)] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m}


def _module_files(site: Path, module: str) -> list[Path]:
    """The files importing ``module`` runs: each package's ``__init__.py``, then the module."""
    files = []
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        stem = site.joinpath(*parts[:i])
        if (stem / "__init__.py").is_file():
            files.append(stem / "__init__.py")
        elif stem.with_suffix(".py").is_file():
            files.append(stem.with_suffix(".py"))
    return files


def rewrite_records(site: Path) -> None:
    """Drop RECORD rows whose files were pruned, so the metadata tells the truth."""
    for _, info in _dist_infos(site):
        record = info / "RECORD"
        if not record.is_file():
            continue
        rows = record.read_text().splitlines()
        kept = [r for r in rows if r and (site / r.split(",")[0]).exists()]
        record.write_text("\n".join(kept) + "\n")


def remove_never_imported(site: Path, patterns: Iterable[str] = NEVER_IMPORTED) -> Pruned:
    doomed = sorted({p for pattern in patterns for p in site.glob(pattern)}, reverse=True)
    pruned = Pruned(paths=[p.relative_to(site).as_posix() for p in doomed])
    pruned.bytes = remove(doomed)
    return pruned


def remove_bytecode_and_stubs(site: Path) -> int:
    """``__pycache__``, ``*.pyc`` (whatever compiled them: bytecode is compiled again, once,
    for the target) and ``*.pyi`` stubs; stub-only folders go with them."""
    freed = remove(sorted(site.rglob("__pycache__"), reverse=True))
    files = list(site.rglob("*.pyc")) + list(site.rglob("*.pyi"))
    freed += remove(files)
    remove_empty_parents(site.resolve(), [f.resolve() for f in files])
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


def trim_site(
    site: Path,
    cloud: str,
    extra: str,
    entries: Iterable[Path],
    *,
    runtime_provided: Iterable[str] = (),
) -> Pruned:
    """Reduce an installed ``fakewatch[extra]`` to what ``cloud``'s function runs, starting
    from its entry-point files (see :func:`prune_first_party`).

    ``runtime_provided`` distributions (and theirs) count as needed for the closure, so what
    they need stays; the caller decides whether to remove them afterwards.
    """
    graph = installed(site)
    roots: dict[str, set[str]] = {DIST_NAME: {extra}}
    roots.update({canonical(n): set() for n in runtime_provided})
    pruned = prune_distributions(site, closure(roots, graph))
    pruned.add(prune_first_party(site, cloud, entries))
    pruned.add(remove_never_imported(site))
    pruned.bytes += remove_bytecode_and_stubs(site)
    rewrite_records(site)
    return pruned


def compile_bytecode(folder: Path, python_version: str) -> int:
    """Compile every module under ``folder`` to unchecked-hash ``.pyc`` — valid whatever file
    times a zip gives the sources — if this interpreter is ``python_version`` (bytecode is
    version-specific); the number of ``.pyc`` files written (0: not this version)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python_version:
        return 0
    compileall.compile_dir(
        str(folder),
        quiet=2,  # a module that does not compile (a template, a py2 leftover) stays source-only
        workers=0,
        ddir="",  # paths in code objects relative: the same bytes wherever it was built
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return sum(1 for _ in folder.rglob("*.pyc"))


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(bytes, files) under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def zip_folder(folder: Path, archive: Path) -> None:
    """Zip ``folder``'s files in sorted order, paths relative to it."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())


def extract_as_deployed(archive: Path, dest: Path) -> Path:
    """Unzip ``archive`` into ``dest`` the way a platform presents a deployed zip: each file
    with the modification time and permission bits the zip records (``zipfile`` alone gives
    every file the extraction time, which would misjudge timestamp-checked bytecode)."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
        for info in zf.infolist():
            path = dest / info.filename
            if info.is_dir() or not path.is_file():
                continue
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (stamp, stamp))
    return dest
