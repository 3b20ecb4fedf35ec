"""GCP rules: what "secure by default" means for the Cloud Storage -> Eventarc -> function
scanner. Cloud Storage encrypts at rest and serves HTTPS only by construction; the rules check
what is opt-in: uniform access, public access prevention, lifecycle, identities, wiring, and,
with ``gpu.mode: async``, the queued GPU worker (``gpu-async``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
TOPIC = "gcp:pubsub/topic:Topic"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
EVENTARC_TRIGGER = "gcp:eventarc/trigger:Trigger"
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
PUBSUB_AGENT = re.compile(r"^serviceAccount:service-\d+@gcp-sa-pubsub\.iam\.gserviceaccount\.com$")
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


def gpu_worker(stack: Stack) -> Resource | None:
    """The queued escalation worker (gpu.mode async): the Cloud Run service with a GPU."""
    return next((r for r in stack.of(RUN_SERVICE) if r.get("template", "nodeSelector")), None)


def worker_env(stack: Stack) -> dict[str, str]:
    worker = gpu_worker(stack)
    containers = as_list(worker.get("template", "containers")) if worker else []
    return {e["name"]: e.get("value", "") for c in containers for e in as_list(c.get("envs"))}


def worker_member(stack: Stack) -> str | None:
    worker = gpu_worker(stack)
    account = worker.get("template", "serviceAccount") if worker else None
    return f"serviceAccount:{account}" if account else None


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
    grants = [
        g
        for g in stack.of(RUN_IAM)
        if g.inputs.get("role") == "roles/run.invoker" and g.inputs.get("name") == fn.out("name")
    ]
    if [g.inputs.get("member") for g in grants] != [f"serviceAccount:{invoker}"]:
        yield _f("trigger", fn, "the trigger's account is not the function's only invoker")
    if fn.get("serviceConfig", "ingressSettings") != "ALLOW_INTERNAL_ONLY":
        yield _f("trigger", fn, "function accepts traffic from the internet")


def concurrency(stack: Stack) -> Iterator[Finding]:
    fn = scanner_function(stack)
    if not fn.get("serviceConfig", "maxInstanceCount"):
        yield _f("concurrency", fn, "no maximum instance count")


def _folder_read(grant: Resource, uri: str, member: str | None) -> bool:
    """Object viewer for ``member`` on the folder of manifest ``uri``, by IAM condition."""
    if not member or not uri.startswith("gs://") or "/" not in uri[len("gs://") :]:
        return False
    bucket, key = uri[len("gs://") :].split("/", 1)
    folder = f"projects/_/buckets/{bucket}/objects/{key.rsplit('/', 1)[0]}/"
    return (
        grant.inputs.get("bucket") == bucket
        and grant.inputs.get("role") == "roles/storage.objectViewer"
        and grant.inputs.get("member") == member
        and grant.get("condition", "expression") == f'resource.name.startsWith("{folder}")'
    )


def _model_read(stack: Stack, grant: Resource) -> bool:
    """The grants outside the stack's buckets: object viewer on the model manifest's folder, for
    the scanner (modelManifest) and for the async GPU worker (gpu.modelDataUrl)."""
    return _folder_read(
        grant, env(stack).get("FAKEWATCH_MODEL_MANIFEST", ""), scanner_member(stack)
    ) or _folder_read(
        grant, worker_env(stack).get("FAKEWATCH_MODEL_MANIFEST", ""), worker_member(stack)
    )


def least_privilege(stack: Stack) -> Iterator[Finding]:
    member = scanner_member(stack)
    # async: the GPU worker reads uploads to score them, before any verdict, by design.
    readers = {member, worker_member(stack)}
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
            and grant.inputs.get("member") not in readers
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
    if gpu_worker(stack) is not None and not any("num_undelivered_messages" in f for f in filters):
        yield _f("alarms", "stack", "no alert on dead-lettered escalation jobs")


def _last(path: Any) -> str:
    return str(path or "").rsplit("/", 1)[-1]


def gpu_async(stack: Stack) -> Iterator[Finding]:
    """gpu.mode async: a scale-to-zero GPU worker that only the push subscription can invoke,
    a push subscription with OIDC, retries and a dead-letter topic, a worker that reads uploads
    and writes answers and nothing else, and the function wired to both ends."""
    worker = gpu_worker(stack)
    asked = env(stack).get("FAKEWATCH_ESCALATION_MODE") == "async"
    if worker is None:
        if asked:
            yield _f("gpu-async", "stack", "async escalation without a GPU worker to answer it")
        return
    if not asked:
        yield _f("gpu-async", worker, "a GPU worker, but the function does not queue jobs")
    yield from _worker_hardware(worker)
    subscription = _push_subscription(stack, worker)
    yield from _worker_invokers(stack, worker, subscription)
    if subscription is not None:
        yield from _delivery(stack, worker, subscription)
    yield from _worker_scope(stack, worker)
    yield from _function_side(stack, subscription)
    for endpoint in stack.of(ENDPOINT):
        yield _f("gpu-async", endpoint, "a Vertex AI endpoint idles beside the queued worker")


def _worker_hardware(worker: Resource) -> Iterator[Finding]:
    template = worker.inputs.get("template") or {}
    container: dict[str, Any] = next(iter(as_list(template.get("containers"))), {})
    resources = container.get("resources") or {}
    if (resources.get("limits") or {}).get("nvidia.com/gpu") != "1":
        yield _f("gpu-async", worker, "the worker's container has no GPU limit")
    if resources.get("cpuIdle") is not False:
        yield _f("gpu-async", worker, "CPU is not always allocated (Cloud Run requires it)")
    floors = [
        (template.get("scaling") or {}).get("minInstanceCount"),
        (worker.inputs.get("scaling") or {}).get("minInstanceCount"),
    ]
    if any(f not in (None, 0) for f in floors):
        yield _f("gpu-async", worker, f"min instances {floors}: async must scale to zero")
    if not (template.get("scaling") or {}).get("maxInstanceCount"):
        yield _f("gpu-async", worker, "no maximum instance count on the GPU worker")


def _push_subscription(stack: Stack, worker: Resource) -> Resource | None:
    url = f"{worker.out('uri')}/jobs"
    return next(
        (s for s in stack.of(SUBSCRIPTION) if s.get("pushConfig", "pushEndpoint") == url), None
    )


def _worker_invokers(
    stack: Stack, worker: Resource, subscription: Resource | None
) -> Iterator[Finding]:
    if worker.inputs.get("ingress") not in (
        "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "INGRESS_TRAFFIC_ALL",
    ):
        yield _f("gpu-async", worker, f"ingress {worker.inputs.get('ingress')!r}")
    if worker.inputs.get("invokerIamDisabled"):
        yield _f("gpu-async", worker, "invoker IAM is disabled: anyone may call the worker")
    grants = [g for g in stack.of(RUN_IAM) if g.inputs.get("name") == worker.out("name")]
    for g in grants:
        if g.inputs.get("member") in PUBLIC_MEMBERS:
            yield _f("gpu-async", g, "the GPU worker admits unauthenticated callers")
    push = (
        subscription.get("pushConfig", "oidcToken", "serviceAccountEmail") if subscription else None
    )
    invokers = [
        g.inputs.get("member") for g in grants if g.inputs.get("role") == "roles/run.invoker"
    ]
    if not push or invokers != [f"serviceAccount:{push}"]:
        yield _f("gpu-async", worker, f"invokers {invokers}: only the push account may call it")


def _delivery(stack: Stack, worker: Resource, sub: Resource) -> Iterator[Finding]:
    if not sub.get("pushConfig", "oidcToken", "serviceAccountEmail"):
        yield _f("gpu-async", sub, "pushes carry no OIDC token")
    dead = sub.get("deadLetterPolicy", "deadLetterTopic")
    if not dead or dead == sub.inputs.get("topic"):
        yield _f("gpu-async", sub, "no dead-letter topic: failing jobs retry for 7 days")
    elif not any(h.inputs.get("topic") == dead for h in stack.of(SUBSCRIPTION)):
        yield _f("gpu-async", sub, "nothing subscribes to the dead-letter topic: letters are lost")
    if not sub.get("retryPolicy", "minimumBackoff"):
        yield _f("gpu-async", sub, "no exponential retry policy: 503s are redelivered at once")
    timeout = int(str(worker.get("template", "timeout", default="300s")).rstrip("s") or 0)
    if int(sub.inputs.get("ackDeadlineSeconds") or 10) < timeout:
        yield _f("gpu-async", sub, f"ack deadline below the worker's timeout ({timeout} s)")
    agent_grants = [
        (g.type, _last(g.inputs.get("topic") or g.inputs.get("subscription")), g.inputs.get("role"))
        for g in stack.of(TOPIC_IAM) + stack.of(SUBSCRIPTION_IAM)
        if PUBSUB_AGENT.match(str(g.inputs.get("member", "")))
    ]
    if (TOPIC_IAM, _last(dead), "roles/pubsub.publisher") not in agent_grants:
        yield _f("gpu-async", sub, "the Pub/Sub agent may not publish to the dead-letter topic")
    if (SUBSCRIPTION_IAM, _last(sub.out("name")), "roles/pubsub.subscriber") not in agent_grants:
        yield _f("gpu-async", sub, "the Pub/Sub agent may not forward from this subscription")


def _worker_scope(stack: Stack, worker: Resource) -> Iterator[Finding]:
    member = worker_member(stack)
    answers = env(stack).get("FAKEWATCH_ANSWERS_BUCKET")
    inp = input_bucket_name(stack)
    wanted = {(inp, "roles/storage.objectViewer"), (answers, "roles/storage.objectCreator")}
    found: set[tuple[Any, Any]] = set()
    for g in stack.of(BUCKET_IAM):
        if g.inputs.get("member") != member:
            continue
        pair = (g.inputs.get("bucket"), g.inputs.get("role"))
        if pair in wanted:
            found.add(pair)
        elif not _model_read(stack, g):
            yield _f("worker-scope", g, f"the GPU worker holds {pair[1]} on {pair[0]}")
    for pair in sorted(wanted - found, key=str):
        yield _f("worker-scope", worker, f"the GPU worker lacks {pair[1]} on {pair[0]}")
    for g in stack.of(TOPIC_IAM) + stack.of(PROJECT_IAM) + stack.of(SUBSCRIPTION_IAM):
        if g.inputs.get("member") == member:
            yield _f("worker-scope", g, f"the GPU worker holds {g.inputs.get('role')}")
    wenv = worker_env(stack)
    if wenv.get("FAKEWATCH_SERVE_URI_PREFIXES") != f"gs://{inp}/":
        yield _f("worker-scope", worker, "the worker may read outside the input bucket")
    if wenv.get("FAKEWATCH_SERVE_ANSWER_PREFIXES") != f"gs://{answers}/escalations/":
        yield _f("worker-scope", worker, "the worker may write outside answers/escalations/")


def _function_side(stack: Stack, sub: Resource | None) -> Iterator[Finding]:
    fn = scanner_function(stack)
    member = scanner_member(stack)
    queue = env(stack).get("FAKEWATCH_ESCALATION_QUEUE")
    if sub is None or queue != sub.inputs.get("topic"):
        yield _f("gpu-async", fn, "the function's job queue is not the worker's push topic")
    allowed = {_last(env(stack).get("FAKEWATCH_RESULT_TOPIC")), _last(queue)}
    for g in stack.of(TOPIC_IAM):
        if g.inputs.get("member") == member and _last(g.inputs.get("topic")) not in allowed:
            yield _f("gpu-async", g, "the function may publish to a topic it does not use")
    if not any(
        g.inputs.get("member") == member and _last(g.inputs.get("topic")) == _last(queue)
        for g in stack.of(TOPIC_IAM)
    ):
        yield _f("gpu-async", fn, "the function may not publish jobs")
    answers = env(stack).get("FAKEWATCH_ANSWERS_BUCKET")
    if (answers, "roles/storage.objectViewer") not in {
        (g.inputs.get("bucket"), g.inputs.get("role"))
        for g in stack.of(BUCKET_IAM)
        if g.inputs.get("member") == member
    }:
        yield _f("gpu-async", fn, "the function may not read the answers")
    trigger_account = fn.get("eventTrigger", "serviceAccountEmail")
    if not any(
        {(c.get("attribute"), c.get("value")) for c in as_list(t.inputs.get("matchingCriterias"))}
        == {("type", EVENT_TYPE), ("bucket", answers)}
        and t.get("destination", "cloudRunService", "service") == fn.out("name")
        and t.inputs.get("serviceAccount") == trigger_account
        for t in stack.of(EVENTARC_TRIGGER)
    ):
        yield _f("gpu-async", fn, "no finalized trigger brings answers back to the function")


RULES: dict[str, Check] = {
    "api-names": api_field_names,
    "buckets": buckets_secure,
    "trigger": trigger_wiring,
    "concurrency": concurrency,
    "least-privilege": least_privilege,
    "logs-and-alerts": logs_and_alerts,
    "gpu-async": gpu_async,
}


def require_budget(stack: Stack) -> Iterator[Finding]:
    budgets = stack.of(BUDGET)
    if not budgets:
        yield _f("budget", "stack", "no monthly budget")
    for b in budgets:
        if not b.inputs.get("thresholdRules"):
            yield _f("budget", b, "budget has no threshold rules")
