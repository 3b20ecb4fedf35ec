"""SecureBucket: an S3 bucket that is private, encrypted, TLS-only and expires what it should."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from fakewatch_iac.aws.iam import Statement, document, tls_only


@dataclass(frozen=True)
class BucketSpec:
    versioned: bool = False
    expire_days: int | None = None  # delete current objects after this many days
    noncurrent_days: int = 30  # delete superseded versions after this many days
    kms_key_arn: str | None = None  # SSE-KMS with this key; SSE-S3 (AES256) otherwise


class SecureBucket(pulumi.ComponentResource):
    """Bucket + ownership enforced + public access blocked + SSE + lifecycle + TLS-only policy.

    ``extra_statements`` maps the bucket ARN to more statements (for example read gating); they
    join the TLS-only statement in the one bucket policy S3 allows per bucket.
    """

    def __init__(
        self,
        name: str,
        spec: BucketSpec,
        *,
        tags: dict[str, str],
        extra_statements: Callable[[pulumi.Output[str]], pulumi.Output[list[Statement]]]
        | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:aws:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, force_destroy=False, tags=tags, opts=child)
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        by_default = (
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
        )
        default = by_default(
            sse_algorithm="aws:kms" if spec.kms_key_arn else "AES256",
            kms_master_key_id=spec.kms_key_arn,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default, bucket_key_enabled=True
                )
            ],
            opts=child,
        )
        versioning = None
        if spec.versioned:
            versioning = aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=bucket_id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
        self._lifecycle(name, spec, versioning, child)
        extra: pulumi.Input[list[Statement]] = (
            extra_statements(self.bucket.arn) if extra_statements else []
        )
        statements = pulumi.Output.all(self.bucket.arn, extra).apply(
            lambda args: document([tls_only(args[0]), *args[1]])
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=statements,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        self.register_outputs({"arn": self.arn, "name": self.name})

    def _lifecycle(
        self,
        name: str,
        spec: BucketSpec,
        versioning: aws.s3.BucketVersioning | None,
        child: pulumi.ResourceOptions,
    ) -> None:
        rules: list[dict[str, object]] = [
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        if spec.expire_days is not None:
            rules.append(
                {
                    "id": "retention",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": spec.expire_days},
                }
            )
        if spec.versioned:
            rules.append(
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": spec.noncurrent_days},
                }
            )
        depends = [versioning] if versioning is not None else []
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=rules,  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)),
        )
