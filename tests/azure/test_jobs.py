"""The Storage queue's two ends against real Azurite: the function's ``StorageJobQueue``
(fakewatch_azure.jobs) and the worker's ``StorageJobSource`` (fakewatch_azure.worker).

Messages go through azure-storage-queue to ``azurite-queue`` over real HTTP; its visibility
timeouts and dequeue counts are the service's own. Throttling is a real ``503 ServerBusy``
answer from a loopback proxy in front of Azurite (tests/azure/faults.py); nothing in the SDK
or the adapter is patched.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.queue import QueueClient

from fakewatch.errors import ConfigError, EscalationUnavailable, TransientError
from fakewatch.ports.escalation import EscalationJob
from fakewatch_azure.emulator import ACCOUNT, AzuriteQueue, connection_string
from fakewatch_azure.jobs import StorageJobQueue, queue_client, queue_name_of
from fakewatch_azure.worker import StorageJobSource, payload_of

from .faults import FaultProxy
from .queues import azurite_queue, new_queue, waiting

__all__ = ["azurite_queue"]  # the module-scoped fixture, imported for pytest

pytestmark = pytest.mark.integration

JOB = EscalationJob(
    request_id="9f2c-verdict-id",
    uri="az://inbox/grey/red square.png",
    mime="image/png",
    media_kind="image",
    output="az://answers/escalations/9f2c-verdict-id.json",
    sha256="ab" * 32,
)


@pytest.fixture
def queue(azurite_queue: AzuriteQueue) -> QueueClient:
    return new_queue(azurite_queue)


@pytest.fixture
def proxy(azurite_queue: AzuriteQueue) -> Iterator[FaultProxy]:
    fault = FaultProxy(azurite_queue.port).start()
    try:
        yield fault
    finally:
        fault.stop()


def conn(endpoint: str) -> str:
    return connection_string(None, endpoint)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- sending ----------------------------------------------------------------------------------
def test_a_sent_job_is_one_json_message_that_never_expires(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    sender = StorageJobQueue(queue.queue_name, connection_string=azurite_queue.connection_string)
    sender.send(JOB)
    (message,) = queue.peek_messages(max_messages=32)
    assert EscalationJob.from_dict(json.loads(str(message.content))) == JOB
    assert message.expires_on is not None and message.expires_on.year == 9999  # TTL -1
    assert sender.name == f"azqueue:{queue.queue_name}"


def test_a_missing_queue_is_unavailable_with_the_cause_kept(
    azurite_queue: AzuriteQueue,
) -> None:
    sender = StorageJobQueue("no-such-queue", connection_string=azurite_queue.connection_string)
    with pytest.raises(EscalationUnavailable, match="QueueNotFound") as caught:
        sender.send(JOB)
    assert isinstance(caught.value.__cause__, ResourceNotFoundError)


def test_a_wrong_account_key_is_unavailable(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    wrong = azurite_queue.connection_string.replace("AccountKey=Eby8", "AccountKey=Zby8")
    sender = StorageJobQueue(queue.queue_name, connection_string=wrong)
    with pytest.raises(EscalationUnavailable, match="access denied") as caught:
        sender.send(JOB)
    assert isinstance(caught.value.__cause__, ClientAuthenticationError)
    assert waiting(queue) == []


def test_throttling_is_transient_and_not_retried_inside_the_sdk(
    proxy: FaultProxy, queue: QueueClient
) -> None:
    proxy.fail("POST", f"/{queue.queue_name}/messages", times=1)
    sender = StorageJobQueue(queue.queue_name, connection_string=conn(proxy.endpoint))
    with pytest.raises(TransientError, match="ServerBusy") as caught:
        sender.send(JOB)
    assert isinstance(caught.value.__cause__, HttpResponseError)
    assert len(proxy.injected) == 1  # retry_total=0: ResilientEscalation owns the retries
    assert waiting(queue) == []
    sender.send(JOB)  # the next call goes through
    assert len(waiting(queue)) == 1


def test_a_queue_service_that_is_down_is_transient() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    sender = StorageJobQueue("jobs", connection_string=conn(endpoint), timeout_s=2)
    with pytest.raises(TransientError) as caught:
        sender.send(JOB)
    assert isinstance(caught.value.__cause__, ServiceRequestError)


def test_a_message_over_the_service_limit_is_unavailable(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    huge = EscalationJob("big", "az://inbox/" + "x" * 70_000, "image/png", "image", "az://a/b")
    sender = StorageJobQueue(queue.queue_name, connection_string=azurite_queue.connection_string)
    with pytest.raises(EscalationUnavailable, match=r"413|RequestBodyTooLarge|too large"):
        sender.send(huge)


# -- receiving --------------------------------------------------------------------------------
def test_receive_reports_the_dequeue_count_and_ack_deletes(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    StorageJobQueue(queue.queue_name, connection_string=azurite_queue.connection_string).send(JOB)
    source = StorageJobSource(
        queue.queue_name, connection_string=azurite_queue.connection_string, visibility_timeout_s=60
    )
    (delivery,) = source.receive(16)
    assert delivery.attempt == 1
    assert EscalationJob.from_dict(json.loads(delivery.payload)) == JOB
    assert source.receive(16) == []  # hidden for the visibility timeout
    source.ack(delivery)
    assert queue.get_queue_properties().approximate_message_count == 0


def test_an_unacknowledged_job_comes_back_with_the_next_attempt(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    queue.send_message(json.dumps(JOB.to_dict()))
    source = StorageJobSource(
        queue.queue_name, connection_string=azurite_queue.connection_string, visibility_timeout_s=1
    )
    (first,) = source.receive(1)
    deadline = time.monotonic() + 10
    again: list = []
    while not again and time.monotonic() < deadline:
        time.sleep(0.25)
        again = source.receive(1)
    (second,) = again
    assert (first.attempt, second.attempt) == (1, 2) and second.payload == first.payload


def test_receive_takes_at_most_the_batch(azurite_queue: AzuriteQueue, queue: QueueClient) -> None:
    for n in range(5):
        queue.send_message(json.dumps({**JOB.to_dict(), "request_id": f"r{n}"}))
    source = StorageJobSource(queue.queue_name, connection_string=azurite_queue.connection_string)
    assert len(source.receive(2)) == 2
    assert len(source.receive(100)) == 3


def test_a_throttled_receive_reads_as_empty_and_is_logged(
    proxy: FaultProxy, queue: QueueClient, caplog: pytest.LogCaptureFixture
) -> None:
    queue.send_message(json.dumps(JOB.to_dict()))
    no_retries = queue_client(
        queue.queue_name, connection_string=conn(proxy.endpoint), retry_total=0
    )
    source = StorageJobSource(queue.queue_name, client=no_retries)
    proxy.fail("GET", f"/{queue.queue_name}/messages", times=1)
    with caplog.at_level(logging.WARNING, "fakewatch_azure.worker"):
        assert source.receive(1) == []
    assert "could not receive jobs" in caplog.text
    (delivery,) = source.receive(1)
    assert delivery.attempt == 1


def test_the_workers_sdk_retries_absorb_one_throttled_receive(
    proxy: FaultProxy, queue: QueueClient
) -> None:
    queue.send_message(json.dumps(JOB.to_dict()))
    source = StorageJobSource(queue.queue_name, connection_string=conn(proxy.endpoint))
    proxy.fail("GET", f"/{queue.queue_name}/messages", times=1)
    (delivery,) = source.receive(1)
    assert delivery.attempt == 1 and len(proxy.injected) == 1


def test_receive_from_a_missing_queue_raises(azurite_queue: AzuriteQueue) -> None:
    source = StorageJobSource("absent", connection_string=azurite_queue.connection_string)
    with pytest.raises(EscalationUnavailable, match="QueueNotFound"):
        source.receive(1)


def test_acking_a_message_that_is_already_gone_is_logged_not_raised(
    azurite_queue: AzuriteQueue, queue: QueueClient, caplog: pytest.LogCaptureFixture
) -> None:
    queue.send_message(json.dumps(JOB.to_dict()))
    source = StorageJobSource(queue.queue_name, connection_string=azurite_queue.connection_string)
    (delivery,) = source.receive(1)
    source.ack(delivery)
    with caplog.at_level(logging.WARNING, "fakewatch_azure.worker"):
        source.ack(delivery)
    assert "not deleted" in caplog.text


def test_a_base64_message_is_decoded_like_the_portal_sends_it(
    azurite_queue: AzuriteQueue, queue: QueueClient
) -> None:
    text = json.dumps(JOB.to_dict())
    queue.send_message(base64.b64encode(text.encode()).decode())
    source = StorageJobSource(queue.queue_name, connection_string=azurite_queue.connection_string)
    (delivery,) = source.receive(1)
    assert delivery.payload == text.encode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"request_id": "a"}', b'{"request_id": "a"}'),
        (base64.b64encode(b'{"a": 1}').decode(), b'{"a": 1}'),
        ("not json, not base64!", b"not json, not base64!"),
        (base64.b64encode(b"\x00\x01binary").decode(), base64.b64encode(b"\x00\x01binary")),
        ("", b""),
        (None, b""),
    ],
)
def test_payload_of(content: object, expected: bytes) -> None:
    assert payload_of(content) == expected


# -- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("queue", "name"),
    [
        ("escalation-jobs", "escalation-jobs"),
        ("https://acct.queue.core.windows.net/escalation-jobs", "escalation-jobs"),
        (f"http://127.0.0.1:10001/{ACCOUNT}/jobs-1/", "jobs-1"),
    ],
)
def test_queue_names(queue: str, name: str) -> None:
    assert queue_name_of(queue) == name


@pytest.mark.parametrize("bad", ["Jobs", "a", "double--hyphen", "-lead", "x" * 64, "a_b"])
def test_invalid_queue_names_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="queue name"):
        queue_name_of(bad)


def test_a_bare_name_needs_a_connection_string() -> None:
    with pytest.raises(ConfigError, match="FAKEWATCH_AZURE_CONNECTION_STRING"):
        StorageJobQueue("escalation-jobs")


def test_a_queue_url_uses_the_credential_given() -> None:
    credential = AzureNamedKeyCredential("acct", base64.b64encode(b"k" * 32).decode())
    url = "https://acct.queue.core.windows.net/escalation-jobs"
    sender = StorageJobQueue(url, credential=credential)
    assert sender.client.url == url and sender.client.account_name == "acct"
    assert sender.name == "azqueue:escalation-jobs"


@pytest.mark.parametrize("seconds", [0, 7 * 24 * 3600 + 1])
def test_visibility_timeout_bounds(azurite_queue: AzuriteQueue, seconds: int) -> None:
    with pytest.raises(ConfigError, match="visibility timeout"):
        StorageJobSource(
            "jobs", connection_string=azurite_queue.connection_string, visibility_timeout_s=seconds
        )
