"""``modelManifest`` on every cloud, under Pulumi's mock engine (no emulator exists for the
clouds' control planes): the function is told where its manifest is and may read exactly the
manifest's folder; anything the deployed function could not read stops the stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakewatch_iac.config import parse
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import aws as aws_rules
from fakewatch_iac.policy import azure as azure_rules
from fakewatch_iac.policy import gcp as gcp_rules
from fakewatch_iac.policy.core import statements

REPO = Path(__file__).resolve().parents[2]
PROVIDER = {
    "aws": {"aws:region": "eu-west-1"},
    "gcp": {"gcp:project": "fakewatch-test", "gcp:region": "europe-west1"},
    "azure": {"azure-native:location": "westeurope"},
}
REGION = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope"}
MANIFEST = {
    "aws": "s3://models-bucket/fakewatch/v3/manifest.json",
    "gcp": "gs://models-bucket/fakewatch/v3/manifest.json",
    "azure": "az://models/fakewatch/v3/manifest.json",
}
RULES = {"aws": aws_rules.RULES, "gcp": gcp_rules.RULES, "azure": azure_rules.RULES}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, make_bundle, iac_deploy):
    cache: dict[tuple[str, str], Stack] = {}

    def get(cloud: str, manifest: str) -> Stack:
        if (cloud, manifest) not in cache:
            bundle = make_bundle(cloud, tmp_path_factory.mktemp(cloud))
            config = {
                **PROVIDER[cloud],
                "fakewatch:artifactPath": str(bundle),
                "fakewatch:modelManifest": manifest,
            }
            cache[cloud, manifest] = iac_deploy(cloud, config, region=REGION[cloud])
        return cache[cloud, manifest]

    return get


def function_env(cloud: str, stack: Stack) -> dict[str, str]:
    if cloud == "azure":
        return azure_rules.app_settings(stack)
    return (aws_rules if cloud == "aws" else gcp_rules).env(stack)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_function_is_told_where_its_manifest_is(cloud: str, deployed) -> None:
    from fakewatch import settings

    stack = deployed(cloud, MANIFEST[cloud])
    assert function_env(cloud, stack)[settings.MODEL_MANIFEST] == MANIFEST[cloud]
    assert evaluate(stack, RULES[cloud]) == []


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_packaged_model_needs_no_grant(cloud: str, deployed) -> None:
    stack = deployed(cloud, "package://fakewatch.models/zoo/tiny/manifest.json")
    assert function_env(cloud, stack)["FAKEWATCH_MODEL_MANIFEST"].startswith("package://")
    assert evaluate(stack, RULES[cloud]) == []
    if cloud == "aws":
        sids = {
            s["Sid"] for p in stack.of(aws_rules.ROLE_POLICY) for s in statements(p.json("policy"))
        }
        assert "ReadModelManifest" not in sids
    elif cloud == "gcp":
        assert all(g.inputs["bucket"] != "models-bucket" for g in stack.of(gcp_rules.BUCKET_IAM))
    else:
        assert all(not a.name.endswith("scanner-model") for a in stack.of(azure_rules.ASSIGNMENT))


# -- AWS ---------------------------------------------------------------------------------------
def test_aws_reads_exactly_the_manifest_folder(deployed) -> None:
    stack = deployed("aws", MANIFEST["aws"])
    role = aws_rules.scanner_role(stack)
    stmts = {
        s["Sid"]: s
        for p in stack.where(aws_rules.ROLE_POLICY, "role", role.id)
        for s in statements(p.json("policy"))
    }
    assert stmts["ReadModelManifest"]["Action"] == ["s3:GetObject"]
    assert stmts["ReadModelManifest"]["Resource"] == ["arn:aws:s3:::models-bucket/fakewatch/v3/*"]


def test_aws_scope_rule_refuses_more_than_the_folder(deployed) -> None:
    stack = deployed("aws", MANIFEST["aws"])
    policy = stack.where(aws_rules.ROLE_POLICY, "role", aws_rules.scanner_role(stack).id)[0]
    doc = policy.json("policy")
    for s in doc["Statement"]:
        if s["Sid"] == "ReadModelManifest":
            s["Resource"] = ["arn:aws:s3:::models-bucket/*"]
    weakened = stack.replace(policy, policy=json.dumps(doc))
    assert [f.message for f in aws_rules.scanner_reads_only_its_buckets(weakened)] == [
        "grants S3 access to arn:aws:s3:::models-bucket/*"
    ]


# -- GCP ---------------------------------------------------------------------------------------
def test_gcp_grant_is_conditioned_on_the_manifest_folder(deployed) -> None:
    stack = deployed("gcp", MANIFEST["gcp"])
    (grant,) = [g for g in stack.of(gcp_rules.BUCKET_IAM) if g.inputs["bucket"] == "models-bucket"]
    assert grant.inputs["role"] == "roles/storage.objectViewer"
    assert grant.inputs["member"] == gcp_rules.scanner_member(stack)
    assert grant.get("condition", "expression") == (
        'resource.name.startsWith("projects/_/buckets/models-bucket/objects/fakewatch/v3/")'
    )


def test_gcp_scope_rule_refuses_an_unconditioned_grant(deployed) -> None:
    stack = deployed("gcp", MANIFEST["gcp"])
    grant = next(g for g in stack.of(gcp_rules.BUCKET_IAM) if g.inputs["bucket"] == "models-bucket")
    weakened = stack.replace(grant, condition=None)
    assert [f.rule for f in gcp_rules.least_privilege(weakened)] == ["scanner-scope"]


# -- Azure -------------------------------------------------------------------------------------
def test_azure_reads_the_model_container_only(deployed) -> None:
    stack = deployed("azure", MANIFEST["azure"])
    data = azure_rules.data_account(stack)
    models = next(
        c
        for c in stack.of(azure_rules.CONTAINER)
        if c.inputs["containerName"] == "models" and c.inputs["accountName"] == data.out("name")
    )
    assert models.inputs["publicAccess"] == "None"
    grant = next(a for a in stack.of(azure_rules.ASSIGNMENT) if a.name.endswith("scanner-model"))
    assert grant.inputs["scope"] == models.id
    assert grant.inputs["roleDefinitionId"].endswith(azure_rules.roles.STORAGE_BLOB_DATA_READER)
    assert grant.inputs["principalId"] == azure_rules.scanner_principal(stack)


def test_azure_scope_rule_refuses_other_containers(deployed) -> None:
    stack = deployed("azure", MANIFEST["azure"])
    grant = next(a for a in stack.of(azure_rules.ASSIGNMENT) if a.name.endswith("scanner-model"))
    other = grant.inputs["scope"].replace("/containers/models", "/containers/payroll")
    weakened = stack.replace(grant, scope=other)
    assert [f.message for f in azure_rules.least_privilege(weakened)] == [
        "scanner holds a role on container payroll"
    ]


# -- what the function could not read stops the stack ------------------------------------------
@pytest.mark.parametrize(
    ("cloud", "value", "message"),
    [
        ("aws", "/opt/models/manifest.json", "is a path on this machine"),
        ("aws", "file:///opt/models/manifest.json", "is a path on this machine"),
        ("aws", "gs://models/v3/manifest.json", "is a Cloud Storage URI: on aws the scanner reads"),
        ("gcp", "s3://models/v3/manifest.json", "is an S3 URI: on gcp the scanner reads gs://"),
        ("azure", "s3://models/v3/manifest.json", "on azure the scanner reads az://"),
        ("aws", "https://example.com/manifest.json", "is a https:// URI"),
        ("gcp", "az://models/v3/manifest.json", "is an Azure Blob Storage URI"),
        ("aws", "s3://models/manifest.json", "is at the top of 'models'"),
        ("aws", "s3://models/v3/", "must name the manifest file itself"),
        ("aws", "s3://models/../x/manifest.json", "must name the manifest file itself"),
        ("aws", "s3://Models_X/v3/manifest.json", "'Models_X' is not a valid S3 bucket name"),
        ("azure", "az://Models/v3/manifest.json", "not a valid Azure Blob Storage container"),
        ("aws", "package://", "use package://<model> or package://<package>/<path>"),
        ("aws", "package://pkg/../manifest.json", "without '..'"),
    ],
)
def test_unreadable_manifest_is_explained(cloud: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(
            cloud,
            {"modelManifest": value},
            stack="dev",
            base_dir=REPO / "iac" / cloud,
            provider_region=REGION[cloud],
            provider_project="p" if cloud == "gcp" else None,
        )
    assert "fakewatch:modelManifest" in str(err.value)
    assert message in str(err.value)


def test_manifest_prefix_is_its_folder() -> None:
    cfg = parse(
        "aws",
        {"modelManifest": "s3://models-bucket/a/b/manifest.yaml"},
        stack="dev",
        base_dir=REPO / "iac" / "aws",
        provider_region="eu-west-1",
    )
    assert cfg.model_manifest is not None
    assert (cfg.model_manifest.bucket, cfg.model_manifest.prefix) == ("models-bucket", "a/b/")
