"""botocore errors → fakewatch errors, at the edge and nowhere else.

``translate(exc)`` maps one SDK exception to the core's closed set (the cause is kept as
``__cause__`` by the ``aws_errors`` context manager that raises it):

* not found (``NoSuchKey``, ``NoSuchBucket``, a bare 404 from HEAD) → ObjectNotFound
* precondition (412) → PreconditionFailed (a write-once put) or ObjectChanged (an If-Match get)
* 403 and friends, missing credentials → AccessDenied
* throttling, 5xx, timeouts, dropped connections, 409 ``ConditionalRequestConflict`` (S3 asks
  callers to retry it) → TransientError
* anything else → AwsError (permanent, but not a verdict: the record is retried to the DLQ)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from fakewatch.errors import (
    AccessDenied,
    FakewatchError,
    ObjectChanged,
    ObjectNotFound,
    PreconditionFailed,
    TransientError,
)

NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NotFound", "404"})
PRECONDITION = frozenset({"PreconditionFailed", "412"})
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "AccountProblem",
        "Forbidden",
        "InvalidAccessKeyId",
        "InvalidObjectState",  # archived (Glacier) objects: readable only after a restore
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "SignatureDoesNotMatch",
        "403",
    }
)
TRANSIENT = frozenset(
    {
        "ConditionalRequestConflict",
        "InternalError",
        "InternalFailure",
        "OperationAborted",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "KMS.ThrottlingException",
    }
)
_NETWORK = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)


class AwsError(FakewatchError, OSError):
    """An AWS error that is neither missing, denied, a precondition nor worth retrying."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def translate(
    exc: BaseException,
    what: str = "",
    *,
    precondition: type[FakewatchError] = PreconditionFailed,
) -> FakewatchError:
    """The fakewatch error for an SDK exception; ``what`` names the object in the message."""
    prefix = f"{what}: " if what else ""
    if isinstance(exc, FakewatchError):
        return exc
    if isinstance(exc, ClientError):
        code, status = error_code(exc), http_status(exc)
        message = f"{prefix}{code or status}: {exc.response.get('Error', {}).get('Message', '')}"
        if code in NOT_FOUND or status == 404:
            return ObjectNotFound(message.rstrip(": "))
        if code in PRECONDITION or status == 412:
            return precondition(message)
        if code in TRANSIENT or status >= 500 or status == 429:
            return TransientError(message)
        if code in DENIED or status == 403:
            return AccessDenied(message)
        return AwsError(message)
    if isinstance(exc, _NETWORK):
        return TransientError(f"{prefix}{type(exc).__name__}: {exc}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AccessDenied(f"{prefix}no usable AWS credentials: {exc}")
    return AwsError(f"{prefix}{type(exc).__name__}: {exc}")


@contextmanager
def aws_errors(
    what: str = "", *, precondition: type[FakewatchError] = PreconditionFailed
) -> Iterator[None]:
    """Run a block of SDK calls; re-raise SDK errors translated, with the cause kept."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, what, precondition=precondition) from exc


__all__ = ["AwsError", "ObjectChanged", "aws_errors", "translate"]
