"""The whole GCP path on a laptop: the real functions-framework app on loopback, fed with
storage CloudEvents for new objects in a gcp-storage-emulator bucket.

The emulator sends no notifications, so :class:`Watcher` lists the input bucket and, for each
object generation it has not delivered yet, POSTs the ``finalized`` CloudEvent Eventarc would
send (binary mode, built from the object's resource), retrying non-2xx answers as Eventarc
does. The function behind it is ``main.py``'s ``scan_object``, loaded by functions-framework's
own ``create_app`` and served by werkzeug on 127.0.0.1.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakewatch_gcp.delivery import binary_event, deliver, object_data
from fakewatch_gcp.runtime import Runtime, set_runtime

if TYPE_CHECKING:
    from google.cloud.storage import Client
    from werkzeug.serving import BaseWSGIServer

log = logging.getLogger(__name__)

TARGET = "scan_object"


def default_source() -> Path:
    """``providers/gcp/main.py`` beside the package (a checkout or an editable install)."""
    import fakewatch_gcp

    return Path(fakewatch_gcp.__file__).resolve().parent.parent / "main.py"


class FunctionServer:
    """``main.py`` served by functions-framework's Flask app on 127.0.0.1, in a thread.

    ``runtime``: installed before the app loads ``main.py``, so the function uses injected
    clients (an emulator, a fake publisher) instead of building its own from the environment.
    """

    def __init__(
        self,
        runtime: Runtime | None = None,
        source: Path | None = None,
        port: int = 0,
    ) -> None:
        self.runtime, self.source, self.port = runtime, source or default_source(), port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_port}/"

    def start(self) -> str:
        import functions_framework
        from werkzeug.serving import make_server

        if not self.source.is_file():
            raise FileNotFoundError(f"function source {self.source} not found (pass --source)")
        if self.runtime is not None:
            set_runtime(self.runtime)
        app = functions_framework.create_app(
            target=TARGET, source=str(self.source), signature_type="cloudevent"
        )
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fakewatch-gcp-function", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Delivery:
    key: str
    generation: str
    status: int


@dataclass
class Watcher:
    """Delivers a ``finalized`` event for every object generation it has not seen yet."""

    client: Client
    bucket: str
    url: str
    prefix: str = ""
    attempts: int = 5
    seen: dict[str, str] = field(default_factory=dict)

    def poll(self) -> list[Delivery]:
        deliveries = []
        for blob in self.client.list_blobs(self.bucket, prefix=self.prefix or None):
            generation = str(blob.generation)
            if self.seen.get(blob.name) == generation:
                continue
            event = binary_event(object_data(blob._properties))
            status = deliver(self.url, event, attempts=self.attempts, backoff_s=0.2)
            self.seen[blob.name] = generation
            deliveries.append(Delivery(blob.name, generation, status))
            log.info("delivered %s#%s: HTTP %s", blob.name, generation, status)
        return deliveries

    def watch(self, interval_s: float, stop: threading.Event) -> Iterator[list[Delivery]]:
        while not stop.is_set():
            yield self.poll()
            stop.wait(interval_s)


@contextmanager
def local_function(runtime: Runtime, source: Path | None = None) -> Iterator[str]:
    """Serve the function on loopback with ``runtime`` installed; yield its URL."""
    server = FunctionServer(runtime, source)
    try:
        yield server.start()
    finally:
        server.stop()
        set_runtime(None)


def verdict_rows(runtime: Runtime, bucket: str, deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """One row per delivered object, from the verdict the function wrote for that generation."""
    from fakewatch.errors import ObjectNotFound

    service, rows = runtime.service, []
    for d in deliveries:
        vkey = service.verdict_key(bucket, d.key, d.generation)
        row: dict[str, Any] = {"key": d.key, "generation": d.generation, "http": d.status}
        try:
            doc = runtime.store.get_json(runtime.settings.results_bucket, vkey)
        except ObjectNotFound:
            row.update(label=None, action=None, explanation="no verdict (see the function log)")
        else:
            row.update(label=doc["label"], action=doc["action"], explanation=doc.get("explanation"))
        rows.append(row)
    return rows


__all__ = [
    "Delivery",
    "FunctionServer",
    "Watcher",
    "default_source",
    "local_function",
    "verdict_rows",
]
