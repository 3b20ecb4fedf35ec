"""Result events on an Azure Event Grid custom topic.

Each outcome becomes one event published with ``azure-eventgrid``'s
``EventGridPublisherClient`` to the topic endpoint in ``FAKEWATCH_RESULT_TOPIC``
(``https://<topic>.<region>-1.eventgrid.azure.net/api/events``), authenticated with the
topic's access key from ``FAKEWATCH_EVENTGRID_KEY`` or else with Microsoft Entra ID
(``DefaultAzureCredential``: the Function App's managed identity, which then needs the
*EventGrid Data Sender* role on the topic).

The event, in the Event Grid schema (the default input schema of a custom topic)::

    id          the verdict id (a retried publish of one outcome keeps its id)
    eventType   fakewatch.scan.completed
    subject     /blobServices/default/containers/<container>/blobs/<name>
    data        the verdict's key fields: uri, label, action, risk_score, error_reason, ...
    dataVersion 1.0

so a subscription can filter with ``subjectBeginsWith`` on a container and advanced filters
on ``data.label`` or ``data.action``. ``schema="cloudevents"`` publishes CloudEvents 1.0
instead (``type``/``source``), for topics created with that input schema.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from fakewatch.errors import AccessDenied, TransientError
from fakewatch.ports.notify import (
    RESULT_EVENT_SOURCE,
    RESULT_EVENT_TYPE,
    NotificationSink,
    encode_event,
)
from fakewatch_azure.errors import translate_error

DATA_VERSION = "1.0"
SCHEMAS = ("eventgrid", "cloudevents")


def subject_of(event: Mapping[str, Any]) -> str:
    """Event Grid's own subject shape for the blob the event is about."""
    data = event.get("data")
    if isinstance(data, Mapping) and data.get("bucket") and data.get("key"):
        return f"/blobServices/default/containers/{data['bucket']}/blobs/{data['key']}"
    return f"/fakewatch/{event.get('id') or 'event'}"


class EventGridSink(NotificationSink):
    """``EventGridSink(endpoint, key=...)``; the publisher client is injected or built lazily.

    ``retry_total``: retries inside the SDK for each publish (None keeps the SDK's default).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        key: str | None = None,
        credential: Any = None,
        client: Any = None,
        schema: str = "eventgrid",
        retry_total: int | None = None,
    ) -> None:
        if not endpoint:
            raise ValueError("an Event Grid sink needs the topic endpoint")
        if schema not in SCHEMAS:
            raise ValueError(f"schema must be one of {SCHEMAS}, not {schema!r}")
        self.endpoint, self.schema = endpoint, schema
        self._key, self._credential = key, credential
        self._client = client
        self.retry_total = retry_total  # None: the SDK's own retries (3, with backoff)
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _build_client(self) -> Any:
        from azure.eventgrid import EventGridPublisherClient

        credential = self._credential
        if credential is None and self._key:
            from azure.core.credentials import AzureKeyCredential

            credential = AzureKeyCredential(self._key)
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return EventGridPublisherClient(self.endpoint, credential)

    def to_send(self, event: Mapping[str, Any]) -> Any:
        """The SDK event for one result event (checked: JSON-safe, within the size limit)."""
        body = json.loads(encode_event(event))
        event_type = str(body.get("type") or RESULT_EVENT_TYPE)
        data = body.get("data", body)
        if self.schema == "cloudevents":
            from azure.core.messaging import CloudEvent

            cloud: Any = CloudEvent(
                source=str(body.get("source") or RESULT_EVENT_SOURCE),
                type=event_type,
                data=data,
                subject=subject_of(body),
            )
            if body.get("id"):
                cloud.id = str(body["id"])
            return cloud
        from azure.eventgrid import EventGridEvent

        return EventGridEvent(
            subject=subject_of(body),
            event_type=event_type,
            data=data,
            data_version=DATA_VERSION,
            **({"id": str(body["id"])} if body.get("id") else {}),
        )

    def publish(self, event: Mapping[str, Any]) -> None:
        """Publish one event. Throttling, 5xx, network trouble and a missing role assignment
        raise TransientError (the delivery is retried and the outcome re-published, nothing is
        lost); a request Event Grid calls invalid is a bug and raises as it is."""
        outgoing = self.to_send(event)
        try:
            options = {} if self.retry_total is None else {"retry_total": self.retry_total}
            self.client.send([outgoing], **options)
        except Exception as exc:
            mapped = translate_error(f"Event Grid topic {self.endpoint}", exc)
            if isinstance(mapped, TransientError | AccessDenied):
                raise TransientError(f"result event not published: {mapped}") from exc
            raise


__all__ = ["EventGridSink", "subject_of"]
