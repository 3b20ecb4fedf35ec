"""gcp-storage-emulator in a subprocess, and a client pointed at it.

Used by the tests, by ``fakewatch gcp local --start-emulator`` and by the benchmark. The
emulator is a real HTTP server on 127.0.0.1 speaking the GCS JSON API; google-cloud-storage
talks to it through ``STORAGE_EMULATOR_HOST`` as it would to Google.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.storage import Client

EMULATOR_HOST_ENV = "STORAGE_EMULATOR_HOST"  # the SDK's own variable
LOCAL_PROJECT = "fakewatch-local"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emulator_command(port: int) -> list[str]:
    exe = shutil.which("gcp-storage-emulator", path=os.path.dirname(sys.executable))
    base = [exe] if exe else [sys.executable, "-m", "gcp_storage_emulator"]
    return [*base, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "-q"]


class GcsEmulator:
    """``with GcsEmulator() as endpoint: ...`` — started, waited for (bounded), then killed."""

    def __init__(self, port: int | None = None, ready_timeout_s: float = 30.0) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self.process = subprocess.Popen(
            emulator_command(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gcp-storage-emulator exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/", timeout=1):
                    return self.endpoint
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"gcp-storage-emulator not ready on {self.endpoint}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def emulator_client(endpoint: str, project: str = LOCAL_PROJECT) -> Client:
    """A storage client on the emulator at ``endpoint`` (anonymous credentials)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def ensure_buckets(client: Client, *names: str) -> None:
    """Create the buckets that do not exist yet."""
    from google.api_core.exceptions import Conflict

    for name in names:
        if name and client.lookup_bucket(name) is None:
            with contextlib.suppress(Conflict):  # created meanwhile
                client.create_bucket(name)


__all__ = ["GcsEmulator", "emulator_client", "ensure_buckets", "free_port"]
