"""The Lambda bundle: what it keeps and removes, on real files; and the real bundle, built for
this machine's architecture, deployed as Lambda would (the zip extracted, ``python -S``, the
runtime's boto3), importing every module it ships and handling an S3 → SQS event from moto.

The file-surgery tests use small real trees; the shared helpers they exercise live in
``fakewatch.packaging`` (every cloud's builder uses them). ``bench/bench_aws_artifact.py``
builds both architectures and measures size and cold start.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakewatch import packaging
from fakewatch.packaging import closure, compile_bytecode, installed, prune_first_party
from fakewatch_aws.bundle import (
    RUNTIME_PROVIDED,
    bundle,
    package_sizes,
    remove_distribution,
    strip_debug,
    trim,
    write_zip,
)
from fakewatch_aws.emulator import FAKE_CREDENTIALS, provision
from fakewatch_aws.local import lambda_sqs_record
from fakewatch_aws.store import make_client

OTHER_PACKAGES = ("fakewatch_gcp", "fakewatch_azure", "fakewatch_cost", "fakewatch_iac")
HOST_ARCH = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())


def _dist(target: Path, name: str, files: dict[str, bytes], requires: tuple[str, ...] = ()) -> None:
    info = target / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    meta = [f"Name: {name}", "Version: 1.0", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(meta) + "\n")
    rows = [f"{rel},sha256=x,{len(data)}" for rel, data in files.items()]
    rows += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")


def _site(tmp_path: Path) -> Path:
    """A small site-packages shaped like ``fakewatch[aws]`` installed for Lambda."""
    site = tmp_path / "site"
    first_party = {
        "fakewatch/__init__.py": b"",
        "fakewatch/cli/__init__.py": b"import typer\n",
        "fakewatch/samples/__init__.py": b"import cryptography\n",
        "fakewatch_aws/__init__.py": b"",
        "fakewatch_aws/handler.py": b"from fakewatch_aws import escalation, runtime\n",
        "fakewatch_aws/escalation.py": b"from fakewatch_serve.wire import decode\n",
        "fakewatch_aws/cli.py": b"import typer\n",
        "fakewatch_aws/local.py": b"from fakewatch_serve import app\n",  # local runner only
        "fakewatch_aws/runtime.py": b"def build():\n    from . import store\n",
        "fakewatch_aws/store.py": b"",
        "fakewatch_serve/__init__.py": b"",
        "fakewatch_serve/wire.py": b"from . import codec\n",
        "fakewatch_serve/codec.py": b"",
        "fakewatch_serve/app.py": b"import starlette\n",
        "fakewatch_gcp/__init__.py": b"",
        "fakewatch_cost/__init__.py": b"",
        "fakewatch_iac/__init__.py": b"",
    }
    _dist(
        site,
        "fakewatch",
        first_party,
        (
            "numpy",
            "c2pa-python",
            "typer",
            "cryptography",
            "boto3; extra == 'aws'",
            "aws-lambda-powertools[tracer]; extra == 'aws'",
            "google-cloud-storage; extra == 'gcp'",
        ),
    )
    _dist(site, "numpy", {"numpy/__init__.py": b"", "numpy/_core/tests/test_x.py": b""})
    _dist(site, "c2pa-python", {"c2pa/__init__.py": b"", "c2pa/build.py": b"import requests"},
          ("cryptography", "requests", "toml"))  # fmt: skip
    _dist(site, "typer", {"typer/__init__.py": b""}, ("rich",))
    _dist(site, "rich", {"rich/__init__.py": b"x" * 100})
    _dist(site, "cryptography", {"cryptography/__init__.py": b"x" * 1000})
    _dist(site, "requests", {"requests/__init__.py": b""})
    _dist(site, "toml", {"toml/__init__.py": b""})
    _dist(site, "boto3", {"boto3/__init__.py": b"x" * 10}, ("botocore", "jmespath"))
    _dist(site, "botocore", {"botocore/__init__.py": b"z" * 100}, ("urllib3",))
    _dist(site, "urllib3", {"urllib3/__init__.py": b""})
    _dist(site, "jmespath", {"jmespath/__init__.py": b"keep"})
    extras = ("jmespath", "aws-xray-sdk; extra == 'tracer'", "pydantic; extra == 'parser'")
    _dist(site, "aws-lambda-powertools", {"aws_lambda_powertools/__init__.py": b""}, extras)
    _dist(site, "aws-xray-sdk", {"aws_xray_sdk/__init__.py": b""}, ("wrapt",))
    _dist(site, "wrapt", {"wrapt/__init__.py": b"", "wrapt/__init__.pyi": b""})
    _dist(site, "pydantic", {"pydantic/__init__.py": b""})
    info = next(site.glob("fakewatch-*.dist-info"))
    (info / "direct_url.json").write_text('{"url": "file:///tmp/fakewatch-wheel-x1y2/w.whl"}')
    (info / "uv_cache.json").write_text('{"timestamp": {"nanos_since_epoch": 51309580}}')
    (site / "fakewatch" / "__pycache__").mkdir()
    (site / "fakewatch" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"pyc")
    (site / "c2pa" / "libs").mkdir(parents=True)
    (site / "c2pa" / "libs" / "libc2pa_c.rlib").write_bytes(b"!<arch>")
    (site / "c2pa" / "libs" / "libc2pa_c.so").write_bytes(b"not really elf")
    return site


def test_closure_follows_wanted_extras_and_skips_what_no_function_imports(tmp_path: Path) -> None:
    site = _site(tmp_path)
    kept = closure({"fakewatch": {"aws"}}, installed(site))
    assert kept == {
        "fakewatch", "numpy", "c2pa-python", "boto3", "botocore", "urllib3", "jmespath",
        "aws-lambda-powertools", "aws-xray-sdk", "wrapt",
    }  # fmt: skip
    # a dependency that a kept distribution really needs stays, whoever else cut it
    graph = installed(site)
    graph["botocore"].append(packaging.Requirement("cryptography"))
    assert "cryptography" in closure({"fakewatch": {"aws"}}, graph)


def test_trim_keeps_what_the_function_runs_and_nothing_else(tmp_path: Path) -> None:
    site = _site(tmp_path)

    pruned = trim(site)

    assert pruned.bytes > 0
    for gone in (
        "typer",
        "rich",
        "cryptography",
        "requests",
        "toml",
        "pydantic",
        "boto3",
        "botocore",
    ):
        assert gone in pruned.distributions and not (site / gone).exists(), gone
    assert not list(site.glob("boto*.dist-info")) and not list(site.glob("typer*.dist-info"))
    for kept in ("numpy", "c2pa", "jmespath", "urllib3", "aws_lambda_powertools", "wrapt"):
        assert (site / kept / "__init__.py").exists(), kept
    for package in OTHER_PACKAGES:
        assert not (site / package).exists(), package
    assert (
        not (site / "fakewatch" / "cli").exists()
        and not (site / "fakewatch_aws" / "cli.py").exists()
    )
    assert not (site / "fakewatch" / "samples").exists()
    assert not (site / "fakewatch_aws" / "local.py").exists()
    for module in ("handler", "escalation", "runtime", "store"):  # store: a lazy import
        assert (site / "fakewatch_aws" / f"{module}.py").exists(), module
    assert sorted(p.name for p in (site / "fakewatch_serve").iterdir()) == [
        "__init__.py",
        "codec.py",
        "wire.py",
    ]  # fmt: skip  (app.py needs starlette: the adapter never imports it)
    record = next(site.glob("fakewatch-*.dist-info")) / "RECORD"
    assert "fakewatch_gcp/__init__.py" not in record.read_text()
    assert "fakewatch_aws/handler.py" in record.read_text()
    assert not (site / "fakewatch" / "__pycache__").exists()
    assert not (site / "wrapt" / "__init__.pyi").exists()
    assert not (site / "numpy" / "_core" / "tests").exists()
    assert "tests/test_x.py" not in next(site.glob("numpy-*.dist-info/RECORD")).read_text()
    assert not list(site.glob("*.dist-info/direct_url.json"))  # a temporary path, per build
    assert not list(site.glob("*.dist-info/uv_cache.json"))  # a timestamp, per build
    assert not (site / "c2pa" / "build.py").exists()
    assert not (site / "c2pa" / "libs" / "libc2pa_c.rlib").exists()
    assert (site / "c2pa" / "libs" / "libc2pa_c.so").exists()


def test_include_sdk_keeps_boto3(tmp_path: Path) -> None:
    site = _site(tmp_path)
    trim(site, include_sdk=True)
    assert (site / "boto3" / "__init__.py").exists()
    assert (site / "botocore" / "__init__.py").exists()


def test_prune_first_party_keeps_each_cloud_its_own_adapter(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "fakewatch_gcp" / "handler.py").write_text("from fakewatch_serve import wire\n")
    (site / "main.py").write_text("from fakewatch_gcp.handler import handle\n")
    prune_first_party(site, "gcp", [site / "main.py"])
    assert (site / "fakewatch_gcp" / "handler.py").exists()
    assert (site / "fakewatch_gcp" / "__init__.py").exists()
    assert (site / "fakewatch_serve" / "codec.py").exists()  # wire's relative import
    assert not (site / "fakewatch_serve" / "app.py").exists()
    assert not (site / "fakewatch_aws").exists()


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


def test_bytecode_is_unchecked_hash_reproducible_and_used_whatever_the_file_times(
    tmp_path: Path,
) -> None:
    for name in ("one", "two"):
        (tmp_path / name / "pkg").mkdir(parents=True)
        (tmp_path / name / "pkg" / "__init__.py").write_text("ANSWER = 42\n")
        assert compile_bytecode(tmp_path / name, f"{sys.version_info[0]}.{sys.version_info[1]}")
    pyc = [next((tmp_path / n / "pkg" / "__pycache__").glob("*.pyc")) for n in ("one", "two")]
    assert pyc[0].read_bytes() == pyc[1].read_bytes()  # wherever it was built
    flags = int.from_bytes(pyc[0].read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source (PEP 552)
    source = tmp_path / "one" / "pkg" / "__init__.py"
    source.write_text("ANSWER = 0\n")  # a changed source, other file times: the .pyc still runs
    os.utime(source, (0, 0))
    namespace: dict[str, Any] = {}
    exec(importlib.machinery.SourceFileLoader("pkg", str(source)).get_code("pkg"), namespace)
    assert namespace["ANSWER"] == 42
    assert compile_bytecode(tmp_path / "one", "2.7") == 0  # never bytecode for another version


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


def test_zip_extracts_with_the_times_and_modes_it_records(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    target.mkdir()
    (target / "tool.so").write_bytes(b"\x7fELF")
    (target / "tool.so").chmod(0o755)
    (target / "mod.py").write_text("x = 1\n")
    write_zip(target, tmp_path / "a.zip")
    out = packaging.extract_as_deployed(tmp_path / "a.zip", tmp_path / "out")
    epoch_1980 = time.mktime((1980, 1, 1, 0, 0, 0, 0, 0, -1))
    assert (out / "mod.py").stat().st_mtime == epoch_1980  # not the extraction time
    assert (out / "tool.so").stat().st_mode & 0o777 == 0o755
    assert (out / "mod.py").stat().st_mode & 0o777 == 0o644


# -- the real bundle ---------------------------------------------------------------------------

# Runs inside the extracted bundle: imports every first-party module it ships, then hands the
# handler the Lambda event and prints what came back.
IN_BUNDLE = """
import importlib, json, pkgutil, sys
failed = {}
for top in ("fakewatch", "fakewatch_aws", "fakewatch_serve"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # noqa: BLE001 - report every one
            failed[info.name] = repr(exc)
import fakewatch_aws.handler as handler
class Context:  # what Lambda passes (the local runner's copy does not ship)
    function_name, function_version, memory_limit_in_mb = "fakewatch-scanner", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:fakewatch-scanner"
    aws_request_id, log_group_name, log_stream_name = "req-1", "/aws/lambda/x", "local"
    def get_remaining_time_in_millis(self):
        return 60_000
event = json.loads(open(sys.argv[1]).read())
response = handler.lambda_handler(event, Context())
absent = [m for m in ("cryptography", "typer", "rich", "pydantic", "fakewatch_gcp",
                      "fakewatch_azure", "fakewatch_cost", "fakewatch_iac")
          if importlib.util.find_spec(m) is not None]
print(json.dumps({"failed_imports": failed, "response": response, "importable": absent,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The real bundle for this machine's architecture: (its folder, the zip extracted)."""
    if HOST_ARCH is None:
        pytest.skip(f"Lambda has no {platform.machine()} architecture to run here")
    out = tmp_path_factory.mktemp("aws-bundle")
    (report,) = bundle(out, (HOST_ARCH,))
    extracted = packaging.extract_as_deployed(Path(report.zip_path), out / "extracted")
    yield Path(report.directory), extracted


def _runtime_sdk(tmp: Path) -> Path:
    """boto3, botocore and s3transfer as the Lambda runtime provides them (this environment's)."""
    target = tmp / "runtime-sdk"
    target.mkdir(exist_ok=True)
    for name in RUNTIME_PROVIDED:
        module = importlib.import_module(name)
        link = target / name
        if not link.exists():
            link.symlink_to(Path(module.__file__ or "").parent)
    return target


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("aws-bundle")  # one worker builds the bundle once for both
def test_bundle_carries_the_core_its_adapter_and_nothing_else(built: tuple[Path, Path]) -> None:
    folder, _ = built
    names = {p.name for p in folder.iterdir()}
    assert {"fakewatch", "fakewatch_aws", "fakewatch_serve", "av", "numpy", "c2pa"} <= names
    assert not names & {*OTHER_PACKAGES, "boto3", "botocore", "cryptography", "typer", "rich"}
    assert not names & {"pygments", "pydantic", "pydantic_core", "google", "bin"}
    assert (folder / "fakewatch_serve" / "wire.py").exists()
    assert not (folder / "fakewatch_serve" / "app.py").exists()
    assert not (folder / "fakewatch" / "cli").exists()
    for helper in ("cli.py", "local.py", "emulator.py", "backfill.py", "bundle.py"):
        assert not (folder / "fakewatch_aws" / helper).exists(), helper
    assert list(folder.glob("fakewatch_aws/__pycache__/handler.cpython-311.pyc"))
    report = json.loads((folder.parent / "bundle.json").read_text())
    assert report["unzipped_bytes"] == packaging.size(folder)
    assert {"cryptography", "typer", "boto3"} <= set(report["removed_distributions"])


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("aws-bundle")  # one worker builds the bundle once for both
def test_function_runs_from_the_extracted_zip_and_scans_an_s3_event(
    built: tuple[Path, Path], moto_endpoint: str, tmp_path: Path
) -> None:
    _, extracted = built
    deployment = provision(moto_endpoint, f"bundle-{os.getpid()}", visibility_timeout_s=30)
    kw: dict[str, Any] = {"endpoint_url": moto_endpoint, "region_name": deployment.region}
    s3, sqs = make_client("s3", **kw), make_client("sqs", **kw)
    from fakewatch import samples

    s3.put_object(Bucket=deployment.input_bucket, Key="up/a1111.png", Body=samples.a1111_png())
    messages = sqs.receive_message(
        QueueUrl=deployment.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5
    )["Messages"]
    event = {"Records": [lambda_sqs_record(m, deployment.queue_arn, deployment.region)
                         for m in messages]}  # fmt: skip
    (tmp_path / "event.json").write_text(json.dumps(event))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAKEWATCH_", "PYTHON"))
    }
    env.update(FAKE_CREDENTIALS)
    env.update(deployment.env())
    env.update(
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        PYTHONDONTWRITEBYTECODE="1",
    )  # fmt: skip  (/var/task is read-only)
    path = [str(extracted), str(_runtime_sdk(tmp_path))]
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {path!r}\n{IN_BUNDLE}",
         str(tmp_path / "event.json")],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["failed_imports"] == {}
    assert result["importable"] == []
    assert result["response"] == {"batchItemFailures": []}
    assert not {"cryptography", "typer", "rich", "onnxruntime"} & set(result["loaded"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=deployment.results_bucket)["Contents"]]
    verdict_key = next(k for k in keys if k.startswith("verdicts/") and k.endswith(".json"))
    verdict = json.loads(
        s3.get_object(Bucket=deployment.results_bucket, Key=verdict_key)["Body"].read()
    )
    assert verdict["object"]["key"] == "up/a1111.png"
    assert verdict["label"] == "synthetic"
