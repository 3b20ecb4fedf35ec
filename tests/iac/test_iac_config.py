"""Stack configuration parsing: defaults, every validation message, and the shipped examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from fakewatch_iac.config import parse
from fakewatch_iac.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
KMS_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
AWS_GPU = {"enabled": True, "instanceType": "ml.g5.xlarge", "imageUri": "i"}
GCP_GPU = {"enabled": True, "instanceType": "g2-standard-8", "imageUri": "i"}
AZ_GPU = {"enabled": True, "instanceType": "Standard_NC4as_T4_v3", "imageUri": "i"}


def _parse(cloud: str, raw: dict[str, str], **kw: str):
    defaults = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope"}
    return parse(
        cloud,
        raw,
        stack="dev",
        base_dir=REPO / "iac" / cloud,
        provider_region=kw.get("region", defaults[cloud]),
        provider_project=kw.get("project", "p" if cloud == "gcp" else None),
    )


def test_defaults_are_safe_and_resolved_against_the_project_folder() -> None:
    cfg = _parse("aws", {})
    assert (cfg.name_prefix, cfg.region, cfg.base_name) == (
        "fakewatch",
        "eu-west-1",
        "fakewatch-dev",
    )
    assert (cfg.function.memory_mb, cfg.function.timeout_s, cfg.function.max_concurrency) == (
        2048,
        120,
        10,
    )
    assert cfg.policy.review_threshold == Decimal("0.5")
    assert cfg.artifact == REPO / "dist" / "aws" / "fakewatch-aws-lambda-x86_64.zip"
    assert not cfg.gpu.enabled and not cfg.read_gating.enabled


def test_arm64_picks_the_arm64_bundle() -> None:
    assert (
        _parse("aws", {"architecture": "arm64"}).artifact.name == "fakewatch-aws-lambda-arm64.zip"
    )


def test_money_stays_decimal() -> None:
    cfg = _parse("aws", {"monthlyBudget": "199.99"})
    assert cfg.monthly_budget == Decimal("199.99")
    assert isinstance(cfg.monthly_budget, Decimal)


@pytest.mark.parametrize(
    ("cloud", "raw", "message"),
    [
        ("aws", {"namePrefix": "Fake_Watch"}, "namePrefix 'Fake_Watch' must be 3-16 characters"),
        ("aws", {"regoin": "eu-west-1"}, "fakewatch:regoin is not a fakewatch setting (typo?)"),
        ("aws", {"function": "not json"}, "fakewatch:function must be an object"),
        ("aws", {"function": "[1]"}, "must be an object (YAML map or JSON), got list"),
        ("aws", {"function": '{"memoryMb": "lots"}'}, "function.memoryMb must be an integer"),
        ("aws", {"function": '{"maxConcurrency": 1}'}, "maxConcurrency must be between 2 and 1000"),
        (
            "aws",
            {"function": '{"timeoutSecs": 5}'},
            "function.timeoutSecs is not a function setting",
        ),
        (
            "aws",
            {"policy": '{"reviewThreshold": 0.9, "quarantineThreshold": 0.5}'},
            "0 < reviewThreshold <= quarantineThreshold <= 1",
        ),
        (
            "aws",
            {"policy": '{"reviewThreshold": "NaN"}'},
            "reviewThreshold must be a finite number",
        ),
        ("aws", {"resultsRetentionDays": "0"}, "resultsRetentionDays must be between 1 and 3650"),
        ("aws", {"monthlyBudget": "-5"}, "monthlyBudget must be a positive amount"),
        ("aws", {"monthlyBudget": "ten"}, "monthlyBudget must be a decimal number"),
        ("aws", {"budgetCurrency": "usd"}, "budgetCurrency must be an ISO 4217 code"),
        ("aws", {"logLevel": "LOUD"}, "logLevel must be one of DEBUG, INFO, WARNING, ERROR"),
        ("aws", {"architecture": "sparc"}, "architecture must be x86_64 or arm64"),
        ("aws", {"kmsKeyArn": "alias/mine"}, "kmsKeyArn must be a KMS key ARN"),
        (
            "aws",
            {
                "inputBucketKmsKeyArn": KMS_ARN,
            },
            "only applies with existingInputBucket",
        ),
        ("aws", {"existingInputBucket": "Bad_Bucket"}, "is not an S3 bucket name"),
        ("aws", {"gpu": '{"enabled": true}'}, "gpu.instanceType is required when gpu.enabled"),
        (
            "aws",
            {"gpu": '{"enabled": true, "instanceType": "p3.2xlarge", "imageUri": "x"}'},
            "'p3.2xlarge' is not a aws instance type",
        ),
        ("aws", {"gpu": '{"enabled": "maybe"}'}, "gpu.enabled must be true or false"),
        (
            "aws",
            {
                "gpu": json.dumps(
                    {
                        "enabled": True,
                        "instanceType": "ml.g5.xlarge",
                        "imageUri": "i",
                        "minInstances": 3,
                        "maxInstances": 2,
                    }
                )
            },
            "maxInstances (2) must be >= minInstances (3)",
        ),
        (
            "aws",
            {"readGating": '{"enabled": true, "readers": ["arn:aws:iam::1:role/x"]}'},
            "readGating.readers is not used on AWS",
        ),
        (
            "gcp",
            {"gpu": json.dumps({**GCP_GPU, "imageUri": "docker.io/me/serve:1"})},
            "gpu.imageUri 'docker.io/me/serve:1' must be in Artifact Registry",
        ),
        ("gcp", {"architecture": "arm64"}, "architecture only applies on AWS, not gcp"),
        (
            "gcp",
            {"function": '{"batchSize": 5}'},
            "function.batchSize only applies on AWS, not gcp (SQS messages per invocation)",
        ),
        (
            "azure",
            {"gpu": json.dumps({**AZ_GPU, "targetInvocationsPerInstance": 5})},
            "gpu.targetInvocationsPerInstance only applies on AWS, not azure",
        ),
        (
            "azure",
            {"gpu": json.dumps({**AZ_GPU, "modelDataUrl": "https://x/model.tar.gz"})},
            "gpu.modelDataUrl only applies on AWS and GCP, not azure",
        ),
        (
            "aws",
            {"gpu": json.dumps({**AWS_GPU, "acceleratorType": "NVIDIA_L4"})},
            "gpu.acceleratorType only applies on GCP, not aws",
        ),
        (
            "aws",
            {"gpu": json.dumps({**AWS_GPU, "modelDataUrl": "gs://m/model.tar.gz"})},
            "gpu.modelDataUrl must be a s3:// URL on aws, got 'gs://m/model.tar.gz'",
        ),
        (
            "gcp",
            {"gpu": json.dumps({**GCP_GPU, "modelDataUrl": "s3://m/model"})},
            "gpu.modelDataUrl must be a gs:// URL on gcp",
        ),
        (
            "aws",
            {"gpu": json.dumps({**AWS_GPU, "imageUri": "docker.io/x/y:1"})},
            "gpu.imageUri 'docker.io/x/y:1' must be an ECR image",
        ),
        ("gcp", {"region": "eu-west-1"}, "'eu-west-1' is not a gcp region"),
        ("azure", {"project": "p"}, "project only applies on GCP, not azure"),
        ("azure", {"monthlyBudget": "10"}, "alertEmail is required on Azure when monthlyBudget"),
        (
            "azure",
            {"readGating": '{"readers": ["11111111-2222-3333-4444-555555555555"]}'},
            "readGating.readers requires readGating.enabled: true",
        ),
    ],
)
def test_bad_config_is_named_and_explained(cloud: str, raw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _parse(cloud, raw)
    assert message in str(err.value)


@pytest.mark.parametrize(("mode", "floor"), [("realtime", 1), ("async", 0)])
def test_async_endpoints_scale_to_zero_by_default(mode: str, floor: int) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fakewatch-serve:0.1.0"
    gpu = {"enabled": True, "mode": mode, "instanceType": "ml.g5.xlarge", "imageUri": image}
    cfg = _parse("aws", {"gpu": json.dumps(gpu)})
    assert (cfg.gpu.mode, cfg.gpu.min_instances, cfg.gpu.max_instances) == (mode, floor, 1)
    assert cfg.gpu.is_async is (mode == "async")


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        _parse("gcp", {"logLevel": "x", "alertEmail": "nope"}, project="")
    assert len(err.value.problems) == 3
    assert "fakewatch:project is required on GCP" in str(err.value)


def test_region_is_required() -> None:
    with pytest.raises(ConfigError, match=r"region is required \(or set aws:region\)"):
        parse("aws", {}, stack="dev", base_dir=REPO, provider_region=None)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_shipped_example_config_is_valid(cloud: str) -> None:
    example = yaml.safe_load((REPO / "iac" / cloud / "Pulumi.dev.yaml.example").read_text())
    raw = {
        k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v)
        for k, v in example["config"].items()
        if k.startswith("fakewatch:")
    }
    provider = {k: v for k, v in example["config"].items() if not k.startswith("fakewatch:")}
    region = (
        provider.get("aws:region")
        or provider.get("gcp:region")
        or provider.get("azure-native:location")
    )
    cfg = parse(
        cloud,
        raw,
        stack="dev",
        base_dir=REPO / "iac" / cloud,
        provider_region=region,
        provider_project=provider.get("gcp:project"),
    )
    assert cfg.cloud == cloud


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_project_files_point_at_the_repository_venv(cloud: str) -> None:
    project = yaml.safe_load((REPO / "iac" / cloud / "Pulumi.yaml").read_text())
    assert project["name"] == f"fakewatch-{cloud}"
    assert project["runtime"]["name"] == "python"
    venv = REPO / "iac" / cloud / project["runtime"]["options"]["virtualenv"]
    assert venv.resolve() == (REPO / ".venv").resolve()


def test_env_var_names_match_the_core() -> None:
    from fakewatch import settings
    from fakewatch_iac import envvars

    for name in (
        "POLICY",
        "MODEL_MANIFEST",
        "RESULTS_BUCKET",
        "RESULTS_PREFIX",
        "AUDIT_PREFIX",
        "QUARANTINE_BUCKET",
        "RESULT_TOPIC",
        "ESCALATION_ENDPOINT",
        "IDEMPOTENCY_TABLE",
        "LOG_LEVEL",
        "ESCALATION_MODE",
        "ESCALATION_QUEUE",
        "ANSWERS_BUCKET",
        "SERVE_MODE",
        "SERVE_CONTRACT",
        "SERVE_URI_PREFIXES",
        "SERVE_ANSWER_PREFIXES",
        "AZURE_ACCOUNT_URL",
    ):
        assert getattr(envvars, name) == getattr(settings, name)


def test_answer_prefix_is_the_cores() -> None:
    """The worker writes answers where the function's core looks for them."""
    from fakewatch.ports.escalation import ANSWER_PREFIX
    from fakewatch_iac import envvars

    assert envvars.ANSWER_PREFIX == ANSWER_PREFIX
