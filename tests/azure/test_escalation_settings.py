"""Which escalation client the Azure function builds from its settings, and how the real-time
client sends an object too large to inline (by reference, over real HTTP to the serving app)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakewatch import settings as fw
from fakewatch.errors import ConfigError
from fakewatch.media.types import MediaKind
from fakewatch.ports.escalation import EscalationRequest, QueuedEscalation
from fakewatch.resilience import ResilientEscalation
from fakewatch.settings import Settings
from fakewatch.stores import get_store
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch_azure import escalation as escalation_module
from fakewatch_azure.emulator import connection_string
from fakewatch_azure.escalation import AzureMLEscalation, escalation_from_settings
from fakewatch_azure.jobs import StorageJobQueue
from fakewatch_serve.testing import running

from .test_escalation import RED, FakeCredential, png

LOCAL = connection_string("http://127.0.0.1:10000", "http://127.0.0.1:10001")
BLUE = png((20, 20, 230))


def inner(client: object) -> object:
    assert isinstance(client, ResilientEscalation)
    return client.client


def test_async_queues_jobs_and_answers_under_the_results_container() -> None:
    env = {
        fw.RESULTS_BUCKET: "fakewatch-results",
        fw.ESCALATION_MODE: "async",
        fw.ESCALATION_QUEUE: "escalation-jobs",
        fw.AZURE_CONNECTION_STRING: LOCAL,
    }
    client = inner(escalation_from_settings(Settings.from_env(env)))
    assert isinstance(client, QueuedEscalation)
    assert client.answers_uri == "az://fakewatch-results/escalations/"
    assert isinstance(client.queue, StorageJobQueue)
    assert client.queue.queue_name == "escalation-jobs"
    assert client.name == "queue:azqueue:escalation-jobs"


def test_async_answers_go_to_the_answers_container_when_set() -> None:
    settings = Settings(
        results_bucket="results",
        answers_bucket="answers",
        escalation_mode="async",
        escalation_queue="https://acct.queue.core.windows.net/escalation-jobs",
    )
    client = inner(escalation_from_settings(settings, credential=FakeCredential()))
    assert isinstance(client, QueuedEscalation)
    assert client.answers_uri == "az://answers/escalations/"
    assert isinstance(client.queue, StorageJobQueue)
    assert client.queue.client.url == "https://acct.queue.core.windows.net/escalation-jobs"


def test_async_without_a_queue_names_the_setting() -> None:
    settings = Settings(results_bucket="r", escalation_mode="async", escalation_endpoint="x")
    with pytest.raises(ConfigError, match=fw.ESCALATION_QUEUE):
        escalation_from_settings(settings)


def test_a_queue_name_without_a_connection_string_names_both_ways() -> None:
    settings = Settings(results_bucket="r", escalation_mode="async", escalation_queue="jobs-q")
    with pytest.raises(ConfigError, match=fw.AZURE_CONNECTION_STRING):
        escalation_from_settings(settings)


def test_an_endpoint_beside_a_queue_is_not_used_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        results_bucket="r",
        escalation_mode="async",
        escalation_queue="jobs-q",
        escalation_endpoint="https://ml.example/score",
        extra={fw.AZURE_CONNECTION_STRING: LOCAL},
    )
    with caplog.at_level(logging.WARNING, "fakewatch_azure.escalation"):
        assert isinstance(inner(escalation_from_settings(settings)), QueuedEscalation)
    assert fw.ESCALATION_ENDPOINT in caplog.text and "not used" in caplog.text


def test_realtime_is_the_azure_ml_endpoint_with_key_and_deployment() -> None:
    env = {
        fw.RESULTS_BUCKET: "r",
        fw.ESCALATION_ENDPOINT: "https://fw-gpu.westeurope.inference.ml.azure.com/score",
        fw.ESCALATION_KEY: "k3y",
        fw.ESCALATION_DEPLOYMENT: "blue",
        fw.ESCALATION_TIMEOUT_S: "4",
    }
    client = escalation_from_settings(Settings.from_env(env))
    assert isinstance(client, ResilientEscalation) and client.timeout_s == 4
    ml = client.client
    assert isinstance(ml, AzureMLEscalation)
    assert (ml._key, ml.deployment, ml.by_reference) == ("k3y", "blue", False)
    assert ml.name == "azureml:fw-gpu"


def test_realtime_without_an_endpoint_escalates_nowhere() -> None:
    assert escalation_from_settings(Settings(results_bucket="r")) is None


def test_an_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'batch' is not 'realtime' or 'async'"):
        escalation_from_settings(Settings(results_bucket="r", escalation_mode="batch"))


# -- real-time: too large to inline → by reference -------------------------------------------------
@pytest.fixture(scope="module")
def scoring_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The serving app (Azure ML contract) allowed to read ``memory://fw-big/``; the object
    there is red, so a red reading proves it read the reference, a blue one the inline bytes."""
    manifest: Path = write_model(tmp_path_factory.mktemp("big"), statistic_classifier())
    store = get_store("memory")
    store.make_bucket("fw-big")  # type: ignore[attr-defined]
    store.put("fw-big", "red.png", RED)
    env = {fw.SERVE_URI_PREFIXES: "memory://fw-big/"}
    with running("azureml", manifest=str(manifest), env=env) as server:
        yield server.url + "/score"


def request_with(data: bytes) -> EscalationRequest:
    sha = hashlib.sha256(RED).hexdigest()
    return EscalationRequest("memory://fw-big/red.png", sha, MediaKind.IMAGE, "image/png", data)


def test_bytes_under_the_limit_go_inline(scoring_uri: str) -> None:
    reading = AzureMLEscalation(scoring_uri, key="k").escalate(request_with(BLUE))
    assert reading.score is not None and reading.score < 0.1  # the blue bytes were scored


def test_bytes_over_the_limit_go_by_reference(
    scoring_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(escalation_module, "INLINE_LIMIT", len(BLUE))  # BLUE's Base64 is over
    reading = AzureMLEscalation(scoring_uri, key="k").escalate(request_with(BLUE))
    assert reading.score is not None and reading.score > 0.9  # the red object was read


def test_the_inline_limit_is_the_containers_request_limit() -> None:
    assert escalation_module.INLINE_LIMIT == 25 * 1024 * 1024
