"""Application Auto Scaling for the escalation endpoint's variant.

- **real-time**: target tracking on ``SageMakerVariantInvocationsPerInstance``, at least one
  instance (a real-time endpoint cannot answer from zero).
- **async**: AWS's documented scale-to-zero pattern for Asynchronous Inference. Target
  tracking on ``ApproximateBacklogSizePerInstance`` (namespace ``AWS/SageMaker``, dimension
  ``EndpointName``) sizes the fleet while it has instances and takes it down to zero when the
  queue is empty. At zero instances that metric has nothing to divide by and never asks for
  capacity, so a step-scaling policy, driven by a CloudWatch alarm on
  ``HasBacklogWithoutCapacity`` >= 1, adds the first instance back.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from fakewatch_iac.config import GpuConfig

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALE_IN_COOLDOWN_S = 600  # keep a warm instance ten minutes after the queue drains
SCALE_OUT_COOLDOWN_S = 300
WAKE_PERIOD_S = 60
WAKE_EVALUATION_PERIODS = 2


def variant_autoscaling(
    name: str,
    gpu: GpuConfig,
    *,
    endpoint_name: pulumi.Output[str],
    variant: str,
    parent: pulumi.Resource,
) -> aws.appautoscaling.Target:
    """The scalable target and its policies for ``endpoint_name``'s ``variant``."""
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{name}-scaling",
        service_namespace=NAMESPACE,
        scalable_dimension=DIMENSION,
        resource_id=endpoint_name.apply(lambda n: f"endpoint/{n}/variant/{variant}"),
        min_capacity=gpu.min_instances,
        max_capacity=gpu.max_instances,
        opts=child,
    )
    if gpu.is_async:
        _backlog_tracking(name, gpu, target, endpoint_name, child)
        _wake_from_zero(name, target, endpoint_name, child)
    else:
        _invocation_tracking(name, gpu, target, child)
    return target


def _invocation_tracking(
    name: str, gpu: GpuConfig, target: aws.appautoscaling.Target, child: pulumi.ResourceOptions
) -> None:
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


def _backlog_tracking(
    name: str,
    gpu: GpuConfig,
    target: aws.appautoscaling.Target,
    endpoint_name: pulumi.Output[str],
    child: pulumi.ResourceOptions,
) -> None:
    aws.appautoscaling.Policy(
        f"{name}-backlog-policy",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": float(gpu.target_backlog_per_instance),
            "customized_metric_specification": {
                "metric_name": "ApproximateBacklogSizePerInstance",
                "namespace": "AWS/SageMaker",
                "dimensions": [{"name": "EndpointName", "value": endpoint_name}],
                "statistic": "Average",
            },
            "scale_in_cooldown": SCALE_IN_COOLDOWN_S,
            "scale_out_cooldown": SCALE_OUT_COOLDOWN_S,
        },
        opts=child,
    )


def _wake_from_zero(
    name: str,
    target: aws.appautoscaling.Target,
    endpoint_name: pulumi.Output[str],
    child: pulumi.ResourceOptions,
) -> None:
    wake = aws.appautoscaling.Policy(
        f"{name}-wake-policy",
        policy_type="StepScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        step_scaling_policy_configuration={
            "adjustment_type": "ChangeInCapacity",
            "metric_aggregation_type": "Average",
            "cooldown": SCALE_OUT_COOLDOWN_S,
            "step_adjustments": [{"metric_interval_lower_bound": "0", "scaling_adjustment": 1}],
        },
        opts=child,
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-backlog-without-capacity",
        namespace="AWS/SageMaker",
        metric_name="HasBacklogWithoutCapacity",
        dimensions={"EndpointName": endpoint_name},
        statistic="Average",
        period=WAKE_PERIOD_S,
        evaluation_periods=WAKE_EVALUATION_PERIODS,
        datapoints_to_alarm=WAKE_EVALUATION_PERIODS,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="missing",
        alarm_description="Escalations are queued and the endpoint has no instance: add one.",
        alarm_actions=[wake.arn],
        opts=child,
    )
