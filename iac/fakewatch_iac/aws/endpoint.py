"""Optional GPU escalation endpoint: SageMaker model, endpoint config, endpoint, autoscaling."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import assume_role, document, statement
from fakewatch_iac.config import ScannerConfig
from fakewatch_iac.errors import ConfigError

VARIANT = "primary"
_ECR_RE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def _ecr_repository_arn(image_uri: str) -> str:
    match = _ECR_RE.match(image_uri)
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


def _s3_object_arn(url: str) -> str:
    if not url.startswith("s3://"):
        raise ConfigError([f"fakewatch:gpu.modelDataUrl {url!r} must be an s3:// URL"])
    return f"arn:aws:s3:::{url[len('s3://') :]}"


class SageMakerEndpoint(pulumi.ComponentResource):
    """Real-time endpoint running the fakewatch serving container, scaled on invocations."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        account_id: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:SageMakerEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gpu = cfg.gpu
        repo_arn = _ecr_repository_arn(gpu.image_uri)
        model_arn = _s3_object_arn(gpu.model_data_url) if gpu.model_data_url else None
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role("sagemaker.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.from_input(account_id).apply(
                lambda account: _execution_policy(repo_arn, model_arn, cfg.region, account)
            ),
            opts=child,
        )
        env = {"FAKEWATCH_LOG_LEVEL": cfg.log_level}
        container = aws.sagemaker.ModelPrimaryContainerArgs(
            image=gpu.image_uri, environment=env, model_data_url=gpu.model_data_url
        )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.role.arn,
            primary_container=container,
            enable_network_isolation=False,
            tags=tags,
            opts=child,
        )
        self.config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                {
                    "variant_name": VARIANT,
                    "model_name": self.model.name,
                    "initial_instance_count": gpu.min_instances,
                    "instance_type": gpu.instance_type,
                }
            ],
            kms_key_arn=cfg.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.endpoint = aws.sagemaker.Endpoint(
            name, endpoint_config_name=self.config.name, tags=tags, opts=child
        )
        resource_id = self.endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}")
        target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=resource_id,
            min_capacity=gpu.min_instances,
            max_capacity=gpu.max_instances,
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": float(gpu.target_invocations_per_instance),
                "predefined_metric_specification": {
                    "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"
                },
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=child,
        )
        self.name = self.endpoint.name
        self.arn = self.endpoint.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def _execution_policy(repo_arn: str, model_arn: str | None, region: str, account: str) -> str:
    stmts = [
        statement(
            "PullServingImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [repo_arn],
        ),
        statement("UnavoidableEcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "EndpointLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/*"],
        ),
        statement(
            "UnavoidableEndpointMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints*"}},
        ),
    ]
    if model_arn:
        stmts.append(statement("ReadModelData", ["s3:GetObject"], [model_arn]))
    return document(stmts)
