"""The GCP program with ``gpu.mode: async`` under Pulumi's mock engine: a Pub/Sub jobs topic
pushed with OIDC to a scale-to-zero Cloud Run GPU worker, a dead-letter path, an answers bucket
whose second Eventarc trigger brings answers back to the function, and every identity's grants.

Pulumi mocks stand in for the engine and GCP's control plane (no emulator exists for them). The
environment the stack gives the function and the worker is read back with the runtime's own
parsers (``fakewatch.settings``, ``fakewatch_gcp.escalation``, ``fakewatch_serve.config``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Resource, Stack, evaluate
from fakewatch_iac.policy import gcp as rules

REGION = "europe-west1"
IMAGE = "europe-west1-docker.pkg.dev/fakewatch-test/fakewatch/serve:0.1.0"
MODEL = "gs://fakewatch-models/heavy/v2/"
GPU = {
    "enabled": True,
    "mode": "async",
    "imageUri": IMAGE,
    "maxInstances": 3,
    "targetBacklogPerInstance": 4,
    "modelDataUrl": MODEL,
}
AGENT = "serviceAccount:service-424242424242@gcp-sa-pubsub.iam.gserviceaccount.com"


def config(artifact: Path, gpu: dict | None = None, **extra: str) -> dict[str, str]:
    return {
        "gcp:project": "fakewatch-test",
        "gcp:region": REGION,
        "fakewatch:artifactPath": str(artifact),
        "fakewatch:alertEmail": "secops@example.com",
        "fakewatch:resultsRetentionDays": "90",
        "fakewatch:gpu": json.dumps(gpu or GPU),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("gcp", tmp_path_factory.mktemp("gcp-async"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    return iac_deploy("gcp", config(zip_path), region=REGION)


@pytest.fixture(scope="module")
def byo_stack(zip_path: Path, iac_deploy) -> Stack:
    """An existing upload bucket, no worker model folder (the image brings its manifest)."""
    gpu = {k: v for k, v in GPU.items() if k != "modelDataUrl"}
    return iac_deploy(
        "gcp", config(zip_path, gpu, existingInputBucket="corp-uploads"), region=REGION
    )


def worker(s: Stack) -> Resource:
    found = rules.gpu_worker(s)
    assert found is not None
    return found


def push(s: Stack) -> Resource:
    return next(x for x in s.of(rules.SUBSCRIPTION) if x.get("pushConfig"))


def named(s: Stack, typ: str, suffix: str) -> Resource:
    return next(r for r in s.of(typ) if r.name.endswith(suffix))


# -- every rule, on every variant ---------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_async_stack_passes_rule(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](stack)) == []


def test_async_stack_on_an_existing_bucket_passes_every_rule(byo_stack: Stack) -> None:
    assert evaluate(byo_stack, rules.RULES) == []
    assert rules.input_bucket_name(byo_stack) == "corp-uploads"
    assert rules.worker_env(byo_stack)["FAKEWATCH_SERVE_URI_PREFIXES"] == "gs://corp-uploads/"
    assert "FAKEWATCH_MODEL_MANIFEST" not in rules.worker_env(byo_stack)


def _template(s: Stack, **changes: object) -> Stack:
    w = worker(s)
    return s.replace(w, template={**w.inputs["template"], **changes})


def _container(s: Stack, **changes: object) -> Stack:
    w = worker(s)
    container = {**w.inputs["template"]["containers"][0], **changes}
    return s.replace(w, template={**w.inputs["template"], "containers": [container]})


def _push_config(s: Stack, **changes: object) -> Stack:
    p = push(s)
    return s.replace(p, pushConfig={**p.inputs["pushConfig"], **changes})


def _worker_env(s: Stack, name: str, value: str) -> Stack:
    w = worker(s)
    envs = [
        {**e, "value": value} if e["name"] == name else e
        for e in w.inputs["template"]["containers"][0]["envs"]
    ]
    return _container(s, envs=envs)


def _drop(suffix: str) -> Callable[[Stack], Stack]:
    return lambda s: s.without(lambda r: r.name.endswith(suffix))


# Each weakening must be caught by the named rule, with the named reason.
WEAKENED: dict[str, tuple[str, str, Callable[[Stack], Stack]]] = {
    "public invoker": (
        "gpu-async",
        "admits unauthenticated callers",
        lambda s: s.replace(named(s, rules.RUN_IAM, "push-invoker"), member="allUsers"),
    ),
    "invoker IAM off": (
        "gpu-async",
        "invoker IAM is disabled",
        lambda s: s.replace(worker(s), invokerIamDisabled=True),
    ),
    "unknown ingress": (
        "gpu-async",
        "ingress 'bogus'",
        lambda s: s.replace(worker(s), ingress="bogus"),
    ),
    "push without OIDC": (
        "gpu-async",
        "pushes carry no OIDC token",
        lambda s: _push_config(s, oidcToken=None),
    ),
    "no dead-letter topic": (
        "gpu-async",
        "no dead-letter topic",
        lambda s: s.replace(push(s), deadLetterPolicy=None),
    ),
    "dead letters to nowhere": (
        "gpu-async",
        "nothing subscribes to the dead-letter topic",
        _drop("jobs-dlq-hold"),
    ),
    "agent may not dead-letter": (
        "gpu-async",
        "may not publish to the dead-letter topic",
        _drop("dlq-publisher"),
    ),
    "agent may not forward": (
        "gpu-async",
        "may not forward from this subscription",
        _drop("dlq-subscriber"),
    ),
    "no backoff": (
        "gpu-async",
        "no exponential retry policy",
        lambda s: s.replace(push(s), retryPolicy=None),
    ),
    "short ack deadline": (
        "gpu-async",
        "ack deadline below the worker's timeout",
        lambda s: s.replace(push(s), ackDeadlineSeconds=60),
    ),
    "warm instance": (
        "gpu-async",
        "async must scale to zero",
        lambda s: _template(s, scaling={"minInstanceCount": 1, "maxInstanceCount": 3}),
    ),
    "unbounded": (
        "gpu-async",
        "no maximum instance count",
        lambda s: _template(s, scaling={"minInstanceCount": 0}),
    ),
    "no gpu": (
        "gpu-async",
        "has no GPU limit",
        lambda s: _container(s, resources={"limits": {"cpu": "4"}}),
    ),
    "cpu throttled": (
        "gpu-async",
        "CPU is not always allocated",
        lambda s: _container(
            s,
            resources={
                **worker(s).inputs["template"]["containers"][0]["resources"],
                "cpuIdle": True,
            },
        ),
    ),
    "worker reads results": (
        "gpu-async",
        "the GPU worker holds roles/storage.objectCreator on fakewatch-results",
        lambda s: s.replace(
            named(s, rules.BUCKET_IAM, "worker-write-answers"),
            bucket=s.outputs["resultsBucket"],
        ),
    ),
    "worker administers input": (
        "gpu-async",
        "the GPU worker holds roles/storage.objectAdmin",
        lambda s: s.replace(
            named(s, rules.BUCKET_IAM, "worker-read-input"), role="roles/storage.objectAdmin"
        ),
    ),
    "worker writes anywhere": (
        "gpu-async",
        "may write outside answers/escalations/",
        lambda s: _worker_env(
            s, "FAKEWATCH_SERVE_ANSWER_PREFIXES", f"gs://{s.outputs['answersBucket']}/"
        ),
    ),
    "answers never come back": (
        "gpu-async",
        "no finalized trigger brings answers back",
        _drop("answers-trigger"),
    ),
    "function cannot queue": (
        "gpu-async",
        "the function may not publish jobs",
        _drop("scanner-publish-jobs"),
    ),
    "function cannot read answers": (
        "gpu-async",
        "the function may not read the answers",
        _drop("scanner-read-answers"),
    ),
    "function publishes elsewhere": (
        "gpu-async",
        "may publish to a topic it does not use",
        lambda s: s.replace(
            named(s, rules.TOPIC_IAM, "scanner-publish-jobs"), topic="someone-elses-topic"
        ),
    ),
    "vertex endpoint beside it": (
        "gpu-async",
        "a Vertex AI endpoint idles",
        lambda s: Stack(
            (*s.resources, Resource(rules.ENDPOINT, "stray", {"displayName": "x"})), s.outputs
        ),
    ),
    "no dead-job alert": (
        "logs-and-alerts",
        "no alert on dead-lettered escalation jobs",
        lambda s: s.without(lambda r: r.type == rules.ALERT and r.name.endswith("dead-jobs")),
    ),
    "someone else reads uploads": (
        "least-privilege",
        "someone other than the scanner can read uploads",
        lambda s: s.replace(
            named(s, rules.BUCKET_IAM, "worker-read-input"),
            member="serviceAccount:intruder@fakewatch-test.iam.gserviceaccount.com",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENED))
def test_rule_catches_a_weakened_async_stack(stack: Stack, case: str) -> None:
    rule, reason, weaken = WEAKENED[case]
    assert list(rules.RULES[rule](stack)) == []
    messages = [f.message for f in rules.RULES[rule](weaken(stack))]
    assert any(reason in m for m in messages), messages


def test_function_env_without_worker_is_caught(stack: Stack) -> None:
    no_worker = stack.without(lambda r: r is worker(stack))
    findings = list(rules.gpu_async(no_worker))
    assert [f.message for f in findings] == ["async escalation without a GPU worker to answer it"]


# -- the worker -----------------------------------------------------------------------------------
def test_worker_is_a_scale_to_zero_cloud_run_gpu_service(stack: Stack) -> None:
    w = worker(stack)
    template = w.inputs["template"]
    assert template["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert template["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 3}
    assert template["maxInstanceRequestConcurrency"] == 4  # gpu.targetBacklogPerInstance
    assert template["timeout"] == "600s"
    assert template["gpuZonalRedundancyDisabled"] is True
    container = template["containers"][0]
    assert container["image"] == IMAGE
    assert container["resources"] == {
        "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
        "cpuIdle": False,
        "startupCpuBoost": True,
    }
    assert w.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert w.inputs["invokerIamDisabled"] is False
    assert w.inputs["deletionProtection"] is False
    account = template["serviceAccount"]
    assert account.startswith("fakewatch-dev-gpu@")


def test_worker_speaks_the_serving_apps_contract(stack: Stack) -> None:
    """Port, health route and jobs route are the serving app's own, read from its modules."""
    from fakewatch_serve.app import JOBS_ROUTE
    from fakewatch_serve.contracts import contract_for

    contract = contract_for("vertex")
    container = worker(stack).inputs["template"]["containers"][0]
    assert container["ports"] == {"containerPort": contract.port}
    assert container["startupProbe"]["httpGet"] == {
        "path": contract.readiness_route,
        "port": contract.port,
    }
    assert push(stack).get("pushConfig", "pushEndpoint").endswith(JOBS_ROUTE)


def test_worker_environment_parses_as_the_serving_config(stack: Stack) -> None:
    from fakewatch_serve.config import ServeConfig

    env = rules.worker_env(stack)
    assert env["FAKEWATCH_SERVE_CONTRACT"] == "vertex"
    served = ServeConfig.build(env["FAKEWATCH_SERVE_CONTRACT"], env=env)
    answers, inputs = stack.outputs["answersBucket"], stack.outputs["inputBucket"]
    assert served.mode == "async"
    assert served.answer_prefixes == (f"gs://{answers}/escalations/",)
    assert served.engine.uri_prefixes == (f"gs://{inputs}/",)
    assert served.engine.manifest == f"{MODEL}manifest.json"


def test_worker_grants_are_exactly_input_read_answers_write_model_folder(stack: Stack) -> None:
    member = rules.worker_member(stack)
    grants = {
        (g.inputs["bucket"], g.inputs["role"], g.get("condition", "expression"))
        for g in stack.of(rules.BUCKET_IAM)
        if g.inputs["member"] == member
    }
    assert grants == {
        (stack.outputs["inputBucket"], "roles/storage.objectViewer", None),
        (stack.outputs["answersBucket"], "roles/storage.objectCreator", None),
        (
            "fakewatch-models",
            "roles/storage.objectViewer",
            'resource.name.startsWith("projects/_/buckets/fakewatch-models/objects/heavy/v2/")',
        ),
    }
    others = stack.of(rules.TOPIC_IAM) + stack.of(rules.PROJECT_IAM) + stack.of(rules.RUN_IAM)
    assert all(g.inputs["member"] != member for g in others)


# -- delivery -------------------------------------------------------------------------------------
def test_push_subscription_oidc_backoff_and_dead_letters(stack: Stack) -> None:
    sub = push(stack)
    url = worker(stack).out("uri")
    topics = {t.out("name"): t for t in stack.of(rules.TOPIC)}
    assert sub.inputs["topic"] == topics["fakewatch-dev-jobs"].id
    assert sub.get("pushConfig", "pushEndpoint") == f"{url}/jobs"
    oidc = sub.get("pushConfig", "oidcToken")
    assert oidc["audience"] == url
    assert oidc["serviceAccountEmail"].startswith("fakewatch-dev-push@")
    assert sub.inputs["ackDeadlineSeconds"] == 600
    assert sub.inputs["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert sub.inputs["deadLetterPolicy"] == {
        "deadLetterTopic": topics["fakewatch-dev-jobs-dlq"].id,
        "maxDeliveryAttempts": 10,
    }
    assert sub.inputs["expirationPolicy"] == {"ttl": ""}  # never deleted for inactivity
    hold = named(stack, rules.SUBSCRIPTION, "jobs-dlq-hold")
    assert hold.inputs["topic"] == topics["fakewatch-dev-jobs-dlq"].id
    assert hold.inputs["messageRetentionDuration"] == "604800s"


def test_only_the_push_account_invokes_the_worker(stack: Stack) -> None:
    email = push(stack).get("pushConfig", "oidcToken", "serviceAccountEmail")
    on_worker = [
        (g.inputs["role"], g.inputs["member"])
        for g in stack.of(rules.RUN_IAM)
        if g.inputs["name"] == worker(stack).out("name")
    ]
    assert on_worker == [("roles/run.invoker", f"serviceAccount:{email}")]
    token = stack.one("gcp:serviceaccount/iAMMember:IAMMember")
    assert token.inputs["role"] == "roles/iam.serviceAccountTokenCreator"
    assert token.inputs["member"] == AGENT
    assert token.inputs["serviceAccountId"] == f"projects/fakewatch-test/serviceAccounts/{email}"


def test_pubsub_agent_may_dead_letter_as_google_documents(stack: Stack) -> None:
    publisher = named(stack, rules.TOPIC_IAM, "dlq-publisher")
    assert (publisher.inputs["topic"], publisher.inputs["role"], publisher.inputs["member"]) == (
        "fakewatch-dev-jobs-dlq",
        "roles/pubsub.publisher",
        AGENT,
    )
    subscriber = stack.one(rules.SUBSCRIPTION_IAM)
    assert (subscriber.inputs["subscription"], subscriber.inputs["role"]) == (
        "fakewatch-dev-jobs-push",
        "roles/pubsub.subscriber",
    )
    assert subscriber.inputs["member"] == AGENT


# -- the function's side --------------------------------------------------------------------------
def test_function_queues_jobs_with_the_runtimes_own_settings(stack: Stack) -> None:
    from fakewatch.settings import Settings
    from fakewatch_gcp.escalation import escalation_from_settings

    settings = Settings.from_env(rules.env(stack))
    assert settings.escalation_mode == "async"
    assert settings.escalation_queue == stack.outputs["escalationQueue"]
    assert settings.answers_bucket == stack.outputs["answersBucket"]
    assert settings.escalation_endpoint is None  # no Vertex AI endpoint in async mode
    client = escalation_from_settings(settings, publisher=object(), project="fakewatch-test")
    queued = client.client  # ResilientEscalation around QueuedEscalation
    assert queued.queue.topic == "projects/fakewatch-test/topics/fakewatch-dev-jobs"
    assert queued.answers_uri == f"gs://{stack.outputs['answersBucket']}/escalations/"


def test_function_publishes_jobs_and_reads_answers_only(stack: Stack) -> None:
    member = rules.scanner_member(stack)
    topics = {g.inputs["topic"] for g in stack.of(rules.TOPIC_IAM) if g.inputs["member"] == member}
    assert topics == {"fakewatch-dev-results", "fakewatch-dev-jobs"}
    answers = {
        g.inputs["role"]
        for g in stack.of(rules.BUCKET_IAM)
        if g.inputs["member"] == member and g.inputs["bucket"] == stack.outputs["answersBucket"]
    }
    assert answers == {"roles/storage.objectViewer"}


def test_answers_bucket_and_second_trigger(stack: Stack) -> None:
    answers = next(
        b for b in stack.of(rules.BUCKET) if b.out("name") == stack.outputs["answersBucket"]
    )
    assert answers.inputs["uniformBucketLevelAccess"] is True
    assert answers.inputs["publicAccessPrevention"] == "enforced"
    deletes = [
        r["condition"]["age"]
        for r in answers.inputs["lifecycleRules"]
        if r["action"]["type"] == "Delete"
    ]
    assert deletes == [90]  # answers expire with the verdicts they complete
    trigger = stack.one(rules.EVENTARC_TRIGGER)
    fn = stack.one(rules.FUNCTION)
    assert trigger.inputs["matchingCriterias"] == [
        {"attribute": "type", "value": "google.cloud.storage.object.v1.finalized"},
        {"attribute": "bucket", "value": stack.outputs["answersBucket"]},
    ]
    assert trigger.get("destination", "cloudRunService") == {
        "service": fn.out("name"),
        "region": REGION,
    }
    assert trigger.inputs["serviceAccount"] == fn.get("eventTrigger", "serviceAccountEmail")
    assert trigger.inputs["location"] == REGION


def test_no_vertex_endpoint_and_the_exports(stack: Stack) -> None:
    assert stack.of(rules.ENDPOINT) == []
    assert stack.of("pulumi-python:dynamic:Resource") == []
    out = stack.outputs
    assert out["escalationQueue"] == "projects/fakewatch-test/topics/fakewatch-dev-jobs"
    assert out["gpuWorker"] == "fakewatch-dev-gpu-worker"
    assert out["gpuWorkerUrl"] == worker(stack).out("uri")
    assert out["deadLetterSubscription"].endswith("/subscriptions/fakewatch-dev-jobs-dlq-hold")
    assert "escalationEndpoint" not in out


def test_dead_letter_alert_watches_the_hold_subscription(stack: Stack) -> None:
    alert = named(stack, rules.ALERT, "dead-jobs")
    condition = alert.inputs["conditions"][0]["conditionThreshold"]
    assert 'subscription_id = "fakewatch-dev-jobs-dlq-hold"' in condition["filter"]
    assert condition["thresholdValue"] == 0


@pytest.mark.parametrize(
    ("gpu", "message"),
    [
        ({**GPU, "instanceType": "g2-standard-8"}, "gpu.instanceType does not apply"),
        ({**GPU, "acceleratorType": "NVIDIA_T4"}, "'NVIDIA_T4' is not a Cloud Run GPU"),
        ({**GPU, "minInstances": 1}, "gpu.minInstances must be 0 with gpu.mode: async on gcp"),
        ({**GPU, "maxInstances": 0}, "gpu.maxInstances must be between 1 and 100, got 0"),
        ({**GPU, "imageUri": "ghcr.io/me/serve:1"}, "must be in Artifact Registry"),
        ({**GPU, "modelDataUrl": "gs://fakewatch-models"}, "names a whole bucket"),
        ({**GPU, "modelDataUrl": "s3://m/heavy/"}, "must be a gs:// URL on gcp"),
    ],
)
def test_bad_async_config_stops_the_program(
    zip_path: Path, iac_deploy, gpu: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        iac_deploy("gcp", config(zip_path, gpu), region=REGION)
    assert message in str(err.value)
