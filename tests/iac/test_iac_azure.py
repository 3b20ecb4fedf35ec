"""The Azure program (iac/azure) under Pulumi's mock engine (no emulator exists for Azure
Resource Manager): storage hardening, Flex function, Event Grid wiring with dead-lettering,
container-scoped roles, ABAC read gating, telemetry, alerts, budget and Azure ML endpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fakewatch_iac.azure import roles as azure_roles
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import azure as rules

READER = "11111111-2222-3333-4444-555555555555"
GPU = {
    "enabled": True,
    "instanceType": "Standard_NC4as_T4_v3",
    "imageUri": "fakewatch.azurecr.io/serve:0.1.0",
    "minInstances": 1,
    "maxInstances": 3,
}


def base_config(artifact: Path, **extra: str) -> dict[str, str]:
    return {
        "azure-native:location": "westeurope",
        "fakewatch:artifactPath": str(artifact),
        "fakewatch:alertEmail": "secops@example.com",
        "fakewatch:resultsRetentionDays": "120",
        "fakewatch:logRetentionDays": "90",
        "fakewatch:function": json.dumps({"memoryMb": 4096, "maxConcurrency": 50}),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("azure", tmp_path_factory.mktemp("azure"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    config = base_config(
        zip_path,
        monthlyBudget="150",
        gpu=json.dumps(GPU),
        readGating=json.dumps({"enabled": True, "readers": [READER]}),
    )
    return iac_deploy("azure", config, region="westeurope")


@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_stack_passes_rule(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](stack)) == []


def _data(s: Stack):
    return rules.data_account(s)


MUTATIONS = {
    "storage": lambda s: s.replace(_data(s), allowSharedKeyAccess=True),
    "function": lambda s: s.replace(rules.app(s), httpsOnly=False),
    "trigger": lambda s: s.replace(s.one(rules.SUBSCRIPTION), deadLetterWithResourceIdentity=None),
    "least-privilege": lambda s: s.replace(
        next(a for a in s.of(rules.ASSIGNMENT) if a.name.endswith("scanner-results")),
        scope=_data(s).id,
    ),
    "read-gating": lambda s: s.replace(
        next(a for a in s.of(rules.ASSIGNMENT) if a.name.endswith("reader-0")), condition=None
    ),
    "logs-and-alerts": lambda s: s.without(lambda r: r.type == rules.ALERT),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_rule_catches_a_weakened_stack(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](MUTATIONS[rule](stack)))


def test_data_account_is_hardened(stack: Stack) -> None:
    data = rules.data_account(stack)
    assert data.inputs["enableHttpsTrafficOnly"] is True
    assert data.inputs["minimumTlsVersion"] == "TLS1_2"
    assert data.inputs["allowBlobPublicAccess"] is False
    assert data.inputs["allowSharedKeyAccess"] is False
    containers = {
        c.inputs["containerName"]
        for c in stack.of(rules.CONTAINER)
        if c.inputs["accountName"] == data.out("name")
    }
    assert containers == {"input", "results", "quarantine", "deadletter"}
    policy = stack.where(rules.LIFECYCLE, "accountName", data.out("name"))[0]
    expiry = {
        r["definition"]["filters"]["prefixMatch"][0]: r["definition"]["actions"]["baseBlob"][
            "delete"
        ]["daysAfterModificationGreaterThan"]
        for r in policy.inputs["policy"]["rules"]
    }
    assert expiry["results/"] == 120


def test_flex_function_runs_the_bundle(stack: Stack, zip_path: Path) -> None:
    app = rules.app(stack)
    config = app.inputs["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"] == {"maximumInstanceCount": 50, "instanceMemoryMB": 4096}
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    package = stack.one(rules.BLOB)
    assert Path(package.inputs["source"].path) == zip_path
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    assert package.inputs["blobName"] == f"fakewatch-functionapp-{digest}.zip"
    assert config["deployment"]["storage"]["value"].endswith("/deployments")


def test_event_grid_subscription_wiring(stack: Stack) -> None:
    sub = stack.one(rules.SUBSCRIPTION)
    assert sub.get("destination", "resourceId") == f"{rules.app(stack).id}/functions/scan_blob"
    assert sub.get("filter", "subjectBeginsWith") == "/blobServices/default/containers/input/blobs/"
    assert sub.get("retryPolicy") == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead = sub.get("deadLetterWithResourceIdentity", "deadLetterDestination")
    assert dead["blobContainerName"] == "deadletter"
    topic = stack.one(rules.SYSTEM_TOPIC)
    grant = next(a for a in stack.of(rules.ASSIGNMENT) if a.name.endswith("events-deadletter"))
    assert grant.inputs["principalId"] == topic.out("identity")["principalId"]
    assert grant.inputs["scope"].endswith("/containers/deadletter")


def test_scanner_roles_are_container_scoped(stack: Stack) -> None:
    me = rules.scanner_principal(stack)
    mine = {
        a.name.removeprefix("fakewatch-"): a
        for a in stack.of(rules.ASSIGNMENT)
        if a.inputs["principalId"] == me
    }
    assert mine["scanner-input"].inputs["scope"].endswith("/containers/input")
    assert mine["scanner-results"].inputs["scope"].endswith("/containers/results")
    assert mine["scanner-quarantine"].inputs["scope"].endswith("/containers/quarantine")
    custom = next(d for d in stack.of(rules.DEFINITION) if "input" in d.name)
    assert custom.inputs["permissions"][0]["dataActions"] == list(
        azure_roles.SCANNER_INPUT_DATA_ACTIONS
    )
    assert (
        mine["scanner-input"].inputs["roleDefinitionId"].endswith(custom.inputs["roleDefinitionId"])
    )


def test_read_gating_condition_requires_allow_tag(stack: Stack) -> None:
    reader = next(a for a in stack.of(rules.ASSIGNMENT) if a.inputs["principalId"] == READER)
    assert reader.inputs["roleDefinitionId"].endswith(azure_roles.STORAGE_BLOB_DATA_READER)
    assert reader.inputs["conditionVersion"] == "2.0"
    assert (
        "tags:fakewatch-action<$key_case_sensitive$>] StringEquals 'allow'"
        in (reader.inputs["condition"])
    )
    assert reader.inputs["scope"].endswith("/containers/input")


def test_environment_matches_core_settings(stack: Stack) -> None:
    from fakewatch import settings

    env = rules.app_settings(stack)
    ours = {k for k in env if k.startswith(settings.PREFIX)}
    assert ours - set(settings.ALL) == {"FAKEWATCH_AZURE_ACCOUNT_URL"}  # read via Settings.extra
    assert env[settings.RESULTS_BUCKET] == "results"
    assert env[settings.RESULT_TOPIC].startswith("https://")
    assert env[settings.ESCALATION_ENDPOINT].endswith("/score")
    assert env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].endswith("Authorization=AAD")
    assert "FUNCTIONS_WORKER_RUNTIME" not in env  # Flex takes the runtime from functionAppConfig


def test_function_timeout_reaches_the_host(stack: Stack, zip_path: Path, iac_deploy) -> None:
    # Flex Consumption takes functionTimeout from host.json; the app setting overrides the
    # bundle's value with function.timeoutSeconds (120 s by default here).
    assert rules.app_settings(stack)["AzureFunctionsJobHost__functionTimeout"] == "00:02:00"
    long = iac_deploy(
        "azure",
        base_config(zip_path, function=json.dumps({"timeoutSeconds": 3599})),
        region="westeurope",
    )
    assert rules.app_settings(long)["AzureFunctionsJobHost__functionTimeout"] == "00:59:59"


def test_budget_and_alerts(stack: Stack) -> None:
    assert list(rules.require_budget(stack)) == []
    budget = stack.one(rules.BUDGET)
    assert budget.inputs["amount"] == 150
    assert budget.inputs["scope"] == stack.one("azure-native:resources:ResourceGroup").id
    group = stack.one("azure-native:monitor:ActionGroup")
    assert group.inputs["emailReceivers"][0]["emailAddress"] == "secops@example.com"


def test_ml_endpoint_with_autoscale(stack: Stack) -> None:
    deployment = stack.one("azure-native:machinelearningservices:OnlineDeployment")
    assert deployment.get("properties", "instanceType") == "Standard_NC4as_T4_v3"
    autoscale = stack.one("azure-native:monitor:AutoscaleSetting")
    assert autoscale.inputs["targetResourceUri"] == deployment.id
    assert autoscale.inputs["profiles"][0]["capacity"] == {
        "minimum": "1",
        "maximum": "3",
        "default": "1",
    }
    endpoint = stack.one("azure-native:machinelearningservices:OnlineEndpoint")
    assert endpoint.get("properties", "authMode") == "AADToken"


def test_ml_environment_routes_are_the_serving_images(stack: Stack) -> None:
    """Azure ML probes and scores on the routes the image's azureml contract serves."""
    from fakewatch_serve.contracts import contract_for

    contract = contract_for("azureml")
    environment = stack.one("azure-native:machinelearningservices:EnvironmentVersion")
    routes = environment.get("properties", "inferenceConfig")
    assert routes == {
        "livenessRoute": {"path": contract.liveness_route, "port": contract.port},
        "readinessRoute": {"path": contract.readiness_route, "port": contract.port},
        "scoringRoute": {"path": contract.predict_route, "port": contract.port},
    }


def test_minimal_stack_passes(zip_path: Path, iac_deploy) -> None:
    minimal = {"azure-native:location": "northeurope", "fakewatch:artifactPath": str(zip_path)}
    stack = iac_deploy("azure", minimal, region="northeurope")
    assert evaluate(stack, rules.RULES) == []
    assert stack.of(rules.BUDGET) == []


def test_bad_azure_config(zip_path: Path, iac_deploy) -> None:
    config = base_config(
        zip_path,
        function=json.dumps({"memoryMb": 1024}),
        readGating=json.dumps({"enabled": True, "readers": ["alice@example.com"]}),
        existingInputBucket="x",
    )
    with pytest.raises(ConfigError) as err:
        iac_deploy("azure", config, region="westeurope")
    text = str(err.value)
    assert "memoryMb must be one of 512, 2048, 4096 on azure, got 1024" in text
    assert "'alice@example.com' is not an Entra object id" in text
    assert "existingInputBucket on Azure names a container of an existing storage account" in text
    assert "existingInputBucket 'x' is not a container name" in text
