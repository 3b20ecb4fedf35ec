"""SecureGcsBucket: uniform access, public access prevention enforced, lifecycle rules.

Cloud Storage encrypts every object at rest (Google-managed keys) and serves its APIs over
HTTPS only, so "encryption" and "TLS only" need no setting here; the policy rules check the
settings that are opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class GcsSpec:
    versioned: bool = False
    expire_days: int | None = None
    noncurrent_days: int = 30


class SecureGcsBucket(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        spec: GcsSpec,
        *,
        project: str,
        location: str,
        labels: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("fakewatch:gcp:SecureBucket", name, None, opts)
        rule = gcp.storage.BucketLifecycleRuleArgs
        action = gcp.storage.BucketLifecycleRuleActionArgs
        condition = gcp.storage.BucketLifecycleRuleConditionArgs
        rules = [
            rule(action=action(type="AbortIncompleteMultipartUpload"), condition=condition(age=7))
        ]
        if spec.expire_days is not None:
            rules.append(
                rule(action=action(type="Delete"), condition=condition(age=spec.expire_days))
            )
        if spec.versioned:
            rules.append(
                rule(
                    action=action(type="Delete"),
                    condition=condition(
                        days_since_noncurrent_time=spec.noncurrent_days, with_state="ARCHIVED"
                    ),
                )
            )
        self.bucket = gcp.storage.Bucket(
            name,
            project=project,
            location=location.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": spec.versioned},
            lifecycle_rules=rules,
            force_destroy=False,
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.bucket.name
        self.register_outputs({"name": self.name})
