"""Azure components: Blob Storage -> Event Grid -> Flex Consumption function, optional Azure ML."""

from __future__ import annotations

from fakewatch_iac.azure.scanner import AzureScanner

__all__ = ["AzureScanner"]
