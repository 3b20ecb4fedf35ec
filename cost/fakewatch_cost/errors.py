"""The one error type the cost model raises for bad input."""

from __future__ import annotations


class CostInputError(ValueError):
    """A catalog, profile, benchmark file or API response is missing, malformed or hostile.

    The message names the file (or URL) and the field so the user can fix it.
    """
