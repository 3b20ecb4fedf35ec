"""AwsScanner: everything bucket-triggered scanning needs on AWS, from one validated config."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from fakewatch_iac import envvars
from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.aws.buckets import BucketSpec, SecureBucket
from fakewatch_iac.aws.endpoint import AsyncOutput, SageMakerEndpoint
from fakewatch_iac.aws.endpoint_role import EndpointRole
from fakewatch_iac.aws.function import ScannerFunction
from fakewatch_iac.aws.gating import read_gating_statements
from fakewatch_iac.aws.iam import Statement
from fakewatch_iac.aws.identity import ScannerRole
from fakewatch_iac.aws.intake import EventBridgeIntake, s3_notification
from fakewatch_iac.aws.monitoring import Alerts
from fakewatch_iac.aws.notifications import AsyncNotifications
from fakewatch_iac.aws.queue import QueueSource, ScanQueue
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.naming import physical, tags

IDEMPOTENCY_KEY = "id"  # Powertools DynamoDBPersistenceLayer defaults
IDEMPOTENCY_TTL = "expiration"


def visibility_timeout(function_timeout_s: int) -> int:
    """AWS guidance: at least six times the function timeout for an SQS event source."""
    return max(30, 6 * function_timeout_s)


class AwsScanner(pulumi.ComponentResource):
    """Buckets, queue + DLQ, Lambda + event source, idempotency table, role, logs, alarms,
    optional SageMaker endpoint and budget. Attributes expose what the program exports."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        artifact: Artifact,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:Scanner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        t = tags(cfg)
        self.account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id

        self.role = ScannerRole(f"{name}-scanner", tags=t, opts=child)
        # Before the input bucket: an async endpoint reads uploads the gate still denies.
        self.endpoint_role = (
            EndpointRole(f"{name}-gpu-role", cfg.gpu, tags=t, opts=child)
            if cfg.gpu.enabled
            else None
        )
        self._input(name, cfg, t, child)
        self.results = SecureBucket(
            f"{name}-results",
            BucketSpec(expire_days=cfg.results_retention_days, kms_key_arn=cfg.kms_key_arn),
            tags=t,
            opts=child,
        )
        self.quarantine = SecureBucket(
            f"{name}-quarantine",
            BucketSpec(versioned=True, kms_key_arn=cfg.kms_key_arn),
            tags=t,
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/fakewatch/{physical(cfg, 'scanner')}",
            retention_in_days=cfg.log_retention_days,
            tags=t,
            opts=child,
        )
        self.table = aws.dynamodb.Table(
            f"{name}-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key=IDEMPOTENCY_KEY,
            attributes=[{"name": IDEMPOTENCY_KEY, "type": "S"}],
            ttl={"attribute_name": IDEMPOTENCY_TTL, "enabled": True},
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            tags=t,
            opts=child,
        )
        self.bus = aws.cloudwatch.EventBus(
            f"{name}-results-bus", name=physical(cfg, "results", 64), tags=t, opts=child
        )
        self.queue = ScanQueue(
            f"{name}-queue",
            visibility_timeout_s=visibility_timeout(cfg.function.timeout_s),
            account_id=self.account_id,
            tags=t,
            opts=child,
        )
        self.notifications = (
            AsyncNotifications(
                f"{name}-escalations",
                queue_arn=self.queue.queue.arn,
                dead_letter_arn=self.queue.dlq.arn,
                publisher_role_arn=self.endpoint_role.arn,
                kms_key_arn=cfg.kms_key_arn,
                tags=t,
                opts=child,
            )
            if self.endpoint_role is not None and cfg.gpu.is_async
            else None
        )
        self._wire_intake(name, cfg, t, child)
        self.endpoint = self._endpoint(name, cfg, t, child)
        policy = self.role.attach(
            {
                "input_bucket": self.input_arn,
                "results_bucket": self.results.arn,
                "quarantine_bucket": self.quarantine.arn,
                "queue": self.queue.queue.arn,
                "log_group": self.log_group.arn,
                "idempotency_table": self.table.arn,
                "result_bus": self.bus.arn,
                "endpoint": self.endpoint.arn if self.endpoint else None,
                "escalation_mode": cfg.gpu.mode,
                "bucket_kms_key": cfg.kms_key_arn,
                "input_kms_key": cfg.input_bucket_kms_key_arn,
                "manifest_objects": manifest_objects(cfg),
            }
        )
        self.function = ScannerFunction(
            f"{name}-scanner",
            cfg,
            artifact=artifact,
            role_arn=self.role.arn,
            queue_arn=self.queue.queue.arn,
            environment=self._environment(cfg),
            log_group=self.log_group,
            tags=t,
            depends_on=[policy, self.log_group],
            opts=child,
        )
        self.alerts = Alerts(
            f"{name}-alerts",
            cfg,
            function_name=self.function.function.name,
            queue_name=self.queue.queue.name,
            dlq_name=self.queue.dlq.name,
            account_id=self.account_id,
            tags=t,
            opts=child,
        )
        self.register_outputs(
            {"input_bucket": self.input_name, "results_bucket": self.results.name}
        )

    def _input(
        self, name: str, cfg: ScannerConfig, t: dict[str, str], child: pulumi.ResourceOptions
    ) -> None:
        self.gating_statements: pulumi.Output[list[Statement]] | None = None
        if cfg.existing_input_bucket:
            bucket = cfg.existing_input_bucket
            self.input_bucket: SecureBucket | None = None
            self.input_name: pulumi.Output[str] = pulumi.Output.from_input(bucket)
            self.input_arn: pulumi.Output[str] = pulumi.Output.from_input(f"arn:aws:s3:::{bucket}")
            if cfg.read_gating.enabled:
                # Never replace the owner's bucket policy: hand the statements over instead.
                self.gating_statements = self._gating(
                    cfg, pulumi.Output.from_input(f"arn:aws:s3:::{bucket}")
                )
            return

        def gating(bucket_arn: pulumi.Output[str]) -> pulumi.Output[list[Statement]]:
            return self._gating(cfg, bucket_arn)

        self.input_bucket = SecureBucket(
            f"{name}-input",
            BucketSpec(versioned=True, kms_key_arn=cfg.kms_key_arn),
            tags=t,
            extra_statements=gating if cfg.read_gating.enabled else None,
            opts=child,
        )
        self.input_name = self.input_bucket.name
        self.input_arn = self.input_bucket.arn

    def _gating(
        self, cfg: ScannerConfig, bucket_arn: pulumi.Output[str]
    ) -> pulumi.Output[list[Statement]]:
        """Read-gating statements; the async endpoint's role may read what it is sent."""
        readers = (
            [self.endpoint_role.arn] if self.endpoint_role is not None and cfg.gpu.is_async else []
        )
        return pulumi.Output.all(bucket_arn, self.role.arn, *readers).apply(
            lambda a: read_gating_statements(a[0], a[1], a[2:])
        )

    def _wire_intake(
        self, name: str, cfg: ScannerConfig, t: dict[str, str], child: pulumi.ResourceOptions
    ) -> None:
        """Uploads (and async escalation answers) reach the queue; one queue policy admits all."""
        answers = self.notifications.queue_sources() if self.notifications else []
        if self.input_bucket is None:
            assert cfg.existing_input_bucket is not None
            intake = EventBridgeIntake(
                f"{name}-intake",
                bucket_name=cfg.existing_input_bucket,
                queue_arn=self.queue.queue.arn,
                dead_letter_arn=self.queue.dlq.arn,
                tags=t,
                opts=child,
            )
            events = QueueSource("events.amazonaws.com", intake.rule.arn)
            self.queue.allow([events, *answers])
            self.queue.allow_dead_letters([events, *answers])
            return
        self.queue.allow_dead_letters(answers)
        queue_policy = self.queue.allow([QueueSource("s3.amazonaws.com", self.input_arn), *answers])
        s3_notification(
            f"{name}-input-notification",
            bucket_id=self.input_bucket.bucket.id,
            queue_arn=self.queue.queue.arn,
            depends_on=[queue_policy],
            parent=self,
        )

    def _endpoint(
        self, name: str, cfg: ScannerConfig, t: dict[str, str], child: pulumi.ResourceOptions
    ) -> SageMakerEndpoint | None:
        if self.endpoint_role is None:
            return None
        output = None
        if self.notifications is not None:
            output = AsyncOutput(
                results_bucket=self.results.name,
                success_topic=self.notifications.success_arn,
                error_topic=self.notifications.error_arn,
            )
        endpoint = SageMakerEndpoint(
            f"{name}-gpu", cfg, role_arn=self.endpoint_role.arn, output=output, tags=t, opts=child
        )
        input_key = cfg.input_bucket_kms_key_arn if cfg.existing_input_bucket else cfg.kms_key_arn
        self.endpoint_role.attach(
            account_id=self.account_id,
            region=cfg.region,
            input_bucket=self.input_arn if output else None,
            results_bucket=self.results.arn if output else None,
            topics=[self.notifications.success_arn, self.notifications.error_arn]
            if self.notifications
            else None,
            input_kms_key=input_key if output else None,
            stack_kms_key=cfg.kms_key_arn if output else None,
        )
        return endpoint

    def _environment(self, cfg: ScannerConfig) -> dict[str, pulumi.Input[str]]:
        env: dict[str, pulumi.Input[str]] = {
            envvars.RESULTS_BUCKET: self.results.name,
            envvars.QUARANTINE_BUCKET: self.quarantine.name,
            envvars.RESULTS_PREFIX: envvars.DEFAULT_RESULTS_PREFIX,
            envvars.AUDIT_PREFIX: envvars.DEFAULT_AUDIT_PREFIX,
            envvars.POLICY: cfg.policy.render(escalate=cfg.gpu.enabled),
            envvars.RESULT_TOPIC: self.bus.name,
            envvars.IDEMPOTENCY_TABLE: self.table.name,
            envvars.LOG_LEVEL: cfg.log_level,
            "POWERTOOLS_SERVICE_NAME": "fakewatch",
            "POWERTOOLS_METRICS_NAMESPACE": "fakewatch",
        }
        if self.endpoint is not None:
            env[envvars.ESCALATION_ENDPOINT] = self.endpoint.name
            env[envvars.ESCALATION_MODE] = cfg.gpu.mode
        if cfg.model_manifest is not None:
            env[envvars.MODEL_MANIFEST] = cfg.model_manifest.uri
        return env


def manifest_objects(cfg: ScannerConfig) -> str | None:
    """``arn:aws:s3:::<bucket>/<folder>/*`` of an s3:// model manifest: the model sits beside it."""
    ref = cfg.model_manifest
    if ref is None or ref.kind != "store":
        return None
    return f"arn:aws:s3:::{ref.bucket}/{ref.prefix}*"
