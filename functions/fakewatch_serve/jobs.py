"""The GPU worker side of queued (asynchronous, scale-to-zero) escalation.

A job (:class:`~fakewatch.ports.escalation.EscalationJob`) names an object by URI and where
the answer goes. :class:`JobRunner` reads the object (only under the allowed input prefixes),
scores it with the loaded model — through the same micro-batcher as HTTP requests — and writes
an answer document to ``job.output`` (only under the allowed answer prefixes, so a forged
job cannot write anywhere else). Jobs arrive two ways:

- **push** (GCP: a Pub/Sub push subscription to Cloud Run with a GPU, ``min-instances 0``):
  ``POST /jobs`` with Pub/Sub's envelope ``{"message": {"data": <base64 job>, ...}}``;
  :func:`jobs_route` answers 204 when done, 503/429 to make Pub/Sub redeliver later.
- **pull** (Azure: a Storage queue, drained by a Container App that KEDA scales from zero):
  :func:`drain` loops over a :class:`JobSource`.

Disposition: a job that cannot be parsed is dropped with a log line (it names no verdict to
complete); a job whose media is bad gets an answer with the error (the verdict records a
failed escalation); only a worker that is not ready, overloaded, or cannot write the answer
asks for redelivery. After ``max_attempts`` deliveries a pull job is answered with the error
and dropped, so nothing retries forever.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fakewatch.errors import FakewatchError, TransientError
from fakewatch.ports.escalation import EscalationJob, answer_document
from fakewatch_serve.batching import BatcherClosed, Overloaded
from fakewatch_serve.engine import Engine, NotReady
from fakewatch_serve.wire import Instance

log = logging.getLogger("fakewatch_serve.jobs")
MAX_JOB_BYTES = 64 * 1024


class Disposition(StrEnum):
    DONE = "done"  # answer written: acknowledge
    DROPPED = "dropped"  # unusable job: acknowledge, nothing to answer
    RETRY = "retry"  # not now: leave it for redelivery


@dataclass
class JobRunner:
    engine: Engine
    answer_prefixes: Sequence[str]
    endpoint: str = "worker"

    def handle(self, payload: bytes, *, final_attempt: bool = False) -> Disposition:
        """One delivered job, start to finish."""
        try:
            job = parse_job(payload)
        except ValueError as exc:
            log.error("dropping an unusable job", extra={"error": str(exc)})
            return Disposition.DROPPED
        if not any(job.output.startswith(p) for p in self.answer_prefixes):
            log.error("dropping a job whose output is not allowed", extra={"output": job.output})
            return Disposition.DROPPED
        try:
            doc = self.answer(job)
        except (NotReady, Overloaded, BatcherClosed) as exc:
            if not final_attempt:
                return Disposition.RETRY
            doc = answer_document(job.request_id, self.endpoint, error=f"worker busy: {exc}")
        return self._write(job, doc, final_attempt)

    def answer(self, job: EscalationJob) -> dict[str, Any]:
        instance = Instance(uri=job.uri, sha256=job.sha256 or None, mime=job.mime)
        reading = self.engine.score(instance)  # bad media → a failed reading, not an error
        return answer_document(job.request_id, self.endpoint, reading)

    def _write(self, job: EscalationJob, doc: dict[str, Any], final: bool) -> Disposition:
        from fakewatch.stores import open_uri

        try:
            store, bucket, key = open_uri(job.output)
            store.put(bucket, key, json.dumps(doc).encode(), content_type="application/json")
        except (TransientError, OSError) as exc:
            log.warning("answer not written; will retry", extra={"error": str(exc)})
            return Disposition.DROPPED if final else Disposition.RETRY
        except FakewatchError as exc:  # denied, bad URI: retrying will not help
            log.error("answer cannot be written", extra={"error": str(exc)})
            return Disposition.DROPPED
        return Disposition.DONE


def parse_job(payload: bytes) -> EscalationJob:
    if len(payload) > MAX_JOB_BYTES:
        raise ValueError(f"job of {len(payload)} bytes is over {MAX_JOB_BYTES}")
    try:
        doc = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"job is not JSON: {exc}") from exc
    return EscalationJob.from_dict(doc)


def pubsub_data(body: bytes) -> bytes:
    """The message data of a Pub/Sub push request (wrapped, the default, or unwrapped)."""
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"push body is not JSON: {exc}") from exc
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict):
        return body  # an unwrapped push delivers the data itself
    try:
        return base64.b64decode(str(message.get("data", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"push message data is not base64: {exc}") from exc


async def jobs_route(request: Request) -> Response:
    """``POST /jobs``: one Pub/Sub push delivery."""
    runner: JobRunner = request.app.state.jobs
    body = await request.body()
    try:
        payload = pubsub_data(body[: MAX_JOB_BYTES * 2])
    except ValueError as exc:
        log.error("dropping an unusable push", extra={"error": str(exc)})
        return Response(status_code=204)
    loop = asyncio.get_running_loop()
    outcome = await loop.run_in_executor(runner.engine.pool, runner.handle, payload)
    if outcome is Disposition.RETRY:
        return JSONResponse({"error": "not ready; redeliver"}, 503, headers={"Retry-After": "5"})
    return Response(status_code=204)


# -- pull ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    payload: bytes
    attempt: int  # 1 for the first delivery
    receipt: Any  # what the source needs to acknowledge it


class JobSource(Protocol):
    def receive(self, max_messages: int) -> Iterable[Delivery]: ...
    def ack(self, delivery: Delivery) -> None: ...


def drain(
    source: JobSource,
    runner: JobRunner,
    *,
    max_attempts: int = 5,
    batch: int = 16,
    idle_s: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, int]:
    """Work the queue until ``stop()``; unacknowledged jobs reappear after their visibility
    timeout. Returns counts by disposition."""
    counts = {d.value: 0 for d in Disposition}
    while not stop():
        deliveries = list(source.receive(batch))
        if not deliveries:
            time.sleep(idle_s)
            continue
        for delivery in deliveries:
            final = delivery.attempt >= max_attempts
            outcome = runner.handle(delivery.payload, final_attempt=final)
            counts[outcome.value] += 1
            if outcome is not Disposition.RETRY:
                source.ack(delivery)
    return counts


__all__ = ["Delivery", "Disposition", "JobRunner", "JobSource", "drain", "jobs_route", "parse_job"]
