"""Queued escalation on GCP: jobs on a Pub/Sub topic, answers in a Cloud Storage bucket.

Vertex AI has no asynchronous inference service, so the scale-to-zero mode is built from
parts: the function publishes an :class:`~fakewatch.ports.escalation.EscalationJob` to a
topic whose push subscription targets the GPU worker (the serving container on Cloud Run with
a GPU, ``min-instances 0``; Pub/Sub holds and redelivers while an instance starts). The worker
writes its answer to ``gs://<answers bucket>/escalations/<request id>.json``; that bucket's
``finalized`` trigger brings it back to this function, which completes the verdict.
"""

from __future__ import annotations

import json

from fakewatch.errors import TransientError
from fakewatch.ports.escalation import EscalationJob, JobQueue
from fakewatch_gcp.notify import Publisher, topic_path


class PubSubJobQueue(JobQueue):
    """Publishes each job to one topic and waits until Pub/Sub has accepted it."""

    def __init__(
        self,
        topic: str,
        publisher: Publisher | None = None,
        *,
        project: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.topic = topic_path(topic, project)
        self.name = f"pubsub:{self.topic.rsplit('/', 1)[-1]}"
        self._publisher = publisher
        self.timeout_s = timeout_s

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            self._publisher = pubsub_v1.PublisherClient()
        return self._publisher

    def send(self, job: EscalationJob) -> None:
        data = json.dumps(job.to_dict()).encode()
        try:
            future = self.publisher.publish(self.topic, data, request_id=job.request_id)
            future.result(self.timeout_s)
        except Exception as exc:  # any publish failure: the scan records "unavailable"
            raise TransientError(f"{self.name}: {type(exc).__name__}: {exc}") from exc


__all__ = ["PubSubJobQueue"]
