"""The stacks deploy what ``make bundle-<cloud>`` builds: default artifact paths agree.

The Pulumi programs may not import the adapters (iac imports neither the core nor the
providers), so this test holds the two sides together.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakewatch_iac.limits import LIMITS

REPO = Path(__file__).resolve().parents[2]


def _bundle_archive(cloud: str, arch: str) -> Path:
    if cloud == "aws":
        from fakewatch_aws import bundle as aws

        return aws.archive_path(REPO / aws.DEFAULT_OUT, arch)
    module = __import__(f"fakewatch_{cloud}.bundle", fromlist=["archive_path"])
    return module.archive_path(REPO / module.DEFAULT_OUT)


@pytest.mark.parametrize(
    ("cloud", "arch"), [("aws", "x86_64"), ("aws", "arm64"), ("gcp", ""), ("azure", "")]
)
def test_default_artifact_is_the_bundle_output(cloud: str, arch: str) -> None:
    stack_dir = REPO / "iac" / cloud
    default = (stack_dir / LIMITS[cloud].default_artifact.format(arch=arch)).resolve()
    assert default == _bundle_archive(cloud, arch).resolve()


def test_makefile_builds_into_the_default_folders() -> None:
    makefile = (REPO / "Makefile").read_text()
    for cloud in ("aws", "gcp", "azure"):
        assert f"-m fakewatch_{cloud}.bundle --out dist/{cloud}" in makefile
