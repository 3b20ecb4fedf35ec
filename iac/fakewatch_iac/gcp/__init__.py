"""GCP components: Cloud Storage -> Eventarc -> Cloud Run function, optional Vertex AI."""

from __future__ import annotations

from fakewatch_iac.gcp.scanner import GcpScanner

__all__ = ["GcpScanner"]
