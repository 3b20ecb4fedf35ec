"""GCP rules: what "secure by default" means for the Cloud Storage -> Eventarc -> function
scanner. Cloud Storage encrypts at rest and serves HTTPS only by construction; the rules check
what is opt-in: uniform access, public access prevention, lifecycle, identities, wiring."""

from __future__ import annotations

from collections.abc import Iterator

from fakewatch_iac.gcp.identity import INPUT_PERMISSIONS, UNAVOIDABLE_PROJECT_ROLES
from fakewatch_iac.policy.core import (
    Check,
    Finding,
    Resource,
    Stack,
    api_field_names,
    as_list,
)

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
ACCOUNT = "gcp:serviceaccount/account:Account"
RUN_IAM = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
LOG_SINK = "gcp:logging/projectSink:ProjectSink"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
BUDGET = "gcp:billing/budget:Budget"
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
READ_ROLES = {
    "roles/storage.objectViewer",
    "roles/storage.objectUser",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
    "roles/storage.legacyObjectReader",
    "roles/storage.legacyBucketOwner",
}
EVENT_TYPE = "google.cloud.storage.object.v1.finalized"


def _f(rule: str, r: Resource | str, message: str) -> Finding:
    return Finding(rule, r if isinstance(r, str) else f"{r.type.split(':')[-1]} {r.name}", message)


def scanner_function(stack: Stack) -> Resource:
    return stack.one(FUNCTION)


def env(stack: Stack) -> dict[str, str]:
    return dict(scanner_function(stack).get("serviceConfig", "environmentVariables", default={}))


def scanner_member(stack: Stack) -> str:
    return f"serviceAccount:{scanner_function(stack).get('serviceConfig', 'serviceAccountEmail')}"


def input_bucket_name(stack: Stack) -> str | None:
    filters = as_list(scanner_function(stack).get("eventTrigger", "eventFilters"))
    return next((f.get("value") for f in filters if f.get("attribute") == "bucket"), None)


def buckets_secure(stack: Stack) -> Iterator[Finding]:
    for b in stack.of(BUCKET):
        if b.inputs.get("uniformBucketLevelAccess") is not True:
            yield _f("gcs-uniform-access", b, "ACLs are not disabled (uniform access off)")
        if b.inputs.get("publicAccessPrevention") != "enforced":
            yield _f("gcs-public-access", b, "public access prevention is not enforced")
        if b.inputs.get("forceDestroy"):
            yield _f("gcs-public-access", b, "force_destroy would delete evidence on destroy")
        actions = [r.get("action", {}).get("type") for r in as_list(b.inputs.get("lifecycleRules"))]
        if "AbortIncompleteMultipartUpload" not in actions:
            yield _f("gcs-lifecycle", b, "incomplete multipart uploads are never aborted")
    results = next(
        (
            b
            for b in stack.of(BUCKET)
            if b.out("name") == env(stack).get("FAKEWATCH_RESULTS_BUCKET")
        ),
        None,
    )
    if results is None or not any(
        r.get("action", {}).get("type") == "Delete" and r.get("condition", {}).get("age")
        for r in as_list(results.inputs.get("lifecycleRules"))
    ):
        yield _f("gcs-lifecycle", "results bucket", "verdicts have no retention (Delete rule)")
    inp = next((b for b in stack.of(BUCKET) if b.out("name") == input_bucket_name(stack)), None)
    if inp is not None and not inp.get("versioning", "enabled"):
        yield _f("gcs-versioning", inp, "input bucket is not versioned")


def trigger_wiring(stack: Stack) -> Iterator[Finding]:
    fn = scanner_function(stack)
    trigger = fn.inputs.get("eventTrigger") or {}
    if trigger.get("eventType") != EVENT_TYPE:
        yield _f("trigger", fn, f"trigger is {trigger.get('eventType')!r}, not {EVENT_TYPE}")
    if trigger.get("retryPolicy") != "RETRY_POLICY_RETRY":
        yield _f("trigger", fn, "failed scans are not retried")
    if not input_bucket_name(stack):
        yield _f("trigger", fn, "trigger is not filtered to the input bucket")
    invoker = trigger.get("serviceAccountEmail")
    grants = [g for g in stack.of(RUN_IAM) if g.inputs.get("role") == "roles/run.invoker"]
    if [g.inputs.get("member") for g in grants] != [f"serviceAccount:{invoker}"]:
        yield _f("trigger", fn, "the trigger's account is not the function's only invoker")
    if fn.get("serviceConfig", "ingressSettings") != "ALLOW_INTERNAL_ONLY":
        yield _f("trigger", fn, "function accepts traffic from the internet")


def concurrency(stack: Stack) -> Iterator[Finding]:
    fn = scanner_function(stack)
    if not fn.get("serviceConfig", "maxInstanceCount"):
        yield _f("concurrency", fn, "no maximum instance count")


def _model_read(stack: Stack, grant: Resource) -> bool:
    """The one grant outside the stack's buckets: object viewer on the model manifest's folder."""
    uri = env(stack).get("FAKEWATCH_MODEL_MANIFEST", "")
    if not uri.startswith("gs://") or "/" not in uri[len("gs://") :]:
        return False
    bucket, key = uri[len("gs://") :].split("/", 1)
    folder = f"projects/_/buckets/{bucket}/objects/{key.rsplit('/', 1)[0]}/"
    return (
        grant.inputs.get("bucket") == bucket
        and grant.inputs.get("role") == "roles/storage.objectViewer"
        and grant.inputs.get("member") == scanner_member(stack)
        and grant.get("condition", "expression") == f'resource.name.startsWith("{folder}")'
    )


def least_privilege(stack: Stack) -> Iterator[Finding]:
    member = scanner_member(stack)
    inp = input_bucket_name(stack)
    mine = {b.out("name") for b in stack.of(BUCKET)} | {inp}
    roles = {r.out("name"): r for r in stack.of(CUSTOM_ROLE)}
    for grant in stack.of(BUCKET_IAM):
        role = grant.inputs.get("role", "")
        if grant.inputs.get("bucket") not in mine and not _model_read(stack, grant):
            yield _f("scanner-scope", grant, f"grants on a bucket outside the stack: {role}")
        if role in ("roles/storage.admin", "roles/storage.objectAdmin", "roles/owner"):
            yield _f("iam-wildcard", grant, f"{role} is broader than the scanner needs")
        if (
            grant.inputs.get("bucket") == inp
            and grant.inputs.get("member") != member
            and (role in READ_ROLES or role in roles)
        ):
            yield _f("read-gating", grant, "someone other than the scanner can read uploads")
    for role in roles.values():
        extra = set(as_list(role.inputs.get("permissions"))) - set(INPUT_PERMISSIONS)
        if extra or any("*" in p for p in as_list(role.inputs.get("permissions"))):
            yield _f("iam-wildcard", role, f"custom role has more than it needs: {sorted(extra)}")
    for grant in stack.of(PROJECT_IAM):
        if grant.inputs.get("role") not in UNAVOIDABLE_PROJECT_ROLES:
            yield _f("iam-wildcard", grant, f"project-wide {grant.inputs.get('role')}")
        if grant.inputs.get("member") == member:
            yield _f("iam-wildcard", grant, "the scanner holds a project-wide role")


def logs_and_alerts(stack: Stack) -> Iterator[Finding]:
    fn_name = scanner_function(stack).out("name")
    buckets = {b.out("id"): b for b in stack.of(LOG_BUCKET)}
    if not any(b.inputs.get("retentionDays") for b in buckets.values()):
        yield _f("log-retention", "stack", "no log bucket with a retention period")
    if not any(
        s.inputs.get("destination", "").removeprefix("logging.googleapis.com/") in buckets
        and f'service_name="{fn_name}"' in s.inputs.get("filter", "")
        for s in stack.of(LOG_SINK)
    ):
        yield _f("log-retention", "stack", "the function's logs are not routed to that bucket")
    filters = [
        c.get("conditionThreshold", {}).get("filter", "")
        for a in stack.of(ALERT)
        for c in as_list(a.inputs.get("conditions"))
    ]
    if not any("5xx" in f and fn_name in f for f in filters):
        yield _f("alarms", "stack", "no alert on function errors")
    if not any("oldest_unacked_message_age" in f for f in filters):
        yield _f("alarms", "stack", "no alert on undelivered uploads (the DLQ signal)")


RULES: dict[str, Check] = {
    "api-names": api_field_names,
    "buckets": buckets_secure,
    "trigger": trigger_wiring,
    "concurrency": concurrency,
    "least-privilege": least_privilege,
    "logs-and-alerts": logs_and_alerts,
}


def require_budget(stack: Stack) -> Iterator[Finding]:
    budgets = stack.of(BUDGET)
    if not budgets:
        yield _f("budget", "stack", "no monthly budget")
    for b in budgets:
        if not b.inputs.get("thresholdRules"):
            yield _f("budget", b, "budget has no threshold rules")
