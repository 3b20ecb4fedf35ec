"""HTTP fetching for refreshers: bounded, with errors that name the URL."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from fakewatch_cost.errors import CostInputError

Fetcher = Callable[[str], bytes]
MAX_RESPONSE_BYTES = 1024 * 1024 * 1024
USER_AGENT = "fakewatch-cost-refresh/1"


class RefreshError(CostInputError):
    """A price API could not be reached or answered with something unusable."""


def urllib_fetcher(timeout: float = 60.0, max_bytes: int = MAX_RESPONSE_BYTES) -> Fetcher:
    def fetch(url: str) -> bytes:
        if not url.startswith("https://"):
            raise RefreshError(f"refusing non-HTTPS URL {url}")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body: bytes = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise RefreshError(f"{redact(url)}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise RefreshError(f"{redact(url)}: cannot connect ({exc})") from exc
        if len(body) > max_bytes:
            raise RefreshError(f"{redact(url)}: response larger than {max_bytes} bytes")
        return body

    return fetch


def redact(url: str) -> str:
    """The URL without an API key, safe to print or store."""
    if "key=" not in url:
        return url
    head, _, query = url.partition("?")
    kept = [part for part in query.split("&") if not part.startswith("key=")]
    return head + ("?" + "&".join(kept) if kept else "")


def fetch_json(fetch: Fetcher, url: str) -> Any:
    body = fetch(url)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RefreshError(f"{redact(url)}: response is not JSON") from exc


def expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise RefreshError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value
