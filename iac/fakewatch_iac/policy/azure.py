"""Azure rules: what "secure by default" means for the Blob -> Event Grid -> Functions scanner,
and, with ``gpu.mode: async``, for the queued GPU worker on Container Apps (``gpu-async``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fakewatch_iac.azure import roles
from fakewatch_iac.policy.core import (
    Check,
    Finding,
    Resource,
    Stack,
    api_field_names,
    as_list,
)

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
LIFECYCLE = "azure-native:storage:ManagementPolicy"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
APP = "azure-native:web:WebApp"
PLAN = "azure-native:web:AppServicePlan"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DEFINITION = "azure-native:authorization:RoleDefinition"
SYSTEM_TOPIC = "azure-native:eventgrid:SystemTopic"
SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
INSIGHTS = "azure-native:applicationinsights:Component"
WORKSPACE = "azure-native:operationalinsights:Workspace"
ALERT = "azure-native:monitor:MetricAlert"
BUDGET = "azure-native:consumption:Budget"
BLOB = "azure-native:storage:Blob"
QUEUE = "azure-native:storage:Queue"
CONTAINER_APP = "azure-native:app:ContainerApp"
ENVIRONMENT = "azure-native:app:ManagedEnvironment"
ML_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
WORKER_COMMAND = ["python", "-m", "fakewatch_azure.worker"]
RUNTIME_ONLY_ROLES = {
    roles.STORAGE_BLOB_DATA_OWNER,
    roles.STORAGE_QUEUE_DATA_CONTRIBUTOR,
    roles.STORAGE_TABLE_DATA_CONTRIBUTOR,
}


def _f(rule: str, r: Resource | str, message: str) -> Finding:
    return Finding(rule, r if isinstance(r, str) else f"{r.type.split(':')[-1]} {r.name}", message)


def app(stack: Stack) -> Resource:
    return stack.one(APP)


def app_settings(stack: Stack) -> dict[str, str]:
    return {s["name"]: s["value"] for s in as_list(app(stack).get("siteConfig", "appSettings"))}


def scanner_principal(stack: Stack) -> str:
    identity_id = as_list(app(stack).get("identity", "userAssignedIdentities"))[0]
    uami = next(r for r in stack.resources if r.id == identity_id)
    return str(uami.out("principalId"))


def _subject_container(sub: Resource) -> str:
    subject = str(sub.get("filter", "subjectBeginsWith", default=""))
    return subject.removeprefix("/blobServices/default/containers/").split("/", 1)[0]


def scan_subscription(stack: Stack) -> Resource:
    """The subscription that delivers uploads (not the async answers one)."""
    answers = app_settings(stack).get("FAKEWATCH_ANSWERS_BUCKET")
    found = [s for s in stack.of(SUBSCRIPTION) if _subject_container(s) != answers]
    if len(found) != 1:
        raise LookupError(f"expected exactly one upload subscription, found {len(found)}")
    return found[0]


def data_account_id(stack: Stack) -> str:
    """The account whose events trigger the scanner: its system topic's source, or (a topic the
    stack did not create) the account the subscription dead-letters to."""
    topics = stack.of(SYSTEM_TOPIC)
    if topics:
        return str(topics[0].inputs.get("source"))
    sub = scan_subscription(stack)
    return str(sub.get("deadLetterWithResourceIdentity", "deadLetterDestination", "resourceId"))


def data_account(stack: Stack) -> Resource:
    """The data account, when the stack declared it (not when it was brought)."""
    account_id = data_account_id(stack)
    return next(a for a in stack.of(ACCOUNT) if a.id == account_id)


def container_of(scope: str, account_id: str) -> str | None:
    """``x`` for ``<account>/blobServices/default/containers/x``, else None."""
    prefix = f"{account_id}/blobServices/default/containers/"
    return scope[len(prefix) :] if scope.startswith(prefix) else None


def covers(scope: str, resource: str) -> bool:
    """A role assigned at ``scope`` applies to ``resource`` (the scope or one of its parents)."""
    return resource == scope or resource.startswith(scope.rstrip("/") + "/")


def input_container(stack: Stack) -> str:
    return _subject_container(scan_subscription(stack))


def model_container(stack: Stack) -> str | None:
    uri = app_settings(stack).get("FAKEWATCH_MODEL_MANIFEST", "")
    return uri[len("az://") :].split("/", 1)[0] if uri.startswith("az://") else None


def runtime_accounts(stack: Stack) -> list[Resource]:
    host = app_settings(stack).get("AzureWebJobsStorage__accountName")
    return [a for a in stack.of(ACCOUNT) if a.out("name") == host]


def _role_guid(assignment: Resource) -> str:
    return str(assignment.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1]


def storage_secure(stack: Stack) -> Iterator[Finding]:
    runtime = {a.id for a in runtime_accounts(stack)}
    for a in stack.of(ACCOUNT):
        if a.inputs.get("enableHttpsTrafficOnly") is not True:
            yield _f("storage-tls", a, "HTTP (non-TLS) traffic is allowed")
        if a.inputs.get("minimumTlsVersion") != "TLS1_2":
            yield _f("storage-tls", a, "minimum TLS version is below 1.2")
        if a.inputs.get("allowBlobPublicAccess") is not False:
            yield _f("storage-public-access", a, "public blob access is allowed")
        if not a.get("encryption", "services", "blob", "enabled"):
            yield _f("storage-encryption", a, "blob encryption at rest is not set")
        if a.inputs.get("allowSharedKeyAccess") is not False and a.id not in runtime:
            yield _f("storage-shared-key", a, "shared keys bypass RBAC and read gating")
    for c in stack.of(CONTAINER):
        if c.inputs.get("publicAccess") not in ("None", None):
            yield _f("storage-public-access", c, "container allows anonymous reads")
    declared = [a for a in stack.of(ACCOUNT) if a.id == data_account_id(stack)]
    if not declared:  # a brought account: its lifecycle policy is its owner's (exported)
        return
    data = declared[0]
    rules = [
        r
        for p in stack.where(LIFECYCLE, "accountName", data.out("name"))
        for r in as_list(p.get("policy", "rules"))
    ]
    results = app_settings(stack).get("FAKEWATCH_RESULTS_BUCKET")
    if not any(
        f"{results}/" in as_list(r.get("definition", {}).get("filters", {}).get("prefixMatch"))
        for r in rules
    ):
        yield _f("storage-lifecycle", data, "results have no retention rule")


def function_secure(stack: Stack) -> Iterator[Finding]:
    a = app(stack)
    if a.inputs.get("httpsOnly") is not True:
        yield _f("function-tls", a, "function app accepts HTTP")
    if a.get("siteConfig", "minTlsVersion") != "1.2":
        yield _f("function-tls", a, "function app allows TLS below 1.2")
    if a.get("siteConfig", "ftpsState") != "Disabled":
        yield _f("function-tls", a, "FTP deployment is enabled")
    if a.get("identity", "type") != "UserAssigned":
        yield _f("identity", a, "function app has no managed identity")
    if not a.get("functionAppConfig", "scaleAndConcurrency", "maximumInstanceCount"):
        yield _f("concurrency", a, "no maximum instance count")
    plan = stack.one(PLAN)
    if plan.get("sku", "tier") != "FlexConsumption":
        yield _f("function-plan", plan, "not a Flex Consumption plan")


def trigger_wiring(stack: Stack) -> Iterator[Finding]:
    scan_subscription(stack)  # exactly one subscription delivers uploads
    fn_id = f"{app(stack).id}/functions/scan_blob"
    for sub in stack.of(SUBSCRIPTION):
        if (
            sub.get("destination", "endpointType") != "AzureFunction"
            or sub.get("destination", "resourceId") != fn_id
        ):
            yield _f("trigger", sub, "events do not go to the scan_blob function")
        if sub.get("filter", "includedEventTypes") != ["Microsoft.Storage.BlobCreated"]:
            yield _f("trigger", sub, "subscription is not limited to BlobCreated")
        if not str(sub.get("filter", "subjectBeginsWith", default="")).startswith(
            "/blobServices/default/containers/"
        ):
            yield _f("trigger", sub, "subscription is not limited to one container")
        if not sub.get(
            "deadLetterWithResourceIdentity", "deadLetterDestination", "blobContainerName"
        ):
            yield _f("dead-letter", sub, "undeliverable events are dropped (no dead-lettering)")
        if not sub.get("retryPolicy", "maxDeliveryAttempts"):
            yield _f("trigger", sub, "no retry policy")


def least_privilege(stack: Stack) -> Iterator[Finding]:
    """Container-scoped roles on the data account, only on the scanner's containers (and read
    on the model's); owner-level storage roles only on the runtime account."""
    me = scanner_principal(stack)
    data_id = data_account_id(stack)
    settings = app_settings(stack)
    mine = {
        input_container(stack),
        settings.get("FAKEWATCH_RESULTS_BUCKET"),
        settings.get("FAKEWATCH_QUARANTINE_BUCKET"),
        settings.get("FAKEWATCH_ANSWERS_BUCKET"),  # async: the worker's answers, read only
    }
    model = model_container(stack)
    runtime = {a.id for a in runtime_accounts(stack)}
    for d in stack.of(DEFINITION):
        for perm in as_list(d.inputs.get("permissions")):
            for action in as_list(perm.get("actions")) + as_list(perm.get("dataActions")):
                if "*" in action:
                    yield _f("iam-wildcard", d, f"wildcard action {action}")
    for a in stack.of(ASSIGNMENT):
        scope = str(a.inputs.get("scope", ""))
        guid = _role_guid(a)
        if a.inputs.get("principalId") != me:
            continue
        if scope == data_id:
            yield _f("scanner-scope", a, "scanner holds an account-wide role on the data account")
        container = container_of(scope, data_id)
        if container is not None and container not in mine:
            reads_model = container == model and guid == roles.STORAGE_BLOB_DATA_READER
            if not reads_model:
                yield _f("scanner-scope", a, f"scanner holds a role on container {container}")
        if guid in RUNTIME_ONLY_ROLES and scope not in runtime:
            yield _f("scanner-scope", a, "owner-level storage role outside the runtime account")
        if "/resourceGroups/" in scope and "/providers/" not in scope:
            yield _f("scanner-scope", a, "scanner holds a resource-group-wide role")


def read_gating_tags(stack: Stack) -> Iterator[Finding]:
    """Only the scanner's custom role may write blob index tags on the data account; nobody but
    the scanner (and the async GPU worker, which scores uploads before any verdict) reads
    untagged uploads."""
    me = scanner_principal(stack)
    worker = worker_principal(stack)
    tag_roles = {
        d.inputs.get("roleDefinitionId")
        for d in stack.of(DEFINITION)
        if any(
            f"{roles.BLOB}/tags/write" in as_list(p.get("dataActions"))
            for p in as_list(d.inputs.get("permissions"))
        )
    }
    data_id = data_account_id(stack)
    uploads = f"{data_id}/blobServices/default/containers/{input_container(stack)}"
    for a in stack.of(ASSIGNMENT):
        writes_tags = _role_guid(a) in tag_roles or _role_guid(a) == roles.STORAGE_BLOB_DATA_OWNER
        if (
            writes_tags
            and str(a.inputs.get("scope", "")).startswith(data_id)
            and (a.inputs.get("principalId") != me)
        ):
            yield _f("read-gating", a, "someone other than the scanner may write blob tags")
        if (
            _role_guid(a) == roles.STORAGE_BLOB_DATA_READER
            and covers(str(a.inputs.get("scope", "")), uploads)
            and a.inputs.get("condition") != roles.READ_GATING_CONDITION
            and (worker is None or a.inputs.get("principalId") != worker)
        ):
            yield _f("read-gating", a, "reader sees blobs the scanner has not allowed")


def logs_and_alerts(stack: Stack) -> Iterator[Finding]:
    for r in stack.of(WORKSPACE) + stack.of(INSIGHTS):
        if not r.inputs.get("retentionInDays"):
            yield _f("log-retention", r, "no retention period")
    for r in stack.of(INSIGHTS):
        if r.inputs.get("disableLocalAuth") is not True:
            yield _f("log-retention", r, "telemetry accepts instrumentation keys")
    metrics = {
        c.get("metricName")
        for a in stack.of(ALERT)
        for c in as_list(a.get("criteria", "allOf"))
        if a.inputs.get("actions")
    }
    for metric, what in (
        ("requests/failed", "function failures"),
        ("DeadLetteredCount", "dead-lettered events"),
    ):
        if metric not in metrics:
            yield _f("alarms", "stack", f"no alert on {what}")


def worker_app(stack: Stack) -> Resource | None:
    """The queued escalation worker (gpu.mode async): the Container App."""
    apps = stack.of(CONTAINER_APP)
    return apps[0] if apps else None


def worker_principal(stack: Stack) -> str | None:
    worker = worker_app(stack)
    if worker is None:
        return None
    ids = as_list(worker.get("identity", "userAssignedIdentities"))
    uami = next((r for r in stack.resources if ids and r.id == ids[0]), None)
    return str(uami.out("principalId")) if uami is not None else None


def worker_settings(stack: Stack) -> dict[str, str]:
    worker = worker_app(stack)
    containers = as_list(worker.get("template", "containers")) if worker else []
    return {e["name"]: e.get("value", "") for c in containers for e in as_list(c.get("env"))}


def jobs_queue(stack: Stack) -> Resource | None:
    url = app_settings(stack).get("FAKEWATCH_ESCALATION_QUEUE", "")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return next((q for q in stack.of(QUEUE) if name and q.out("name") == name), None)


def gpu_async(stack: Stack) -> Iterator[Finding]:
    """gpu.mode async: a worker on a serverless GPU profile that scales from zero on the jobs
    queue with its managed identity, cannot be called, holds its few roles and nothing else;
    the function may add jobs to that queue and read the answers, which reach it by Event Grid."""
    worker = worker_app(stack)
    asked = app_settings(stack).get("FAKEWATCH_ESCALATION_MODE") == "async"
    if worker is None:
        if asked:
            yield _f("gpu-async", "stack", "async escalation without a GPU worker to answer it")
        return
    if not asked:
        yield _f("gpu-async", worker, "a GPU worker, but the function does not queue jobs")
    queue = jobs_queue(stack)
    if queue is None:
        yield _f("gpu-async", worker, "the function's job queue is not in the stack")
    yield from _worker_platform(stack, worker)
    yield from _worker_scaling(stack, worker, queue)
    yield from _worker_roles(stack, worker, queue)
    yield from _scanner_queue_side(stack, queue)
    for endpoint in stack.of(ML_ENDPOINT):
        yield _f("gpu-async", endpoint, "an Azure ML endpoint idles beside the queued worker")


def _worker_platform(stack: Stack, worker: Resource) -> Iterator[Finding]:
    environment = next(
        (e for e in stack.of(ENVIRONMENT) if e.id == worker.inputs.get("managedEnvironmentId")),
        None,
    )
    profiles = {
        p.get("name"): str(p.get("workloadProfileType"))
        for p in as_list(environment.inputs.get("workloadProfiles") if environment else None)
    }
    if not profiles.get(worker.inputs.get("workloadProfileName"), "").startswith(
        "Consumption-GPU-"
    ):
        yield _f("gpu-async", worker, "the worker does not run on a serverless GPU profile")
    if worker.get("configuration", "ingress"):
        yield _f("gpu-async", worker, "the worker has ingress: it pulls jobs, nothing calls it")
    if worker.get("configuration", "secrets"):
        yield _f("gpu-async", worker, "the worker holds secrets: it authenticates by identity")
    for registry in as_list(worker.get("configuration", "registries")):
        if not registry.get("identity") or registry.get("passwordSecretRef"):
            yield _f("gpu-async", worker, "the image is pulled with a password, not AcrPull")
    if worker.get("identity", "type") != "UserAssigned":
        yield _f("gpu-async", worker, "the worker has no user-assigned identity")
    container: dict[str, Any] = next(iter(as_list(worker.get("template", "containers"))), {})
    if container.get("command") != WORKER_COMMAND:
        yield _f("gpu-async", worker, f"the worker runs {container.get('command')!r}")


def _worker_scaling(stack: Stack, worker: Resource, queue: Resource | None) -> Iterator[Finding]:
    scale = worker.get("template", "scale") or {}
    if scale.get("minReplicas") != 0:
        yield _f("gpu-async", worker, f"min replicas {scale.get('minReplicas')}: async scales to 0")
    if not scale.get("maxReplicas"):
        yield _f("gpu-async", worker, "no maximum replica count on the GPU worker")
    identities = set(as_list(worker.get("identity", "userAssignedIdentities")))
    account = stack.of(ACCOUNT)
    names = {a.out("name") for a in account} | {data_account_id(stack).rsplit("/", 1)[-1]}
    rules = [r.get("custom") or {} for r in as_list(scale.get("rules"))]
    if not any(
        r.get("type") == "azure-queue"
        and queue is not None
        and (r.get("metadata") or {}).get("queueName") == queue.out("name")
        and (r.get("metadata") or {}).get("accountName") in names
        and (r.get("metadata") or {}).get("queueLength")
        and r.get("identity") in identities
        and not r.get("auth")
        for r in rules
    ):
        yield _f(
            "gpu-async", worker, "no azure-queue rule on the jobs queue with the worker's identity"
        )


def _worker_roles(stack: Stack, worker: Resource, queue: Resource | None) -> Iterator[Finding]:
    principal = worker_principal(stack)
    data_id = data_account_id(stack)
    settings = app_settings(stack)
    inp, answers = input_container(stack), settings.get("FAKEWATCH_ANSWERS_BUCKET")
    wanted = {
        (str(queue.id) if queue else "", roles.STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR),
        (str(queue.id) if queue else "", roles.STORAGE_QUEUE_DATA_READER),
        (f"{data_id}/blobServices/default/containers/{inp}", roles.STORAGE_BLOB_DATA_READER),
        (
            f"{data_id}/blobServices/default/containers/{answers}",
            roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        ),
    }
    model = worker_settings(stack).get("FAKEWATCH_MODEL_MANIFEST", "")
    if model.startswith("az://"):
        container = model[len("az://") :].split("/", 1)[0]
        wanted.add(
            (
                f"{data_id}/blobServices/default/containers/{container}",
                roles.STORAGE_BLOB_DATA_READER,
            )
        )
    found = set()
    for a in stack.of(ASSIGNMENT):
        if a.inputs.get("principalId") != principal:
            continue
        pair = (str(a.inputs.get("scope", "")), _role_guid(a))
        registry = "/providers/Microsoft.ContainerRegistry/registries/" in pair[0]
        if pair in wanted:
            found.add(pair)
        elif not (registry and pair[1] == roles.ACR_PULL):
            yield _f("worker-scope", a, f"the GPU worker holds role {pair[1]} on {pair[0]}")
    for scope, role in sorted(wanted - found):
        yield _f("worker-scope", worker, f"the GPU worker lacks role {role} on {scope}")
    env = worker_settings(stack)
    if env.get("FAKEWATCH_SERVE_URI_PREFIXES") != f"az://{inp}/":
        yield _f("worker-scope", worker, "the worker may read outside the input container")
    if env.get("FAKEWATCH_SERVE_ANSWER_PREFIXES") != f"az://{answers}/escalations/":
        yield _f("worker-scope", worker, "the worker may write outside answers/escalations/")
    if env.get("FAKEWATCH_ESCALATION_QUEUE") != settings.get("FAKEWATCH_ESCALATION_QUEUE"):
        yield _f("gpu-async", worker, "the worker drains another queue than the function fills")


def _scanner_queue_side(stack: Stack, queue: Resource | None) -> Iterator[Finding]:
    me = scanner_principal(stack)
    data_id = data_account_id(stack)
    answers = app_settings(stack).get("FAKEWATCH_ANSWERS_BUCKET")
    held = {
        (str(a.inputs.get("scope", "")), _role_guid(a))
        for a in stack.of(ASSIGNMENT)
        if a.inputs.get("principalId") == me
    }
    for scope, role in held:
        if role == roles.STORAGE_QUEUE_DATA_MESSAGE_SENDER and (
            queue is None or scope != str(queue.id)
        ):
            yield _f("gpu-async", "scanner", f"the function may send to {scope}")
    if queue is not None and (str(queue.id), roles.STORAGE_QUEUE_DATA_MESSAGE_SENDER) not in held:
        yield _f("gpu-async", "scanner", "the function may not add jobs to the queue")
    answers_scope = f"{data_id}/blobServices/default/containers/{answers}"
    if (answers_scope, roles.STORAGE_BLOB_DATA_READER) not in held:
        yield _f("gpu-async", "scanner", "the function may not read the answers")
    prefix = f"/blobServices/default/containers/{answers}/blobs/escalations/"
    if not any(s.get("filter", "subjectBeginsWith") == prefix for s in stack.of(SUBSCRIPTION)):
        yield _f("gpu-async", "stack", "no Event Grid subscription brings answers back")


RULES: dict[str, Check] = {
    "api-names": api_field_names,
    "storage": storage_secure,
    "function": function_secure,
    "trigger": trigger_wiring,
    "least-privilege": least_privilege,
    "read-gating": read_gating_tags,
    "logs-and-alerts": logs_and_alerts,
    "gpu-async": gpu_async,
}


def require_budget(stack: Stack) -> Iterator[Finding]:
    budgets = stack.of(BUDGET)
    if not budgets:
        yield _f("budget", "stack", "no monthly budget")
    for b in budgets:
        if not any(n.get("contactEmails") for n in (b.inputs.get("notifications") or {}).values()):
            yield _f("budget", b, "budget notifies nobody")
