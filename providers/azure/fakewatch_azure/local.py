"""The whole Azure path on a laptop: ``function_app.py``'s registered ``scan_blob`` function,
called with real ``azure.functions`` event objects for new blobs in Azurite.

The Functions host cannot be installed here (its installer downloads binaries) and Azurite
sends no Event Grid notifications, so this module plays both parts, as closely as they can be
played in-process:

- **Event Grid:** :class:`Watcher` lists the input containers and, for each blob version
  (name + ETag) it has not delivered yet, builds the ``Microsoft.Storage.BlobCreated`` event
  Event Grid would send — Event Grid schema or CloudEvents 1.0 — and redelivers failed ones
  on the next pass, dead-lettering after ``max_attempts`` as a subscription would.
- **The host:** :func:`deliver` decodes the event JSON with the worker's own converter
  (``azure.functions.eventgrid.EventGridEventInConverter``, which yields an
  ``EventGridEvent`` or a ``CloudEvent``), finds the function through
  ``app.get_functions()``, calls it with a :class:`LocalContext`, and answers 200 when it
  returns and 500 when it raises — the status Event Grid would see.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from fakewatch.ports.store import ObjectInfo
from fakewatch_azure.events import BLOB_CREATED
from fakewatch_azure.runtime import Runtime, set_runtime
from fakewatch_azure.store import BlobStore

log = logging.getLogger(__name__)

FUNCTION = "scan_blob"
SCHEMAS = ("eventgrid", "cloudevents")
LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


# -- the function app -------------------------------------------------------------------------
def default_app_path() -> Path:
    """``providers/azure/function_app.py`` beside the package (a checkout, editable install)."""
    import fakewatch_azure

    return Path(fakewatch_azure.__file__).resolve().parent.parent / "function_app.py"


def load_function_app(path: Path | None = None) -> ModuleType:
    """Import ``function_app.py`` from ``path`` as the worker does (module ``function_app``)."""
    path = path or default_app_path()
    spec = importlib.util.spec_from_file_location("function_app", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no function app at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def registered_function(app: func.FunctionApp, name: str = FUNCTION) -> Callable[..., Any]:
    """The user function registered under ``name`` (what the worker indexes and invokes)."""
    for function in app.get_functions():
        if function.get_function_name() == name:
            return function.get_user_function()
    names = [f.get_function_name() for f in app.get_functions()]
    raise LookupError(f"function app registers {names}, not {name!r}")


class _TraceContext(func._abc.TraceContext):
    def __init__(self, trace_parent: str) -> None:
        self._trace_parent = trace_parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._trace_parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func._abc.RetryContext):
    def __init__(self, attempt: int) -> None:
        self._attempt = attempt

    @property
    def retry_count(self) -> int:
        return self._attempt

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class LocalContext(func.Context):
    """A ``func.Context`` as the worker builds one: invocation id, W3C trace parent."""

    def __init__(self, function_name: str = FUNCTION, attempt: int = 0) -> None:
        self._invocation_id = str(uuid.uuid4())
        trace_parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
        self._trace = _TraceContext(trace_parent)
        self._retry = _RetryContext(attempt)
        self._function_name = function_name

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        import threading

        return threading.local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return str(default_app_path().parent)

    @property
    def trace_context(self) -> func._abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> func._abc.RetryContext:
        return self._retry


# -- events -----------------------------------------------------------------------------------
def blob_url(store: BlobStore, container: str, name: str) -> str:
    return str(store.client.get_blob_client(container, name).url)


def blob_created(
    store: BlobStore,
    info: ObjectInfo,
    *,
    schema: str = "eventgrid",
    api: str = "PutBlob",
) -> dict[str, Any]:
    """The ``BlobCreated`` event Event Grid would send for ``info``, in ``schema``."""
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {SCHEMAS}, not {schema!r}")
    data = {
        "api": api,
        "clientRequestId": str(uuid.uuid4()),
        "requestId": str(uuid.uuid4()),
        "eTag": info.etag,
        "contentType": info.content_type or "application/octet-stream",
        "contentLength": info.size,
        "blobType": "BlockBlob",
        "url": blob_url(store, info.bucket, info.key),
        "sequencer": f"{int(datetime.now(UTC).timestamp() * 1e6):032x}",
        "storageDiagnostics": {"batchId": str(uuid.uuid4())},
    }
    source = (
        f"/subscriptions/{LOCAL_SUBSCRIPTION}/resourceGroups/fakewatch-local/providers/"
        f"Microsoft.Storage/storageAccounts/{store.account_name}"
    )
    subject = f"/blobServices/default/containers/{info.bucket}/blobs/{info.key}"
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if schema == "cloudevents":
        event = {"source": source, "subject": subject, "type": BLOB_CREATED, "time": now}
        return event | {"id": str(uuid.uuid4()), "data": data, "specversion": "1.0"}
    event = {"topic": source, "subject": subject, "eventType": BLOB_CREATED, "eventTime": now}
    meta_fields = {"dataVersion": "", "metadataVersion": "1"}
    return event | {"id": str(uuid.uuid4()), "data": data, **meta_fields}


def decode(payload: Mapping[str, Any]) -> Any:
    """The ``EventGridEvent`` / ``CloudEvent`` the worker would pass, from the event JSON."""
    datum = meta.Datum(json.dumps(payload), "json")
    return EventGridEventInConverter.decode(datum, trigger_metadata=None)


# -- delivery ---------------------------------------------------------------------------------
@dataclass
class Delivery:
    event_id: str
    blob: str
    status: int  # what Event Grid would see: 200 delivered, 500 retried
    error: str | None = None
    outcome: dict[str, Any] | None = None


class OutcomeRecorder(logging.Handler):
    """Collects the handler's structured ``outcome`` log records (what the host would log)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.outcomes: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "fakewatch_azure.handler" and record.getMessage() == "outcome":
            keys = ("container", "blob", "label", "action", "error_reason", "duplicate", "steps")
            self.outcomes.append({k: getattr(record, k, None) for k in keys})


@contextmanager
def recording() -> Iterator[OutcomeRecorder]:
    recorder = OutcomeRecorder()
    logger = logging.getLogger("fakewatch_azure.handler")
    logger.addHandler(recorder)
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous)


def deliver(function: Callable[..., Any], payload: Mapping[str, Any], attempt: int = 0) -> Delivery:
    """Invoke the function with one event as the host would; 200 when it returns, 500 when
    it raises (logged, never propagated: the caller retries like Event Grid)."""
    blob = str(payload.get("subject", "")).rsplit("/blobs/", 1)[-1]
    event_id = str(payload.get("id"))
    with recording() as recorder:
        try:
            function(event=decode(payload), context=LocalContext(attempt=attempt))
        except Exception as exc:
            log.warning("delivery of %s failed (500, will be retried): %s", blob, exc)
            return Delivery(event_id, blob, 500, f"{type(exc).__name__}: {exc}")
    outcome = recorder.outcomes[-1] if recorder.outcomes else None
    return Delivery(event_id, blob, 200, outcome=outcome)


@dataclass
class Watcher:
    """Event Grid for Azurite: delivers each new blob version once, retrying failures."""

    store: BlobStore
    function: Callable[..., Any]
    containers: Iterable[str]
    schema: str = "eventgrid"
    max_attempts: int = 5
    delivered: set[tuple[str, str, str]] = field(default_factory=set)
    attempts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    dead_letters: list[Delivery] = field(default_factory=list)

    def pending(self) -> Iterator[tuple[tuple[str, str, str], ObjectInfo]]:
        for container in self.containers:
            for info in self.store.list(container):
                ident = (container, info.key, info.etag or "")
                if ident not in self.delivered:
                    yield ident, info

    def poll_once(self) -> list[Delivery]:
        results = []
        for ident, info in list(self.pending()):
            attempt = self.attempts.get(ident, 0)
            result = deliver(
                self.function, blob_created(self.store, info, schema=self.schema), attempt
            )
            results.append(result)
            if result.status < 300:
                self.delivered.add(ident)
                continue
            self.attempts[ident] = attempt + 1
            if attempt + 1 >= self.max_attempts:
                self.delivered.add(ident)
                self.dead_letters.append(result)
                log.error("dead-lettered %s after %d attempts", info.key, attempt + 1)
        return results


def watcher_for(
    runtime: Runtime,
    containers: Iterable[str],
    *,
    schema: str = "eventgrid",
    app_path: Path | None = None,
) -> Watcher:
    """A watcher calling ``function_app.py``'s ``scan_blob``, wired to ``runtime``."""
    set_runtime(runtime)  # before the import: the app's warm-up finds it
    module = load_function_app(app_path)
    return Watcher(runtime.store, registered_function(module.app), list(containers), schema)


# -- the one-command demo ---------------------------------------------------------------------
def sample_uploads() -> dict[str, bytes]:
    """A mixed batch: generator-metadata PNG, C2PA-declared AI image, photo-like JPEG, a
    corrupt file, text, an empty file, and a name with spaces and non-ASCII letters."""
    from fakewatch import samples

    photo = samples.photo_like_jpeg()
    return {
        "uploads/generated-with-a1111.png": samples.a1111_png(),
        "uploads/c2pa-declared-ai.jpg": samples.c2pa_signed(
            photo, "image/jpeg", "trainedAlgorithmicMedia"
        ),
        "uploads/holiday photo été (1).jpg": photo,
        "uploads/broken-upload.jpg": samples.corrupt_file("jpeg"),
        "uploads/notes.txt": b"just some text, not media",
        "uploads/empty.jpg": b"",
    }


__all__ = [
    "Delivery",
    "LocalContext",
    "Watcher",
    "blob_created",
    "decode",
    "deliver",
    "load_function_app",
    "registered_function",
    "sample_uploads",
    "watcher_for",
]
