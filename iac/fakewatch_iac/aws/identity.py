"""The scanner's IAM role: exactly the actions it uses, on exactly the resources it owns."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import Statement, assume_role, document, statement


@dataclass(frozen=True)
class ScannerArns:
    """Resolved ARNs the scanner touches. Optional ones add their statement only when set."""

    input_bucket: str
    results_bucket: str
    quarantine_bucket: str
    queue: str
    log_group: str
    idempotency_table: str
    result_bus: str
    endpoint: str | None = None
    escalation_mode: str = "realtime"  # async: InvokeEndpointAsync instead of InvokeEndpoint
    bucket_kms_key: str | None = None  # key of the buckets this stack created
    input_kms_key: str | None = None  # key of an existing (brought) input bucket
    manifest_objects: str | None = None  # arn:aws:s3:::<bucket>/<manifest folder>/*


ESCALATE_ACTION = {
    "realtime": "sagemaker:InvokeEndpoint",
    "async": "sagemaker:InvokeEndpointAsync",
}


def scanner_statements(arns: ScannerArns) -> list[Statement]:
    """Least-privilege statements: read+tag+move out of input, write results and quarantine.

    Verdicts, audit records and asynchronous escalation answers (``escalations/``) all live in
    the results bucket, which the scanner reads and writes already."""
    stmts = [
        statement(
            "ReadTagAndMoveInput",
            [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectTagging",
                "s3:GetObjectVersionTagging",
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
                "s3:DeleteObject",
            ],
            [f"{arns.input_bucket}/*"],
        ),
        # Without ListBucket S3 answers 403 for a missing key; the adapter needs the 404.
        statement("ListInput", ["s3:ListBucket"], [arns.input_bucket]),
        statement(
            "WriteVerdictsAndAudit",
            ["s3:GetObject", "s3:PutObject"],
            [f"{arns.results_bucket}/*"],
        ),
        statement("ListResults", ["s3:ListBucket"], [arns.results_bucket]),
        statement(
            "WriteQuarantine",
            ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
            [f"{arns.quarantine_bucket}/*"],
        ),
        statement(
            "ConsumeQueue",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            [arns.queue],
        ),
        statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{arns.log_group}:*"],
        ),
        statement(
            "Idempotency",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [arns.idempotency_table],
        ),
        statement("PublishResults", ["events:PutEvents"], [arns.result_bus]),
        statement(
            "UnavoidableTracing",
            ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "*",
        ),
    ]
    if arns.endpoint:
        action = ESCALATE_ACTION[arns.escalation_mode]
        stmts.append(statement("Escalate", [action], [arns.endpoint]))
    if arns.manifest_objects:
        stmts.append(statement("ReadModelManifest", ["s3:GetObject"], [arns.manifest_objects]))
    if arns.bucket_kms_key:
        stmts.append(
            statement("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [arns.bucket_kms_key])
        )
    if arns.input_kms_key:
        stmts.append(
            statement(
                "DecryptInputBucket",
                ["kms:Decrypt"],
                [arns.input_kms_key],
                condition={
                    "StringEquals": {"kms:ViaService": f"s3.{_region(arns.queue)}.amazonaws.com"}
                },
            )
        )
    return stmts


def _region(arn: str) -> str:
    return arn.split(":")[3]


class ScannerRole(pulumi.ComponentResource):
    """Lambda execution role. The role comes first (bucket policies name it); its one inline
    policy, built from :func:`scanner_statements`, is attached once every ARN exists."""

    def __init__(
        self,
        name: str,
        *,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:ScannerRole", name, None, opts)
        self._name = name
        self.role = aws.iam.Role(
            name,
            assume_role_policy=assume_role("lambda.amazonaws.com"),
            description="fakewatch scanner: reads the input bucket, writes verdicts",
            max_session_duration=3600,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})

    def attach(self, arns: dict[str, pulumi.Input[str] | None]) -> aws.iam.RolePolicy:
        """Attach the least-privilege policy for ``arns`` (keys: :class:`ScannerArns` fields)."""
        names = [f.name for f in fields(ScannerArns)]
        unknown = set(arns) - set(names)
        if unknown:
            raise ValueError(f"unknown scanner ARN keys: {sorted(unknown)}")
        values = [arns.get(n) for n in names]
        self.policy_document = pulumi.Output.all(*values).apply(
            lambda resolved: document(
                scanner_statements(ScannerArns(**dict(zip(names, resolved, strict=True))))
            )
        )
        return aws.iam.RolePolicy(
            f"{self._name}-policy",
            role=self.role.id,
            policy=self.policy_document,
            opts=pulumi.ResourceOptions(parent=self),
        )
