"""Names of the environment variables the deployed scanner reads.

Repeated here as plain strings on purpose: ``iac/`` must not import the fakewatch core.
``tests/iac`` cross-checks them against ``fakewatch.settings``.
"""

from __future__ import annotations

POLICY = "FAKEWATCH_POLICY"
MODEL_MANIFEST = "FAKEWATCH_MODEL_MANIFEST"
RESULTS_BUCKET = "FAKEWATCH_RESULTS_BUCKET"
RESULTS_PREFIX = "FAKEWATCH_RESULTS_PREFIX"
AUDIT_PREFIX = "FAKEWATCH_AUDIT_PREFIX"
QUARANTINE_BUCKET = "FAKEWATCH_QUARANTINE_BUCKET"
RESULT_TOPIC = "FAKEWATCH_RESULT_TOPIC"
ESCALATION_ENDPOINT = "FAKEWATCH_ESCALATION_ENDPOINT"
ESCALATION_MODE = "FAKEWATCH_ESCALATION_MODE"  # realtime | async (AWS: InvokeEndpointAsync)
SERVE_MODE = "FAKEWATCH_SERVE_MODE"  # the serving container: realtime | async request limits
# Queued escalation (gpu.mode async on GCP and Azure): the function sends jobs to the queue and
# reads answers from the answers bucket; the GPU worker reads only under its URI prefixes and
# writes answers only under its answer prefixes.
ESCALATION_QUEUE = "FAKEWATCH_ESCALATION_QUEUE"  # Pub/Sub topic path | Storage queue URL
ANSWERS_BUCKET = "FAKEWATCH_ANSWERS_BUCKET"
SERVE_CONTRACT = "FAKEWATCH_SERVE_CONTRACT"  # sagemaker | vertex | azureml
SERVE_URI_PREFIXES = "FAKEWATCH_SERVE_URI_PREFIXES"
SERVE_ANSWER_PREFIXES = "FAKEWATCH_SERVE_ANSWER_PREFIXES"
ANSWER_PREFIX = "escalations/"  # where answers land in the answers bucket (the worker's output)
IDEMPOTENCY_TABLE = "FAKEWATCH_IDEMPOTENCY_TABLE"
LOG_LEVEL = "FAKEWATCH_LOG_LEVEL"

# Read by the Azure adapter through ``Settings.extra``: the data storage account's blob endpoint.
AZURE_ACCOUNT_URL = "FAKEWATCH_AZURE_ACCOUNT_URL"

DEFAULT_RESULTS_PREFIX = "verdicts/"
DEFAULT_AUDIT_PREFIX = "audit/"

# The object tag (S3 tag, GCS metadata key, Azure blob index tag) carrying the scanner's decision.
ACTION_TAG = "fakewatch-action"
TAG_PREFIX = "fakewatch-"
ALLOW = "allow"
