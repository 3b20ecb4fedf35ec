"""The ``fakewatch:azure`` block: container names, and attaching to a storage account you have.

```yaml
fakewatch:azure:
  existingStorageAccount: {name: corpmedia, resourceGroup: media-rg}
  existingSystemTopic: {name: corpmedia-events}      # the account's Event Grid topic, if any
  containers: {input: uploads, results: fakewatch-results}
  imageRegistry: {name: corpacr, resourceGroup: acr-rg}  # gpu.mode async: the worker's ACR
fakewatch:existingInputBucket: uploads               # scan a container that already exists
```

Azure allows one Event Grid system topic per storage account: when the account already has
one, the stack must subscribe to it instead of creating a second. Only syntax is checked here;
the account's own posture is checked against the cloud when the program runs
(:mod:`fakewatch_iac.azure.existing`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Report = Callable[[str, str], None]
KEY = "azure"

_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_GROUP_RE = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_TOPIC_RE = re.compile(r"^[A-Za-z0-9-]{3,128}$")
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9]{5,50}$")
CONTAINER_RE = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ROLES = ("input", "results", "quarantine", "deadLetter", "answers")


@dataclass(frozen=True)
class Containers:
    """Physical names of the scanner's containers in the data account."""

    input: str = "input"
    results: str = "results"
    quarantine: str = "quarantine"
    dead_letter: str = "deadletter"
    answers: str = "answers"  # gpu.mode async: where the GPU worker writes its answers

    def all(self) -> tuple[str, str, str, str]:
        """The containers every stack has."""
        return (self.input, self.results, self.quarantine, self.dead_letter)

    def every(self) -> tuple[str, ...]:
        """Every container name the scanner may use, the async answers container included."""
        return (*self.all(), self.answers)


@dataclass(frozen=True)
class ExistingResource:
    name: str
    resource_group: str


@dataclass(frozen=True)
class AzureConfig:
    containers: Containers = field(default_factory=Containers)
    existing_account: ExistingResource | None = None
    existing_system_topic: ExistingResource | None = None
    existing_input_container: bool = False  # the input container exists; do not create it
    image_registry: ExistingResource | None = None  # gpu.mode async: the ACR the worker pulls from


def parse_azure(
    spec: Mapping[str, Any], existing_input: str | None, cloud: str, report: Report
) -> AzureConfig:
    """Validate the ``azure`` block (and ``existingInputBucket`` on Azure)."""
    if cloud != "azure":
        if spec:
            report(KEY, f"only applies on Azure, not {cloud}")
        return AzureConfig()
    known = {"existingStorageAccount", "existingSystemTopic", "containers", "imageRegistry"}
    for extra in sorted(set(spec) - known):
        report(f"{KEY}.{extra}", "is not an azure setting")
    account = _account(spec.get("existingStorageAccount"), report)
    topic = _topic(spec.get("existingSystemTopic"), account, report)
    containers = _containers(spec.get("containers"), existing_input, report)
    registry = _registry(spec.get("imageRegistry"), report)
    if existing_input is not None and account is None:
        report(
            "existingInputBucket",
            "on Azure names a container of an existing storage account: set "
            "azure.existingStorageAccount {name, resourceGroup} too",
        )
    return AzureConfig(
        containers=containers,
        existing_account=account,
        existing_system_topic=topic,
        existing_input_container=existing_input is not None,
        image_registry=registry,
    )


def _resource(value: Any, key: str, report: Report) -> tuple[str, str] | None:
    if not isinstance(value, Mapping):
        report(key, f"must be an object {{name, resourceGroup}}, got {value!r}")
        return None
    for extra in sorted(set(value) - {"name", "resourceGroup"}):
        report(f"{key}.{extra}", "is not a setting here (name, resourceGroup)")
    name, group = value.get("name"), value.get("resourceGroup")
    return (str(name or ""), str(group or ""))


def _account(value: Any, report: Report) -> ExistingResource | None:
    if value is None:
        return None
    key = f"{KEY}.existingStorageAccount"
    parsed = _resource(value, key, report)
    if parsed is None:
        return None
    name, group = parsed
    ok = True
    if not _ACCOUNT_RE.match(name):
        report(f"{key}.name", f"{name!r} is not a storage account name (3-24 a-z, 0-9)")
        ok = False
    if not _GROUP_RE.match(group):
        report(f"{key}.resourceGroup", f"{group!r} is not a resource group name")
        ok = False
    return ExistingResource(name, group) if ok else None


def _registry(value: Any, report: Report) -> ExistingResource | None:
    """The Azure Container Registry holding the GPU worker's image (gpu.mode async)."""
    if value is None:
        return None
    key = f"{KEY}.imageRegistry"
    parsed = _resource(value, key, report)
    if parsed is None:
        return None
    name, group = parsed
    ok = True
    if not _REGISTRY_RE.match(name):
        report(f"{key}.name", f"{name!r} is not a container registry name (5-50 letters, digits)")
        ok = False
    if not _GROUP_RE.match(group):
        report(f"{key}.resourceGroup", f"{group!r} is not a resource group name")
        ok = False
    return ExistingResource(name.lower(), group) if ok else None


def _topic(value: Any, account: ExistingResource | None, report: Report) -> ExistingResource | None:
    if value is None:
        return None
    key = f"{KEY}.existingSystemTopic"
    if account is None:
        report(key, "needs azure.existingStorageAccount: a new account has no topic yet")
        return None
    if isinstance(value, str):
        value = {"name": value}
    parsed = _resource(value, key, report)
    if parsed is None:
        return None
    name, group = parsed[0], parsed[1] or account.resource_group
    if not _TOPIC_RE.match(name):
        report(f"{key}.name", f"{name!r} is not an Event Grid topic name")
        return None
    if not _GROUP_RE.match(group):
        report(f"{key}.resourceGroup", f"{group!r} is not a resource group name")
        return None
    return ExistingResource(name, group)


def _containers(value: Any, existing_input: str | None, report: Report) -> Containers:
    key = f"{KEY}.containers"
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        report(
            key,
            f"must be an object {{input, results, quarantine, deadLetter, answers}}, got {value!r}",
        )
        value = {}
    for extra in sorted(set(value) - set(_ROLES)):
        report(f"{key}.{extra}", f"is not a container role ({', '.join(_ROLES)})")
    if existing_input is not None and value.get("input") not in (None, existing_input):
        report(
            f"{key}.input",
            f"conflicts with existingInputBucket {existing_input!r}: name the input once",
        )
    defaults = Containers()
    names = {
        "input": existing_input or value.get("input") or defaults.input,
        "results": value.get("results") or defaults.results,
        "quarantine": value.get("quarantine") or defaults.quarantine,
        "deadLetter": value.get("deadLetter") or defaults.dead_letter,
        "answers": value.get("answers") or defaults.answers,
    }
    for role, name in names.items():
        if not isinstance(name, str) or not CONTAINER_RE.match(name):
            where = "existingInputBucket" if role == "input" and existing_input else f"{key}.{role}"
            report(where, f"{name!r} is not a container name (3-63 a-z, 0-9, single hyphens)")
    if len(set(names.values())) < len(names):
        report(key, f"the scanner's containers must each have a different name, got {names}")
    return Containers(
        input=str(names["input"]),
        results=str(names["results"]),
        quarantine=str(names["quarantine"]),
        dead_letter=str(names["deadLetter"]),
        answers=str(names["answers"]),
    )
