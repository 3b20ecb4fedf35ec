"""fakewatch on GCP: ``pulumi up`` deploys bucket-triggered scanning (see README.md)."""

from __future__ import annotations

import pulumi
from config import load_config

from fakewatch_iac import artifacts
from fakewatch_iac.gcp import GcpScanner

cfg = load_config()
scanner = GcpScanner("fakewatch", cfg, artifacts.check("gcp", cfg.artifact))

pulumi.export("inputBucket", scanner.input_name)
pulumi.export("resultsBucket", scanner.results.name)
pulumi.export("quarantineBucket", scanner.quarantine.name)
pulumi.export("resultTopic", scanner.topic.id)
pulumi.export("functionName", scanner.function.name)
pulumi.export("scannerServiceAccount", scanner.identities.scanner.email)
pulumi.export("logBucket", scanner.observability.log_bucket.id)
if scanner.endpoint is not None:
    pulumi.export("escalationEndpoint", scanner.endpoint.resource_name)
if scanner.queued is not None and scanner.answers is not None:
    pulumi.export("escalationQueue", scanner.queued.topic.id)
    pulumi.export("deadLetterSubscription", scanner.queued.dead_letter_hold.id)
    pulumi.export("answersBucket", scanner.answers.name)
    pulumi.export("gpuWorker", scanner.queued.service.name)
    pulumi.export("gpuWorkerUrl", scanner.queued.service.uri)
