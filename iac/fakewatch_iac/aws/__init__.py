"""AWS components: S3 -> SQS (+DLQ) -> Lambda, with EventBridge intake for existing buckets."""

from __future__ import annotations

from fakewatch_iac.aws.scanner import AwsScanner

__all__ = ["AwsScanner"]
