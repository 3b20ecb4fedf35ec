"""Queued escalation on Azure: jobs on a Storage queue, answers in a Blob Storage container.

Azure ML online endpoints keep at least one instance warm, so the scale-to-zero mode is built
from parts: the function sends each :class:`~fakewatch.ports.escalation.EscalationJob` as one
JSON text message to a Storage queue (:class:`StorageJobQueue`); the GPU worker — the serving
image on Container Apps with a serverless GPU, min replicas 0, scaled by KEDA's
``azure-queue`` rule — drains it (:mod:`fakewatch_azure.worker`, whose ``StorageJobSource``
receives and deletes the messages) and writes the answer to
``az://<answers container>/escalations/<request id>.json``, whose ``BlobCreated`` event brings
it back to the function, which completes the verdict.

This module is the function's side (and what both sides share: queue names, clients, error
translation); it imports nothing of the serving package, so the function's bundle carries
none of the worker. The worker's side lives in :mod:`fakewatch_azure.worker`.

Clients come from a connection string (Azurite, local runs) when the queue is given by name,
or from the queue's URL (``https://<account>.queue.core.windows.net/<queue>``) with
``DefaultAzureCredential`` — the managed identity — as :mod:`fakewatch_azure.store` does.
SDK errors are translated here, at the edge, with the cause kept.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, HttpResponseError

from fakewatch.errors import (
    AccessDenied,
    ConfigError,
    EscalationUnavailable,
    ObjectNotFound,
    TransientError,
)
from fakewatch.ports.escalation import EscalationJob, JobQueue
from fakewatch.settings import AZURE_CONNECTION_STRING
from fakewatch_azure.errors import translate_error

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

log = logging.getLogger("fakewatch_azure.jobs")

NEVER_EXPIRES = -1  # message time-to-live: an expired job would leave its verdict pending
_QUEUE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def queue_name_of(queue: str) -> str:
    """The queue's name, from a name or a queue URL (``https://acct.queue.../name``, or a
    path-style emulator URL ``http://127.0.0.1:10001/devstoreaccount1/name``)."""
    name = queue.rstrip("/").rsplit("/", 1)[-1] if "://" in queue else queue
    if not _QUEUE_NAME.match(name):
        raise ConfigError(
            f"{queue!r}: a Storage queue name is 3-63 lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit"
        )
    return name


def queue_client(
    queue: str,
    *,
    connection_string: str | None = None,
    credential: Any = None,
    **client_kwargs: Any,
) -> QueueClient:
    """A QueueClient for ``queue``: a queue URL (with ``credential``, default
    ``DefaultAzureCredential``) or a queue name (with ``connection_string``)."""
    from azure.storage.queue import QueueClient

    name = queue_name_of(queue)
    if "://" in queue:
        if not queue.startswith(("https://", "http://")):
            raise ConfigError(f"{queue!r}: a queue URL is https://<account>.queue.../<queue>")
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return QueueClient.from_queue_url(queue, credential=credential, **client_kwargs)
    if not connection_string:
        raise ConfigError(
            f"Storage queue {queue!r} is a bare name: give its URL "
            f"(https://<account>.queue.core.windows.net/{name}, used with the managed "
            f"identity) or set {AZURE_CONNECTION_STRING}"
        )
    return QueueClient.from_connection_string(connection_string, name, **client_kwargs)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Azure SDK errors → TransientError (throttling, 5xx, connection, timeouts) or
    EscalationUnavailable (denied, no such queue, anything else the service refused)."""
    try:
        yield
    except AzureError as exc:
        mapped = translate_error(what, exc)
        if isinstance(mapped, TransientError):
            raise mapped from exc
        if isinstance(mapped, AccessDenied | ObjectNotFound):
            raise EscalationUnavailable(str(mapped)) from exc
        detail = exc.message if isinstance(exc, HttpResponseError) else str(exc)
        raise EscalationUnavailable(f"{what}: {type(exc).__name__}: {detail}") from exc


class StorageJobQueue(JobQueue):
    """Sends each job as one JSON text message to one Storage queue.

    The SDK's own retries are off (``retry_total=0``): :class:`~fakewatch.resilience.
    ResilientEscalation` retries around this client, and two layers of retries would
    multiply. Messages never expire (``time_to_live=-1``): the worker answers every job, with
    an error if it must give up, so nothing waits on a job that silently vanished."""

    def __init__(
        self,
        queue: str,
        *,
        client: QueueClient | None = None,
        connection_string: str | None = None,
        credential: Any = None,
        timeout_s: float = 10.0,
        time_to_live_s: int = NEVER_EXPIRES,
    ) -> None:
        self.queue = queue
        self.queue_name = queue_name_of(queue) if client is None else str(client.queue_name)
        self.name = f"azqueue:{self.queue_name}"
        self.timeout_s = timeout_s
        self.time_to_live_s = time_to_live_s
        if client is None:
            client = queue_client(
                queue,
                connection_string=connection_string,
                credential=credential,
                retry_total=0,
                connection_timeout=timeout_s,
                read_timeout=timeout_s,
            )
        self.client = client

    def send(self, job: EscalationJob) -> None:
        text = json.dumps(job.to_dict(), separators=(",", ":"))
        with translated(self.name):
            self.client.send_message(
                text, time_to_live=self.time_to_live_s, timeout=max(1, int(self.timeout_s))
            )


__all__ = ["StorageJobQueue", "queue_client", "queue_name_of", "translated"]
