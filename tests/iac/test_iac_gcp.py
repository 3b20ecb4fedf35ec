"""The GCP program (iac/gcp) under Pulumi's mock engine, and the Vertex AI deploy provider
against a fake HTTP session (no emulator exists for the Vertex AI or GCP control planes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fakewatch_iac.errors import ArtifactError, ConfigError
from fakewatch_iac.gcp.monitoring import money
from fakewatch_iac.gcp.vertex import VertexApiError, VertexModelProvider
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import gcp as rules

REGION = "europe-west1"
GPU = {
    "enabled": True,
    "instanceType": "g2-standard-8",
    "acceleratorType": "NVIDIA_L4",
    "imageUri": "europe-west1-docker.pkg.dev/fakewatch-test/fakewatch/serve:0.1.0",
    "minInstances": 1,
    "maxInstances": 3,
}


def base_config(artifact: Path, **extra: str) -> dict[str, str]:
    return {
        "gcp:project": "fakewatch-test",
        "gcp:region": REGION,
        "fakewatch:artifactPath": str(artifact),
        "fakewatch:alertEmail": "secops@example.com",
        "fakewatch:resultsRetentionDays": "180",
        "fakewatch:logRetentionDays": "60",
        "fakewatch:function": json.dumps(
            {"memoryMb": 4096, "timeoutSeconds": 300, "maxConcurrency": 20}
        ),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("gcp", tmp_path_factory.mktemp("gcp"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    config = base_config(
        zip_path, monthlyBudget="200.25", billingAccount="000000-AAAAAA-BBBBBB", gpu=json.dumps(GPU)
    )
    return iac_deploy("gcp", config, region=REGION)


@pytest.fixture(scope="module")
def byo_stack(zip_path: Path, iac_deploy) -> Stack:
    return iac_deploy(
        "gcp", base_config(zip_path, existingInputBucket="corp-uploads"), region=REGION
    )


@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_stack_passes_rule(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](stack)) == []


def test_existing_bucket_stack_passes_every_rule(byo_stack: Stack) -> None:
    assert evaluate(byo_stack, rules.RULES) == []


MUTATIONS = {
    "buckets": lambda s: s.replace(s.of(rules.BUCKET)[0], publicAccessPrevention="inherited"),
    "trigger": lambda s: s.replace(
        s.one(rules.FUNCTION),
        eventTrigger={**s.one(rules.FUNCTION).inputs["eventTrigger"], "retryPolicy": None},
    ),
    "concurrency": lambda s: s.replace(
        s.one(rules.FUNCTION),
        serviceConfig={**s.one(rules.FUNCTION).inputs["serviceConfig"], "maxInstanceCount": None},
    ),
    "least-privilege": lambda s: s.replace(s.of(rules.BUCKET_IAM)[0], role="roles/storage.admin"),
    "logs-and-alerts": lambda s: s.without(lambda r: r.type == rules.ALERT),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_rule_catches_a_weakened_stack(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](MUTATIONS[rule](stack)))


def test_buckets_uniform_private_with_lifecycle(stack: Stack) -> None:
    buckets = {b.out("name"): b for b in stack.of(rules.BUCKET)}
    assert len(buckets) == 4  # input, results, quarantine, function source
    results = buckets[stack.outputs["resultsBucket"]]
    deletes = [
        r["condition"]["age"]
        for r in results.inputs["lifecycleRules"]
        if r["action"]["type"] == "Delete"
    ]
    assert deletes == [180]
    assert buckets[stack.outputs["inputBucket"]].inputs["versioning"] == {"enabled": True}
    assert {b.inputs["location"] for b in buckets.values()} == {"EUROPE-WEST1"}


def test_function_trigger_and_settings(stack: Stack, zip_path: Path) -> None:
    fn = stack.one(rules.FUNCTION)
    assert fn.get("buildConfig", "runtime") == "python311"
    assert fn.get("buildConfig", "entryPoint") == "scan_object"
    service = fn.inputs["serviceConfig"]
    assert service["maxInstanceCount"] == 20
    assert service["maxInstanceRequestConcurrency"] == 1
    assert (service["availableMemory"], service["availableCpu"]) == ("4096Mi", "1")
    assert service["timeoutSeconds"] == 300
    trigger = fn.inputs["eventTrigger"]
    assert trigger["eventType"] == "google.cloud.storage.object.v1.finalized"
    assert trigger["eventFilters"] == [
        {"attribute": "bucket", "value": stack.outputs["inputBucket"]}
    ]
    assert trigger["triggerRegion"] == REGION


def test_function_source_is_the_bundle(stack: Stack, zip_path: Path) -> None:
    fn = stack.one(rules.FUNCTION)
    obj = stack.one("gcp:storage/bucketObject:BucketObject")
    assert Path(obj.inputs["source"].path) == zip_path
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert obj.inputs["name"] == f"fakewatch-gcp-source-{digest[:16]}.zip"
    assert fn.get("buildConfig", "source", "storageSource", "object") == obj.inputs["name"]


def test_environment_matches_core_settings(stack: Stack) -> None:
    from fakewatch import settings
    from fakewatch.policy import parse_policy

    env = rules.env(stack)
    assert set(env) <= set(settings.ALL)
    assert env[settings.RESULT_TOPIC] == stack.outputs["resultTopic"]
    assert env[settings.RESULT_TOPIC].startswith("projects/fakewatch-test/topics/")
    assert env[settings.ESCALATION_ENDPOINT] == stack.outputs["escalationEndpoint"]
    assert parse_policy(json.loads(env[settings.POLICY])).escalation.enabled is True


def test_scanner_grants_are_bucket_scoped(stack: Stack) -> None:
    member = rules.scanner_member(stack)
    grants = {
        (g.inputs["bucket"], g.inputs["role"])
        for g in stack.of(rules.BUCKET_IAM)
        if g.inputs["member"] == member
    }
    role = stack.one(rules.CUSTOM_ROLE)
    assert sorted(role.inputs["permissions"]) == [
        "storage.objects.delete",
        "storage.objects.get",
        "storage.objects.update",
    ]
    out = stack.outputs
    assert grants == {
        (out["inputBucket"], role.out("name")),
        (out["resultsBucket"], "roles/storage.objectViewer"),
        (out["resultsBucket"], "roles/storage.objectCreator"),
        (out["quarantineBucket"], "roles/storage.objectViewer"),
        (out["quarantineBucket"], "roles/storage.objectCreator"),
    }
    project_roles = {g.inputs["role"] for g in stack.of(rules.PROJECT_IAM)}
    assert project_roles == {"roles/eventarc.eventReceiver", "roles/pubsub.publisher"}


def test_existing_bucket_is_not_created_but_triggered(byo_stack: Stack) -> None:
    names = {b.out("name") for b in byo_stack.of(rules.BUCKET)}
    assert "corp-uploads" not in names and len(names) == 3
    assert rules.input_bucket_name(byo_stack) == "corp-uploads"


def test_budget_amount_is_exact(stack: Stack) -> None:
    assert list(rules.require_budget(stack)) == []
    budget = stack.one(rules.BUDGET)
    assert budget.get("amount", "specifiedAmount") == {
        "currencyCode": "USD",
        "units": "200",
        "nanos": 250_000_000,
    }
    assert budget.get("budgetFilter", "projects") == ["projects/424242424242"]


def test_money_splits_decimal_without_float() -> None:
    from decimal import Decimal

    assert money(Decimal("0.000000001")) == ("0", 1)
    assert money(Decimal("1234.5")) == ("1234", 500_000_000)


def test_vertex_endpoint_and_model_deployment(stack: Stack) -> None:
    endpoint = stack.one(rules.ENDPOINT)
    deployment = stack.one("pulumi-python:dynamic:Resource")
    assert deployment.inputs["endpoint"] == endpoint.id
    assert deployment.inputs["image_uri"] == GPU["imageUri"]
    assert (deployment.inputs["min_replicas"], deployment.inputs["max_replicas"]) == (1, 3)
    user = stack.one("gcp:vertex/aiEndpointIamMember:AiEndpointIamMember")
    assert user.inputs["member"] == rules.scanner_member(stack)


def test_readers_cannot_be_granted_on_gcp(zip_path: Path, iac_deploy) -> None:
    gating = json.dumps({"enabled": True, "readers": ["user:alice@example.com"]})
    with pytest.raises(ConfigError, match="IAM conditions cannot test object metadata"):
        iac_deploy("gcp", base_config(zip_path, readGating=gating), region=REGION)


def test_budget_requires_billing_account(zip_path: Path, iac_deploy) -> None:
    with pytest.raises(ConfigError, match="billingAccount is required"):
        iac_deploy("gcp", base_config(zip_path, monthlyBudget="10"), region=REGION)


def test_source_folder_without_main_is_refused(tmp_path: Path, iac_deploy) -> None:
    (tmp_path / "requirements.txt").write_text("fakewatch\n")
    with pytest.raises(ArtifactError, match=r"missing main\.py"):
        iac_deploy("gcp", base_config(tmp_path), region=REGION)


# -- the Vertex AI deploy provider, against a fake session ---------------------------------------
class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


class FakeVertex:
    """Answers the Vertex AI v1 calls with long-running operations that finish on first poll."""

    def __init__(self, fail_deploy: bool = False) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.fail_deploy = fail_deploy

    def request(self, method: str, url: str, json: Any = None) -> FakeResponse:
        self.calls.append((method, url, json))
        path = url.split("/v1/", 1)[1]
        if path.endswith("models:upload"):
            return FakeResponse(200, {"name": "operations/upload-1", "done": False})
        if path == "operations/upload-1":
            return FakeResponse(
                200,
                {
                    "name": path,
                    "done": True,
                    "response": {"model": "projects/p/locations/r/models/77"},
                },
            )
        if path.endswith(":deployModel"):
            if self.fail_deploy:
                return FakeResponse(400, {"error": {"message": "machine type not available"}})
            return FakeResponse(
                200,
                {
                    "name": "operations/deploy-1",
                    "done": True,
                    "response": {"deployedModel": {"id": "555"}},
                },
            )
        if path.endswith(":undeployModel") or method == "DELETE":
            return FakeResponse(200, {"name": "operations/x", "done": True})
        return FakeResponse(404, {"error": {"message": f"unexpected {path}"}})


PROPS = {
    "project": "p",
    "region": "r",
    "endpoint": "projects/p/locations/r/endpoints/123",
    "display_name": "fw",
    "image_uri": "img:1",
    "artifact_uri": None,
    "machine_type": "g2-standard-8",
    "accelerator_type": "NVIDIA_L4",
    "min_replicas": 1,
    "max_replicas": 3,
}


def test_vertex_provider_uploads_then_deploys_then_cleans_up() -> None:
    fake = FakeVertex()
    slept: list[float] = []
    provider = VertexModelProvider(session_factory=lambda: fake, sleep=slept.append)
    result = provider.create(dict(PROPS))
    assert slept == [2.0]  # the upload operation was polled once before it was done
    assert result.id == "projects/p/locations/r/endpoints/123/deployedModels/555"
    upload = fake.calls[0]
    assert upload[0] == "POST" and upload[1].startswith("https://r-aiplatform.googleapis.com/v1/")
    assert upload[2]["model"]["containerSpec"]["ports"] == [{"containerPort": 8080}]
    deploy = next(c for c in fake.calls if c[1].endswith(":deployModel"))
    resources = deploy[2]["deployedModel"]["dedicatedResources"]
    assert resources["machineSpec"] == {
        "machineType": "g2-standard-8",
        "acceleratorType": "NVIDIA_L4",
        "acceleratorCount": 1,
    }
    assert (resources["minReplicaCount"], resources["maxReplicaCount"]) == (1, 3)
    assert deploy[2]["deployedModel"]["model"] == "projects/p/locations/r/models/77"
    provider.delete(result.id, result.outs)
    assert fake.calls[-2][1].endswith(":undeployModel")
    assert fake.calls[-2][2] == {"deployedModelId": "555"}
    assert fake.calls[-1][:2] == (
        "DELETE",
        "https://r-aiplatform.googleapis.com/v1/projects/p/locations/r/models/77",
    )


def test_vertex_provider_reports_api_errors() -> None:
    provider = VertexModelProvider(
        session_factory=lambda: FakeVertex(fail_deploy=True), sleep=lambda _s: None
    )
    with pytest.raises(VertexApiError, match="400 machine type not available"):
        provider.create(dict(PROPS))
