"""What each cloud's fakewatch stack deploys, as usage lines priced by a catalog."""

from __future__ import annotations

from collections.abc import Callable

from fakewatch_cost.profile import UsageProfile
from fakewatch_cost.stacks import aws, azure, gcp
from fakewatch_cost.stacks.usage import Usage

STACKS: dict[str, Callable[[UsageProfile], list[Usage]]] = {
    "aws": aws.usage,
    "gcp": gcp.usage,
    "azure": azure.usage,
}

__all__ = ["STACKS", "Usage"]
