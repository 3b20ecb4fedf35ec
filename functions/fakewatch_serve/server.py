"""Running the app: in the foreground for containers, or on loopback for tests and benchmarks.

:func:`serve` is what the containers' entrypoints call: uvicorn on the contract's port,
SIGTERM → stop accepting → in-flight requests finish (up to ``shutdown_timeout_s``) →
queued batches finish → exit. :class:`LoopbackServer` runs the same app on a free
``127.0.0.1`` port in a thread, and stops it the same graceful way.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from fakewatch_serve.app import create_app
from fakewatch_serve.config import ServeConfig


def serve(config: ServeConfig, *, log_level: str = "info") -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully."""
    app = create_app(config=config)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        lifespan="on",
        log_level=log_level,
        access_log=False,  # health probes every few seconds; nothing about media is logged
        timeout_graceful_shutdown=max(1, int(config.shutdown_timeout_s)),
        timeout_keep_alive=75,  # longer than the platforms' load balancers keep idle ones
    )


class LoopbackServer:
    """``with LoopbackServer(app) as server: httpx.get(server.url + "/ping")``."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", graceful_s: float = 10.0) -> None:
        self.app = app
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=max(1, int(graceful_s)),
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> bool:
        """Graceful stop, as on SIGTERM; True when the server thread ended in time."""
        self.server.should_exit = True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["LoopbackServer", "serve"]
