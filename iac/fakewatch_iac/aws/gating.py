"""Fail-closed read gating for the input bucket, as bucket-policy statements.

Reads are denied unless the object carries ``fakewatch-action=allow``; an object the scanner has
not reached yet (throttled, failed, queued) has no such tag and stays unreadable. Only the
scanner's role may set ``fakewatch-*`` tags, whether by PutObjectTagging or at upload time.
"""

from __future__ import annotations

from collections.abc import Sequence

from fakewatch_iac.aws.iam import Statement, statement
from fakewatch_iac.envvars import ACTION_TAG, ALLOW, TAG_PREFIX


def read_gating_statements(
    bucket_arn: str, scanner_role_arn: str, readers: Sequence[str] = ()
) -> list[Statement]:
    """``readers``: roles besides the scanner that read objects before they are tagged (the
    SageMaker execution role of an asynchronous endpoint, which reads escalated uploads from S3).
    Only the scanner may write tags."""
    exempt = [scanner_role_arn, *readers]
    return [
        statement(
            "DenyReadUntilScannedAllow",
            ["s3:GetObject", "s3:GetObjectVersion"],
            [f"{bucket_arn}/*"],
            effect="Deny",
            principal="*",
            # A missing tag makes StringNotEquals true: untagged objects are denied too.
            condition={
                "StringNotEquals": {f"s3:ExistingObjectTag/{ACTION_TAG}": ALLOW},
                "ArnNotEquals": {"aws:PrincipalArn": exempt[0] if not readers else exempt},
            },
        ),
        statement(
            "DenyScannerTagsToOthers",
            ["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
            [f"{bucket_arn}/*"],
            effect="Deny",
            principal="*",
            condition={
                "ForAnyValue:StringLike": {"s3:RequestObjectTagKeys": f"{TAG_PREFIX}*"},
                "ArnNotEquals": {"aws:PrincipalArn": scanner_role_arn},
            },
        ),
    ]
