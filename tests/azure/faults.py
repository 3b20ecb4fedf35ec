"""A fault-injecting loopback proxy in front of Azurite.

Requests pass through unchanged (real HTTP to the real emulator) except those matching a
scripted rule, which get the storage service's own error answer instead (``503 ServerBusy``
by default) — the way throttling reaches a client in production. The SDK sees a genuine HTTP
error response; nothing inside the SDK or the adapter is patched.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class Rule:
    method: str
    path_contains: str
    remaining: int
    status: int = 503
    code: str = "ServerBusy"


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rules: list[Rule] = []
        self.injected: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._match(self.command, self.path)
                if rule is not None:
                    self._error(rule)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            def _error(self, rule: Rule) -> None:
                body = (
                    '<?xml version="1.0" encoding="utf-8"?><Error>'
                    f"<Code>{rule.code}</Code><Message>injected by the test</Message></Error>"
                ).encode()
                self.send_response(rule.status)
                self.send_header("x-ms-error-code", rule.code)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def fail(self, method: str, path_contains: str, times: int = 1, **kw: Any) -> None:
        with self._lock:
            self.rules.append(Rule(method, path_contains, times, **kw))

    def _match(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.remaining > 0 and rule.method == method and rule.path_contains in path:
                    rule.remaining -= 1
                    self.injected.append(f"{method} {path}")
                    return rule
        return None

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
