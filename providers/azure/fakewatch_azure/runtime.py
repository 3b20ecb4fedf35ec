"""One-time wiring per Functions worker: settings, clients, store, scanner and service.

A Functions worker process serves many invocations; everything expensive — the blob and
Event Grid clients, the policy, the scanner and its models — is built once, on the first
call to :func:`get_runtime` (``function_app.py`` makes that call at import, during the
worker's cold start), and shared by every invocation the worker runs, on every thread.

Settings (``FAKEWATCH_*``, see :mod:`fakewatch.settings`): ``FAKEWATCH_RESULTS_BUCKET`` (the
results container), ``FAKEWATCH_QUARANTINE_BUCKET``, ``FAKEWATCH_RESULT_TOPIC`` (an Event
Grid topic endpoint), ``FAKEWATCH_EVENTGRID_KEY`` (else Entra ID), and the storage account:
``FAKEWATCH_AZURE_ACCOUNT_URL`` with the managed identity, or
``FAKEWATCH_AZURE_CONNECTION_STRING`` (local runs, Azurite). Escalation:
``FAKEWATCH_ESCALATION_MODE`` ``realtime`` (the Azure ML scoring URI
``FAKEWATCH_ESCALATION_ENDPOINT``) or ``async`` (jobs on the Storage queue
``FAKEWATCH_ESCALATION_QUEUE``; answers land in ``FAKEWATCH_ANSWERS_BUCKET``, default the results
container, and their ``BlobCreated`` events complete the verdicts), see
:func:`fakewatch_azure.escalation.escalation_from_settings`.

Tests and the local runner inject clients: :func:`build_runtime` takes a store or a blob
service client and an Event Grid sink, and :func:`set_runtime` installs the result.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fakewatch.policy import load_policy
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.ports.notify import NotificationSink, NullNotificationSink
from fakewatch.scanner import build_scanner
from fakewatch.service import ScanService
from fakewatch.settings import AZURE_ACCOUNT_URL, AZURE_CONNECTION_STRING, EVENTGRID_KEY, Settings
from fakewatch_azure.escalation import escalation_from_settings
from fakewatch_azure.logs import configure_logging
from fakewatch_azure.notify import EventGridSink
from fakewatch_azure.store import BlobStore, service_client

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: BlobStore
    service: ScanService

    @property
    def account(self) -> str:
        """The storage account the store reads (events from other accounts are ignored)."""
        return self.store.account_name


def store_from_settings(settings: Settings) -> BlobStore:
    return BlobStore(
        service_client(
            account_url=settings.extra.get(AZURE_ACCOUNT_URL),
            connection_string=settings.extra.get(AZURE_CONNECTION_STRING),
        )
    )


def build_runtime(
    settings: Settings | None = None,
    *,
    store: BlobStore | None = None,
    blob_client: BlobServiceClient | None = None,
    notifier: NotificationSink | None = None,
) -> Runtime:
    """Build everything a worker needs, from ``FAKEWATCH_*`` settings."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    if store is None:
        store = BlobStore(blob_client) if blob_client is not None else store_from_settings(settings)
    escalation = escalation_from_settings(settings)
    scanner = build_scanner(load_policy(settings.policy), escalation=escalation)
    if notifier is None:
        notifier = NullNotificationSink()
        if settings.result_topic:
            notifier = EventGridSink(settings.result_topic, key=settings.extra.get(EVENTGRID_KEY))
    service = ScanService(
        store=store,
        scanner=scanner,
        results_bucket=settings.results_bucket,
        audit=StoreAuditLog(store, settings.results_bucket, settings.audit_prefix),
        notifier=notifier,
        results_prefix=settings.results_prefix,
        quarantine_bucket=settings.quarantine_bucket,
        answers_bucket=settings.answers_bucket,
        release_bucket=settings.release_bucket,
    )
    log.info(
        "fakewatch worker ready",
        extra={"fingerprint": scanner.fingerprint, "results_bucket": settings.results_bucket},
    )
    return Runtime(settings=settings, store=store, service=service)


class _Holder:
    """The worker's one runtime (a holder, not a module global)."""

    lock = threading.Lock()
    runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The worker's runtime, built on first use (thread-safe, once per process)."""
    if _Holder.runtime is None:
        with _Holder.lock:
            if _Holder.runtime is None:
                _Holder.runtime = build_runtime()
    return _Holder.runtime


def get_service() -> ScanService:
    return get_runtime().service


def warm_up() -> Runtime | None:
    """Build the runtime now (at the worker's cold start) if the settings allow; a bad or
    missing setting is logged, and raised again by every invocation until it is fixed."""
    try:
        return get_runtime()
    except Exception:
        log.exception("fakewatch could not start; every invocation will fail until fixed")
        return None


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime built with injected clients (tests, the local runner); None resets."""
    with _Holder.lock:
        _Holder.runtime = runtime


__all__ = [
    "Runtime",
    "build_runtime",
    "get_runtime",
    "get_service",
    "set_runtime",
    "store_from_settings",
    "warm_up",
]
