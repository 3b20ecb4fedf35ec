"""The Cloud Run functions source folder (``make bundle-gcp``): what it holds, what its
requirements pull in, and the function run from it — the folder and its requirements installed
for the platform on ``sys.path`` and nothing else (``python -S``), loaded by the real
functions-framework and handed an Eventarc CloudEvent for an object in gcp-storage-emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fakewatch import samples
from fakewatch.settings import QUARANTINE_BUCKET, RESULTS_BUCKET
from fakewatch_gcp.bundle import Bundle, build, runtime_requirements
from fakewatch_gcp.emulator import emulator_client

from .events import aimed_binary

if TYPE_CHECKING:
    from google.cloud.storage import Client

OTHER_PACKAGES = ("fakewatch_aws", "fakewatch_azure", "fakewatch_cost", "fakewatch_iac")

IN_BUNDLE = """
import importlib, json, pkgutil, sys
failed = {}
for top in ("fakewatch", "fakewatch_gcp", "fakewatch_serve"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # report every one
            failed[info.name] = repr(exc)
import functions_framework
app = functions_framework.create_app(target="scan_object", source="main.py",
                                     signature_type="cloudevent")
event = json.loads(open(sys.argv[1]).read())
response = app.test_client().post("/", data=event["body"].encode(), headers=event["headers"])
importable = [m for m in ("typer", "rich", "pydantic", "fakewatch_aws", "fakewatch_azure",
                          "fakewatch_cost", "fakewatch_iac") if importlib.util.find_spec(m)]
print(json.dumps({"failed_imports": failed, "status": response.status_code,
                  "importable": importable}))
"""


def test_bundle_is_the_deployable_source_folder(tmp_path: Path) -> None:
    bundle = build(tmp_path / "gcp")
    folder = Path(bundle.folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gcloudignore", "__pycache__", "fakewatch", "fakewatch_gcp", "fakewatch_serve",
        "main.py", "requirements.txt",
    ]  # fmt: skip
    assert (folder / "__pycache__" / "main.cpython-311.pyc").exists()
    assert (folder / "fakewatch_gcp" / "__pycache__" / "handler.cpython-311.pyc").exists()
    assert "pyc" not in (folder / ".gcloudignore").read_text()  # the bytecode is uploaded
    assert bundle.packages == ["fakewatch", "fakewatch_gcp", "fakewatch_serve"]
    assert "def scan_object" in (folder / "main.py").read_text()
    assert (folder / "fakewatch_gcp" / "store.py").exists()
    for helper in ("cli.py", "local.py", "emulator.py", "backfill.py"):
        assert not (folder / "fakewatch_gcp" / helper).exists(), helper
    assert not (folder / "fakewatch" / "cli").exists()
    assert (folder / "fakewatch" / "schemas" / "verdict.schema.json").exists()
    assert sorted(p.name for p in (folder / "fakewatch_serve").glob("*.py")) == [
        "__init__.py", "wire.py"
    ]  # fmt: skip
    reqs = (folder / "requirements.txt").read_text().splitlines()
    pinned = {line.split("==")[0].lower() for line in reqs if "==" in line}
    assert {"functions-framework", "google-cloud-storage", "google-cloud-pubsub"} <= pinned
    assert "cryptography" in pinned  # google-auth needs it: pinned to the tested version
    assert not pinned & {"boto3", "azure-storage-blob", "typer", "rich", "fakewatch"}
    assert not any(line.startswith("./") for line in reqs)  # no wheel: the packages are here
    with zipfile.ZipFile(bundle.archive) as zf:
        names = zf.namelist()
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(names) == files
    assert not any(n.split("/")[0] in OTHER_PACKAGES for n in names)


def test_runtime_requirements_are_core_plus_gcp() -> None:
    names = {r.split("==")[0].lower() for r in runtime_requirements()}
    assert {"numpy", "pillow", "functions-framework", "cloudevents"} <= names
    assert not names & {"boto3", "pytest", "moto", "ruff", "pulumi", "typer", "rich"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bundle, Path]]:
    """The bundle and its requirements installed for the Cloud Run platform."""
    root = tmp_path_factory.mktemp("gcp-bundle")
    site = root / "site"
    bundle = build(root / "gcp", verify=True, install_to=site)
    yield bundle, site


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("gcp-bundle")  # one worker installs the bundle once for both
def test_what_the_image_installs_leaves_out_the_cli_and_other_clouds(
    installed: tuple[Bundle, Path],
) -> None:
    bundle, site = installed
    names = {p.name for p in site.iterdir()}
    assert {"numpy", "av", "google", "functions_framework", "cryptography"} <= names
    assert not names & {*OTHER_PACKAGES, "fakewatch", "typer", "rich", "pygments", "pydantic"}
    assert not names & {"boto3", "botocore", "azure"}
    assert bundle.installed_bytes is not None and bundle.installed_bytes > 0


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xdist_group("gcp-bundle")  # one worker installs the bundle once for both
def test_function_runs_from_the_bundle_and_scans_an_object(
    installed: tuple[Bundle, Path], gcs_endpoint: str, tmp_path: Path
) -> None:
    bundle, site = installed
    client: Client = emulator_client(gcs_endpoint)
    suffix = uuid.uuid4().hex[:8]
    inbox, results, quarantine = (f"{n}-{suffix}" for n in ("inbox", "results", "quarantine"))
    for name in (inbox, results, quarantine):
        client.create_bucket(name)
    blob = client.bucket(inbox).blob("up/a1111.png")
    blob.upload_from_string(samples.a1111_png(), content_type="image/png")
    event = aimed_binary(blob._properties, f"evt-{suffix}")
    (tmp_path / "event.json").write_text(
        json.dumps({"headers": event.headers, "body": event.body.decode()})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "PYTHON"))}
    env.update({
        RESULTS_BUCKET: results,
        QUARANTINE_BUCKET: quarantine,
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "GOOGLE_CLOUD_PROJECT": "fakewatch-local",
    })  # fmt: skip
    folder = Path(bundle.folder)
    path = [str(folder), str(site)]
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {path!r}\n{IN_BUNDLE}",
         str(tmp_path / "event.json")],
        check=False, capture_output=True, text=True, env=env, cwd=folder, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["failed_imports"] == {}
    assert result["importable"] == []
    assert result["status"] == 200, done.stderr[-3000:]
    verdicts = [
        b.name for b in client.list_blobs(results, prefix="verdicts/") if b.name.endswith(".json")
    ]
    assert len(verdicts) == 1
    doc = json.loads(client.bucket(results).blob(verdicts[0]).download_as_bytes())
    assert doc["label"] == "synthetic"
