"""Google Cloud errors translated into fakewatch's own, at the edge, with the cause kept.

One context manager, :func:`translate`, wraps every SDK call the adapter makes::

    with translate(f"gs://{bucket}/{key}"):
        blob.reload()

=====================================================  =======================================
Google error                                           fakewatch error
=====================================================  =======================================
404 ``NotFound``                                       :class:`~fakewatch.errors.ObjectNotFound`
412 ``PreconditionFailed`` (write-once put)            :class:`~fakewatch.errors.PreconditionFailed`
412 on a read guarded by generation                    :class:`~fakewatch.errors.ObjectChanged`
401/403 ``Unauthorized``/``Forbidden``                 :class:`~fakewatch.errors.AccessDenied`
408/429/5xx, ``RetryError``, connection and timeouts,  :class:`~fakewatch.errors.TransientError`
a corrupted download (checksum mismatch)
=====================================================  =======================================

Anything else (a 400 for a malformed request, a programming error) is not translated: it is
a bug to fix, not an outcome to record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.resumable_media import common as media_common
from requests import exceptions as http_exc

from fakewatch.errors import (
    AccessDenied,
    ObjectNotFound,
    PreconditionFailed,
    TransientError,
)

_TRANSIENT_API = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    gexc.RequestRangeNotSatisfiable,  # a read racing an overwrite: the retry sees the new state
    gexc.RetryError,
    gexc.DeadlineExceeded,
)
_TRANSIENT_TRANSPORT = (
    http_exc.ConnectionError,
    http_exc.Timeout,
    http_exc.ChunkedEncodingError,
    auth_exc.TransportError,
    media_common.DataCorruption,
    TimeoutError,
    ConnectionError,
)


@contextmanager
def translate(what: str, *, precondition: type[Exception] = PreconditionFailed) -> Iterator[None]:
    """Re-raise Google's errors as fakewatch errors naming ``what`` (an object URI).

    ``precondition`` is what a 412 means here: a write-once put that lost
    (PreconditionFailed, the default) or a read guarded by a generation (ObjectChanged).
    """
    try:
        yield
    except gexc.NotFound as exc:
        raise ObjectNotFound(f"{what} does not exist") from exc
    except gexc.PreconditionFailed as exc:
        raise precondition(f"{what}: precondition failed ({exc.message})") from exc
    except (gexc.Forbidden, gexc.Unauthorized) as exc:
        raise AccessDenied(f"{what}: access denied ({exc.message})") from exc
    except _TRANSIENT_API as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
    except media_common.InvalidResponse as exc:
        status = getattr(exc.response, "status_code", 0)
        raise _from_status(what, status, exc, precondition) from exc
    except _TRANSIENT_TRANSPORT as exc:
        if isinstance(exc, TransientError):  # already ours (ConnectionError's subclass)
            raise
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _from_status(
    what: str, status: int, exc: Exception, precondition: type[Exception]
) -> Exception:
    """Map a bare HTTP status (resumable-media raises these) like the API errors above."""
    if status == 404:
        return ObjectNotFound(f"{what} does not exist")
    if status == 412:
        return precondition(f"{what}: precondition failed")
    if status in (401, 403):
        return AccessDenied(f"{what}: access denied")
    if status in (408, 429) or status >= 500:
        return TransientError(f"{what}: HTTP {status}")
    return exc


__all__ = ["translate"]
