"""GcpScanner: everything bucket-triggered scanning needs on GCP, from one validated config.

With ``gpu.enabled`` the escalation endpoint is either a Vertex AI endpoint (``realtime``) or,
with ``gpu.mode: async``, a job queue and a Cloud Run GPU worker that scales to zero
(:mod:`fakewatch_iac.gcp.queued`), whose answers land in an answers bucket of their own and reach
the same function through a second Eventarc trigger.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from fakewatch_iac import envvars
from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.gcp.buckets import GcsSpec, SecureGcsBucket
from fakewatch_iac.gcp.function import ScannerFunction, answers_trigger
from fakewatch_iac.gcp.identity import ScannerIdentities
from fakewatch_iac.gcp.monitoring import Observability
from fakewatch_iac.gcp.queued import QueuedEscalation
from fakewatch_iac.gcp.vertex import VertexEndpoint
from fakewatch_iac.naming import labels, physical


class GcpScanner(pulumi.ComponentResource):
    """Buckets, results topic, service accounts, function + Eventarc trigger, log bucket,
    alert policies, optional budget, and the optional escalation endpoint: Vertex AI
    (realtime) or a queued Cloud Run GPU worker (async)."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        artifact: Artifact,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:Scanner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        project = str(cfg.project)
        lab = labels(cfg)

        def bucket(part: str, spec: GcsSpec) -> SecureGcsBucket:
            return SecureGcsBucket(
                f"{name}-{part}", spec, project=project, location=cfg.region, labels=lab, opts=child
            )

        if cfg.existing_input_bucket:
            self.input_bucket: SecureGcsBucket | None = None
            self.input_name: pulumi.Output[str] = pulumi.Output.from_input(
                cfg.existing_input_bucket
            )
        else:
            self.input_bucket = bucket("input", GcsSpec(versioned=True))
            self.input_name = self.input_bucket.name
        self.results = bucket("results", GcsSpec(expire_days=cfg.results_retention_days))
        self.quarantine = bucket("quarantine", GcsSpec(versioned=True))
        self.source = bucket("source", GcsSpec(expire_days=None))
        # async: the worker's answers, in a bucket of their own so that its finalized events
        # are answers only; they expire with the verdicts they complete.
        self.answers: SecureGcsBucket | None = None
        if cfg.gpu.is_async:
            self.answers = bucket("answers", GcsSpec(expire_days=cfg.results_retention_days))
        self.topic = gcp.pubsub.Topic(
            f"{name}-results",
            project=project,
            name=physical(cfg, "results"),
            labels=lab,
            message_retention_duration="604800s",
            opts=child,
        )
        self.identities = ScannerIdentities(f"{name}-identity", cfg, project=project, opts=child)
        grants: list[pulumi.Resource] = list(
            self.identities.grant_buckets(
                input_bucket=self.input_name,
                results_bucket=self.results.name,
                quarantine_bucket=self.quarantine.name,
            )
        )
        if cfg.model_manifest is not None and cfg.model_manifest.kind == "store":
            grants.append(self.identities.grant_manifest(cfg.model_manifest))
        gcp.pubsub.TopicIAMMember(
            f"{name}-results-publisher",
            project=project,
            topic=self.topic.name,
            role="roles/pubsub.publisher",
            member=self.identities.scanner.member,
            opts=child,
        )
        self.endpoint: VertexEndpoint | None = None
        self.queued: QueuedEscalation | None = None
        if self.answers is not None:
            self.queued = QueuedEscalation(
                f"{name}-queued",
                cfg,
                project=project,
                input_bucket=self.input_name,
                answers_bucket=self.answers.name,
                labels=lab,
                opts=child,
            )
            grants += self.queued.grant_scanner(self.identities.scanner.member, self.answers.name)
        elif cfg.gpu.enabled:
            self.endpoint = VertexEndpoint(
                f"{name}-gpu", cfg, project=project, labels=lab, opts=child
            )
            gcp.vertex.AiEndpointIamMember(
                f"{name}-gpu-user",
                project=project,
                location=cfg.region,
                endpoint=self.endpoint.endpoint.name,
                role="roles/aiplatform.user",
                member=self.identities.scanner.member,
                opts=child,
            )
        self.function = ScannerFunction(
            f"{name}-scanner",
            cfg,
            project=project,
            artifact=artifact,
            source_bucket=self.source.name,
            input_bucket=self.input_name,
            runtime_account=self.identities.scanner.email,
            trigger_account=self.identities.trigger,
            environment=self._environment(cfg),
            labels=lab,
            depends_on=grants,
            opts=child,
        )
        self.answers_trigger: gcp.eventarc.Trigger | None = None
        if self.answers is not None:
            self.answers_trigger = answers_trigger(
                f"{name}-answers-trigger",
                cfg,
                project=project,
                function=self.function.function,
                answers_bucket=self.answers.name,
                trigger_account=self.identities.trigger,
                labels=lab,
                parent=self,
            )
        self.observability = Observability(
            f"{name}-ops",
            cfg,
            project=project,
            function_name=self.function.name,
            dead_letter_subscription=(
                self.queued.dead_letter_hold.name if self.queued is not None else None
            ),
            opts=child,
        )
        self.register_outputs({"input_bucket": self.input_name})

    def _environment(self, cfg: ScannerConfig) -> dict[str, pulumi.Input[str]]:
        env: dict[str, pulumi.Input[str]] = {
            envvars.RESULTS_BUCKET: self.results.name,
            envvars.QUARANTINE_BUCKET: self.quarantine.name,
            envvars.RESULTS_PREFIX: envvars.DEFAULT_RESULTS_PREFIX,
            envvars.AUDIT_PREFIX: envvars.DEFAULT_AUDIT_PREFIX,
            envvars.POLICY: cfg.policy.render(escalate=cfg.gpu.enabled),
            envvars.RESULT_TOPIC: self.topic.id,
            envvars.LOG_LEVEL: cfg.log_level,
        }
        if self.endpoint is not None:
            env[envvars.ESCALATION_ENDPOINT] = self.endpoint.resource_name
        if self.queued is not None and self.answers is not None:
            env[envvars.ESCALATION_MODE] = "async"
            env[envvars.ESCALATION_QUEUE] = self.queued.topic.id
            env[envvars.ANSWERS_BUCKET] = self.answers.name
        if cfg.model_manifest is not None:
            env[envvars.MODEL_MANIFEST] = cfg.model_manifest.uri
        return env
