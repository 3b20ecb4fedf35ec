"""The GPU worker of queued escalation on Azure: ``python -m fakewatch_azure.worker``.

Runs in the serving image (``providers/azure/serving/Dockerfile``, command overridden) on
Azure Container Apps with a serverless GPU, min replicas 0, scaled by KEDA's ``azure-queue``
rule on the job queue. It loads the model (the serving :class:`~fakewatch_serve.engine.Engine`,
configured like the HTTP endpoint by :class:`~fakewatch_serve.config.ServeConfig`), waits until
it is ready, then drains the queue (:class:`StorageJobSource`: receive with a visibility
timeout, delete once done) with :func:`fakewatch_serve.jobs.drain`: each job's object
is read (only under ``FAKEWATCH_SERVE_URI_PREFIXES``), scored, and its answer written to
``az://<answers>/escalations/<request id>.json`` (only under
``FAKEWATCH_SERVE_ANSWER_PREFIXES``); the message is deleted once answered or dropped.

SIGTERM (scale-in, a new revision) or SIGINT stops it cleanly: the job in hand finishes and
is acknowledged, nothing new is taken, in-flight inference drains, exit code 0. Set the
Container App's ``terminationGracePeriodSeconds`` above the slowest job. A job whose earlier
deliveries never finished — the worker crashed or was killed on it each time — is answered
with an error and deleted once it comes back more than ``--max-attempts`` times, without being
scored again, so a poison job cannot hold a GPU forever (see :class:`GiveUp`).

Environment: ``FAKEWATCH_ESCALATION_QUEUE`` (the queue's URL, used with the managed identity;
or its name, with ``FAKEWATCH_AZURE_CONNECTION_STRING``), ``FAKEWATCH_AZURE_ACCOUNT_URL`` or
``FAKEWATCH_AZURE_CONNECTION_STRING`` (the blobs), ``FAKEWATCH_MODEL_MANIFEST`` (else
``$AZUREML_MODEL_DIR/manifest.json``), ``FAKEWATCH_SERVE_URI_PREFIXES`` and
``FAKEWATCH_SERVE_ANSWER_PREFIXES`` (both required: the worker refuses to start without
them), and the ``FAKEWATCH_SERVE_*`` tuning of the HTTP endpoint (providers, batch size).
Exit codes: 0 stopped, 1 the model or the queue failed, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakewatch import settings
from fakewatch.errors import ConfigError, EscalationUnavailable, FakewatchError, TransientError
from fakewatch.ports.escalation import answer_document
from fakewatch_azure.jobs import queue_client, queue_name_of, translated
from fakewatch_serve.config import ServeConfig
from fakewatch_serve.engine import Engine, State
from fakewatch_serve.jobs import Delivery, JobRunner, JobSource, drain, parse_job

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage

log = logging.getLogger("fakewatch_azure.worker")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
MAX_RECEIVE = 32  # Get Messages returns at most 32 messages per call
MAX_VISIBILITY_S = 7 * 24 * 3600  # the service's limit for a visibility timeout
# The worker's SDK retries: a few quick ones (the SDK's default waits 15 s, then 18 s, ...,
# which would keep a stopping worker from exiting); drain() idles and polls again after them.
WORKER_RETRIES: dict[str, Any] = {
    "retry_total": 2,
    "initial_backoff": 1,
    "increment_base": 2,
    "random_jitter_range": 1,
}


class WorkerFailed(RuntimeError):
    """The worker cannot do its job (model failed to load, queue denied or missing)."""


class StorageJobSource:
    """The worker's side of the queue: a :class:`fakewatch_serve.jobs.JobSource`.

    ``receive`` hides each message for ``visibility_timeout_s`` — set it longer than the
    slowest job (times the batch size: the jobs of one batch run one after another) — and
    reports its dequeue count as the attempt. A transient failure to receive is logged and
    reads as an empty queue, so :func:`~fakewatch_serve.jobs.drain` idles and tries again;
    a denied or missing queue raises (the worker cannot do anything useful: a config error).
    ``ack`` deletes the message; one already gone (its pop receipt is stale because the
    visibility timeout ran out and another delivery took it) is logged, not raised."""

    def __init__(
        self,
        queue: str,
        *,
        client: QueueClient | None = None,
        connection_string: str | None = None,
        credential: Any = None,
        visibility_timeout_s: int = 600,
        timeout_s: float = 30.0,
    ) -> None:
        if not 1 <= visibility_timeout_s <= MAX_VISIBILITY_S:
            raise ConfigError(
                f"visibility timeout {visibility_timeout_s}s is not between 1 s and 7 days"
            )
        self.queue_name = queue_name_of(queue) if client is None else str(client.queue_name)
        self.name = f"azqueue:{self.queue_name}"
        self.visibility_timeout_s = visibility_timeout_s
        self.timeout_s = timeout_s
        if client is None:
            client = queue_client(
                queue,
                connection_string=connection_string,
                credential=credential,
                connection_timeout=timeout_s,
                **WORKER_RETRIES,
                read_timeout=timeout_s,
            )
        self.client = client

    def receive(self, max_messages: int) -> list[Delivery]:
        count = max(1, min(max_messages, MAX_RECEIVE))
        try:
            with translated(self.name):
                messages = list(
                    self.client.receive_messages(
                        messages_per_page=count,
                        max_messages=count,
                        visibility_timeout=self.visibility_timeout_s,
                        timeout=max(1, int(self.timeout_s)),
                    )
                )
        except TransientError as exc:
            log.warning("could not receive jobs; will try again", extra={"error": str(exc)})
            return []
        return [delivery_of(message) for message in messages]

    def ack(self, delivery: Delivery) -> None:
        try:
            with translated(self.name):
                self.client.delete_message(delivery.receipt)
        except (EscalationUnavailable, TransientError) as exc:
            # The job is done; if the message comes back it is answered again, harmlessly
            # (the answer is overwritten with the same content and its verdict is complete).
            log.warning("job answered but not deleted", extra={"error": str(exc)})


def delivery_of(message: QueueMessage) -> Delivery:
    return Delivery(
        payload=payload_of(message.content),
        attempt=max(1, int(message.dequeue_count or 1)),
        receipt=message,
    )


def payload_of(content: object) -> bytes:
    """A message's job bytes. :class:`StorageJobQueue` sends JSON text; a job re-queued by
    hand (the portal and Storage Explorer offer Base64 encoding, the Functions queue trigger's
    default) is Base64 of it, which is decoded. Anything else is passed on as it is: the job
    runner drops what it cannot parse."""
    raw = content if isinstance(content, bytes) else str(content or "").encode()
    if raw.lstrip()[:1] in (b"{", b"["):
        return raw
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
    return decoded if decoded.lstrip()[:1] == b"{" else raw


@dataclass(frozen=True)
class WorkerConfig:
    queue: str
    serve: ServeConfig
    connection_string: str | None = None
    visibility_timeout_s: int = 600
    max_attempts: int = 5
    batch: int = 1
    idle_s: float = 2.0
    load_timeout_s: float = 600.0

    @property
    def endpoint(self) -> str:
        """How answers name this worker (``escalation.endpoint`` of revised verdicts)."""
        return f"azure-worker:{queue_name_of(self.queue)}"


def worker_config(args: argparse.Namespace, env: Mapping[str, str]) -> WorkerConfig:
    """The worker's configuration; ConfigError naming what is missing or wrong."""
    queue = args.queue or env.get(settings.ESCALATION_QUEUE)
    if not queue:
        raise ConfigError(f"{settings.ESCALATION_QUEUE} (or --queue) must name the job queue")
    queue_name_of(queue)
    serve = ServeConfig.build(
        "azureml", manifest=args.manifest, mode="async", providers=args.providers, env=env
    )
    if not serve.answer_prefixes:
        raise ConfigError(
            f"{settings.SERVE_ANSWER_PREFIXES} must list where answers may be written "
            "(az://<answers container>/escalations/); refusing to start without it"
        )
    if not serve.engine.uri_prefixes:
        raise ConfigError(
            f"{settings.SERVE_URI_PREFIXES} must list the input containers jobs may name "
            "(az://<input container>/); refusing to start without it"
        )
    for prefix in serve.answer_prefixes:
        container = prefix.removeprefix("az://").split("/", 1)[0]
        if not prefix.startswith("az://") or not container:
            raise ConfigError(f"{settings.SERVE_ANSWER_PREFIXES}: {prefix!r} is not az://<c>/…")
    if args.max_attempts < 1 or args.batch < 1 or args.idle < 0:
        raise ConfigError("--max-attempts and --batch must be at least 1, --idle not negative")
    return WorkerConfig(
        queue=queue,
        serve=serve,
        connection_string=env.get(settings.AZURE_CONNECTION_STRING) or None,
        visibility_timeout_s=args.visibility_timeout,
        max_attempts=args.max_attempts,
        batch=args.batch,
        idle_s=args.idle,
        load_timeout_s=args.load_timeout,
    )


@dataclass
class GiveUp:
    """A :class:`~fakewatch_serve.jobs.JobSource` that answers, with an error and without
    scoring, every job delivered more than ``max_attempts`` times.

    :func:`~fakewatch_serve.jobs.drain` scores a job on its final attempt however it fares; a
    job that kills the worker (out of GPU memory, a crash in a native library) never reaches
    an acknowledgement, and would come back — and take the GPU down — until its message
    expired. Past the final attempt it is therefore answered here: the verdict records a
    failed escalation and the message is deleted."""

    source: JobSource
    runner: JobRunner
    max_attempts: int

    def receive(self, max_messages: int) -> list[Delivery]:
        fresh = []
        for delivery in self.source.receive(max_messages):
            if delivery.attempt > self.max_attempts:
                self.give_up(delivery)
            else:
                fresh.append(delivery)
        return fresh

    def ack(self, delivery: Delivery) -> None:
        self.source.ack(delivery)

    def give_up(self, delivery: Delivery) -> None:
        from fakewatch.stores import open_uri

        try:
            job = parse_job(delivery.payload)
        except ValueError as exc:
            log.error("dropping an unusable job", extra={"error": str(exc)})
            self.source.ack(delivery)
            return
        if not any(job.output.startswith(p) for p in self.runner.answer_prefixes):
            log.error("dropping a job whose output is not allowed", extra={"output": job.output})
            self.source.ack(delivery)
            return
        reason = (
            f"gave up after {delivery.attempt - 1} deliveries that did not finish "
            "(the worker stopped or crashed on this job)"
        )
        doc = answer_document(job.request_id, self.runner.endpoint, error=reason)
        try:
            store, bucket, key = open_uri(job.output)
            store.put(bucket, key, json.dumps(doc).encode(), content_type="application/json")
        except (TransientError, OSError) as exc:
            log.warning("give-up answer not written; will retry", extra={"error": str(exc)})
            return  # not acknowledged: it comes back after its visibility timeout
        except FakewatchError as exc:
            log.error("give-up answer cannot be written", extra={"error": str(exc)})
        log.warning("gave up on job %s after %d deliveries", job.request_id, delivery.attempt)
        self.source.ack(delivery)


def run(
    config: WorkerConfig,
    stop: threading.Event,
    *,
    source: JobSource | None = None,
    engine: Engine | None = None,
) -> dict[str, int]:
    """Load the model, then work the queue until ``stop`` is set. Counts by disposition.
    An ``engine`` passed in must have been started; it is left open for its owner."""
    owned = engine is None
    if engine is None:
        engine = Engine(config.serve.engine)
        engine.start()
    try:
        _wait_ready(engine, config.load_timeout_s, stop)
        if stop.is_set():
            return {}
        source = source or StorageJobSource(
            config.queue,
            connection_string=config.connection_string,
            visibility_timeout_s=config.visibility_timeout_s,
        )
        runner = JobRunner(engine, config.serve.answer_prefixes, endpoint=config.endpoint)
        log.info("worker ready; draining %s", queue_name_of(config.queue))
        return drain(
            GiveUp(source, runner, config.max_attempts),
            runner,
            max_attempts=config.max_attempts,
            batch=config.batch,
            idle_s=config.idle_s,
            stop=stop.is_set,
        )
    finally:
        if owned:
            engine.close(config.serve.shutdown_timeout_s)


def _wait_ready(engine: Engine, timeout_s: float, stop: threading.Event) -> None:
    waited = 0.0
    while not engine.wait_loaded(0.5):
        waited += 0.5
        if stop.is_set():
            return
        if waited >= timeout_s:
            raise WorkerFailed(f"model not loaded after {timeout_s:g}s")
    if engine.state is not State.READY:
        raise WorkerFailed(f"model failed to load: {engine.error}")


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM / SIGINT set ``stop``: the job in hand finishes, nothing new is taken."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("%s: stopping after the job in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fakewatch_azure.worker",
        description="Drain the queued-escalation job queue with the GPU model.",
    )
    p.add_argument("--queue", help=f"queue URL or name (default ${settings.ESCALATION_QUEUE})")
    p.add_argument("--manifest", help=f"model manifest (default ${settings.MODEL_MANIFEST})")
    p.add_argument("--providers", type=_providers, help="ONNX Runtime providers, comma-separated")
    p.add_argument(
        "--visibility-timeout",
        type=int,
        default=600,
        help="seconds a received job stays hidden; longer than the slowest job (default 600)",
    )
    p.add_argument("--max-attempts", type=int, default=5, help="deliveries per job (default 5)")
    p.add_argument("--batch", type=int, default=1, help="jobs received per call (default 1)")
    p.add_argument("--idle", type=float, default=2.0, help="seconds between polls when empty")
    p.add_argument("--load-timeout", type=float, default=600.0, help="seconds to load the model")
    p.add_argument("--log-level", default="INFO")
    return p


def _providers(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if args.log_level.upper() != "DEBUG":  # the SDK logs every HTTP request at INFO
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        config = worker_config(args, os.environ if env is None else env)
    except (ConfigError, ValueError) as exc:
        log.error("configuration error: %s", exc)
        return EXIT_CONFIG
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        counts = run(config, stop)
    except (WorkerFailed, FakewatchError) as exc:
        log.error("worker failed: %s", exc)
        return EXIT_FAILED
    log.info("worker stopped: %s", _summary(counts.items()))
    return EXIT_OK


def _summary(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts) or "no jobs"


__all__ = [
    "GiveUp",
    "StorageJobSource",
    "WorkerConfig",
    "WorkerFailed",
    "delivery_of",
    "main",
    "payload_of",
    "run",
    "worker_config",
]

if __name__ == "__main__":
    raise SystemExit(main())
