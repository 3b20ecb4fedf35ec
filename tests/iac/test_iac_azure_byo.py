"""The Azure program attached to a storage account (and Event Grid system topic) that already
exists, under Pulumi's mock engine. The mocks' invoke answers stand for the account's and the
topic's current settings (no emulator exists for Azure Resource Manager)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakewatch_iac.azure import roles as azure_roles
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import azure as rules
from fakewatch_iac.testing import AZURE_SUBSCRIPTION, RecordingMocks, run_program

GET_ACCOUNT = "azure-native:storage:getStorageAccount"
GET_TOPIC = "azure-native:eventgrid:getSystemTopic"
GROUP = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/media-rg"
ACCOUNT_ID = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/corpmedia"
TOPIC_ID = f"{GROUP}/providers/Microsoft.EventGrid/systemTopics/corpmedia-events"
TOPIC_PRINCIPAL = "22222222-3333-4444-5555-666666666666"
READER = "11111111-2222-3333-4444-555555555555"
SECURE_ACCOUNT: dict[str, Any] = {
    "id": ACCOUNT_ID,
    "name": "corpmedia",
    "location": "northeurope",
    "kind": "StorageV2",
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "isHnsEnabled": False,
    "primaryEndpoints": {"blob": "https://corpmedia.blob.core.windows.net/"},
}
TOPIC: dict[str, Any] = {
    "id": TOPIC_ID,
    "name": "corpmedia-events",
    "location": "northeurope",
    "source": ACCOUNT_ID,
    "topicType": "Microsoft.Storage.StorageAccounts",
    "identity": {"type": "SystemAssigned", "principalId": TOPIC_PRINCIPAL},
}
BYO = {"existingStorageAccount": {"name": "corpmedia", "resourceGroup": "media-rg"}}


def config(artifact: Path, azure: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "azure-native:location": "westeurope",
        "fakewatch:artifactPath": str(artifact),
        "fakewatch:resultsRetentionDays": "120",
        "fakewatch:azure": json.dumps(azure),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


Run = Callable[..., tuple[Stack, RecordingMocks]]


@pytest.fixture(scope="module")
def run(iac_program: Callable[[str], Callable[[], None]]) -> Run:
    """``run(config, account, topic=None)``: the Azure program in a world where the account
    (and topic) answer their lookups as given; returns what it declared and the mocks."""

    def go(
        cfg: dict[str, str], account: dict[str, Any], topic: dict[str, Any] | None = None
    ) -> tuple[Stack, RecordingMocks]:
        lookups = {GET_ACCOUNT: account, **({GET_TOPIC: topic} if topic else {})}
        mocks = RecordingMocks(region="westeurope", lookups=lookups)
        program = iac_program("azure")
        return run_program(program, config=cfg, project="fakewatch-azure", mocks=mocks), mocks

    return go


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("azure", tmp_path_factory.mktemp("azure-byo"))


@pytest.fixture(scope="module")
def attached(zip_path: Path, run: Run) -> tuple[Stack, RecordingMocks]:
    """Scan the existing ``uploads`` container; results under a name of our choosing."""
    cfg = config(
        zip_path,
        {**BYO, "containers": {"results": "fw-results"}},
        existingInputBucket="uploads",
        readGating=json.dumps({"enabled": True, "readers": [READER]}),
        modelManifest="az://models/fakewatch/v3/manifest.json",
    )
    return run(cfg, SECURE_ACCOUNT)


@pytest.fixture(scope="module")
def stack(attached: tuple[Stack, RecordingMocks]) -> Stack:
    return attached[0]


@pytest.fixture(scope="module")
def shared_topic(zip_path: Path, run: Run) -> Stack:
    """The account already has its (one) system topic: subscribe there."""
    cfg = config(zip_path, {**BYO, "existingSystemTopic": {"name": "corpmedia-events"}})
    return run(cfg, SECURE_ACCOUNT, TOPIC)[0]


def containers_in(stack: Stack, account: str) -> set[str]:
    return {
        c.inputs["containerName"]
        for c in stack.of(rules.CONTAINER)
        if c.inputs["accountName"] == account
    }


def scanner_scopes(stack: Stack) -> dict[str, str]:
    me = rules.scanner_principal(stack)
    return {
        a.name.removeprefix("fakewatch-"): a.inputs["scope"]
        for a in stack.of(rules.ASSIGNMENT)
        if a.inputs["principalId"] == me
    }


# -- the policy suite --------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["stack", "shared_topic"])
def test_attached_stacks_pass_every_rule(fixture: str, request: pytest.FixtureRequest) -> None:
    assert evaluate(request.getfixturevalue(fixture), rules.RULES) == []


def test_the_account_is_looked_up_where_the_config_says(
    attached: tuple[Stack, RecordingMocks],
) -> None:
    _, mocks = attached
    lookups = [args for token, args in mocks.calls if token == GET_ACCOUNT]
    assert lookups == [{"accountName": "corpmedia", "resourceGroupName": "media-rg"}]


# -- the account is used, not changed ----------------------------------------------------------
def test_only_the_scanners_containers_are_created(stack: Stack) -> None:
    assert containers_in(stack, "corpmedia") == {"fw-results", "quarantine", "deadletter"}
    for c in stack.of(rules.CONTAINER):
        if c.inputs["accountName"] == "corpmedia":
            assert c.inputs["resourceGroupName"] == "media-rg"
            assert c.inputs["publicAccess"] == "None"


def test_account_settings_and_lifecycle_are_left_to_the_owner(stack: Stack) -> None:
    names = {a.out("name") for a in stack.of(rules.ACCOUNT)}
    assert "corpmedia" not in names and len(names) == 1  # the Functions runtime account only
    for typ in (rules.LIFECYCLE, rules.BLOB_SERVICE):
        assert all(r.inputs["accountName"] != "corpmedia" for r in stack.of(typ))
    exported = stack.outputs["lifecycleRules"]
    prefixes = {
        r["definition"]["filters"]["prefixMatch"][0]: r["definition"]["actions"]["baseBlob"][
            "delete"
        ]["daysAfterModificationGreaterThan"]
        for r in exported
    }
    assert prefixes == {"fw-results/": 120, "deadletter/": 30}
    assert all(r["name"].startswith("fakewatch-") for r in exported)


def test_roles_are_scoped_to_the_containers(stack: Stack) -> None:
    scopes = scanner_scopes(stack)
    base = f"{ACCOUNT_ID}/blobServices/default/containers"
    assert scopes["scanner-input"] == f"{base}/uploads"
    assert scopes["scanner-results"] == f"{base}/fw-results"
    assert scopes["scanner-quarantine"] == f"{base}/quarantine"
    assert scopes["scanner-model"] == f"{base}/models"
    assert not any(s == ACCOUNT_ID for s in scopes.values())
    reader = next(a for a in stack.of(rules.ASSIGNMENT) if a.inputs["principalId"] == READER)
    assert reader.inputs["scope"] == f"{base}/uploads"
    assert reader.inputs["condition"] == azure_roles.READ_GATING_CONDITION


def test_new_topic_lives_with_the_account_and_filters_the_input(stack: Stack) -> None:
    topic = stack.one(rules.SYSTEM_TOPIC)
    assert topic.inputs["source"] == ACCOUNT_ID
    assert (topic.inputs["resourceGroupName"], topic.inputs["location"]) == (
        "media-rg",
        "northeurope",
    )
    sub = stack.one(rules.SUBSCRIPTION)
    assert sub.get("filter", "subjectBeginsWith") == (
        "/blobServices/default/containers/uploads/blobs/"
    )
    dead = sub.get("deadLetterWithResourceIdentity", "deadLetterDestination")
    assert (dead["resourceId"], dead["blobContainerName"]) == (ACCOUNT_ID, "deadletter")


def test_function_reads_the_brought_account(stack: Stack) -> None:
    env = rules.app_settings(stack)
    assert env["FAKEWATCH_AZURE_ACCOUNT_URL"] == "https://corpmedia.blob.core.windows.net/"
    assert env["FAKEWATCH_RESULTS_BUCKET"] == "fw-results"
    assert env["FAKEWATCH_MODEL_MANIFEST"] == "az://models/fakewatch/v3/manifest.json"
    assert stack.outputs["inputContainer"] == "uploads"
    assert stack.outputs["storageAccount"] == "corpmedia"


# -- one system topic per account --------------------------------------------------------------
def test_subscribes_to_the_accounts_existing_topic(shared_topic: Stack) -> None:
    assert shared_topic.of(rules.SYSTEM_TOPIC) == []
    sub = shared_topic.one(rules.SUBSCRIPTION)
    assert (sub.inputs["systemTopicName"], sub.inputs["resourceGroupName"]) == (
        "corpmedia-events",
        "media-rg",
    )
    grant = next(
        a for a in shared_topic.of(rules.ASSIGNMENT) if a.name.endswith("events-deadletter")
    )
    assert grant.inputs["principalId"] == TOPIC_PRINCIPAL
    assert grant.inputs["scope"] == f"{ACCOUNT_ID}/blobServices/default/containers/deadletter"
    # The input container was created (not brought): it is one of ours.
    assert containers_in(shared_topic, "corpmedia") == {
        "input",
        "results",
        "quarantine",
        "deadletter",
    }


def test_dead_letter_alert_counts_only_our_subscription(shared_topic: Stack) -> None:
    alert = next(
        a
        for a in shared_topic.of(rules.ALERT)
        if a.get("criteria", "allOf", 0, "metricName") == "DeadLetteredCount"
    )
    assert alert.inputs["scopes"] == [TOPIC_ID]
    assert alert.get("criteria", "allOf", 0, "dimensions") == [
        {
            "name": "EventSubscriptionName",
            "operator": "Include",
            "values": [shared_topic.one(rules.SUBSCRIPTION).out("name")],
        }
    ]


# -- an account that falls short stops the stack before anything is declared -------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"enableHttpsTrafficOnly": False}, "accepts plain HTTP"),
        ({"minimumTlsVersion": "TLS1_0"}, "allows TLS below 1.2 (minimum is TLS1_0)"),
        ({"minimumTlsVersion": None}, "allows TLS below 1.2 (minimum is unset (TLS 1.0))"),
        ({"allowBlobPublicAccess": True}, "allows anonymous blob access"),
        ({"isHnsEnabled": True}, "has a hierarchical namespace"),
        ({"kind": "Storage"}, "is a Storage account: Event Grid needs StorageV2"),
        ({"allowSharedKeyAccess": True}, "allows shared keys: with read gating on"),
    ],
)
def test_weak_account_is_refused_with_the_reason(
    zip_path: Path, iac_program, change: dict[str, Any], message: str
) -> None:
    account = {k: v for k, v in {**SECURE_ACCOUNT, **change}.items() if v is not None}
    cfg = config(zip_path, BYO, readGating=json.dumps({"enabled": True}))
    mocks = RecordingMocks(region="westeurope", lookups={GET_ACCOUNT: account})
    with pytest.raises(ConfigError) as err:
        run_program(iac_program("azure"), config=cfg, project="fakewatch-azure", mocks=mocks)
    assert f"fakewatch:azure.existingStorageAccount corpmedia {message}" in str(err.value)
    assert mocks.records == []  # no silent downgrade, nothing half-created


def test_shared_keys_are_acceptable_without_read_gating(zip_path: Path, run: Run) -> None:
    stack, _ = run(config(zip_path, BYO), {**SECURE_ACCOUNT, "allowSharedKeyAccess": True})
    assert evaluate(stack, rules.RULES) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"identity": None}, "has no system-assigned identity"),
        (
            {"identity": {"type": "UserAssigned"}},
            "Update-AzEventGridSystemTopic -Name corpmedia-events -ResourceGroupName media-rg "
            "-EnableSystemAssignedIdentity $true",
        ),
        ({"source": f"{GROUP}/providers/Microsoft.Storage/storageAccounts/other"}, "not of"),
        ({"topicType": "Microsoft.Resources.ResourceGroups"}, "not a storage account's"),
    ],
)
def test_unusable_existing_topic_is_refused(
    zip_path: Path, run: Run, change: dict[str, Any], message: str
) -> None:
    topic = {k: v for k, v in {**TOPIC, **change}.items() if v is not None}
    cfg = config(zip_path, {**BYO, "existingSystemTopic": "corpmedia-events"})
    with pytest.raises(ConfigError) as err:
        run(cfg, SECURE_ACCOUNT, topic)
    assert "fakewatch:azure.existingSystemTopic corpmedia-events" in str(err.value)
    assert message in str(err.value)


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("azure", "extra", "message"),
    [
        ({"existingStorageAccount": "corpmedia"}, {}, "must be an object {name, resourceGroup}"),
        (
            {"existingStorageAccount": {"name": "Corp_Media", "resourceGroup": "rg"}},
            {},
            "existingStorageAccount.name 'Corp_Media' is not a storage account name",
        ),
        (
            {"existingSystemTopic": "t"},
            {},
            "existingSystemTopic needs azure.existingStorageAccount",
        ),
        ({"containers": {"results": "input"}}, {}, "must each have a different name"),
        ({"containers": {"results": "Results"}}, {}, "containers.results 'Results' is not a"),
        ({"containers": {"archive": "a"}}, {}, "containers.archive is not a container role"),
        (
            {**BYO, "containers": {"input": "other"}},
            {"existingInputBucket": "uploads"},
            "conflicts with existingInputBucket 'uploads'",
        ),
        ({"regoin": "x"}, {}, "fakewatch:azure.regoin is not an azure setting"),
        (
            BYO,
            {"modelManifest": "az://results/m/manifest.json"},
            "is in the scanner's 'results' container",
        ),
    ],
)
def test_bad_azure_block_is_explained(
    zip_path: Path, run: Run, azure: dict[str, Any], extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        run(config(zip_path, azure, **extra), SECURE_ACCOUNT)
    assert message in str(err.value)


def test_azure_block_only_on_azure(tmp_path: Path, make_bundle, iac_deploy) -> None:
    aws_zip = make_bundle("aws", tmp_path)
    cfg = {
        "aws:region": "eu-west-1",
        "fakewatch:artifactPath": str(aws_zip),
        "fakewatch:azure": json.dumps(BYO),
    }
    with pytest.raises(ConfigError, match="fakewatch:azure only applies on Azure, not aws"):
        iac_deploy("aws", cfg)
