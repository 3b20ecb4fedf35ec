"""Helpers that run the real Pulumi programs under iac/<cloud> against Pulumi's mock engine.

Pulumi's mock-based unit testing stands in for the engine and the clouds' control planes,
for which no emulator exists (the Pulumi CLI cannot be downloaded here). Every resource the
program declares is recorded and checked by the policy rules in fakewatch_iac.policy.
"""

from __future__ import annotations

import runpy
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from fakewatch_iac.policy import Stack
from fakewatch_iac.testing import RecordingMocks, run_program

REPO = Path(__file__).resolve().parents[2]

BUNDLE_MEMBERS: dict[str, dict[str, str]] = {
    "aws": {
        "fakewatch_aws/__init__.py": "",
        "fakewatch_aws/handler.py": "def lambda_handler(event, context):\n    return {}\n",
    },
    "gcp": {
        "main.py": "def scan_object(cloud_event):\n    return None\n",
        "requirements.txt": "fakewatch[gcp]\n",
    },
    "azure": {
        "function_app.py": "import azure.functions as func\napp = func.FunctionApp()\n",
        "host.json": '{"version": "2.0"}\n',
    },
}


def build_bundle(cloud: str, folder: Path, members: Mapping[str, str] | None = None) -> Path:
    """A small, real zip shaped like `make bundle-<cloud>` output."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fakewatch-{cloud}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (members if members is not None else BUNDLE_MEMBERS[cloud]).items():
            archive.writestr(name, text)
    return path


def program_for(cloud: str) -> Callable[[], None]:
    project_dir = REPO / "iac" / cloud

    def program() -> None:
        sys.modules.pop("config", None)  # each project has its own config.py
        sys.path.insert(0, str(project_dir))
        try:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(project_dir))
            sys.modules.pop("config", None)

    return program


def deploy(
    cloud: str,
    config: Mapping[str, str],
    *,
    region: str = "eu-west-1",
    project: str = "fakewatch-test",
    lookups: Mapping[str, Mapping[str, Any]] | None = None,
) -> Stack:
    """``lookups`` answers the program's invokes of existing resources (token -> result)."""
    return run_program(
        program_for(cloud),
        config=config,
        project=f"fakewatch-{cloud}",
        stack="dev",
        mocks=RecordingMocks(region=region, project=project, lookups=lookups),
    )


@pytest.fixture(scope="session")
def iac_deploy() -> Callable[..., Stack]:
    """``iac_deploy(cloud, config)`` runs iac/<cloud>/__main__.py and returns what it declared."""
    return deploy


@pytest.fixture(scope="session")
def iac_program() -> Callable[[str], Callable[[], None]]:
    """``iac_program(cloud)``: the real program, for tests that drive run_program themselves."""
    return program_for


@pytest.fixture(scope="session")
def make_bundle() -> Callable[..., Path]:
    """``make_bundle(cloud, folder, members=None)`` writes a real bundle-shaped zip."""
    return build_bundle
