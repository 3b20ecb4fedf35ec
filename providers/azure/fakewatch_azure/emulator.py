"""Azurite (Blob and Queue services) in subprocesses, and clients pointed at them.

Used by the tests, by ``fakewatch azure local --start-azurite`` and by the benchmark.
Azurite is Microsoft's own emulator, installed from npm (``make emulators`` puts it in
``.azurite/``); azure-storage-blob and azure-storage-queue talk to it over real HTTP with the
well-known development account's shared key, exactly as they talk to a storage account.
:class:`Azurite` runs ``azurite-blob``; :class:`AzuriteQueue` runs ``azurite-queue`` (the
Storage queue the queued escalation's jobs go through), with the same flags.

Azurite rejects API versions newer than it knows unless started with
``--skipApiVersionCheck``; the SDK's newest version is therefore accepted here, and
``--loose`` ignores headers Azurite does not implement instead of failing the request.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueClient

ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same for every Azurite; not a secret).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_ENV = "AZURITE_BLOB"  # path of an azurite-blob executable, overriding the search
AZURITE_QUEUE_ENV = "AZURITE_QUEUE"  # the same for azurite-queue
_OVERRIDES = {"azurite-blob": AZURITE_ENV, "azurite-queue": AZURITE_QUEUE_ENV}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_string(endpoint: str | None, queue_endpoint: str | None = None) -> str:
    """The development account's connection string for a blob endpoint (``http://host:port``)
    and, when given, a queue endpoint: one string serves BlobServiceClient and QueueClient."""
    text = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
    if endpoint:
        text += f"BlobEndpoint={endpoint.rstrip('/')}/{ACCOUNT};"
    if queue_endpoint:
        text += f"QueueEndpoint={queue_endpoint.rstrip('/')}/{ACCOUNT};"
    return text


def find_azurite(start: Path | None = None, program: str = "azurite-blob") -> str:
    """The ``azurite-blob`` (or ``azurite-queue``) executable: $AZURITE_BLOB
    ($AZURITE_QUEUE), ``.azurite/`` above ``start``, PATH."""
    override = _OVERRIDES.get(program, "")
    explicit = os.environ.get(override) if override else None
    if explicit:
        return explicit
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".azurite" / "node_modules" / ".bin" / program
        if candidate.exists():
            return str(candidate)
    found = shutil.which(program)
    if found:
        return found
    raise FileNotFoundError(
        f"{program} not found: run `make emulators` "
        f"(npm install --prefix .azurite azurite@3) or set {override or 'PATH'}"
    )


class Azurite:
    """``with Azurite() as endpoint: ...`` — started, waited for (bounded), then stopped."""

    program = "azurite-blob"
    service = "blob"  # its --<service>Host / --<service>Port flags

    def __init__(
        self, port: int | None = None, ready_timeout_s: float = 30.0, executable: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.ready_timeout_s = ready_timeout_s
        self.executable = executable
        self.process: subprocess.Popen[bytes] | None = None
        self._workspace: tempfile.TemporaryDirectory[str] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.endpoint)

    def command(self, location: str) -> list[str]:
        exe = self.executable or find_azurite(Path(__file__).parent, self.program)
        return [
            exe,
            f"--{self.service}Host", "127.0.0.1",
            f"--{self.service}Port", str(self.port),
            "--location", location,
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ]  # fmt: skip

    def start(self) -> str:
        self._workspace = tempfile.TemporaryDirectory(prefix="fakewatch-azurite-")
        self.process = subprocess.Popen(
            self.command(self._workspace.name),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise RuntimeError(f"{self.program} exited with {code}")
            if self._answers():
                return self.endpoint
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.program} not ready on {self.endpoint}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/{ACCOUNT}?comp=list", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # 403 without a signature: it is up
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AzuriteQueue(Azurite):
    """``azurite-queue`` (the Queue service), started and stopped like :class:`Azurite`."""

    program = "azurite-queue"
    service = "queue"

    @property
    def connection_string(self) -> str:
        return connection_string(None, self.endpoint)


def emulator_client(endpoint: str, **client_kwargs: Any) -> BlobServiceClient:
    """A BlobServiceClient on the Azurite at ``endpoint`` (``http://127.0.0.1:<port>``)."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(connection_string(endpoint), **client_kwargs)


def emulator_queue(queue_endpoint: str, name: str, **client_kwargs: Any) -> QueueClient:
    """A QueueClient for queue ``name`` on the Azurite Queue service at ``queue_endpoint``."""
    from azure.storage.queue import QueueClient

    text = connection_string(None, queue_endpoint)
    return QueueClient.from_connection_string(text, name, **client_kwargs)


def ensure_queue(client: QueueClient) -> None:
    """Create the queue if it does not exist yet."""
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):
        client.create_queue()


def ensure_containers(client: BlobServiceClient, *names: str) -> None:
    """Create the containers that do not exist yet."""
    from azure.core.exceptions import ResourceExistsError

    for name in names:
        if name:
            with contextlib.suppress(ResourceExistsError):
                client.create_container(name)


__all__ = [
    "ACCOUNT",
    "Azurite",
    "AzuriteQueue",
    "connection_string",
    "emulator_client",
    "emulator_queue",
    "ensure_containers",
    "ensure_queue",
    "find_azurite",
    "free_port",
]
