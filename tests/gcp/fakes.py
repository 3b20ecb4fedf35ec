"""A fake Pub/Sub publisher.

A mock only because no Pub/Sub emulator can run here: Google's emulator ships with the gcloud
SDK and needs a Java runtime, neither of which these machines have. The fake keeps what
``PublisherClient.publish(topic, data, **attrs)`` receives and returns a resolved future, so
the sink's encoding, attributes and waiting are exercised for real; ``fail`` makes the next
publishes fail the way a real future does (``result()`` raising).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    topic: str
    data: bytes
    attributes: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.data))


@dataclass
class FakePublisher:
    messages: list[Message] = field(default_factory=list)
    fail: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic: str, data: bytes, **attrs: str) -> Future[str]:
        future: Future[str] = Future()
        assert isinstance(data, bytes)
        assert all(isinstance(v, str) for v in attrs.values())
        with self._lock:
            if self.fail:
                self.fail -= 1
                future.set_exception(RuntimeError("injected: publish failed"))
                return future
            self.messages.append(Message(topic, data, dict(attrs)))
            future.set_result(str(len(self.messages)))
        return future

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m.event for m in self.messages]
