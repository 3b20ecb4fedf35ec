"""ScannerFunction: the Lambda from the AWS bundle, its log group and its SQS event source."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from fakewatch_iac.artifacts import Artifact
from fakewatch_iac.config import ScannerConfig

HANDLER = "fakewatch_aws.handler.lambda_handler"
RUNTIME = "python3.11"
MAX_BATCHING_WINDOW_S = 5
_LAMBDA_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}


class ScannerFunction(pulumi.ComponentResource):
    """Lambda with JSON logs into a retained log group, tracing, reserved concurrency, and an
    event source mapping that reports batch item failures and caps concurrent invocations."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        artifact: Artifact,
        role_arn: pulumi.Input[str],
        queue_arn: pulumi.Input[str],
        environment: pulumi.Input[dict[str, pulumi.Input[str]]],
        log_group: aws.cloudwatch.LogGroup,
        tags: dict[str, str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:ScannerFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        fn = cfg.function
        self.function = aws.lambda_.Function(
            name,
            runtime=RUNTIME,
            handler=HANDLER,
            architectures=[cfg.architecture],
            code=pulumi.FileArchive(str(artifact.path)),
            source_code_hash=artifact.sha256_b64,
            role=role_arn,
            memory_size=fn.memory_mb,
            timeout=fn.timeout_s,
            reserved_concurrent_executions=fn.max_concurrency,
            environment={"variables": environment},
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": _LAMBDA_LEVELS[cfg.log_level],
                "system_log_level": "WARN",
            },
            tracing_config={"mode": "Active"},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-sqs",
            event_source_arn=queue_arn,
            function_name=self.function.arn,
            batch_size=fn.batch_size,
            maximum_batching_window_in_seconds=MAX_BATCHING_WINDOW_S,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": fn.max_concurrency},
            opts=child,
        )
        self.register_outputs({"arn": self.function.arn, "name": self.function.name})
