"""Names and tags every stack applies the same way."""

from __future__ import annotations

import re
import uuid

from fakewatch_iac.config import ScannerConfig

# Stable namespace for deterministic GUIDs (Azure role definitions need one).
_GUID_NAMESPACE = uuid.UUID("6f3d1b2a-5c4e-4f7a-9b8c-1d2e3f4a5b6c")


def slug(text: str) -> str:
    """Lowercase letters, digits and hyphens only: safe in every cloud's resource names."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def physical(cfg: ScannerConfig, part: str, max_len: int = 63) -> str:
    """``<prefix>-<stack>-<part>``, shortened from the stack side when a cloud limit requires."""
    name = slug(f"{cfg.name_prefix}-{cfg.stack}-{part}")
    if len(name) <= max_len:
        return name
    digest = uuid.uuid5(_GUID_NAMESPACE, name).hex[:6]
    keep = max_len - len(part) - len(digest) - 2
    return slug(f"{name[:keep]}-{digest}-{part}")


def guid(cfg: ScannerConfig, purpose: str) -> str:
    """A GUID that is the same on every ``pulumi up`` of this stack, for ``purpose``."""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{cfg.base_name}/{purpose}"))


def tags(cfg: ScannerConfig) -> dict[str, str]:
    """Cost-allocation and ownership tags (AWS, Azure); see :func:`labels` for GCP."""
    return {
        "fakewatch:stack": cfg.base_name,
        "fakewatch:component": "scanner",
        "managed-by": "pulumi",
    }


def labels(cfg: ScannerConfig) -> dict[str, str]:
    """GCP labels: lowercase keys and values, no colons."""
    return {
        "fakewatch-stack": slug(cfg.base_name)[:63],
        "fakewatch-component": "scanner",
        "managed-by": "pulumi",
    }
