"""IAM policy documents as data, with the few wildcards AWS leaves no way around named once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Statement = dict[str, Any]

# Actions AWS only authorises on Resource "*". Policy checks accept "*" for these and nothing else.
UNAVOIDABLE_WILDCARDS: Mapping[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "ecr:GetAuthorizationToken": "ECR authorization tokens are account-wide",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no ARN; narrowed by cloudwatch:namespace",
}


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str] | str | None,
    *,
    effect: str = "Allow",
    principal: Any = None,
    condition: Mapping[str, Any] | None = None,
) -> Statement:
    """One policy statement. ``principal`` only for resource and trust policies."""
    stmt: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions)}
    if principal is not None:
        stmt["Principal"] = principal
    if resources is not None:
        stmt["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        stmt["Condition"] = dict(condition)
    return stmt


def document(statements: Sequence[Statement]) -> str:
    """A policy document as the JSON string AWS APIs take."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role(service: str, *, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role (confused-deputy guarded if asked)."""
    condition = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
    return document(
        [
            statement(
                "TrustService",
                ["sts:AssumeRole"],
                None,
                principal={"Service": service},
                condition=condition,
            )
        ]
    )


def tls_only(bucket_arn: str) -> Statement:
    """Deny every S3 request that does not use TLS."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, f"{bucket_arn}/*"],
        effect="Deny",
        principal="*",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )
