"""The AWS program (iac/aws) under Pulumi's mock engine: security defaults, wiring, least
privilege, bring-your-own bucket, read gating, GPU endpoint, and the deployed artifact.

Pulumi mocks stand in for the engine and AWS's control plane (no emulator exists for them).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from fakewatch_iac.errors import ArtifactError, ConfigError
from fakewatch_iac.policy import Stack, evaluate
from fakewatch_iac.policy import aws as rules
from fakewatch_iac.policy.core import statements

KMS = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def base_config(zip_path: Path, **extra: str) -> dict[str, str]:
    return {
        "aws:region": "eu-west-1",
        "fakewatch:artifactPath": str(zip_path),
        "fakewatch:alertEmail": "secops@example.com",
        "fakewatch:resultsRetentionDays": "90",
        "fakewatch:function": json.dumps(
            {"memoryMb": 3008, "timeoutSeconds": 60, "maxConcurrency": 25, "batchSize": 5}
        ),
        "fakewatch:policy": json.dumps({"reviewThreshold": "0.4", "quarantineThreshold": "0.9"}),
        **{f"fakewatch:{k}": v for k, v in extra.items()},
    }


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory, make_bundle) -> Path:
    return make_bundle("aws", tmp_path_factory.mktemp("aws"))


@pytest.fixture(scope="module")
def stack(zip_path: Path, iac_deploy) -> Stack:
    return iac_deploy(
        "aws",
        base_config(zip_path, readGating='{"enabled": true}', monthlyBudget="200"),
    )


@pytest.fixture(scope="module")
def byo_stack(zip_path: Path, iac_deploy) -> Stack:
    return iac_deploy(
        "aws",
        base_config(
            zip_path,
            existingInputBucket="corp-uploads",
            inputBucketKmsKeyArn=KMS,
            readGating='{"enabled": true}',
        ),
    )


@pytest.fixture(scope="module")
def gpu_stack(zip_path: Path, iac_deploy) -> Stack:
    gpu = {
        "enabled": True,
        "instanceType": "ml.g5.xlarge",
        "imageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fakewatch-serve:0.1.0",
        "minInstances": 1,
        "maxInstances": 4,
        "targetInvocationsPerInstance": 50,
        "modelDataUrl": "s3://models-bucket/fakewatch/model.tar.gz",
    }
    return iac_deploy("aws", base_config(zip_path, gpu=json.dumps(gpu)))


def role_statements(stack: Stack) -> dict[str, dict]:
    role = rules.scanner_role(stack)
    policy = stack.where(rules.ROLE_POLICY, "role", role.id)[0]
    return {s["Sid"]: s for s in statements(policy.json("policy"))}


# -- the policy-as-code suite ------------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_default_stack_passes_rule(stack: Stack, rule: str) -> None:
    assert list(rules.RULES[rule](stack)) == []


@pytest.mark.parametrize("fixture", ["byo_stack", "gpu_stack"])
def test_variant_stacks_pass_every_rule(fixture: str, request: pytest.FixtureRequest) -> None:
    assert evaluate(request.getfixturevalue(fixture), rules.RULES) == []


def _first(stack: Stack, typ: str, suffix: str = ""):
    return next(r for r in stack.of(typ) if r.name.endswith(suffix))


MUTATIONS = {
    "s3-public-access": lambda s: s.without(lambda r: r.type == rules.PAB),
    "s3-encryption": lambda s: s.without(lambda r: r.type == rules.SSE),
    "s3-tls-only": lambda s: s.without(lambda r: r.type == rules.BUCKET_POLICY),
    "s3-versioning": lambda s: s.without(lambda r: r.type == rules.VERSIONING),
    "s3-lifecycle": lambda s: s.replace(
        _first(s, rules.LIFECYCLE, "results-lifecycle"),
        rules=[{"id": "x", "status": "Enabled", "filter": {}}],
    ),
    "sqs-dlq": lambda s: s.replace(rules.scan_queue(s), redrivePolicy=None),
    "sqs-policy": lambda s: s.without(lambda r: r.type == rules.QUEUE_POLICY),
    "trigger": lambda s: s.replace(s.one(rules.ESM), functionResponseTypes=[]),
    "concurrency": lambda s: s.replace(
        rules.scanner_function(s), reservedConcurrentExecutions=None
    ),
    "iam-wildcard": lambda s: s.replace(
        s.of(rules.ROLE_POLICY)[0],
        policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    ),
    "scanner-scope": lambda s: s.replace(
        s.of(rules.ROLE_POLICY)[0],
        policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject"],
                        "Resource": ["arn:aws:s3:::payroll/*"],
                    }
                ]
            }
        ),
    ),
    "log-retention": lambda s: s.replace(s.one(rules.LOG_GROUP), retentionInDays=None),
    "alarms": lambda s: s.without(
        lambda r: r.type == rules.ALARM and r.inputs.get("namespace") == "AWS/SQS"
    ),
    "idempotency": lambda s: s.replace(
        s.one(rules.TABLE), ttl={"attributeName": "expiration", "enabled": False}
    ),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_rule_catches_a_weakened_stack(stack: Stack, rule: str) -> None:
    weakened = MUTATIONS[rule](stack)
    findings = list(rules.RULES[rule](weakened))
    assert findings, f"{rule} did not notice the weakened stack"
    assert all(f.rule.startswith(rule.split("-", maxsplit=1)[0]) for f in findings)


# -- security defaults, concretely --------------------------------------------------------------
def test_buckets_are_private_encrypted_and_input_is_versioned(stack: Stack) -> None:
    buckets = stack.of(rules.BUCKET)
    assert len(buckets) == 3
    assert all(b.inputs.get("forceDestroy") is False for b in buckets)
    versioned = {v.inputs["bucket"] for v in stack.of(rules.VERSIONING)}
    assert stack.outputs["inputBucket"] in versioned
    for sse in stack.of(rules.SSE):
        assert sse.get("rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm") == (
            "AES256"
        )
        assert sse.get("rules", 0, "bucketKeyEnabled") is True


def test_results_expire_after_configured_retention(stack: Stack) -> None:
    lifecycle = _first(stack, rules.LIFECYCLE, "results-lifecycle")
    assert lifecycle.inputs["bucket"] == stack.outputs["resultsBucket"]
    days = [r["expiration"]["days"] for r in lifecycle.inputs["rules"] if "expiration" in r]
    assert days == [90]


def test_queue_redrives_to_dlq_and_outlives_the_function(stack: Stack) -> None:
    queue = rules.scan_queue(stack)
    redrive = json.loads(queue.inputs["redrivePolicy"])
    dlq = next(q for q in stack.of(rules.QUEUE) if q.out("arn") == redrive["deadLetterTargetArn"])
    assert redrive["maxReceiveCount"] == 5
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * 60


def test_function_is_the_configured_lambda(stack: Stack) -> None:
    fn = rules.scanner_function(stack)
    assert fn.inputs["runtime"] == "python3.11"
    assert fn.inputs["handler"] == "fakewatch_aws.handler.lambda_handler"
    assert fn.inputs["memorySize"] == 3008
    assert fn.inputs["timeout"] == 60
    assert fn.inputs["reservedConcurrentExecutions"] == 25
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    mapping = stack.one(rules.ESM)
    assert mapping.inputs["batchSize"] == 5
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 25}
    assert mapping.inputs["eventSourceArn"] == rules.scan_queue(stack).out("arn")


def test_function_environment_matches_the_core_settings(stack: Stack) -> None:
    from fakewatch import settings
    from fakewatch.policy import parse_policy

    env = rules.env(stack)
    ours = {k for k in env if k.startswith(settings.PREFIX)}
    assert ours <= set(settings.ALL)
    assert env[settings.RESULTS_BUCKET] == stack.outputs["resultsBucket"]
    assert env[settings.QUARANTINE_BUCKET] == stack.outputs["quarantineBucket"]
    assert env[settings.RESULT_TOPIC] == stack.outputs["resultBus"]
    assert env[settings.RESULTS_PREFIX] == "verdicts/"
    assert env[settings.AUDIT_PREFIX] == "audit/"
    assert env[settings.IDEMPOTENCY_TABLE] == stack.one(rules.TABLE).out("name")
    assert settings.ESCALATION_ENDPOINT not in env
    policy = parse_policy(json.loads(env[settings.POLICY]))
    assert (policy.thresholds.review, policy.thresholds.quarantine) == (0.4, 0.9)


def test_artifact_deployed_is_the_bundle(stack: Stack, zip_path: Path) -> None:
    fn = rules.scanner_function(stack)
    assert Path(fn.inputs["code"].path) == zip_path
    digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert fn.inputs["sourceCodeHash"] == digest


def test_scanner_role_is_exactly_least_privilege(stack: Stack) -> None:
    stmts = role_statements(stack)
    inp = f"arn:aws:s3:::{stack.outputs['inputBucket']}"
    res = f"arn:aws:s3:::{stack.outputs['resultsBucket']}"
    assert stmts["ReadTagAndMoveInput"]["Resource"] == [f"{inp}/*"]
    assert "s3:PutObject" not in stmts["ReadTagAndMoveInput"]["Action"]
    # A missing key is a 404 only with ListBucket; without it S3 answers 403.
    assert stmts["ListInput"] == {
        "Sid": "ListInput",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [inp],
    }
    assert stmts["WriteVerdictsAndAudit"]["Resource"] == [f"{res}/*"]
    assert stmts["ConsumeQueue"]["Resource"] == [rules.scan_queue(stack).out("arn")]
    assert stmts["UnavoidableTracing"]["Resource"] == "*"
    assert not any(a.startswith("kms:") for s in stmts.values() for a in s["Action"])
    assert "Escalate" not in stmts
    assert stack.outputs["scannerRoleArn"] == rules.scanner_role(stack).out("arn")
    trust = json.loads(rules.scanner_role(stack).inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_alarms_notify_the_alert_destination(stack: Stack) -> None:
    topic = stack.one("aws:sns/topic:Topic")
    sub = stack.one("aws:sns/topicSubscription:TopicSubscription")
    assert (sub.inputs["protocol"], sub.inputs["endpoint"]) == ("email", "secops@example.com")
    assert topic.inputs["kmsMasterKeyId"] == stack.one("aws:kms/key:Key").out("arn")
    for alarm in stack.of(rules.ALARM):
        assert alarm.inputs["alarmActions"] == [topic.out("arn")]


def test_monthly_budget_alarm(stack: Stack) -> None:
    assert list(rules.require_budget(stack)) == []
    budget = stack.one(rules.BUDGET)
    assert (budget.inputs["limitAmount"], budget.inputs["limitUnit"]) == ("200", "USD")
    assert budget.inputs["timeUnit"] == "MONTHLY"


def test_no_budget_unless_configured(byo_stack: Stack) -> None:
    assert byo_stack.of(rules.BUDGET) == []
    assert list(rules.require_budget(byo_stack))


# -- read gating ---------------------------------------------------------------------------------
def test_read_gating_fails_closed(stack: Stack) -> None:
    assert list(rules.require_read_gating(stack)) == []
    input_policy = next(
        p
        for p in stack.of(rules.BUCKET_POLICY)
        if p.inputs["bucket"] == stack.outputs["inputBucket"]
    )
    deny = {s["Sid"]: s for s in statements(input_policy.json("policy"))}
    read = deny["DenyReadUntilScannedAllow"]
    assert read["Condition"]["StringNotEquals"] == {
        "s3:ExistingObjectTag/fakewatch-action": "allow"
    }
    assert read["Condition"]["ArnNotEquals"] == {
        "aws:PrincipalArn": rules.scanner_role(stack).out("arn")
    }
    assert "s3:PutObject" in deny["DenyScannerTagsToOthers"]["Action"]


def test_without_read_gating_the_rule_reports_it(gpu_stack: Stack) -> None:
    findings = list(rules.require_read_gating(gpu_stack))
    assert [f.rule for f in findings] == ["read-gating", "read-gating"]


# -- bring your own bucket ----------------------------------------------------------------------
def test_existing_bucket_is_attached_through_eventbridge(byo_stack: Stack) -> None:
    assert byo_stack.of(rules.NOTIFICATION) == []
    assert len(byo_stack.of(rules.BUCKET)) == 2  # results and quarantine only
    rule = byo_stack.one(rules.RULE)
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["bucket"]["name"] == ["corp-uploads"]
    target = byo_stack.one(rules.TARGET)
    assert target.inputs["arn"] == rules.scan_queue(byo_stack).out("arn")
    queue = rules.scan_queue(byo_stack)
    (policy,) = byo_stack.where(rules.QUEUE_POLICY, "queueUrl", queue.out("url"))
    queue_policy = statements(policy.json("policy"))
    allow = [s for s in queue_policy if s["Effect"] == "Allow"]
    assert allow[0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == rule.out("arn")


def test_undeliverable_bucket_events_are_parked_in_the_dlq(byo_stack: Stack) -> None:
    dlq = rules.dead_letter_queue(byo_stack)
    assert byo_stack.one(rules.TARGET).inputs["deadLetterConfig"] == {"arn": dlq.out("arn")}
    (policy,) = byo_stack.where(rules.QUEUE_POLICY, "queueUrl", dlq.out("url"))
    allow = [s for s in statements(policy.json("policy")) if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allow] == [{"Service": "events.amazonaws.com"}]
    assert allow[0]["Condition"]["ArnEquals"]["aws:SourceArn"] == byo_stack.one(rules.RULE).out(
        "arn"
    )


def test_dead_letter_queue_is_tls_only_and_admits_nobody_else(stack: Stack) -> None:
    dlq = rules.dead_letter_queue(stack)
    (policy,) = stack.where(rules.QUEUE_POLICY, "queueUrl", dlq.out("url"))
    stmts = statements(policy.json("policy"))
    assert [s["Sid"] for s in stmts] == ["DenyInsecureTransport"]


def test_sqs_policy_rule_covers_the_dead_letter_queue(stack: Stack) -> None:
    dlq_url = rules.dead_letter_queue(stack).out("url")
    weakened = stack.without(
        lambda r: r.type == rules.QUEUE_POLICY and r.inputs.get("queueUrl") == dlq_url
    )
    assert [f.message for f in rules.sqs_policy_scoped(weakened)] == [
        "queue policy does not deny non-TLS requests"
    ]


def test_existing_bucket_policy_is_not_replaced_but_gating_is_exported(byo_stack: Stack) -> None:
    policies = [p.inputs["bucket"] for p in byo_stack.of(rules.BUCKET_POLICY)]
    assert "corp-uploads" not in policies
    exported = byo_stack.outputs["readGatingStatements"]
    assert {s["Sid"] for s in exported} == {"DenyReadUntilScannedAllow", "DenyScannerTagsToOthers"}
    assert exported[0]["Resource"] == ["arn:aws:s3:::corp-uploads/*"]


def test_kms_encrypted_existing_bucket_gets_decrypt(byo_stack: Stack, stack: Stack) -> None:
    assert list(rules.require_kms_decrypt(KMS)(byo_stack)) == []
    assert list(rules.require_kms_decrypt(KMS)(stack))  # not granted without the setting
    decrypt = role_statements(byo_stack)["DecryptInputBucket"]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    reads = role_statements(byo_stack)["ReadTagAndMoveInput"]["Resource"]
    assert reads == ["arn:aws:s3:::corp-uploads/*"]


# -- GPU endpoint --------------------------------------------------------------------------------
def test_gpu_endpoint_with_autoscaling(gpu_stack: Stack) -> None:
    endpoint = gpu_stack.one(rules.ENDPOINT)
    config = gpu_stack.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    variant = config.inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.g5.xlarge", 1)
    target = gpu_stack.one(rules.SCALING_TARGET)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 4)
    assert target.inputs["resourceId"] == f"endpoint/{endpoint.out('name')}/variant/primary"
    policy = gpu_stack.one(rules.SCALING_POLICY)
    assert policy.get("targetTrackingScalingPolicyConfiguration", "targetValue") == 50.0
    escalate = role_statements(gpu_stack)["Escalate"]
    assert escalate["Resource"] == [endpoint.out("arn")]
    assert escalate["Action"] == ["sagemaker:InvokeEndpoint"]
    env = rules.env(gpu_stack)
    assert env["FAKEWATCH_ESCALATION_ENDPOINT"] == endpoint.out("name")
    assert env["FAKEWATCH_ESCALATION_MODE"] == "realtime"
    assert "asyncInferenceConfig" not in config.inputs
    assert len(gpu_stack.of(rules.TOPIC)) == 1  # the alert topic; no escalation topics
    model = gpu_stack.one("aws:sagemaker/model:Model")
    assert model.get("primaryContainer", "environment", "FAKEWATCH_SERVE_MODE") == "realtime"
    assert json.loads(env["FAKEWATCH_POLICY"])["escalation"] == {"enabled": True}


def test_realtime_endpoint_may_not_scale_to_zero(gpu_stack: Stack) -> None:
    weakened = gpu_stack.replace(gpu_stack.one(rules.SCALING_TARGET), minCapacity=0)
    assert [f.message for f in rules.gpu_autoscaling(weakened)] == [
        "a real-time endpoint cannot scale to zero"
    ]


def test_gpu_image_must_come_from_ecr(zip_path: Path, iac_deploy) -> None:
    gpu = {"enabled": True, "instanceType": "ml.g5.xlarge", "imageUri": "docker.io/x/y:1"}
    with pytest.raises(ConfigError, match="must be an ECR image"):
        iac_deploy("aws", base_config(zip_path, gpu=json.dumps(gpu)))


# -- bad config and bad artifacts stop the program ---------------------------------------------
def test_bad_config_fails_with_every_problem(zip_path: Path, iac_deploy) -> None:
    config = base_config(
        zip_path,
        function=json.dumps({"memoryMb": 64, "timeoutSeconds": 901}),
        logRetentionDays="8",
        alertEmail="not-an-email",
    )
    with pytest.raises(ConfigError) as err:
        iac_deploy("aws", config)
    text = str(err.value)
    assert "fakewatch:function.memoryMb must be between 128 and 10240, got 64" in text
    assert "fakewatch:function.timeoutSeconds must be between 1 and 900, got 901" in text
    assert "fakewatch:logRetentionDays must be one of" in text
    assert "'not-an-email' is not an email address" in text


def test_missing_artifact_says_how_to_build_it(tmp_path: Path, iac_deploy) -> None:
    with pytest.raises(ArtifactError, match="make bundle-aws"):
        iac_deploy("aws", base_config(tmp_path / "nope.zip"))


def test_foreign_zip_is_refused(tmp_path: Path, iac_deploy, make_bundle) -> None:
    other = make_bundle("aws", tmp_path, {"index.js": "exports.handler = () => 1"})
    with pytest.raises(ArtifactError, match=r"missing fakewatch_aws/handler\.py"):
        iac_deploy("aws", base_config(other))


def test_truncated_zip_is_refused(tmp_path: Path, zip_path: Path, iac_deploy) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(zip_path.read_bytes()[:-40])
    with pytest.raises(ArtifactError, match="not a readable zip"):
        iac_deploy("aws", base_config(broken))
