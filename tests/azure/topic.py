"""A loopback stand-in for an Event Grid topic endpoint: records what the real
``EventGridPublisherClient`` POSTs (there is no Event Grid emulator), and can answer with
scripted error statuses to exercise the sink's error handling."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TopicRecorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.statuses: deque[int] = deque()  # next answers; 200 when empty
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recorder._lock:
                    status = recorder.statuses.popleft() if recorder.statuses else 200
                    recorder.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "status": status}
                    )
                    if status == 200:
                        recorder.events.extend(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/events"

    def start(self) -> TopicRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
