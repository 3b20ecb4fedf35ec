"""Pull current prices from the official price APIs and write a new dated catalog.

Every refresher takes an injectable ``fetch(url) -> bytes`` so tests feed recorded
responses; the default fetcher uses ``urllib``.
"""

from __future__ import annotations

from fakewatch_cost.refresh.fetch import Fetcher, urllib_fetcher
from fakewatch_cost.refresh.run import RefreshResult, refresh_catalog, write_catalog

__all__ = ["Fetcher", "RefreshResult", "refresh_catalog", "urllib_fetcher", "write_catalog"]
