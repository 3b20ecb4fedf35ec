"""AWS rules: what "secure by default" means for the S3 -> SQS -> Lambda scanner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fakewatch_iac.aws.iam import UNAVOIDABLE_WILDCARDS
from fakewatch_iac.envvars import ACTION_TAG, ALLOW, TAG_PREFIX
from fakewatch_iac.policy.core import (
    Check,
    Finding,
    Resource,
    Stack,
    api_field_names,
    as_list,
    dig,
    statements,
)

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
FUNCTION = "aws:lambda/function:Function"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TABLE = "aws:dynamodb/table:Table"
BUDGET = "aws:budgets/budget:Budget"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


# -- wiring: find the parts by how they are connected ------------------------------------------
def scanner_function(stack: Stack) -> Resource:
    """The function an SQS event source invokes."""
    mapping = stack.one(ESM)
    arn = mapping.inputs.get("functionName")
    for fn in stack.of(FUNCTION):
        if arn in (fn.out("arn"), fn.out("name")):
            return fn
    raise LookupError("the event source mapping invokes no function of this stack")


def env(stack: Stack) -> dict[str, str]:
    return dict(scanner_function(stack).get("environment", "variables", default={}))


def scanner_role(stack: Stack) -> Resource:
    role_arn = scanner_function(stack).inputs.get("role")
    return next(r for r in stack.of(ROLE) if r.out("arn") == role_arn)


def scan_queue(stack: Stack) -> Resource:
    source = stack.one(ESM).inputs.get("eventSourceArn")
    return next(q for q in stack.of(QUEUE) if q.out("arn") == source)


def _bucket_named(stack: Stack, name: str | None) -> Resource | None:
    return next((b for b in stack.of(BUCKET) if b.out("bucket") == name), None)


def input_bucket_name(stack: Stack) -> str | None:
    """The bucket whose uploads reach the scan queue: by S3 notification or EventBridge rule."""
    queue_arn = scan_queue(stack).out("arn")
    for note in stack.of(NOTIFICATION):
        if any(q.get("queueArn") == queue_arn for q in as_list(note.inputs.get("queues"))):
            bucket = next((b for b in stack.of(BUCKET) if b.id == note.inputs.get("bucket")), None)
            return bucket.out("bucket") if bucket else None
    for rule in stack.of(RULE):
        pattern = json.loads(rule.inputs.get("eventPattern", "{}"))
        names = pattern.get("detail", {}).get("bucket", {}).get("name", [])
        if pattern.get("source") == ["aws.s3"] and names:
            return str(names[0])
    return None


def _attached(stack: Stack, typ: str, bucket: Resource) -> list[Resource]:
    return stack.where(typ, "bucket", bucket.id)


def _policy_statements(stack: Stack, bucket: Resource) -> list[dict[str, Any]]:
    return [
        s for p in _attached(stack, BUCKET_POLICY, bucket) for s in statements(p.json("policy"))
    ]


def _f(rule: str, r: Resource | str, message: str) -> Finding:
    return Finding(rule, r if isinstance(r, str) else f"{r.type.split(':')[-1]} {r.name}", message)


# -- buckets -----------------------------------------------------------------------------------
def s3_encryption(stack: Stack) -> Iterator[Finding]:
    for b in stack.of(BUCKET):
        algos = [
            dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            for c in _attached(stack, SSE, b)
            for r in as_list(c.inputs.get("rules"))
        ]
        if not any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algos):
            yield _f("s3-encryption", b, "no default server-side encryption")


def s3_public_access_blocked(stack: Stack) -> Iterator[Finding]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for b in stack.of(BUCKET):
        blocks = _attached(stack, PAB, b)
        if not blocks or not all(blocks[0].inputs.get(f) is True for f in flags):
            yield _f("s3-public-access", b, "public access is not fully blocked")
        owners = _attached(stack, OWNERSHIP, b)
        if not owners or owners[0].get("rule", "objectOwnership") != "BucketOwnerEnforced":
            yield _f("s3-public-access", b, "ACLs are not disabled (BucketOwnerEnforced)")


def s3_tls_only(stack: Stack) -> Iterator[Finding]:
    for b in stack.of(BUCKET):
        arn = b.out("arn")
        ok = any(
            s.get("Effect") == "Deny"
            and "s3:*" in as_list(s.get("Action"))
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            and {arn, f"{arn}/*"} <= set(as_list(s.get("Resource")))
            for s in _policy_statements(stack, b)
        )
        if not ok:
            yield _f("s3-tls-only", b, "bucket policy does not deny non-TLS requests")


def s3_lifecycle(stack: Stack) -> Iterator[Finding]:
    results = _bucket_named(stack, env(stack).get("FAKEWATCH_RESULTS_BUCKET"))
    for b in stack.of(BUCKET):
        rules = [r for c in _attached(stack, LIFECYCLE, b) for r in as_list(c.inputs.get("rules"))]
        enabled = [r for r in rules if r.get("status") == "Enabled"]
        if not any("abortIncompleteMultipartUpload" in r for r in enabled):
            yield _f("s3-lifecycle", b, "incomplete multipart uploads are never aborted")
        if b is results and not any(r.get("expiration", {}).get("days") for r in enabled):
            yield _f("s3-lifecycle", b, "results bucket has no retention (expiration) rule")


def s3_input_versioning(stack: Stack) -> Iterator[Finding]:
    bucket = _bucket_named(stack, input_bucket_name(stack))
    if bucket is None:  # an existing bucket: its owner's settings are left alone
        return
    versioning = _attached(stack, VERSIONING, bucket)
    if not versioning or versioning[0].get("versioningConfiguration", "status") != "Enabled":
        yield _f("s3-versioning", bucket, "input bucket is not versioned")


# -- queue and trigger -------------------------------------------------------------------------
def sqs_dlq_redrive(stack: Stack) -> Iterator[Finding]:
    queue = scan_queue(stack)
    policy = json.loads(queue.inputs.get("redrivePolicy") or "{}")
    dlq = next(
        (q for q in stack.of(QUEUE) if q.out("arn") == policy.get("deadLetterTargetArn")), None
    )
    if dlq is None:
        yield _f("sqs-dlq", queue, "scan queue has no dead-letter queue in this stack")
    elif not 1 <= int(policy.get("maxReceiveCount", 0)) <= 10:
        yield _f("sqs-dlq", queue, "maxReceiveCount must be 1-10")
    for q in stack.of(QUEUE):
        if not (q.inputs.get("sqsManagedSseEnabled") or q.inputs.get("kmsMasterKeyId")):
            yield _f("sqs-encryption", q, "queue is not encrypted at rest")
    timeout = scanner_function(stack).inputs.get("timeout", 3)
    if int(queue.inputs.get("visibilityTimeoutSeconds", 30)) < 6 * int(timeout):
        yield _f("sqs-visibility", queue, "visibility timeout < 6x function timeout")


def dead_letter_queue(stack: Stack) -> Resource:
    """The queue the scan queue redrives to."""
    policy = json.loads(scan_queue(stack).inputs.get("redrivePolicy") or "{}")
    arn = policy.get("deadLetterTargetArn")
    return next(q for q in stack.of(QUEUE) if q.out("arn") == arn)


def sqs_policy_scoped(stack: Stack) -> Iterator[Finding]:
    """The scan queue and its DLQ: TLS only, and sends only on behalf of a named source."""
    queue = scan_queue(stack)
    queues = [queue]
    if json.loads(queue.inputs.get("redrivePolicy") or "{}").get("deadLetterTargetArn"):
        queues.append(dead_letter_queue(stack))
    for q in queues:
        policies = stack.where(QUEUE_POLICY, "queueUrl", q.out("url"))
        stmts = [s for p in policies for s in statements(p.json("policy"))]
        if not any(
            s.get("Effect") == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in stmts
        ):
            yield _f("sqs-policy", q, "queue policy does not deny non-TLS requests")
        for s in stmts:
            if s.get("Effect") == "Allow" and "aws:SourceArn" not in s.get("Condition", {}).get(
                "ArnEquals", {}
            ):
                yield _f("sqs-policy", q, f"statement {s.get('Sid')} allows sends from any source")


def trigger_wiring(stack: Stack) -> Iterator[Finding]:
    queue = scan_queue(stack)
    mapping = stack.one(ESM)
    if "ReportBatchItemFailures" not in as_list(mapping.inputs.get("functionResponseTypes")):
        yield _f("trigger", mapping, "event source does not report batch item failures")
    notes = [
        n
        for n in stack.of(NOTIFICATION)
        if any(q.get("queueArn") == queue.out("arn") for q in as_list(n.inputs.get("queues")))
    ]
    rules = [
        r
        for r in stack.of(RULE)
        if any(
            t.inputs.get("arn") == queue.out("arn") and t.inputs.get("rule") == r.out("name")
            for t in stack.of(TARGET)
        )
    ]
    if len(notes) + len(rules) != 1:
        yield _f(
            "trigger",
            queue,
            f"expected one intake, found {len(notes)} S3 notifications "
            f"and {len(rules)} EventBridge rules",
        )
    for n in notes:
        events = [e for q in as_list(n.inputs.get("queues")) for e in as_list(q.get("events"))]
        if "s3:ObjectCreated:*" not in events:
            yield _f("trigger", n, "notification does not announce every created object")
        if not any(b.id == n.inputs.get("bucket") for b in stack.of(BUCKET)):
            yield _f(
                "byo-no-clobber",
                n,
                "replaces the notification configuration of a bucket "
                "this stack does not own; use EventBridge for existing buckets",
            )
    for r in rules:
        pattern = json.loads(r.inputs.get("eventPattern", "{}"))
        if pattern.get("detail-type") != ["Object Created"] or pattern.get("source") != ["aws.s3"]:
            yield _f("trigger", r, "EventBridge rule does not match S3 Object Created events")


# -- function, identity, logs, alarms ----------------------------------------------------------
def lambda_concurrency(stack: Stack) -> Iterator[Finding]:
    fn = scanner_function(stack)
    reserved = fn.inputs.get("reservedConcurrentExecutions")
    cap = stack.one(ESM).get("scalingConfig", "maximumConcurrency")
    if not reserved or int(reserved) <= 0:
        yield _f("concurrency", fn, "no reserved concurrency: a burst can starve the account")
    if not cap:
        yield _f("concurrency", fn, "event source has no maximum concurrency")
    elif reserved and int(cap) > int(reserved):
        yield _f("concurrency", fn, "event source may invoke more copies than are reserved")


def iam_least_privilege(stack: Stack) -> Iterator[Finding]:
    for policy in stack.of(ROLE_POLICY):
        for s in statements(policy.json("policy")):
            if s.get("Effect") != "Allow":
                continue
            actions = as_list(s.get("Action"))
            resources = as_list(s.get("Resource"))
            for action in actions:
                if "*" in action:
                    yield _f("iam-wildcard", policy, f"wildcard action {action!r}")
            if "*" in resources:
                undocumented = [a for a in actions if a not in UNAVOIDABLE_WILDCARDS]
                if undocumented:
                    yield _f(
                        "iam-wildcard",
                        policy,
                        f"Resource '*' for {undocumented} (not a documented exception)",
                    )
            for res in resources:
                if res != "*" and (res.endswith(":*:*") or ":*:" in res.split("/")[0]):
                    yield _f(
                        "iam-wildcard", policy, f"resource {res!r} wildcards an account or region"
                    )


def manifest_objects(stack: Stack) -> str | None:
    """``arn:aws:s3:::<bucket>/<folder>/*`` of the function's s3:// model manifest, if any."""
    uri = env(stack).get("FAKEWATCH_MODEL_MANIFEST", "")
    if not uri.startswith("s3://") or "/" not in uri[len("s3://") :]:
        return None
    return f"arn:aws:s3:::{uri[len('s3://') :].rsplit('/', 1)[0]}/*"


def scanner_reads_only_its_buckets(stack: Stack) -> Iterator[Finding]:
    """S3 access only to the stack's buckets, plus read of the model manifest's folder."""
    role = scanner_role(stack)
    mine = {b.out("arn") for b in stack.of(BUCKET)}
    name = input_bucket_name(stack)
    if name:
        mine.add(f"arn:aws:s3:::{name}")
    model = manifest_objects(stack)
    for policy in stack.where(ROLE_POLICY, "role", role.id):
        for s in statements(policy.json("policy")):
            actions = [a for a in as_list(s.get("Action")) if a.startswith("s3:")]
            if s.get("Effect") != "Allow" or not actions:
                continue
            for res in as_list(s.get("Resource")):
                if res == model and actions == ["s3:GetObject"]:
                    continue
                if res.removesuffix("/*") not in mine:
                    yield _f("scanner-scope", policy, f"grants S3 access to {res}")


def log_retention(stack: Stack) -> Iterator[Finding]:
    groups = {g.out("name"): g for g in stack.of(LOG_GROUP)}
    for g in groups.values():
        if not g.inputs.get("retentionInDays"):
            yield _f("log-retention", g, "log group keeps logs forever")
    fn = scanner_function(stack)
    if fn.get("loggingConfig", "logGroup") not in groups:
        yield _f("log-retention", fn, "function logs to a group this stack does not retain")


def alarms(stack: Stack) -> Iterator[Finding]:
    fn = scanner_function(stack)
    queue = scan_queue(stack)
    dlq_arn = json.loads(queue.inputs.get("redrivePolicy") or "{}").get("deadLetterTargetArn")
    dlq = next((q for q in stack.of(QUEUE) if q.out("arn") == dlq_arn), None)
    wanted = {
        ("AWS/Lambda", "Errors", "FunctionName", fn.out("name")): "function errors",
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            dlq.out("name") if dlq else None,
        ): "dead-letter queue depth",
    }
    for (ns, metric, dim, value), what in wanted.items():
        found = [
            a
            for a in stack.of(ALARM)
            if a.inputs.get("namespace") == ns
            and a.inputs.get("metricName") == metric
            and a.get("dimensions", dim) == value
        ]
        if not found:
            yield _f(
                "alarms",
                f"stack {stack.outputs.get('functionName', '')}".strip(),
                f"no alarm on {what}",
            )
        elif not any(a.inputs.get("alarmActions") for a in found):
            yield _f("alarms", found[0], f"alarm on {what} notifies nobody")


def idempotency_ttl(stack: Stack) -> Iterator[Finding]:
    table_name = env(stack).get("FAKEWATCH_IDEMPOTENCY_TABLE")
    tables = [t for t in stack.of(TABLE) if t.out("name") == table_name]
    if not tables:
        yield _f("idempotency", "function", "FAKEWATCH_IDEMPOTENCY_TABLE names no table")
        return
    if not tables[0].get("ttl", "enabled"):
        yield _f("idempotency", tables[0], "idempotency records never expire (no TTL)")
    if not tables[0].get("serverSideEncryption", "enabled"):
        yield _f("idempotency", tables[0], "table is not encrypted with a KMS key")


def endpoint_config(stack: Stack, endpoint: Resource) -> Resource | None:
    name = endpoint.inputs.get("endpointConfigName")
    return next((c for c in stack.of(ENDPOINT_CONFIG) if c.out("name") == name), None)


def _scaling(stack: Stack, endpoint: Resource) -> tuple[Resource | None, list[Resource]]:
    prefix = f"endpoint/{endpoint.out('name')}/"
    target = next(
        (t for t in stack.of(SCALING_TARGET) if t.inputs.get("resourceId", "").startswith(prefix)),
        None,
    )
    if target is None:
        return None, []
    rid = target.inputs.get("resourceId")
    return target, [p for p in stack.of(SCALING_POLICY) if p.inputs.get("resourceId") == rid]


def _tracked_metrics(policies: list[Resource]) -> set[str]:
    config = "targetTrackingScalingPolicyConfiguration"
    return {
        str(p.get(config, "predefinedMetricSpecification", "predefinedMetricType"))
        for p in policies
    } | {
        str(p.get(config, "customizedMetricSpecification", "metricName"))
        for p in policies
        if p.get(config, "customizedMetricSpecification", "namespace") == "AWS/SageMaker"
    }


def gpu_autoscaling(stack: Stack) -> Iterator[Finding]:
    """Real-time endpoints track invocations and keep an instance; async ones track their
    backlog, and when they may scale to zero, an alarm brings the first instance back."""
    for ep in stack.of(ENDPOINT):
        config = endpoint_config(stack, ep)
        is_async = config is not None and bool(config.inputs.get("asyncInferenceConfig"))
        target, policies = _scaling(stack, ep)
        if target is None:
            yield _f("gpu-autoscaling", ep, "endpoint has no scalable target")
            continue
        metrics = _tracked_metrics(policies)
        if not is_async:
            if "SageMakerVariantInvocationsPerInstance" not in metrics:
                yield _f("gpu-autoscaling", ep, "no target tracking on invocations per instance")
            if int(target.inputs.get("minCapacity", 0)) < 1:
                yield _f("gpu-autoscaling", ep, "a real-time endpoint cannot scale to zero")
            continue
        if "ApproximateBacklogSizePerInstance" not in metrics:
            yield _f("gpu-autoscaling", ep, "async endpoint does not track its backlog")
        if int(target.inputs.get("minCapacity", 0)) == 0 and not _wakes_from_zero(
            stack, ep, policies
        ):
            yield _f(
                "gpu-autoscaling",
                ep,
                "scales to zero but no HasBacklogWithoutCapacity alarm scales it back up",
            )


def _wakes_from_zero(stack: Stack, endpoint: Resource, policies: list[Resource]) -> bool:
    steps = {
        p.out("arn")
        for p in policies
        if p.inputs.get("policyType") == "StepScaling"
        and any(
            int(a.get("scalingAdjustment", 0)) >= 1
            for a in as_list(p.get("stepScalingPolicyConfiguration", "stepAdjustments"))
        )
    }
    return any(
        a.inputs.get("namespace") == "AWS/SageMaker"
        and a.inputs.get("metricName") == "HasBacklogWithoutCapacity"
        and a.get("dimensions", "EndpointName") == endpoint.out("name")
        and a.inputs.get("comparisonOperator") == "GreaterThanOrEqualToThreshold"
        and float(a.inputs.get("threshold", 0)) == 1
        and set(as_list(a.inputs.get("alarmActions"))) & steps
        for a in stack.of(ALARM)
    )


def gpu_async_wiring(stack: Stack) -> Iterator[Finding]:
    """Async answers land under the results bucket's escalations/ and come back, announced on
    encrypted topics, through the scan queue (raw delivery), which admits exactly those topics."""
    for ep in stack.of(ENDPOINT):
        config = endpoint_config(stack, ep)
        output = dig(config.inputs if config else {}, "asyncInferenceConfig", "outputConfig")
        if not output:
            continue
        results = env(stack).get("FAKEWATCH_RESULTS_BUCKET")
        if output.get("s3OutputPath") != f"s3://{results}/escalations/":
            yield _f("gpu-async", ep, "answers are not written to <results>/escalations/")
        if env(stack).get("FAKEWATCH_ESCALATION_MODE") != "async":
            yield _f("gpu-async", ep, "the function does not know the endpoint is asynchronous")
        notify = output.get("notificationConfig") or {}
        for which in ("successTopic", "errorTopic"):
            yield from _topic_delivers_to_queue(stack, ep, which, notify.get(which))
        yield from _escalate_action(stack, ep, "sagemaker:InvokeEndpointAsync")


def _topic_delivers_to_queue(
    stack: Stack, ep: Resource, which: str, arn: str | None
) -> Iterator[Finding]:
    topic = next((t for t in stack.of(TOPIC) if t.out("arn") == arn), None)
    if topic is None:
        yield _f("gpu-async", ep, f"no {which} in this stack: answers would be lost")
        return
    if not topic.inputs.get("kmsMasterKeyId"):
        yield _f("gpu-async", topic, "notification topic is not encrypted")
    policy = [
        s for p in stack.where(TOPIC_POLICY, "arn", arn) for s in statements(p.json("policy"))
    ]
    if not any(
        s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy
        if s.get("Effect") == "Deny"
    ):
        yield _f("gpu-async", topic, "topic accepts publishes without TLS")
    queue = scan_queue(stack)
    subs = [
        s
        for s in stack.where(SUBSCRIPTION, "topic", arn)
        if s.inputs.get("protocol") == "sqs" and s.inputs.get("endpoint") == queue.out("arn")
    ]
    if not subs:
        yield _f("gpu-async", topic, "topic is not subscribed to the scan queue")
    elif not all(s.inputs.get("rawMessageDelivery") is True for s in subs):
        yield _f("gpu-async", topic, "subscription wraps the notification (raw delivery off)")
    sends = [
        s
        for p in stack.where(QUEUE_POLICY, "queueUrl", queue.out("url"))
        for s in statements(p.json("policy"))
        if s.get("Effect") == "Allow"
        and s.get("Principal") == {"Service": "sns.amazonaws.com"}
        and s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn") == arn
    ]
    if not sends:
        yield _f("gpu-async", topic, "the scan queue's policy does not admit this topic")


def _escalate_action(stack: Stack, ep: Resource, action: str) -> Iterator[Finding]:
    role = scanner_role(stack)
    granted = [
        s
        for p in stack.where(ROLE_POLICY, "role", role.id)
        for s in statements(p.json("policy"))
        if s.get("Effect") == "Allow" and ep.out("arn") in as_list(s.get("Resource"))
    ]
    actions = {a for s in granted for a in as_list(s.get("Action"))}
    if actions != {action}:
        yield _f(
            "gpu-async", ep, f"the scanner may {sorted(actions)} on the endpoint, not {action}"
        )


def endpoint_role_scope(stack: Stack) -> Iterator[Finding]:
    """The execution role's S3 access: its model data, and for async the uploads it is sent
    (read) and its answers under <results>/escalations/ (write). Nothing else."""
    roles = {r.out("arn"): r for r in stack.of(ROLE)}
    for model in stack.of("aws:sagemaker/model:Model"):
        role = roles.get(model.inputs.get("executionRoleArn"))
        if role is None:
            continue
        allowed = _endpoint_s3_grants(stack, model)
        for policy in stack.where(ROLE_POLICY, "role", role.id):
            for s in statements(policy.json("policy")):
                if s.get("Effect") != "Allow":
                    continue
                for action in (a for a in as_list(s.get("Action")) if a.startswith("s3:")):
                    for res in as_list(s.get("Resource")):
                        if (action, res) not in allowed:
                            yield _f("gpu-role-scope", policy, f"{action} on {res}")


def _endpoint_s3_grants(stack: Stack, model: Resource) -> set[tuple[str, str]]:
    allowed: set[tuple[str, str]] = set()
    data = model.get("primaryContainer", "modelDataUrl")
    if data:
        allowed.add(("s3:GetObject", f"arn:aws:s3:::{str(data).removeprefix('s3://')}"))
    is_async = any(
        c.inputs.get("asyncInferenceConfig")
        and c.get("productionVariants", 0, "modelName") == model.out("name")
        for c in stack.of(ENDPOINT_CONFIG)
    )
    if is_async:
        results = env(stack).get("FAKEWATCH_RESULTS_BUCKET")
        allowed.add(("s3:GetObject", f"arn:aws:s3:::{input_bucket_name(stack)}/*"))
        allowed.add(("s3:PutObject", f"arn:aws:s3:::{results}/escalations/*"))
    return allowed


RULES: dict[str, Check] = {
    "api-names": api_field_names,
    "s3-encryption": s3_encryption,
    "s3-public-access": s3_public_access_blocked,
    "s3-tls-only": s3_tls_only,
    "s3-lifecycle": s3_lifecycle,
    "s3-versioning": s3_input_versioning,
    "sqs-dlq": sqs_dlq_redrive,
    "sqs-policy": sqs_policy_scoped,
    "trigger": trigger_wiring,
    "concurrency": lambda_concurrency,
    "iam-wildcard": iam_least_privilege,
    "scanner-scope": scanner_reads_only_its_buckets,
    "log-retention": log_retention,
    "alarms": alarms,
    "idempotency": idempotency_ttl,
    "gpu-autoscaling": gpu_autoscaling,
    "gpu-async": gpu_async_wiring,
    "gpu-role-scope": endpoint_role_scope,
}


# -- rules that depend on what the user asked for ----------------------------------------------
def require_kms_decrypt(key_arn: str) -> Check:
    """The scanner can decrypt objects encrypted with ``key_arn`` (an existing bucket's key)."""

    def rule(stack: Stack) -> Iterator[Finding]:
        role = scanner_role(stack)
        for policy in stack.where(ROLE_POLICY, "role", role.id):
            for s in statements(policy.json("policy")):
                if (
                    s.get("Effect") == "Allow"
                    and "kms:Decrypt" in as_list(s.get("Action"))
                    and key_arn in as_list(s.get("Resource"))
                ):
                    return
        yield _f("kms-decrypt", role, f"scanner cannot decrypt with {key_arn}")

    return rule


def require_read_gating(stack: Stack) -> Iterator[Finding]:
    """Input reads denied until tagged allow; only the scanner writes fakewatch-* tags."""
    bucket = _bucket_named(stack, input_bucket_name(stack))
    if bucket is None:
        if not stack.outputs.get("readGatingStatements"):
            yield _f("read-gating", "input", "existing bucket: no gating statements exported")
        return
    role_arn = scanner_role(stack).out("arn")
    may_read = {role_arn} | endpoint_role_arns(stack)
    stmts = _policy_statements(stack, bucket)
    read = [
        s
        for s in stmts
        if s.get("Effect") == "Deny"
        and "s3:GetObject" in as_list(s.get("Action"))
        and s.get("Principal") == "*"
    ]
    gated = any(
        s["Condition"].get("StringNotEquals", {}).get(f"s3:ExistingObjectTag/{ACTION_TAG}") == ALLOW
        and role_arn
        in (exempt := set(as_list(s["Condition"].get("ArnNotEquals", {}).get("aws:PrincipalArn"))))
        and exempt <= may_read
        for s in read
        if "Condition" in s
    )
    if not gated:
        yield _f("read-gating", bucket, "reads of objects not tagged allow are not denied")
    tagging = [
        s
        for s in stmts
        if s.get("Effect") == "Deny"
        and {"s3:PutObjectTagging", "s3:PutObject"} <= set(as_list(s.get("Action")))
    ]
    guarded = any(
        s.get("Condition", {}).get("ForAnyValue:StringLike", {}).get("s3:RequestObjectTagKeys")
        == f"{TAG_PREFIX}*"
        and s["Condition"].get("ArnNotEquals", {}).get("aws:PrincipalArn") == role_arn
        for s in tagging
    )
    if not guarded:
        yield _f("read-gating", bucket, "principals other than the scanner may set fakewatch tags")


def endpoint_role_arns(stack: Stack) -> set[str]:
    """Roles only SageMaker may assume: the async endpoint reads uploads before the gate opens."""
    return {
        str(r.out("arn"))
        for r in stack.of(ROLE)
        if [s.get("Principal") for s in statements(r.json("assumeRolePolicy"))]
        == [{"Service": "sagemaker.amazonaws.com"}]
    }


def require_budget(stack: Stack) -> Iterator[Finding]:
    budgets = stack.of(BUDGET)
    if not budgets:
        yield _f("budget", "stack", "no monthly budget alarm")
    for b in budgets:
        if not b.inputs.get("notifications"):
            yield _f("budget", b, "budget notifies nobody")
