"""The Azure program with ``gpu.mode: async`` under Pulumi's mock engine: a Storage queue in the
data account, a GPU worker on Container Apps serverless GPU that KEDA scales from zero on that
queue with its managed identity, the worker's few roles, the answers container and the second
Event Grid subscription that brings answers back to the function.

Pulumi mocks stand in for the engine and Azure Resource Manager (no emulator exists for them;
lookups of an existing account are the mocks' invoke answers). The environment the stack gives
the function and the worker is read back with the runtime's own parsers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakewatch_iac.azure import roles as azure_roles
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Resource, Stack, evaluate
from fakewatch_iac.policy import azure as rules
from fakewatch_iac.testing import AZURE_SUBSCRIPTION, RecordingMocks, run_program

REGION = "swedencentral"
IMAGE = "fwacr.azurecr.io/fakewatch-serve:0.1.0"
READER = "11111111-2222-3333-4444-555555555555"
GPU = {
    "enabled": True,
    "mode": "async",
    "instanceType": "Consumption-GPU-NC8as-T4",
    "imageUri": IMAGE,
    "maxInstances": 3,
    "targetBacklogPerInstance": 4,
    "modelDataUrl": "az://models/heavy/v2/",
}
REGISTRY = {"name": "fwacr", "resourceGroup": "acr-rg"}
REGISTRY_ID = (
    f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/acr-rg"
    "/providers/Microsoft.ContainerRegistry/registries/fwacr"
)
GROUP = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/media-rg"
ACCOUNT_ID = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/corpmedia"
EXISTING_ACCOUNT: dict[str, Any] = {
    "id": ACCOUNT_ID,
    "name": "corpmedia",
    "location": REGION,
    "kind": "StorageV2",
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "isHnsEnabled": False,
    "primaryEndpoints": {"blob": "https://corpmedia.blob.core.windows.net/"},
}


def config(
    artifact: Path, gpu: dict | None = None, azure: dict | None = None, **extra: str
) -> dict[str, str]:
    return {
        "azure-native:location": REGION,
        "fakewatch:artifactPath": str(artifact),
        "fakewatch:alertEmail": "secops@example.com",
        "fakewatch:resultsRetentionDays": "90",
        "fakewatch:gpu": json.dumps(gpu or GPU),
        "fakewatch:azure": json.dumps({"imageRegistry": REGISTRY} if azure is None else azure),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("azure", tmp_path_factory.mktemp("azure-async"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    gating = json.dumps({"enabled": True, "readers": [READER]})
    return iac_deploy("azure", config(zip_path, readGating=gating), region=REGION)


@pytest.fixture(scope="module")
def byo_stack(zip_path: Path, iac_program: Callable[[str], Callable[[], None]]) -> Stack:
    """An existing account (its lookup names no queue endpoint) and its existing uploads."""
    azure = {
        "imageRegistry": REGISTRY,
        "existingStorageAccount": {"name": "corpmedia", "resourceGroup": "media-rg"},
    }
    gpu = {k: v for k, v in GPU.items() if k != "modelDataUrl"}
    cfg = config(zip_path, gpu, azure, existingInputBucket="uploads")
    mocks = RecordingMocks(
        region=REGION, lookups={"azure-native:storage:getStorageAccount": EXISTING_ACCOUNT}
    )
    return run_program(iac_program("azure"), config=cfg, project="fakewatch-azure", mocks=mocks)


@pytest.fixture(scope="module")
def shared_topic_stack(zip_path: Path, iac_program: Callable[[str], Callable[[], None]]) -> Stack:
    """The existing account already has its one system topic: both subscriptions go there."""
    azure = {
        "imageRegistry": REGISTRY,
        "existingStorageAccount": {"name": "corpmedia", "resourceGroup": "media-rg"},
        "existingSystemTopic": {"name": "corpmedia-events"},
    }
    topic = {
        "id": f"{GROUP}/providers/Microsoft.EventGrid/systemTopics/corpmedia-events",
        "name": "corpmedia-events",
        "location": REGION,
        "source": ACCOUNT_ID,
        "topicType": "Microsoft.Storage.StorageAccounts",
        "identity": {"type": "SystemAssigned", "principalId": "22222222-3333-4444-5555-6666"},
    }
    mocks = RecordingMocks(
        region=REGION,
        lookups={
            "azure-native:storage:getStorageAccount": EXISTING_ACCOUNT,
            "azure-native:eventgrid:getSystemTopic": topic,
        },
    )
    cfg = config(zip_path, azure=azure)
    return run_program(iac_program("azure"), config=cfg, project="fakewatch-azure", mocks=mocks)


def worker(s: Stack) -> Resource:
    found = rules.worker_app(s)
    assert found is not None
    return found


def named(s: Stack, typ: str, suffix: str) -> Resource:
    return next(r for r in s.of(typ) if r.name.endswith(suffix))


def answers_subscription(s: Stack) -> Resource:
    return named(s, rules.SUBSCRIPTION, "events-answers")


# -- every rule, on every variant ---------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_async_stack_passes_rule(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](stack)) == []


def test_async_stack_on_an_existing_account_passes_every_rule(byo_stack: Stack) -> None:
    assert evaluate(byo_stack, rules.RULES) == []
    queue = byo_stack.one(rules.QUEUE)
    assert queue.inputs["accountName"] == "corpmedia"
    assert queue.inputs["resourceGroupName"] == "media-rg"
    assert queue.id == f"{ACCOUNT_ID}/queueServices/default/queues/fakewatch-dev-jobs"
    url = "https://corpmedia.queue.core.windows.net/fakewatch-dev-jobs"
    assert rules.app_settings(byo_stack)["FAKEWATCH_ESCALATION_QUEUE"] == url
    assert rules.worker_settings(byo_stack)["FAKEWATCH_SERVE_URI_PREFIXES"] == "az://uploads/"
    created = {
        c.inputs["containerName"]
        for c in byo_stack.of(rules.CONTAINER)
        if c.inputs["accountName"] == "corpmedia"
    }
    assert "answers" in created and "uploads" not in created


def test_async_stack_on_an_existing_topic_passes_every_rule(shared_topic_stack: Stack) -> None:
    s = shared_topic_stack
    assert evaluate(s, rules.RULES) == []
    assert s.of(rules.SYSTEM_TOPIC) == []
    topics = {sub.inputs["systemTopicName"] for sub in s.of(rules.SUBSCRIPTION)}
    assert topics == {"corpmedia-events"} and len(s.of(rules.SUBSCRIPTION)) == 2
    assert rules.data_account_id(s) == ACCOUNT_ID
    assert rules.input_container(s) == "input"


def _app(s: Stack, **changes: Any) -> Stack:
    return s.replace(worker(s), **changes)


def _scale(s: Stack, **changes: Any) -> Stack:
    w = worker(s)
    template = {**w.inputs["template"], "scale": {**w.inputs["template"]["scale"], **changes}}
    return s.replace(w, template=template)


def _container(s: Stack, **changes: Any) -> Stack:
    w = worker(s)
    container = {**w.inputs["template"]["containers"][0], **changes}
    return s.replace(w, template={**w.inputs["template"], "containers": [container]})


def _worker_env(s: Stack, name: str, value: str) -> Stack:
    env = [
        {**e, "value": value} if e["name"] == name else e
        for e in worker(s).inputs["template"]["containers"][0]["env"]
    ]
    return _container(s, env=env)


def _rule(s: Stack, **custom: Any) -> Stack:
    rule = worker(s).inputs["template"]["scale"]["rules"][0]
    return _scale(s, rules=[{**rule, "custom": {**rule["custom"], **custom}}])


def _config(s: Stack, **changes: Any) -> Stack:
    return _app(s, configuration={**worker(s).inputs["configuration"], **changes})


def _drop(suffix: str) -> Callable[[Stack], Stack]:
    return lambda s: s.without(lambda r: r.name.endswith(suffix))


def _scope(s: Stack, suffix: str, scope: str) -> Stack:
    return s.replace(named(s, rules.ASSIGNMENT, suffix), scope=scope)


# Each weakening must be caught by the named rule, with the named reason.
WEAKENED: dict[str, tuple[str, str, Callable[[Stack], Stack]]] = {
    "ingress": (
        "gpu-async",
        "the worker has ingress",
        lambda s: _config(s, ingress={"external": True, "targetPort": 5001}),
    ),
    "secrets": (
        "gpu-async",
        "the worker holds secrets",
        lambda s: _config(s, secrets=[{"name": "conn", "value": "DefaultEndpointsProtocol=..."}]),
    ),
    "registry password": (
        "gpu-async",
        "pulled with a password",
        lambda s: _config(
            s,
            registries=[{"server": "fwacr.azurecr.io", "username": "u", "passwordSecretRef": "p"}],
        ),
    ),
    "warm replica": ("gpu-async", "async scales to 0", lambda s: _scale(s, minReplicas=1)),
    "unbounded": ("gpu-async", "no maximum replica count", lambda s: _scale(s, maxReplicas=None)),
    "keda with a key": (
        "gpu-async",
        "no azure-queue rule",
        lambda s: _rule(s, identity=None, auth=[{"secretRef": "k", "triggerParameter": "c"}]),
    ),
    "keda on another queue": (
        "gpu-async",
        "no azure-queue rule",
        lambda s: _rule(s, metadata={"accountName": "x", "queueName": "other", "queueLength": "1"}),
    ),
    "no gpu profile": (
        "gpu-async",
        "serverless GPU profile",
        lambda s: _app(s, workloadProfileName="Consumption"),
    ),
    "other command": (
        "gpu-async",
        "the worker runs",
        lambda s: _container(s, command=["sh", "-c", "sleep infinity"]),
    ),
    "worker writes results": (
        "gpu-async",
        "the GPU worker holds role",
        lambda s: _scope(
            s,
            "worker-answers",
            named(s, rules.ASSIGNMENT, "worker-answers")
            .inputs["scope"]
            .replace("/answers", "/results"),
        ),
    ),
    "worker owns the account's queues": (
        "gpu-async",
        "the GPU worker holds role",
        lambda s: _scope(s, "worker-jobs", rules.data_account_id(s)),
    ),
    "keda cannot read the length": (
        "gpu-async",
        "the GPU worker lacks role",
        _drop("worker-queue-length"),
    ),
    "worker reads anywhere": (
        "gpu-async",
        "may read outside the input container",
        lambda s: _worker_env(s, "FAKEWATCH_SERVE_URI_PREFIXES", "az://"),
    ),
    "worker drains another queue": (
        "gpu-async",
        "drains another queue",
        lambda s: _worker_env(s, "FAKEWATCH_ESCALATION_QUEUE", "https://x/other"),
    ),
    "function sends account-wide": (
        "gpu-async",
        "the function may send to",
        lambda s: _scope(s, "scanner-send-jobs", rules.data_account_id(s)),
    ),
    "function cannot queue": (
        "gpu-async",
        "may not add jobs",
        _drop("scanner-send-jobs"),
    ),
    "function cannot read answers": (
        "gpu-async",
        "may not read the answers",
        _drop("scanner-answers"),
    ),
    "answers never come back": (
        "gpu-async",
        "no Event Grid subscription brings answers back",
        _drop("events-answers"),
    ),
    "answers without dead letters": (
        "trigger",
        "no dead-lettering",
        lambda s: s.replace(answers_subscription(s), deadLetterWithResourceIdentity=None),
    ),
    "ml endpoint beside it": (
        "gpu-async",
        "an Azure ML endpoint idles",
        lambda s: Stack((*s.resources, Resource(rules.ML_ENDPOINT, "stray", {})), s.outputs),
    ),
    "reader without the gate": (
        "read-gating",
        "reader sees blobs the scanner has not allowed",
        lambda s: s.replace(named(s, rules.ASSIGNMENT, "reader-0"), condition=None),
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENED))
def test_rule_catches_a_weakened_async_stack(stack: Stack, case: str) -> None:
    rule, reason, weaken = WEAKENED[case]
    assert list(rules.RULES[rule](stack)) == []
    messages = [f.message for f in rules.RULES[rule](weaken(stack))]
    assert any(reason in m for m in messages), messages


def test_function_env_without_worker_is_caught(stack: Stack) -> None:
    no_worker = stack.without(lambda r: r.type == rules.CONTAINER_APP)
    assert [f.message for f in rules.gpu_async(no_worker)] == [
        "async escalation without a GPU worker to answer it"
    ]


# -- the worker -----------------------------------------------------------------------------------
def test_worker_scales_from_zero_on_the_queue_with_its_identity(stack: Stack) -> None:
    w = worker(stack)
    identity = w.get("identity", "userAssignedIdentities")[0]
    scale = w.get("template", "scale")
    assert (scale["minReplicas"], scale["maxReplicas"]) == (0, 3)
    assert scale["rules"] == [
        {
            "name": "jobs",
            "custom": {
                "type": "azure-queue",
                "metadata": {
                    "accountName": rules.data_account(stack).out("name"),
                    "queueName": "fakewatch-dev-jobs",
                    "queueLength": "4",  # gpu.targetBacklogPerInstance
                },
                "identity": identity,
            },
        }
    ]
    assert w.get("identity", "type") == "UserAssigned"
    assert w.get("configuration", "registries") == [
        {"server": "fwacr.azurecr.io", "identity": identity}
    ]
    assert w.get("configuration", "ingress") is None


def test_worker_runs_the_serving_image_on_a_serverless_gpu(stack: Stack) -> None:
    w = worker(stack)
    container = w.get("template", "containers")[0]
    assert container["image"] == IMAGE
    assert container["command"] == ["python", "-m", "fakewatch_azure.worker"]
    assert container["args"] == ["--visibility-timeout", "600", "--max-attempts", "5"]
    assert w.get("template", "terminationGracePeriodSeconds") == 600
    assert container["resources"] == {"cpu": 8.0, "memory": "56Gi"}
    environment = stack.one(rules.ENVIRONMENT)
    assert w.inputs["managedEnvironmentId"] == environment.id
    assert w.inputs["workloadProfileName"] == "gpu"
    profiles = {p["name"]: p["workloadProfileType"] for p in environment.inputs["workloadProfiles"]}
    assert profiles == {"Consumption": "Consumption", "gpu": "Consumption-GPU-NC8as-T4"}
    logs = stack.one("azure-native:monitor:DiagnosticSetting")
    assert logs.inputs["resourceUri"] == environment.id
    workspace = stack.one(rules.WORKSPACE)
    assert logs.inputs["workspaceId"] == workspace.id
    assert logs.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert environment.inputs["appLogsConfiguration"] == {"destination": "azure-monitor"}


def test_worker_command_and_environment_parse_as_the_real_workers(stack: Stack) -> None:
    """The args and env the stack gives the container, through fakewatch_azure.worker's own
    argument parser and configuration (the one that refuses to start on a bad setting)."""
    from fakewatch_azure.worker import parser, worker_config

    container = worker(stack).get("template", "containers")[0]
    env = rules.worker_settings(stack)
    config = worker_config(parser().parse_args(container["args"]), env)
    assert config.queue == rules.app_settings(stack)["FAKEWATCH_ESCALATION_QUEUE"]
    assert (config.visibility_timeout_s, config.max_attempts) == (600, 5)
    assert config.connection_string is None  # the managed identity, no key
    served = config.serve
    assert served.contract.name == "azureml" and served.mode == "async"
    assert served.answer_prefixes == ("az://answers/escalations/",)
    assert served.engine.uri_prefixes == ("az://input/",)
    assert served.engine.manifest == "az://models/heavy/v2/manifest.json"
    assert (
        env["FAKEWATCH_AZURE_ACCOUNT_URL"]
        == rules.app_settings(stack)["FAKEWATCH_AZURE_ACCOUNT_URL"]
    )
    identity = named(stack, "azure-native:managedidentity:UserAssignedIdentity", "worker-identity")
    assert env["AZURE_CLIENT_ID"] == identity.out("clientId")


def test_worker_roles_are_exactly_queue_input_answers_model_registry(stack: Stack) -> None:
    principal = rules.worker_principal(stack)
    data = rules.data_account_id(stack)
    held = {
        (a.inputs["scope"], a.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
        for a in stack.of(rules.ASSIGNMENT)
        if a.inputs["principalId"] == principal
    }
    containers = f"{data}/blobServices/default/containers"
    assert held == {
        (stack.one(rules.QUEUE).id, azure_roles.STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR),
        (stack.one(rules.QUEUE).id, azure_roles.STORAGE_QUEUE_DATA_READER),  # KEDA's length
        (f"{containers}/input", azure_roles.STORAGE_BLOB_DATA_READER),
        (f"{containers}/answers", azure_roles.STORAGE_BLOB_DATA_CONTRIBUTOR),
        (f"{containers}/models", azure_roles.STORAGE_BLOB_DATA_READER),
        (REGISTRY_ID, azure_roles.ACR_PULL),
    }
    # The worker reads uploads before any verdict, by design; no tag-writing role among these.
    definitions = {d.inputs["roleDefinitionId"] for d in stack.of(rules.DEFINITION)}
    assert not {role for _, role in held} & definitions


# -- the function's side --------------------------------------------------------------------------
class NoNetwork:
    """A credential that must never be asked for a token: building the client is offline."""

    def get_token(self, *scopes: str, **kwargs: object) -> None:
        raise AssertionError("the stack's settings were used to call Azure")


def test_function_settings_build_the_runtimes_queued_escalation(stack: Stack) -> None:
    from fakewatch.settings import Settings
    from fakewatch_azure.escalation import escalation_from_settings

    settings = Settings.from_env(rules.app_settings(stack))
    account = rules.data_account(stack).out("name")
    assert settings.escalation_mode == "async"
    assert settings.escalation_queue == (
        f"https://{account}.queue.core.windows.net/fakewatch-dev-jobs"
    )
    assert settings.answers_bucket == "answers"
    assert settings.escalation_endpoint is None  # no Azure ML endpoint in async mode
    client = escalation_from_settings(settings, credential=NoNetwork())
    queued = client.client  # ResilientEscalation around QueuedEscalation
    assert queued.queue.queue_name == "fakewatch-dev-jobs"
    assert queued.answers_uri == "az://answers/escalations/"


def test_function_sends_jobs_to_that_queue_and_reads_answers_only(stack: Stack) -> None:
    me = rules.scanner_principal(stack)
    data = rules.data_account_id(stack)
    queue_roles = {
        (a.inputs["scope"], a.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
        for a in stack.of(rules.ASSIGNMENT)
        if a.inputs["principalId"] == me and "queueServices" in a.inputs["scope"]
    }
    assert queue_roles == {
        (stack.one(rules.QUEUE).id, azure_roles.STORAGE_QUEUE_DATA_MESSAGE_SENDER)
    }
    answers = named(stack, rules.ASSIGNMENT, "scanner-answers")
    assert answers.inputs["scope"] == f"{data}/blobServices/default/containers/answers"
    assert answers.inputs["roleDefinitionId"].endswith(azure_roles.STORAGE_BLOB_DATA_READER)


def test_answers_reach_the_same_function_with_dead_lettering(stack: Stack) -> None:
    scan, answers = rules.scan_subscription(stack), answers_subscription(stack)
    assert answers.get("filter") == {
        "includedEventTypes": ["Microsoft.Storage.BlobCreated"],
        "subjectBeginsWith": "/blobServices/default/containers/answers/blobs/escalations/",
        "subjectEndsWith": ".json",
        "isSubjectCaseSensitive": False,
    }
    for key in ("destination", "retryPolicy", "deadLetterWithResourceIdentity"):
        assert answers.inputs[key] == scan.inputs[key]
    alert = named(stack, rules.ALERT, "dead-letters")
    dimension = alert.get("criteria", "allOf", 0, "dimensions", 0)
    assert dimension["values"] == [scan.out("name"), answers.out("name")]


def test_answers_container_expires_with_the_verdicts(stack: Stack) -> None:
    data = rules.data_account(stack)
    policy = stack.where(rules.LIFECYCLE, "accountName", data.out("name"))[0]
    expiry = {
        r["definition"]["filters"]["prefixMatch"][0]: r["definition"]["actions"]["baseBlob"][
            "delete"
        ]["daysAfterModificationGreaterThan"]
        for r in policy.inputs["policy"]["rules"]
    }
    assert expiry["answers/"] == expiry["results/"] == 90
    created = {
        c.inputs["containerName"]
        for c in stack.of(rules.CONTAINER)
        if c.inputs["accountName"] == data.out("name")
    }
    assert created == {"input", "results", "quarantine", "deadletter", "answers", "models"}


def test_no_azure_ml_and_the_exports(stack: Stack) -> None:
    assert [r for r in stack.resources if "machinelearningservices" in r.type] == []
    out = stack.outputs
    assert out["escalationQueueUrl"].endswith("/fakewatch-dev-jobs")
    assert out["answersContainer"] == "answers"
    assert out["gpuWorker"] == "fakewatch-dev-gpu-worker"
    assert out["gpuWorkerPrincipalId"] == rules.worker_principal(stack)
    assert "escalationScoringUri" not in out


@pytest.mark.parametrize(
    ("gpu", "azure", "message"),
    [
        (GPU, {}, "azure.imageRegistry is required with gpu.mode: async"),
        (
            GPU,
            {"imageRegistry": {"name": "otheracr", "resourceGroup": "acr-rg"}},
            "'otheracr' is not the registry of gpu.imageUri",
        ),
        (
            {**GPU, "instanceType": "Standard_NC4as_T4_v3"},
            None,
            "is not a Container Apps serverless GPU profile",
        ),
        ({**GPU, "minInstances": 1}, None, "gpu.minInstances must be 0 with gpu.mode: async"),
        ({**GPU, "imageUri": "docker.io/me/serve:1"}, None, "must be in Azure Container Registry"),
        ({**GPU, "modelDataUrl": "az://answers/m/"}, None, "in the scanner's 'answers' container"),
        ({**GPU, "modelDataUrl": "gs://m/heavy/"}, None, "must be an az:// folder on azure"),
        (
            {**GPU, "targetInvocationsPerInstance": 3},
            None,
            "gpu.targetInvocationsPerInstance only applies with gpu.mode: realtime",
        ),
    ],
)
def test_bad_async_config_stops_the_program(
    zip_path: Path, iac_deploy, gpu: dict, azure: dict | None, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        iac_deploy("azure", config(zip_path, gpu, azure), region=REGION)
    assert message in str(err.value)


def test_registry_only_with_async(zip_path: Path, iac_deploy) -> None:
    realtime = {
        "enabled": True,
        "instanceType": "Standard_NC4as_T4_v3",
        "imageUri": IMAGE,
    }
    with pytest.raises(
        ConfigError, match=r"azure\.imageRegistry only applies with gpu\.mode: async"
    ):
        iac_deploy("azure", config(zip_path, realtime), region=REGION)
