"""Stack configuration of the Azure program: the validated ``fakewatch:*`` namespace."""

from __future__ import annotations

from pathlib import Path

from fakewatch_iac.config import ScannerConfig, load

PROJECT_DIR = Path(__file__).resolve().parent


def load_config() -> ScannerConfig:
    """Read and validate this stack's config; artifact paths are relative to this folder."""
    return load("azure", PROJECT_DIR)
