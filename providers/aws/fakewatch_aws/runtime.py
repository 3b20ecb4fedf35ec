"""Cold-start wiring: settings → clients → store, audit, sink, scanner → the service.

``get_runtime()`` builds everything once per process (Lambda reuses it across invocations);
``build_runtime`` takes injected clients and scanner for tests and the local runner. Clients
come from the standard SDK configuration, so ``AWS_ENDPOINT_URL`` points the whole function at
an emulator without a line of test-only code.

Idempotency (Powertools, DynamoDB ``FAKEWATCH_IDEMPOTENCY_TABLE``) is keyed by
``bucket/key@version-or-etag#scanner-fingerprint``: a redelivered event neither scans nor
writes again, while a rescan after a model or policy upgrade (a new fingerprint) does. The
service's own write-once verdict and ``.done`` marker stay underneath as the second line.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from fakewatch.errors import ConfigError
from fakewatch.policy import Policy, load_policy
from fakewatch.ports.audit_store import StoreAuditLog
from fakewatch.ports.notify import NotificationSink, NullNotificationSink
from fakewatch.scanner import Scanner
from fakewatch.service import ObjectEvent, ScanService
from fakewatch.settings import Settings
from fakewatch_aws import telemetry
from fakewatch_aws.async_results import AsyncInferenceResult, answer_for
from fakewatch_aws.notify import EventBridgeSink
from fakewatch_aws.store import S3Store, make_client

log = logging.getLogger("fakewatch_aws.runtime")

IDEMPOTENCY_TTL_S = 24 * 3600  # S3 redelivers within minutes; the .done marker covers later
IDEMPOTENCY_PREFIX = "fakewatch.scan"

ScanFn = Callable[[ObjectEvent], dict[str, Any]]


@dataclass
class AwsClients:
    """The boto3 clients the function uses; built once, from the standard SDK settings."""

    s3: Any
    events: Any
    dynamodb: Any

    @classmethod
    def from_env(cls, **client_kwargs: Any) -> AwsClients:
        if "session" not in client_kwargs:  # one session: endpoint and model data load once
            import boto3

            client_kwargs["session"] = boto3.session.Session()
        return cls(
            s3=make_client("s3", **dict(client_kwargs)),
            events=make_client("events", **dict(client_kwargs)),
            dynamodb=make_client("dynamodb", **dict(client_kwargs)),
        )


@dataclass
class Runtime:
    settings: Settings
    service: ScanService
    scan: ScanFn
    idempotency: IdempotencyConfig | None

    def bind(self, context: Any) -> None:
        """Tell idempotency how long this invocation has left (its in-progress lease)."""
        if self.idempotency is not None and context is not None:
            self.idempotency.register_lambda_context(context)


def idempotency_key(event: ObjectEvent, fingerprint: str) -> str | None:
    """``bucket/key@version-or-etag#fingerprint``; None when the event names no version."""
    ident = event.version or (event.etag.strip('"').lower() if event.etag else None)
    return f"{event.bucket}/{event.key}@{ident}#{fingerprint}" if ident else None


def run_scan(service: ScanService, event: ObjectEvent) -> dict[str, Any]:
    started = time.perf_counter()
    outcome = service.handle(event)
    telemetry.record_outcome(outcome, (time.perf_counter() - started) * 1000.0)
    return telemetry.outcome_summary(outcome)


def run_completion(service: ScanService, result: AsyncInferenceResult) -> dict[str, Any]:
    """A SageMaker async answer → revision 2 of the verdict that awaited it."""
    started = time.perf_counter()
    outcome = service.complete(answer_for(result, service.store))
    telemetry.record_outcome(outcome, (time.perf_counter() - started) * 1000.0)
    return telemetry.outcome_summary(outcome)


def _scan_fn(service: ScanService, persistence: Any, config: IdempotencyConfig | None) -> ScanFn:
    if persistence is None or config is None:
        return functools.partial(run_scan, service)

    @idempotent_function(
        data_keyword_argument="identity",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_PREFIX,
    )
    def scan_once(identity: dict[str, Any]) -> dict[str, Any]:
        return run_scan(service, ObjectEvent(**identity["event"]))

    def scan(event: ObjectEvent) -> dict[str, Any]:
        key = idempotency_key(event, service.scanner.fingerprint)
        if key is None:  # nothing to key on: the service's write-once verdict still dedupes
            log.warning("event names no version or ETag; idempotency by verdict key only")
            return run_scan(service, event)
        result: dict[str, Any] = scan_once(identity={"key": key, "event": asdict(event)})
        return result

    return scan


def load_runtime_policy(source: str | None, store: S3Store) -> Policy:
    """The policy from a path, inline text, or an ``s3://bucket/key`` object."""
    if source and source.startswith("s3://"):
        bucket, _, key = source.removeprefix("s3://").partition("/")
        text = store.get(bucket, key, max_bytes=1024 * 1024).decode("utf-8")
        return load_policy(text if "\n" in text else text + "\n")
    return load_policy(source)


def build_scanner(settings: Settings, store: S3Store) -> Scanner:
    from fakewatch.scanner import build_scanner as core_build_scanner

    policy = load_runtime_policy(settings.policy, store)
    escalation = None
    if settings.escalation_endpoint:  # imported only when used: it costs ~1 s of cold start
        from fakewatch_aws.escalation import escalation_from_settings

        escalation = escalation_from_settings(
            settings.escalation_endpoint, settings.escalation_timeout_s
        )
    return core_build_scanner(policy, settings.model_manifest, escalation=escalation)


def build_runtime(
    settings: Settings,
    clients: AwsClients | None = None,
    scanner: Scanner | None = None,
) -> Runtime:
    clients = clients or AwsClients.from_env()
    store = S3Store(client=clients.s3)
    store.check_conditional_writes()
    notifier: NotificationSink
    if settings.result_topic:
        notifier = EventBridgeSink(settings.result_topic, client=clients.events)
    else:
        log.warning("FAKEWATCH_RESULT_TOPIC is not set: no result events will be published")
        notifier = NullNotificationSink()
    service = ScanService(
        store=store,
        scanner=scanner or build_scanner(settings, store),
        results_bucket=settings.results_bucket,
        audit=StoreAuditLog(store, settings.results_bucket, settings.audit_prefix),
        notifier=notifier,
        results_prefix=settings.results_prefix,
        quarantine_bucket=settings.quarantine_bucket,
        answers_bucket=settings.answers_bucket,
        release_bucket=settings.release_bucket,
    )
    config: IdempotencyConfig | None = None
    persistence: Any = None
    if settings.idempotency_table:
        config = IdempotencyConfig(
            event_key_jmespath="key", expires_after_seconds=IDEMPOTENCY_TTL_S
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table, boto3_client=clients.dynamodb
        )
    else:
        log.warning("FAKEWATCH_IDEMPOTENCY_TABLE is not set: deduplication by verdict key only")
    return Runtime(settings, service, _scan_fn(service, persistence, config), config)


@functools.cache
def get_runtime() -> Runtime:
    """The process's runtime, built on first use from ``Settings.from_env()``."""
    return build_runtime(Settings.from_env())


def get_service() -> ScanService:
    return get_runtime().service


def reset_runtime() -> None:
    """Forget the cached runtime (tests that change the environment)."""
    get_runtime.cache_clear()


__all__ = [
    "AwsClients",
    "ConfigError",
    "Runtime",
    "build_runtime",
    "get_runtime",
    "get_service",
    "idempotency_key",
    "reset_runtime",
]
