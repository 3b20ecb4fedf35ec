"""One-time wiring per function instance: settings, clients, store, scanner and service.

Cloud Run functions keeps an instance warm across requests, so everything expensive —
the storage and Pub/Sub clients, the policy, the scanner and its models — is built once, on
the first call to :func:`get_runtime` (``main.py`` makes that call at import, during the
cold start), and shared by every request the instance serves, on every thread.

Tests and the local runner inject clients: :func:`build_runtime` takes a store or a storage
client and a publisher, and :func:`set_runtime` installs the result for ``main.py`` to use.
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
from fakewatch.settings import Settings
from fakewatch_gcp.escalation import escalation_from_settings
from fakewatch_gcp.logs import configure_logging
from fakewatch_gcp.notify import Publisher, PubSubNotificationSink
from fakewatch_gcp.store import GcsStore

if TYPE_CHECKING:
    from google.cloud.storage import Client

log = logging.getLogger(__name__)

_NO_PROJECT = ("", "<none>")  # what the storage client reports when it found no project


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: GcsStore
    service: ScanService
    project: str | None


def build_runtime(
    settings: Settings | None = None,
    *,
    store: GcsStore | None = None,
    storage_client: Client | None = None,
    publisher: Publisher | None = None,
    project: str | None = None,
) -> Runtime:
    """Build everything a function instance needs, from ``FAKEWATCH_*`` settings."""
    settings = settings or Settings.from_env()
    store = store or GcsStore(storage_client)
    if project is None:
        found = getattr(store.client, "project", None)
        project = None if found in _NO_PROJECT else found
    configure_logging(project, settings.log_level)
    escalation = escalation_from_settings(settings, publisher=publisher, project=project)
    scanner = build_scanner(load_policy(settings.policy), escalation=escalation)
    notifier: NotificationSink = NullNotificationSink()
    if settings.result_topic:
        sink = PubSubNotificationSink(settings.result_topic, publisher, project=project)
        _ = sink.publisher, sink.topic  # import and connect now, in the cold start
        notifier = sink
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
        "fakewatch instance ready",
        extra={"fingerprint": scanner.fingerprint, "results_bucket": settings.results_bucket},
    )
    return Runtime(settings=settings, store=store, service=service, project=project)


class _Slot:
    """The process's one runtime, behind a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runtime: Runtime | None = None


_slot = _Slot()


def get_runtime() -> Runtime:
    """The instance's runtime, built on first use (thread-safe, once per process)."""
    runtime = _slot.runtime
    if runtime is None:
        with _slot.lock:
            if _slot.runtime is None:
                _slot.runtime = build_runtime()
            runtime = _slot.runtime
    return runtime


def get_service() -> ScanService:
    return get_runtime().service


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime built with injected clients (tests, the local runner); None resets."""
    with _slot.lock:
        _slot.runtime = runtime


__all__ = ["Runtime", "build_runtime", "get_runtime", "get_service", "set_runtime"]
