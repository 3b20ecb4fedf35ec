"""The bundle builder's file surgery, on real files: what it removes, what it keeps, that it
strips debug sections without touching hard-linked copies elsewhere, and reproducible zips.
(The full build downloads wheels for two platforms; ``bench/bench_aws_artifact.py`` runs it.)"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fakewatch_aws.bundle import package_sizes, remove_distribution, strip_debug, trim, write_zip


def _dist(target: Path, name: str, files: dict[str, bytes]) -> None:
    info = target / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    rows = [f"{rel},sha256=x,{len(data)}" for rel, data in files.items()]
    (info / "RECORD").write_text("\n".join([*rows, f"{info.name}/RECORD,,"]) + "\n")


def test_runtime_provided_sdk_and_dead_weight_are_removed(tmp_path: Path) -> None:
    _dist(tmp_path, "boto3", {"boto3/__init__.py": b"x" * 10, "boto3/session.py": b"y"})
    _dist(tmp_path, "botocore", {"botocore/__init__.py": b"z" * 100})
    _dist(tmp_path, "jmespath", {"jmespath/__init__.py": b"keep"})
    (tmp_path / "fakewatch" / "__pycache__").mkdir(parents=True)
    (tmp_path / "fakewatch" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"pyc")
    (tmp_path / "fakewatch" / "__init__.py").write_text("")
    (tmp_path / "fakewatch" / "typed.pyi").write_text("x: int")
    (tmp_path / "numpy" / "_core" / "tests").mkdir(parents=True)
    (tmp_path / "numpy" / "_core" / "tests" / "test_x.py").write_text("")
    (tmp_path / "numpy" / "_core" / "multiarray.py").write_text("")
    (tmp_path / "c2pa" / "libs").mkdir(parents=True)
    (tmp_path / "c2pa" / "libs" / "libc2pa_c.rlib").write_bytes(b"!<arch>")
    (tmp_path / "c2pa" / "libs" / "libc2pa_c.so").write_bytes(b"not really elf")

    freed = trim(tmp_path)

    assert freed > 0
    assert not (tmp_path / "boto3").exists() and not (tmp_path / "botocore").exists()
    assert not list(tmp_path.glob("boto*.dist-info"))
    assert (tmp_path / "jmespath" / "__init__.py").exists()
    assert (tmp_path / "fakewatch" / "__init__.py").exists()
    assert not (tmp_path / "fakewatch" / "__pycache__").exists()
    assert not (tmp_path / "fakewatch" / "typed.pyi").exists()
    assert not (tmp_path / "numpy" / "_core" / "tests").exists()
    assert (tmp_path / "numpy" / "_core" / "multiarray.py").exists()
    assert not (tmp_path / "c2pa" / "libs" / "libc2pa_c.rlib").exists()
    assert (tmp_path / "c2pa" / "libs" / "libc2pa_c.so").exists()


def test_include_sdk_keeps_boto3(tmp_path: Path) -> None:
    _dist(tmp_path, "boto3", {"boto3/__init__.py": b"x"})
    trim(tmp_path, include_sdk=True)
    assert (tmp_path / "boto3" / "__init__.py").exists()


def test_remove_distribution_stays_inside_the_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("precious")
    target = tmp_path / "pkg"
    _dist(target, "evil", {"evil/__init__.py": b"x"})
    record = target / "evil-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + "../outside.py,,\n")
    remove_distribution(target, "evil")
    assert outside.read_text() == "precious"
    assert not (target / "evil").exists()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a C compiler to build a real ELF")
def test_strip_keeps_libraries_loadable_and_leaves_hard_links_alone(tmp_path: Path) -> None:
    src = tmp_path / "f.c"
    src.write_text("int answer(void) { return 42; }\n")
    target = tmp_path / "pkg"
    target.mkdir()
    lib = target / "answer.abi3.so"
    subprocess.run(["gcc", "-g", "-O0", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    elsewhere = tmp_path / "cache-copy.so"
    elsewhere.hardlink_to(lib)
    before = hashlib.sha256(elsewhere.read_bytes()).hexdigest()

    freed = strip_debug(target)

    assert freed > 0
    assert hashlib.sha256(elsewhere.read_bytes()).hexdigest() == before
    assert lib.stat().st_ino != elsewhere.stat().st_ino
    assert b".debug_info" not in lib.read_bytes()
    assert ctypes.CDLL(str(lib)).answer() == 42


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a C compiler to build a real ELF")
def test_vendored_libraries_are_never_stripped(tmp_path: Path) -> None:
    src = tmp_path / "f.c"
    src.write_text("int answer(void) { return 42; }\n")
    libs = tmp_path / "pkg" / "numpy.libs"
    libs.mkdir(parents=True)
    lib = libs / "libgfortran-0123.so.5.0.0"
    subprocess.run(["gcc", "-g", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    before = lib.read_bytes()
    assert strip_debug(tmp_path / "pkg") == 0
    assert lib.read_bytes() == before


def test_zip_is_reproducible_and_sizes_are_per_package(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    (target / "a").mkdir(parents=True)
    (target / "a" / "x.py").write_bytes(b"1" * 1000)
    (target / "b.py").write_bytes(b"2" * 10)
    first = write_zip(target, tmp_path / "one.zip")
    write_zip(target, tmp_path / "two.zip")
    assert first > 0
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        assert zf.namelist() == ["a/x.py", "b.py"]
    assert package_sizes(target) == {"a": 1000, "b.py": 10}
