"""fakewatch on AWS: ``pulumi up`` deploys bucket-triggered scanning (see README.md)."""

from __future__ import annotations

import pulumi
from config import load_config

from fakewatch_iac import artifacts
from fakewatch_iac.aws import AwsScanner

cfg = load_config()
scanner = AwsScanner("fakewatch", cfg, artifacts.check("aws", cfg.artifact))

pulumi.export("inputBucket", scanner.input_name)
pulumi.export("resultsBucket", scanner.results.name)
pulumi.export("quarantineBucket", scanner.quarantine.name)
pulumi.export("queueUrl", scanner.queue.queue.url)
pulumi.export("deadLetterQueueUrl", scanner.queue.dlq.url)
pulumi.export("functionName", scanner.function.function.name)
pulumi.export("resultBus", scanner.bus.name)
pulumi.export("alertTopicArn", scanner.alerts.topic.arn)
pulumi.export("logGroup", scanner.log_group.name)
pulumi.export("scannerRoleArn", scanner.role.arn)
if scanner.endpoint is not None:
    pulumi.export("escalationEndpoint", scanner.endpoint.name)
if scanner.notifications is not None:
    # gpu.mode async: SageMaker announces answers here; both deliver to the scan queue.
    pulumi.export("escalationSuccessTopic", scanner.notifications.success_arn)
    pulumi.export("escalationErrorTopic", scanner.notifications.error_arn)
if scanner.gating_statements is not None:
    # Existing bucket + read gating: merge these into the bucket's own policy (README.md).
    pulumi.export("readGatingStatements", scanner.gating_statements)
