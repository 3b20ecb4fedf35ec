"""Building deployable artifacts from the project wheel: shared by every cloud's bundle builder.

Standard library only (the core imports no cloud SDK); each provider's ``bundle`` module adds
what its platform needs (target platform, layout, pruning).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

DIST_NAME = "fakewatch"
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


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


def runtime_requirements(extra: str) -> list[str]:
    """The core's and ``extra``'s dependencies, pinned to the versions installed here."""
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


def zip_folder(folder: Path, archive: Path) -> None:
    """Zip ``folder``'s files in sorted order, paths relative to it."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
