"""Queued escalation on GCP (``gpu.mode: async``): Pub/Sub jobs for a scale-to-zero GPU worker.

Vertex AI has no asynchronous inference, so the scale-to-zero mode is built from parts
(``fakewatch_gcp.jobs`` and ``fakewatch_serve.jobs`` are the runtime side):

- the **jobs topic**: the function publishes one job per grey-zone upload
  (``FAKEWATCH_ESCALATION_QUEUE``);
- the **worker**: the serving image as a Cloud Run service with one GPU and
  ``min_instance_count`` 0. A GPU requires CPU always allocated (``cpu_idle: false``), so an
  instance is billed from start to shutdown, and Cloud Run removes it when no job arrives. Its
  ingress is internal (Pub/Sub push in the same project counts as internal) and it admits only
  IAM-authenticated calls: nobody but the push account holds ``roles/run.invoker`` on it;
- a **push subscription** to ``<worker URL>/jobs`` carrying an OIDC token of a push account that
  may invoke the worker and nothing else; the worker answers 204 when a job is done and 503 while
  it starts, so Pub/Sub redelivers with exponential backoff. The acknowledgement deadline equals
  the worker's request timeout (Pub/Sub's maximum, 600 s) so a job is not redelivered while an
  instance still works on it. After ``MAX_DELIVERY_ATTEMPTS`` the job goes to a **dead-letter
  topic**, whose own subscription keeps it for 7 days; the Pub/Sub service agent gets publisher on
  that topic and subscriber on the jobs subscription, as Google documents;
- the **worker's account** reads the input bucket (object viewer) and writes the answers bucket
  (object creator), plus, with ``gpu.modelDataUrl``, reads its model folder; nothing else.

The answers bucket and the second Eventarc trigger that brings answers back to the function are
declared by :class:`~fakewatch_iac.gcp.scanner.GcpScanner`; the grants the function needs here
come from :meth:`QueuedEscalation.grant_scanner`.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from fakewatch_iac import envvars
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.gcp.identity import account_id, manifest_condition
from fakewatch_iac.gcp.vertex import HEALTH_ROUTE, SERVING_PORT
from fakewatch_iac.limits import CLOUD_RUN_GPUS
from fakewatch_iac.naming import physical

JOBS_ROUTE = "/jobs"  # fakewatch_serve.app.JOBS_ROUTE
SERVE_CONTRACT = "vertex"  # fakewatch_serve.contracts: port 8080, health route /health
WORKER_TIMEOUT_S = 600  # Cloud Run request timeout = the push subscription's ack deadline (max)
MIN_BACKOFF = "10s"
MAX_BACKOFF = "600s"
MAX_DELIVERY_ATTEMPTS = 10  # about 40 minutes of backoff before a job is dead-lettered
DEAD_LETTER_RETENTION = "604800s"  # 7 days, Pub/Sub's maximum
STARTUP_PERIOD_S = 10
STARTUP_FAILURES = 30  # the model may load for up to 5 minutes before Cloud Run gives up


def pubsub_agent(project_number: str) -> str:
    """The Pub/Sub service agent, which signs push tokens and moves dead letters."""
    return f"serviceAccount:service-{project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"


class QueuedEscalation(pulumi.ComponentResource):
    """Jobs topic, dead-letter topic, the Cloud Run GPU worker, and the push subscription."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        project: str,
        input_bucket: pulumi.Input[str],
        answers_bucket: pulumi.Input[str],
        labels: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:QueuedEscalation", name, None, opts)
        self.label = name
        self.project = project
        child = pulumi.ResourceOptions(parent=self)
        number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        self.agent = number.apply(pubsub_agent)
        self.topic = gcp.pubsub.Topic(
            f"{name}-jobs", project=project, name=physical(cfg, "jobs"), labels=labels, opts=child
        )
        self.dead_letter = gcp.pubsub.Topic(
            f"{name}-jobs-dlq",
            project=project,
            name=physical(cfg, "jobs-dlq"),
            labels=labels,
            opts=child,
        )
        # A topic without a subscription drops what is published to it: keep dead letters here.
        self.dead_letter_hold = gcp.pubsub.Subscription(
            f"{name}-jobs-dlq-hold",
            project=project,
            name=physical(cfg, "jobs-dlq-hold"),
            topic=self.dead_letter.id,
            message_retention_duration=DEAD_LETTER_RETENTION,
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            labels=labels,
            opts=child,
        )
        self.worker_account = gcp.serviceaccount.Account(
            f"{name}-worker-account",
            project=project,
            account_id=account_id(cfg, "gpu"),
            display_name="fakewatch GPU worker (queued escalation)",
            opts=child,
        )
        self.push_account = gcp.serviceaccount.Account(
            f"{name}-push-account",
            project=project,
            account_id=account_id(cfg, "push"),
            display_name="fakewatch jobs push subscription (invokes the GPU worker)",
            opts=child,
        )
        grants = self._grant_worker(cfg, input_bucket, answers_bucket)
        self.service = self._worker(cfg, input_bucket, answers_bucket, labels, grants)
        self.subscription = self._subscribe(cfg, labels)
        self.register_outputs({"topic": self.topic.id, "worker": self.service.uri})

    # -- the worker -------------------------------------------------------------------------------
    def _grant_worker(
        self,
        cfg: ScannerConfig,
        input_bucket: pulumi.Input[str],
        answers_bucket: pulumi.Input[str],
    ) -> list[pulumi.Resource]:
        child = pulumi.ResourceOptions(parent=self)
        member = self.worker_account.member
        grants: list[pulumi.Resource] = [
            gcp.storage.BucketIAMMember(
                f"{self.label}-worker-read-input",
                bucket=input_bucket,
                role="roles/storage.objectViewer",
                member=member,
                opts=child,
            ),
            gcp.storage.BucketIAMMember(
                f"{self.label}-worker-write-answers",
                bucket=answers_bucket,
                role="roles/storage.objectCreator",
                member=member,
                opts=child,
            ),
        ]
        ref = cfg.gpu.worker_manifest
        if ref is not None:
            grants.append(
                gcp.storage.BucketIAMMember(
                    f"{self.label}-worker-read-model",
                    bucket=ref.bucket,
                    role="roles/storage.objectViewer",
                    member=member,
                    condition=gcp.storage.BucketIAMMemberConditionArgs(
                        title="fakewatch-worker-model-folder",
                        description="the GPU worker reads its model manifest and model only",
                        expression=manifest_condition(ref),
                    ),
                    opts=child,
                )
            )
        return grants

    def _worker(
        self,
        cfg: ScannerConfig,
        input_bucket: pulumi.Input[str],
        answers_bucket: pulumi.Input[str],
        labels: dict[str, str],
        grants: list[pulumi.Resource],
    ) -> gcp.cloudrunv2.Service:
        gpu = cfg.gpu
        accelerator = str(gpu.accelerator_type)
        cpu, memory = CLOUD_RUN_GPUS[accelerator]
        env = worker_environment(cfg, input_bucket, answers_bucket)
        run = gcp.cloudrunv2
        return run.Service(
            f"{self.label}-worker",
            project=self.project,
            location=cfg.region,
            name=physical(cfg, "gpu-worker", 49),
            description="fakewatch GPU worker: answers queued escalation jobs (POST /jobs)",
            ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
            invoker_iam_disabled=False,
            deletion_protection=False,
            template=run.ServiceTemplateArgs(
                service_account=self.worker_account.email,
                timeout=f"{WORKER_TIMEOUT_S}s",
                max_instance_request_concurrency=gpu.target_backlog_per_instance,
                node_selector=run.ServiceTemplateNodeSelectorArgs(accelerator=accelerator),
                gpu_zonal_redundancy_disabled=True,
                scaling=run.ServiceTemplateScalingArgs(
                    min_instance_count=0, max_instance_count=gpu.max_instances
                ),
                containers=[
                    run.ServiceTemplateContainerArgs(
                        name="worker",
                        image=gpu.image_uri,
                        ports=run.ServiceTemplateContainerPortsArgs(container_port=SERVING_PORT),
                        envs=[
                            run.ServiceTemplateContainerEnvArgs(name=k, value=v)
                            for k, v in sorted(env.items())
                        ],
                        resources=run.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1"},
                            cpu_idle=False,  # a GPU needs CPU always allocated
                            startup_cpu_boost=True,
                        ),
                        startup_probe=run.ServiceTemplateContainerStartupProbeArgs(
                            http_get=run.ServiceTemplateContainerStartupProbeHttpGetArgs(
                                path=HEALTH_ROUTE, port=SERVING_PORT
                            ),
                            period_seconds=STARTUP_PERIOD_S,
                            timeout_seconds=5,
                            failure_threshold=STARTUP_FAILURES,
                        ),
                    )
                ],
            ),
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )

    # -- delivery ---------------------------------------------------------------------------------
    def _subscribe(self, cfg: ScannerConfig, labels: dict[str, str]) -> gcp.pubsub.Subscription:
        child = pulumi.ResourceOptions(parent=self)
        invoker = gcp.cloudrunv2.ServiceIamMember(
            f"{self.label}-push-invoker",
            project=self.project,
            location=cfg.region,
            name=self.service.name,
            role="roles/run.invoker",
            member=self.push_account.member,
            opts=child,
        )
        # Pub/Sub mints the push OIDC token as the push account (needed explicitly in projects
        # created before April 2021); granted on that one account, not the project.
        token = gcp.serviceaccount.IAMMember(
            f"{self.label}-push-token",
            service_account_id=self.push_account.name,
            role="roles/iam.serviceAccountTokenCreator",
            member=self.agent,
            opts=child,
        )
        dead_letter_publisher = gcp.pubsub.TopicIAMMember(
            f"{self.label}-dlq-publisher",
            project=self.project,
            topic=self.dead_letter.name,
            role="roles/pubsub.publisher",
            member=self.agent,
            opts=child,
        )
        subscription = gcp.pubsub.Subscription(
            f"{self.label}-jobs-push",
            project=self.project,
            name=physical(cfg, "jobs-push"),
            topic=self.topic.id,
            ack_deadline_seconds=WORKER_TIMEOUT_S,
            push_config=gcp.pubsub.SubscriptionPushConfigArgs(
                push_endpoint=self.service.uri.apply(lambda u: f"{u}{JOBS_ROUTE}"),
                oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
                    service_account_email=self.push_account.email, audience=self.service.uri
                ),
            ),
            retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff=MIN_BACKOFF, maximum_backoff=MAX_BACKOFF
            ),
            dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=self.dead_letter.id,
                max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
            ),
            expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            labels=labels,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[invoker, token, dead_letter_publisher]
            ),
        )
        gcp.pubsub.SubscriptionIAMMember(
            f"{self.label}-dlq-subscriber",
            project=self.project,
            subscription=subscription.name,
            role="roles/pubsub.subscriber",
            member=self.agent,
            opts=child,
        )
        return subscription

    # -- the function's side -----------------------------------------------------------------------
    def grant_scanner(
        self, member: pulumi.Input[str], answers_bucket: pulumi.Input[str]
    ) -> list[pulumi.Resource]:
        """Publish jobs (this topic only) and read answers (that bucket only)."""
        child = pulumi.ResourceOptions(parent=self)
        return [
            gcp.pubsub.TopicIAMMember(
                f"{self.label}-scanner-publish-jobs",
                project=self.project,
                topic=self.topic.name,
                role="roles/pubsub.publisher",
                member=member,
                opts=child,
            ),
            gcp.storage.BucketIAMMember(
                f"{self.label}-scanner-read-answers",
                bucket=answers_bucket,
                role="roles/storage.objectViewer",
                member=member,
                opts=child,
            ),
        ]


def worker_environment(
    cfg: ScannerConfig, input_bucket: pulumi.Input[str], answers_bucket: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """What the serving image reads in its queued mode (``fakewatch_serve.config``)."""
    env: dict[str, pulumi.Input[str]] = {
        envvars.SERVE_CONTRACT: SERVE_CONTRACT,
        envvars.SERVE_MODE: "async",
        envvars.SERVE_URI_PREFIXES: pulumi.Output.concat("gs://", input_bucket, "/"),
        envvars.SERVE_ANSWER_PREFIXES: pulumi.Output.concat(
            "gs://", answers_bucket, "/", envvars.ANSWER_PREFIX
        ),
        envvars.LOG_LEVEL: cfg.log_level,
    }
    if cfg.gpu.worker_manifest is not None:
        env[envvars.MODEL_MANIFEST] = cfg.gpu.worker_manifest.uri
    return env
