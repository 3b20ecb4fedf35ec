"""Test helpers for fakewatch and for backends built on it.

:mod:`fakewatch.testing.contracts` holds the contract suites every port implementation
inherits: :class:`ObjectStoreContract`, :class:`AuditSinkContract` and
:class:`NotificationSinkContract`. They need pytest (the ``dev`` extra) and are imported
lazily, so the other helpers here work without it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["AuditSinkContract", "NotificationSinkContract", "ObjectStoreContract"]

try:
    import pytest
except ImportError:  # pragma: no cover - only without the dev extra
    pass
else:
    # Assertions in the contract suites get pytest's detailed failure messages.
    pytest.register_assert_rewrite("fakewatch.testing.contracts")


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("fakewatch.testing.contracts"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
