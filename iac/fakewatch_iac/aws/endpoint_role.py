"""The SageMaker execution role of the escalation endpoint, and exactly what it may do.

Both modes pull the serving image, write the endpoint's logs and metrics, and read the model
data. An asynchronous endpoint also reads the escalated upload itself (``InputLocation`` is the
object in the input bucket), writes its answer under ``<results>/escalations/`` and announces it
on the two notification topics. The role exists before the input bucket, whose read-gating
policy must let it read untagged uploads; its policy is attached once every ARN exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import Statement, assume_role, document, statement
from fakewatch_iac.config import GpuConfig
from fakewatch_iac.errors import ConfigError
from fakewatch_iac.limits import ECR_IMAGE_RE

ESCALATIONS_PREFIX = "escalations/"


def ecr_repository_arn(image_uri: str) -> str:
    match = ECR_IMAGE_RE.match(image_uri)
    if match is None:
        raise ConfigError(
            [
                f"fakewatch:gpu.imageUri {image_uri!r} must be an ECR image "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>): SageMaker pulls "
                "only from ECR"
            ]
        )
    account, region, repo = match.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{repo}"


def s3_object_arn(url: str) -> str:
    if not url.startswith("s3://"):
        raise ConfigError([f"fakewatch:gpu.modelDataUrl {url!r} must be an s3:// URL"])
    return f"arn:aws:s3:::{url[len('s3://') :]}"


@dataclass(frozen=True)
class EndpointArns:
    """Resolved ARNs the execution role touches; the async ones only in async mode."""

    account: str
    region: str
    repository: str
    model_data: str | None = None
    input_bucket: str | None = None  # async: SageMaker reads the escalated upload
    results_bucket: str | None = None  # async: answers go to <results>/escalations/
    topics: tuple[str, ...] = ()  # async: success and error notification topics
    input_kms_key: str | None = None  # the input bucket's SSE-KMS key (created or brought)
    stack_kms_key: str | None = None  # the stack's key: results bucket and topics


def execution_statements(arns: EndpointArns) -> list[Statement]:
    """Least privilege for the endpoint; wildcards only where AWS offers nothing narrower."""
    stmts = [
        statement(
            "PullServingImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [arns.repository],
        ),
        statement("UnavoidableEcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "EndpointLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{arns.region}:{arns.account}:log-group:/aws/sagemaker/Endpoints/*"],
        ),
        statement(
            "UnavoidableEndpointMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints*"}},
        ),
    ]
    if arns.model_data:
        stmts.append(statement("ReadModelData", ["s3:GetObject"], [arns.model_data]))
    if arns.input_bucket and arns.results_bucket:
        stmts += _async_statements(arns, arns.input_bucket, arns.results_bucket)
    return stmts


def _async_statements(arns: EndpointArns, input_bucket: str, results: str) -> list[Statement]:
    s3 = {"StringEquals": {"kms:ViaService": f"s3.{arns.region}.amazonaws.com"}}
    sns = {"StringEquals": {"kms:ViaService": f"sns.{arns.region}.amazonaws.com"}}
    stmts = [
        statement("ReadEscalatedUploads", ["s3:GetObject"], [f"{input_bucket}/*"]),
        statement("WriteEscalationAnswers", ["s3:PutObject"], [f"{results}/{ESCALATIONS_PREFIX}*"]),
        statement("NotifyScanQueue", ["sns:Publish"], list(arns.topics)),
    ]
    if arns.input_kms_key:
        stmts.append(
            statement("DecryptUploads", ["kms:Decrypt"], [arns.input_kms_key], condition=s3)
        )
    if arns.stack_kms_key:
        stmts.append(
            statement(
                "EncryptAnswers",
                ["kms:GenerateDataKey"],
                [arns.stack_kms_key],
                condition=s3,
            )
        )
        # Publishing to a topic encrypted with a customer key needs both (SNS SSE).
        stmts.append(
            statement(
                "EncryptNotifications",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [arns.stack_kms_key],
                condition=sns,
            )
        )
    return stmts


class EndpointRole(pulumi.ComponentResource):
    """The execution role, created first; :meth:`attach` adds its one inline policy."""

    def __init__(
        self,
        name: str,
        gpu: GpuConfig,
        *,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Validate before anything is declared: a wrong image stops the stack up front.
        self._repository = ecr_repository_arn(gpu.image_uri)
        self._model_data = s3_object_arn(gpu.model_data_url) if gpu.model_data_url else None
        super().__init__("fakewatch:aws:EndpointRole", name, None, opts)
        self._name = name
        self.role = aws.iam.Role(
            name,
            assume_role_policy=assume_role("sagemaker.amazonaws.com"),
            description="fakewatch escalation endpoint: serve the model, answer escalations",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})

    def attach(
        self,
        *,
        account_id: pulumi.Input[str],
        region: str,
        input_bucket: pulumi.Input[str] | None = None,
        results_bucket: pulumi.Input[str] | None = None,
        topics: list[pulumi.Output[str]] | None = None,
        input_kms_key: str | None = None,
        stack_kms_key: str | None = None,
    ) -> aws.iam.RolePolicy:
        repository, model_data = self._repository, self._model_data

        def build(args: list[str | None]) -> str:
            account, inp, res, *topic_arns = args
            arns = EndpointArns(
                account=str(account),
                region=region,
                repository=repository,
                model_data=model_data,
                input_bucket=inp,
                results_bucket=res,
                topics=tuple(str(t) for t in topic_arns),
                input_kms_key=input_kms_key,
                stack_kms_key=stack_kms_key,
            )
            return document(execution_statements(arns))

        policy = pulumi.Output.all(account_id, input_bucket, results_bucket, *(topics or [])).apply(
            build
        )
        return aws.iam.RolePolicy(
            f"{self._name}-policy",
            role=self.role.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
