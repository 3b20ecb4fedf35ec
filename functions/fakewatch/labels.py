"""The closed sets every outcome is drawn from: labels, actions and error reasons."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    SYNTHETIC = (
        "synthetic"  # strong evidence of AI generation (signed declaration, generator metadata)
    )
    SUSPICIOUS = "suspicious"  # risk above the review threshold, or provenance tampered with
    NO_EVIDENCE = "no_evidence"  # nothing found: NOT a claim of authenticity
    ERROR = "error"  # could not scan; ``error.reason`` says why
    SKIPPED = "skipped"  # a policy skip rule matched; not scanned


class Action(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    QUARANTINE = "quarantine"


class ErrorReason(StrEnum):
    UNSUPPORTED = "unsupported"  # not a media type fakewatch scans
    CORRUPT = "corrupt"  # claims a supported type but cannot be decoded (incl. truncated)
    TOO_LARGE = "too_large"  # bytes, pixels, frames or duration over a limit
    TIMEOUT = "timeout"  # decoding or analysis ran past its budget
    EMPTY = "empty"  # zero bytes (when zero-length objects are not skipped)
    DELETED_BEFORE_SCAN = "deleted_before_scan"  # gone by the time the scanner looked
    CHANGED_BEFORE_SCAN = (
        "changed_before_scan"  # overwritten since the event; the new one gets its own
    )
    ACCESS_DENIED = "access_denied"  # the scanner may not read it (e.g. KMS key not granted)
    NO_SIGNAL = "no_signal"  # every signal failed or none applied: nothing could be checked
    INTERNAL = "internal"  # a bug: the detail says where
