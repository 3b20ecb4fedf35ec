"""fakewatch on Azure: ``pulumi up`` deploys bucket-triggered scanning (see README.md)."""

from __future__ import annotations

import pulumi
from config import load_config

from fakewatch_iac import artifacts
from fakewatch_iac.azure import AzureScanner
from fakewatch_iac.azure.scanner import INPUT, QUARANTINE, RESULTS

cfg = load_config()
scanner = AzureScanner("fakewatch", cfg, artifacts.check("azure", cfg.artifact))

pulumi.export("resourceGroup", scanner.group.name)
pulumi.export("storageAccount", scanner.data.name)
pulumi.export("inputContainer", INPUT)
pulumi.export("resultsContainer", RESULTS)
pulumi.export("quarantineContainer", QUARANTINE)
pulumi.export("functionApp", scanner.function.app.name)
pulumi.export("resultTopicEndpoint", scanner.results_topic.endpoint)
pulumi.export("scannerPrincipalId", scanner.identity.principal_id)
if scanner.endpoint is not None:
    pulumi.export("escalationScoringUri", scanner.endpoint.scoring_uri)
