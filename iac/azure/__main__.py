"""fakewatch on Azure: ``pulumi up`` deploys bucket-triggered scanning (see README.md)."""

from __future__ import annotations

import pulumi
from config import load_config

from fakewatch_iac import artifacts
from fakewatch_iac.azure import AzureScanner

cfg = load_config()
scanner = AzureScanner("fakewatch", cfg, artifacts.check("azure", cfg.artifact))

pulumi.export("resourceGroup", scanner.group.name)
pulumi.export("storageAccount", scanner.data.name)
pulumi.export("inputContainer", scanner.names.input)
pulumi.export("resultsContainer", scanner.names.results)
pulumi.export("quarantineContainer", scanner.names.quarantine)
pulumi.export("functionApp", scanner.function.app.name)
pulumi.export("resultTopicEndpoint", scanner.results_topic.endpoint)
pulumi.export("scannerPrincipalId", scanner.identity.principal_id)
if scanner.existing_account is not None:
    # The account's one lifecycle policy is yours: merge these rules into it (README.md).
    pulumi.export("lifecycleRules", scanner.lifecycle_rules())
if scanner.endpoint is not None:
    pulumi.export("escalationScoringUri", scanner.endpoint.scoring_uri)
if scanner.queued is not None:
    pulumi.export("escalationQueueUrl", scanner.queued.queue_url)
    pulumi.export("answersContainer", scanner.names.answers)
    pulumi.export("gpuWorker", scanner.queued.app.name)
    pulumi.export("gpuWorkerPrincipalId", scanner.queued.identity.principal_id)
