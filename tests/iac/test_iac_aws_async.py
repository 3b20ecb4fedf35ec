"""The AWS program with ``gpu.mode: async`` under Pulumi's mock engine: SageMaker Asynchronous
Inference writing to the results bucket, SNS answers delivered raw to the scan queue, the
execution role's exact grants, scale to zero and back, and the function's side of it.

Pulumi mocks stand in for the engine and AWS's control plane (no emulator exists for them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakewatch_iac.errors import ConfigError
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import aws as rules
from fakewatch_iac.policy.core import statements

KMS = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
INPUT_KMS = "arn:aws:kms:eu-west-1:123456789012:key/99999999-8888-7777-6666-555555555555"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fakewatch-serve:0.1.0"
MANIFEST = "s3://models-bucket/fakewatch/v3/manifest.json"
GPU = {
    "enabled": True,
    "mode": "async",
    "instanceType": "ml.g5.xlarge",
    "imageUri": IMAGE,
    "maxInstances": 4,
    "targetBacklogPerInstance": 3,
}


def config(zip_path: Path, **extra: str) -> dict[str, str]:
    return {
        "aws:region": "eu-west-1",
        "fakewatch:artifactPath": str(zip_path),
        "fakewatch:gpu": json.dumps(GPU),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("aws", tmp_path_factory.mktemp("aws-async"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    """Own buckets encrypted with the stack's KMS key, read gating, a model manifest in S3."""
    return iac_deploy(
        "aws",
        config(zip_path, kmsKeyArn=KMS, readGating='{"enabled": true}', modelManifest=MANIFEST),
    )


@pytest.fixture(scope="module")
def byo_stack(zip_path: Path, iac_deploy) -> Stack:
    """An existing SSE-KMS bucket, no stack key: topics fall back to alias/aws/sns."""
    return iac_deploy(
        "aws",
        config(
            zip_path,
            existingInputBucket="corp-uploads",
            inputBucketKmsKeyArn=INPUT_KMS,
            readGating='{"enabled": true}',
        ),
    )


def endpoint(stack: Stack):
    return stack.one(rules.ENDPOINT)


def output_config(stack: Stack) -> dict:
    config = rules.endpoint_config(stack, endpoint(stack))
    assert config is not None
    return config.get("asyncInferenceConfig", "outputConfig")


def escalation_topics(stack: Stack) -> list:
    notify = output_config(stack)["notificationConfig"]
    arns = [notify["successTopic"], notify["errorTopic"]]
    return [next(t for t in stack.of(rules.TOPIC) if t.out("arn") == a) for a in arns]


def execution_role(stack: Stack):
    model = stack.one("aws:sagemaker/model:Model")
    return next(r for r in stack.of(rules.ROLE) if r.out("arn") == model.inputs["executionRoleArn"])


def role_statements(stack: Stack, role) -> dict[str, dict]:
    policy = stack.where(rules.ROLE_POLICY, "role", role.id)[0]
    return {s["Sid"]: s for s in statements(policy.json("policy"))}


# -- the policy suite --------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["stack", "byo_stack"])
def test_async_stacks_pass_every_rule(fixture: str, request: pytest.FixtureRequest) -> None:
    s = request.getfixturevalue(fixture)
    assert evaluate(s, rules.RULES) == []
    assert list(rules.require_read_gating(s)) == []


# -- SageMaker asynchronous inference ----------------------------------------------------------
def test_answers_go_to_the_results_bucket_encrypted_with_the_stack_key(stack: Stack) -> None:
    results = stack.outputs["resultsBucket"]
    out = output_config(stack)
    assert out["s3OutputPath"] == f"s3://{results}/escalations/"
    assert out["s3FailurePath"] == f"s3://{results}/escalations/failures/"
    assert out["kmsKeyId"] == KMS


def test_without_a_stack_key_answers_use_the_bucket_default(byo_stack: Stack) -> None:
    assert "kmsKeyId" not in output_config(byo_stack)


def test_variant_starts_with_one_instance_and_may_scale_to_zero(stack: Stack) -> None:
    config = rules.endpoint_config(stack, endpoint(stack))
    variant = config.inputs["productionVariants"][0]
    assert (variant["initialInstanceCount"], variant["instanceType"]) == (1, "ml.g5.xlarge")
    target = stack.one(rules.SCALING_TARGET)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (0, 4)
    model = stack.one("aws:sagemaker/model:Model")
    assert model.get("primaryContainer", "environment", "FAKEWATCH_SERVE_MODE") == "async"


def test_backlog_target_tracking_is_the_documented_metric(stack: Stack) -> None:
    name = endpoint(stack).out("name")
    tracking = next(
        p
        for p in stack.of(rules.SCALING_POLICY)
        if p.inputs["policyType"] == "TargetTrackingScaling"
    )
    spec = tracking.inputs["targetTrackingScalingPolicyConfiguration"]
    assert spec["targetValue"] == 3.0
    assert spec["customizedMetricSpecification"] == {
        "metricName": "ApproximateBacklogSizePerInstance",
        "namespace": "AWS/SageMaker",
        "dimensions": [{"name": "EndpointName", "value": name}],
        "statistic": "Average",
    }


def test_an_alarm_on_backlog_without_capacity_scales_from_zero_to_one(stack: Stack) -> None:
    name = endpoint(stack).out("name")
    policies = stack.of(rules.SCALING_POLICY)
    step = next(p for p in policies if p.inputs["policyType"] == "StepScaling")
    config = step.inputs["stepScalingPolicyConfiguration"]
    assert config["adjustmentType"] == "ChangeInCapacity"
    assert config["stepAdjustments"] == [{"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]
    alarm = next(
        a for a in stack.of(rules.ALARM) if a.inputs["metricName"] == "HasBacklogWithoutCapacity"
    )
    assert alarm.inputs["namespace"] == "AWS/SageMaker"
    assert alarm.inputs["dimensions"] == {"EndpointName": name}
    assert alarm.inputs["threshold"] == 1
    assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm.inputs["alarmActions"] == [step.out("arn")]


# -- notifications back through the scan queue -------------------------------------------------
def test_two_encrypted_topics_deliver_raw_to_the_scan_queue(stack: Stack) -> None:
    topics = escalation_topics(stack)
    assert len({t.out("arn") for t in topics}) == 2
    queue = rules.scan_queue(stack)
    for topic in topics:
        assert topic.inputs["kmsMasterKeyId"] == KMS
        (sub,) = stack.where(rules.SUBSCRIPTION, "topic", topic.out("arn"))
        assert (sub.inputs["protocol"], sub.inputs["endpoint"]) == ("sqs", queue.out("arn"))
        assert sub.inputs["rawMessageDelivery"] is True


def test_topics_are_exported(stack: Stack) -> None:
    success, error = (t.out("arn") for t in escalation_topics(stack))
    assert stack.outputs["escalationSuccessTopic"] == success
    assert stack.outputs["escalationErrorTopic"] == error


def test_undeliverable_answers_are_parked_in_the_dlq(stack: Stack) -> None:
    dlq = rules.dead_letter_queue(stack)
    topics = sorted(t.out("arn") for t in escalation_topics(stack))
    for topic in topics:
        (sub,) = stack.where(rules.SUBSCRIPTION, "topic", topic)
        assert json.loads(sub.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq.out("arn")}
    (policy,) = stack.where(rules.QUEUE_POLICY, "queueUrl", dlq.out("url"))
    allow = [s for s in statements(policy.json("policy")) if s["Effect"] == "Allow"]
    assert sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allow) == topics
    assert {s["Principal"]["Service"] for s in allow} == {"sns.amazonaws.com"}


def test_topics_use_the_aws_managed_key_without_a_stack_key(byo_stack: Stack) -> None:
    assert {t.inputs["kmsMasterKeyId"] for t in escalation_topics(byo_stack)} == {"alias/aws/sns"}


def test_only_the_endpoint_role_publishes_and_only_over_tls(stack: Stack) -> None:
    role_arn = execution_role(stack).out("arn")
    for topic in escalation_topics(stack):
        (policy,) = stack.where(rules.TOPIC_POLICY, "arn", topic.out("arn"))
        stmts = {s["Sid"]: s for s in statements(policy.json("policy"))}
        assert stmts["DenyInsecureTransport"]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
        assert stmts["OnlyTheEndpointPublishes"]["Effect"] == "Deny"
        assert stmts["OnlyTheEndpointPublishes"]["Condition"] == {
            "ArnNotEquals": {"aws:PrincipalArn": role_arn}
        }


@pytest.mark.parametrize(("fixture", "intake"), [("stack", "s3"), ("byo_stack", "events")])
def test_one_queue_policy_admits_uploads_and_exactly_the_two_topics(
    fixture: str, intake: str, request: pytest.FixtureRequest
) -> None:
    s: Stack = request.getfixturevalue(fixture)
    (policy,) = s.where(rules.QUEUE_POLICY, "queueUrl", rules.scan_queue(s).out("url"))
    allows = [x for x in statements(policy.json("policy")) if x["Effect"] == "Allow"]
    by_service = sorted(
        (x["Principal"]["Service"], x["Condition"]["ArnEquals"]["aws:SourceArn"]) for x in allows
    )
    topics = sorted(t.out("arn") for t in escalation_topics(s))
    assert [svc for svc, _ in by_service] == [f"{intake}.amazonaws.com"] + ["sns.amazonaws.com"] * 2
    assert sorted(arn for svc, arn in by_service if svc == "sns.amazonaws.com") == topics
    assert all(x["Action"] == ["sqs:SendMessage"] for x in allows)


# -- the execution role: exactly what async needs ----------------------------------------------
def test_execution_role_reads_uploads_writes_answers_publishes_answers(stack: Stack) -> None:
    stmts = role_statements(stack, execution_role(stack))
    inp = f"arn:aws:s3:::{stack.outputs['inputBucket']}"
    res = f"arn:aws:s3:::{stack.outputs['resultsBucket']}"
    assert stmts["ReadEscalatedUploads"]["Action"] == ["s3:GetObject"]
    assert stmts["ReadEscalatedUploads"]["Resource"] == [f"{inp}/*"]
    assert stmts["WriteEscalationAnswers"]["Action"] == ["s3:PutObject"]
    assert stmts["WriteEscalationAnswers"]["Resource"] == [f"{res}/escalations/*"]
    assert stmts["NotifyScanQueue"]["Action"] == ["sns:Publish"]
    assert sorted(stmts["NotifyScanQueue"]["Resource"]) == sorted(
        t.out("arn") for t in escalation_topics(stack)
    )
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert stmts["DecryptUploads"]["Resource"] == [KMS]
    assert stmts["DecryptUploads"]["Condition"] == via_s3
    assert stmts["EncryptAnswers"]["Action"] == ["kms:GenerateDataKey"]
    assert stmts["EncryptNotifications"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert stmts["EncryptNotifications"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}
    }


def test_execution_role_decrypts_a_brought_bucket_with_its_key(byo_stack: Stack) -> None:
    stmts = role_statements(byo_stack, execution_role(byo_stack))
    assert stmts["ReadEscalatedUploads"]["Resource"] == ["arn:aws:s3:::corp-uploads/*"]
    assert stmts["DecryptUploads"]["Resource"] == [INPUT_KMS]
    assert "EncryptAnswers" not in stmts and "EncryptNotifications" not in stmts


def test_read_gating_lets_the_endpoint_read_but_not_tag(stack: Stack) -> None:
    policy = next(
        p
        for p in stack.of(rules.BUCKET_POLICY)
        if p.inputs["bucket"] == stack.outputs["inputBucket"]
    )
    stmts = {s["Sid"]: s for s in statements(policy.json("policy"))}
    scanner = rules.scanner_role(stack).out("arn")
    endpoint_role = execution_role(stack).out("arn")
    read = stmts["DenyReadUntilScannedAllow"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert read == [scanner, endpoint_role]
    tags = stmts["DenyScannerTagsToOthers"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert tags == scanner


def test_exported_gating_for_a_brought_bucket_names_the_endpoint_too(byo_stack: Stack) -> None:
    read = byo_stack.outputs["readGatingStatements"][0]
    assert read["Sid"] == "DenyReadUntilScannedAllow"
    assert read["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [
        rules.scanner_role(byo_stack).out("arn"),
        execution_role(byo_stack).out("arn"),
    ]


# -- the function's side -----------------------------------------------------------------------
def test_function_submits_asynchronously_and_reads_the_answers(stack: Stack) -> None:
    env = rules.env(stack)
    assert env["FAKEWATCH_ESCALATION_MODE"] == "async"
    assert env["FAKEWATCH_ESCALATION_ENDPOINT"] == endpoint(stack).out("name")
    scanner = {
        s["Sid"]: s
        for p in stack.where(rules.ROLE_POLICY, "role", rules.scanner_role(stack).id)
        for s in statements(p.json("policy"))
    }
    assert scanner["Escalate"]["Action"] == ["sagemaker:InvokeEndpointAsync"]
    assert scanner["Escalate"]["Resource"] == [endpoint(stack).out("arn")]
    res = f"arn:aws:s3:::{stack.outputs['resultsBucket']}"
    # escalations/* lies within what the scanner already reads in the results bucket.
    assert "s3:GetObject" in scanner["WriteVerdictsAndAudit"]["Action"]
    assert scanner["WriteVerdictsAndAudit"]["Resource"] == [f"{res}/*"]
    assert scanner["ListInput"]["Resource"] == [f"arn:aws:s3:::{stack.outputs['inputBucket']}"]


def test_env_names_are_the_core_settings() -> None:
    from fakewatch import settings
    from fakewatch_iac import envvars

    assert envvars.ESCALATION_MODE == settings.ESCALATION_MODE
    assert envvars.SERVE_MODE == settings.SERVE_MODE


# -- each new rule notices a weakened stack ----------------------------------------------------
def _sub(s: Stack):
    return s.of(rules.SUBSCRIPTION)[0]


def _exec_policy(s: Stack):
    return s.where(rules.ROLE_POLICY, "role", execution_role(s).id)[0]


def _widened(s: Stack) -> str:
    doc = _exec_policy(s).json("policy")
    doc["Statement"].append(
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::payroll/*"]}
    )
    return json.dumps(doc)


WEAKENED = {
    "raw delivery off": (
        "gpu-async",
        lambda s: s.replace(_sub(s), rawMessageDelivery=False),
    ),
    "topic not admitted by the queue": (
        "gpu-async",
        lambda s: s.without(lambda r: r.type == rules.QUEUE_POLICY),
    ),
    "topic unencrypted": (
        "gpu-async",
        lambda s: s.replace(escalation_topics(s)[0], kmsMasterKeyId=None),
    ),
    "answers elsewhere": (
        "gpu-async",
        lambda s: s.replace(
            rules.endpoint_config(s, endpoint(s)),
            asyncInferenceConfig={
                "outputConfig": {**output_config(s), "s3OutputPath": "s3://elsewhere/"}
            },
        ),
    ),
    "no wake-up alarm": (
        "gpu-autoscaling",
        lambda s: s.without(
            lambda r: (
                r.type == rules.ALARM and r.inputs.get("metricName") == "HasBacklogWithoutCapacity"
            )
        ),
    ),
    "execution role reads another bucket": (
        "gpu-role-scope",
        lambda s: s.replace(_exec_policy(s), policy=_widened(s)),
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENED))
def test_rules_catch_a_weakened_async_stack(stack: Stack, case: str) -> None:
    rule, weaken = WEAKENED[case]
    findings = list(rules.RULES[rule](weaken(stack)))
    assert findings, f"{rule} did not notice: {case}"
    assert {f.rule for f in findings} == {rule}


def test_read_gating_rule_refuses_an_unknown_exemption(stack: Stack) -> None:
    policy = next(
        p
        for p in stack.of(rules.BUCKET_POLICY)
        if p.inputs["bucket"] == stack.outputs["inputBucket"]
    )
    doc = policy.json("policy")
    for s in doc["Statement"]:
        if s["Sid"] == "DenyReadUntilScannedAllow":
            s["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].append(
                "arn:aws:iam::123456789012:role/intern"
            )
    weakened = stack.replace(policy, policy=json.dumps(doc))
    assert [f.message for f in rules.require_read_gating(weakened)] == [
        "reads of objects not tagged allow are not denied"
    ]


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gpu", "message"),
    [
        ({"mode": "batch"}, "fakewatch:gpu.mode must be realtime or async, got 'batch'"),
        (
            {"mode": "realtime", "minInstances": 0},
            "gpu.minInstances 0 (scale to zero) needs gpu.mode: async",
        ),
        (
            {"mode": "realtime", "targetBacklogPerInstance": 2},
            "gpu.targetBacklogPerInstance only applies with gpu.mode: async, not realtime",
        ),
        (
            {"mode": "async", "targetInvocationsPerInstance": 20},
            "gpu.targetInvocationsPerInstance only applies with gpu.mode: realtime, not async",
        ),
    ],
)
def test_bad_mode_config_is_explained(zip_path: Path, iac_deploy, gpu: dict, message: str) -> None:
    spec = {"enabled": True, "instanceType": "ml.g5.xlarge", "imageUri": IMAGE, **gpu}
    with pytest.raises(ConfigError) as err:
        iac_deploy("aws", config(zip_path, gpu=json.dumps(spec)))
    assert message in str(err.value)
