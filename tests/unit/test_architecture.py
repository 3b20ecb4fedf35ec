"""Import direction is the architecture (ARCHITECTURE.md): checked on the source, not trusted.

- the core (functions/) imports no cloud SDK and nothing from providers, cost or iac;
- each provider imports the core and its own SDK only;
- iac/ and cost/ import neither the core nor the providers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUD_SDKS = {
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "google",
    "azure",
    "functions_framework",
}
PROJECT = {
    "fakewatch",
    "fakewatch_aws",
    "fakewatch_gcp",
    "fakewatch_azure",
    "fakewatch_cost",
    "fakewatch_iac",
    "fakewatch_serve",
}

RULES = {
    "functions": (CLOUD_SDKS | PROJECT) - {"fakewatch", "fakewatch_serve"},
    "providers/aws": (CLOUD_SDKS - {"boto3", "botocore", "aws_lambda_powertools"})
    | (PROJECT - {"fakewatch", "fakewatch_aws", "fakewatch_serve"}),
    "providers/gcp": (CLOUD_SDKS - {"google", "functions_framework"})
    | (PROJECT - {"fakewatch", "fakewatch_gcp", "fakewatch_serve"}),
    "providers/azure": (CLOUD_SDKS - {"azure"})
    | (PROJECT - {"fakewatch", "fakewatch_azure", "fakewatch_serve"}),
    "cost": PROJECT - {"fakewatch_cost"},
    "iac": PROJECT - {"fakewatch_iac"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("folder", sorted(RULES))
def test_import_direction(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"{folder} has no Python files"
    offenders = {str(f.relative_to(ROOT)): sorted(imported_roots(f) & RULES[folder]) for f in files}
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_the_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import boto3\nfrom fakewatch_aws.store import S3Store\n")
    assert imported_roots(bad) & RULES["functions"] == {"boto3", "fakewatch_aws"}
