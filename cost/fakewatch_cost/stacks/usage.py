"""A usage line: which resource, which price key, how much."""

from __future__ import annotations

from dataclasses import dataclass

from fakewatch_cost.quantity import Q

COMPONENTS: dict[str, str] = {
    "storage": "Storage",
    "requests": "Object requests",
    "compute": "Functions",
    "messaging": "Messaging & events",
    "state": "Idempotency state",
    "gpu_inference": "GPU inference",
    "face_detection": "Face detection API",
    "monitoring": "Monitoring & logging",
    "egress": "Internet egress",
}


@dataclass(frozen=True)
class Usage:
    component: str
    resource: str
    description: str
    price_key: str
    quantity: Q
