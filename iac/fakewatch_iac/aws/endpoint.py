"""Optional GPU escalation endpoint: SageMaker model, endpoint config, endpoint, autoscaling.

``gpu.mode: realtime`` serves ``InvokeEndpoint`` from warm instances. ``gpu.mode: async``
configures Asynchronous Inference: SageMaker queues each request, reads the upload from S3,
writes the answer under ``s3://<results>/escalations/`` (failures under
``escalations/failures/``) and announces it on the success or error topic, and the variant may
scale to zero (:mod:`fakewatch_iac.aws.scaling`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from fakewatch_iac import envvars
from fakewatch_iac.aws.endpoint_role import ESCALATIONS_PREFIX
from fakewatch_iac.aws.scaling import variant_autoscaling
from fakewatch_iac.config import ScannerConfig

VARIANT = "primary"
FAILURES = "failures/"


@dataclass(frozen=True)
class AsyncOutput:
    """Where an asynchronous endpoint writes and announces its answers."""

    results_bucket: pulumi.Input[str]
    success_topic: pulumi.Input[str]
    error_topic: pulumi.Input[str]


class SageMakerEndpoint(pulumi.ComponentResource):
    """The fakewatch serving container behind a real-time or asynchronous endpoint."""

    def __init__(
        self,
        name: str,
        cfg: ScannerConfig,
        *,
        role_arn: pulumi.Input[str],
        output: AsyncOutput | None,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:SageMakerEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gpu = cfg.gpu
        env = {envvars.LOG_LEVEL: cfg.log_level, envvars.SERVE_MODE: gpu.mode}
        container = aws.sagemaker.ModelPrimaryContainerArgs(
            image=gpu.image_uri, environment=env, model_data_url=gpu.model_data_url
        )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role_arn,
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
                    # SageMaker starts every variant with an instance; async scales it to zero.
                    "initial_instance_count": max(1, gpu.min_instances),
                    "instance_type": gpu.instance_type,
                }
            ],
            async_inference_config=_async_config(output, cfg.kms_key_arn) if output else None,
            kms_key_arn=cfg.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.endpoint = aws.sagemaker.Endpoint(
            name, endpoint_config_name=self.config.name, tags=tags, opts=child
        )
        variant_autoscaling(
            name, gpu, endpoint_name=self.endpoint.name, variant=VARIANT, parent=self
        )
        self.name = self.endpoint.name
        self.arn = self.endpoint.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def _async_config(
    output: AsyncOutput, kms_key_arn: str | None
) -> aws.sagemaker.EndpointConfigurationAsyncInferenceConfigArgs:
    sm = aws.sagemaker
    notify = sm.EndpointConfigurationAsyncInferenceConfigOutputConfigNotificationConfigArgs
    results = pulumi.Output.from_input(output.results_bucket)
    return sm.EndpointConfigurationAsyncInferenceConfigArgs(
        output_config=sm.EndpointConfigurationAsyncInferenceConfigOutputConfigArgs(
            s3_output_path=results.apply(lambda b: f"s3://{b}/{ESCALATIONS_PREFIX}"),
            s3_failure_path=results.apply(lambda b: f"s3://{b}/{ESCALATIONS_PREFIX}{FAILURES}"),
            kms_key_id=kms_key_arn,
            notification_config=notify(
                success_topic=output.success_topic, error_topic=output.error_topic
            ),
        )
    )
