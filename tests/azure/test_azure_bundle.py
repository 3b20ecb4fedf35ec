"""The deployable Azure Functions zip (``make bundle-azure``), built for real and run from the
extracted zip the way the Python worker loads it: ``python -S`` with only the app root and its
``.python_packages/lib/site-packages`` on the path, no bytecode written (the package is
mounted read-only). It must import every first-party module it ships, carry no other cloud's
adapter nor ``fakewatch_cost``/``fakewatch_iac``/the CLI, and scan a blob Azurite holds from a
BlobCreated event, publishing its result to a loopback topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from fakewatch import packaging, samples
from fakewatch.settings import (
    AZURE_CONNECTION_STRING,
    EVENTGRID_KEY,
    QUARANTINE_BUCKET,
    RESULT_TOPIC,
    RESULTS_BUCKET,
)
from fakewatch_azure.bundle import SITE, build
from fakewatch_azure.emulator import Azurite, connection_string, ensure_containers
from fakewatch_azure.local import blob_created
from fakewatch_azure.store import BlobStore

from .topic import TopicRecorder

# one xdist worker builds the bundle once for both tests (make test: --dist loadgroup)
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("azure-bundle")]

OTHER_PACKAGES = ("fakewatch_aws", "fakewatch_gcp", "fakewatch_cost", "fakewatch_iac")

IN_BUNDLE = """
import importlib, json, pkgutil, sys
failed = {}
for top in ("fakewatch", "fakewatch_azure", "fakewatch_serve"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # report every one
            failed[info.name] = repr(exc)
import types
import function_app
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter
(function,) = [f.get_user_function() for f in function_app.app.get_functions()
               if f.get_function_name() == "scan_blob"]
payload = open(sys.argv[1]).read()  # decoded by the worker's own converter, as the host does
event = EventGridEventInConverter.decode(meta.Datum(payload, "json"), trigger_metadata=None)
trace = types.SimpleNamespace(trace_parent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
context = types.SimpleNamespace(invocation_id="inv-1", trace_context=trace)
try:
    function(event=event, context=context)
    status, error = 200, None
except Exception as exc:  # the host answers 500: Event Grid retries
    status, error = 500, repr(exc)
importable = [m for m in ("typer", "rich", "pydantic", "fakewatch_aws", "fakewatch_gcp",
                          "fakewatch_cost", "fakewatch_iac") if importlib.util.find_spec(m)]
print(json.dumps({"failed_imports": failed, "status": status, "error": error,
                  "importable": importable}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the bundle folder, its zip extracted)."""
    out = tmp_path_factory.mktemp("azure-bundle") / "azure"
    bundle = build(out)
    extracted = packaging.extract_as_deployed(Path(bundle.archive), out.parent / "extracted")
    yield Path(bundle.folder), extracted


def test_bundle_carries_the_core_its_adapter_and_nothing_else(built: tuple[Path, Path]) -> None:
    folder, _ = built
    site = folder / SITE
    names = {p.name for p in site.iterdir()}
    assert {"fakewatch", "fakewatch_azure", "fakewatch_serve", "azure", "av", "numpy"} <= names
    assert "cryptography" in names  # azure-identity and azure-storage-blob use it
    assert not names & {*OTHER_PACKAGES, "typer", "rich", "pygments", "pydantic", "bin"}
    assert (site / "fakewatch_serve" / "wire.py").exists()
    assert not (site / "fakewatch_serve" / "engine.py").exists()  # the worker's, not the function's
    assert not (site / "fakewatch" / "cli").exists()
    for helper in ("cli.py", "local.py", "emulator.py", "worker.py"):
        assert not (site / "fakewatch_azure" / helper).exists(), helper
    assert list(folder.glob("__pycache__/function_app.cpython-311.pyc"))
    requirements = (folder / "requirements.txt").read_text()
    assert "typer" not in requirements and "rich" not in requirements
    assert "azure-functions==" in requirements
    assert packaging.folder_bytes(folder)[1] > 0


def test_function_runs_from_the_extracted_zip_and_scans_a_blob(
    built: tuple[Path, Path],
    azurite: Azurite,
    blob_service: BlobServiceClient,
    topic: TopicRecorder,
    tmp_path: Path,
) -> None:
    _, extracted = built
    run = uuid.uuid4().hex[:8]
    inbox, results, quarantine = f"inbox-{run}", f"results-{run}", f"quarantine-{run}"
    ensure_containers(blob_service, inbox, results, quarantine)
    store = BlobStore(blob_service)
    info = store.put(inbox, "up/a1111.png", samples.a1111_png())
    (tmp_path / "event.json").write_text(json.dumps(blob_created(store, info)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "PYTHON"))}
    env.update({
        RESULTS_BUCKET: results,
        QUARANTINE_BUCKET: quarantine,
        AZURE_CONNECTION_STRING: connection_string(azurite.endpoint),
        RESULT_TOPIC: topic.endpoint,
        EVENTGRID_KEY: "a2V5",
        "PYTHONDONTWRITEBYTECODE": "1",  # the package is mounted read-only
    })  # fmt: skip
    path = [str(extracted), str(extracted / SITE)]
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {path!r}\n{IN_BUNDLE}",
         str(tmp_path / "event.json")],
        check=False, capture_output=True, text=True, env=env, cwd=extracted, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["failed_imports"] == {}
    assert result["importable"] == []
    assert result["status"] == 200, result
    verdicts = [i.key for i in store.list(results, "verdicts/") if i.key.endswith(".json")]
    assert len(verdicts) == 1
    assert store.get_json(results, verdicts[0])["label"] == "synthetic"
    assert [e["data"]["label"] for e in topic.events] == ["synthetic"]
