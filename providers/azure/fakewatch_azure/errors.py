"""Azure SDK errors translated into fakewatch's own, at the edge, with the cause kept.

One context manager, :func:`translate`, wraps every storage call the adapter makes::

    with translate(f"az://{container}/{name}"):
        blob.get_blob_properties()

==============================================================  ===================================
Azure error                                                     fakewatch error
==============================================================  ===================================
404 (``BlobNotFound``, ``ContainerNotFound``, ...)              :class:`ObjectNotFound`
409 ``BlobAlreadyExists`` / 412 on a write-once put             :class:`PreconditionFailed`
412 ``ConditionNotMet`` on a read guarded by ETag               :class:`ObjectChanged`
401/403, ``ClientAuthenticationError``                          :class:`AccessDenied`
408/429/5xx (``ServerBusy``, ``OperationTimedOut``),            :class:`TransientError`
connection and read errors (``ServiceRequestError``,
``ServiceResponseError``), timeouts
==============================================================  ===================================

Anything else (a 400 for an invalid request, a programming error) is not translated: it is
a bug to fix, not an outcome to record. The storage SDK has already retried the transient
ones (``retry_total``) before they reach us.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from fakewatch.errors import (
    AccessDenied,
    FakewatchError,
    ObjectNotFound,
    PreconditionFailed,
    TransientError,
)

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
TRANSIENT_CODES = frozenset({"ServerBusy", "OperationTimedOut", "InternalError"})


def status_of(exc: HttpResponseError) -> int:
    """The HTTP status of an Azure error (0 when there was no response)."""
    status = exc.status_code
    if status is None and exc.response is not None:
        status = exc.response.status_code
    return int(status or 0)


def code_of(exc: HttpResponseError) -> str:
    """The storage error code (``BlobNotFound``, ...), as a plain string."""
    code = getattr(exc, "error_code", None)  # set by the storage SDK's error handler
    return str(getattr(code, "value", code) or "")


def translate_error(
    what: str, exc: BaseException, *, precondition: type[Exception] = PreconditionFailed
) -> BaseException:
    """The fakewatch error for one SDK exception, or the exception itself when it is a bug."""
    if isinstance(exc, FakewatchError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        return AccessDenied(f"{what}: access denied ({exc.message})")
    if isinstance(exc, ResourceNotFoundError):
        return ObjectNotFound(f"{what} does not exist ({code_of(exc) or 'not found'})")
    if isinstance(exc, ResourceExistsError) and code_of(exc) == "BlobAlreadyExists":
        return PreconditionFailed(f"{what} already exists")
    if isinstance(exc, HttpResponseError):
        return _from_status(what, exc, precondition)
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError):
        return TransientError(f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ConnectionError):
        return TransientError(f"{what}: {type(exc).__name__}: {exc}")
    return exc


def _from_status(what: str, exc: HttpResponseError, precondition: type[Exception]) -> BaseException:
    status, code = status_of(exc), code_of(exc)
    if status == 404:
        return ObjectNotFound(f"{what} does not exist ({code or 'HTTP 404'})")
    if status == 412:
        return precondition(f"{what}: precondition failed ({code or 'HTTP 412'})")
    if status in (401, 403):
        return AccessDenied(f"{what}: access denied ({code or f'HTTP {status}'})")
    if status in TRANSIENT_STATUS or code in TRANSIENT_CODES:
        return TransientError(f"{what}: {code or f'HTTP {status}'}: {exc.message}")
    return exc


@contextmanager
def translate(what: str, *, precondition: type[Exception] = PreconditionFailed) -> Iterator[None]:
    """Re-raise Azure's errors as fakewatch errors naming ``what`` (an ``az://`` URI).

    ``precondition`` is what a 412 means here: a write-once put that lost
    (PreconditionFailed, the default) or a read guarded by an ETag (ObjectChanged).
    """
    try:
        yield
    except Exception as exc:
        mapped = translate_error(what, exc, precondition=precondition)
        if mapped is exc:
            raise
        raise mapped from exc


__all__ = ["code_of", "status_of", "translate", "translate_error"]
