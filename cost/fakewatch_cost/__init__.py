"""fakewatch_cost: price what a fakewatch deployment is billed for, per cloud.

Shape (after infracost): a usage profile describes the workload in one cloud-neutral
vocabulary; each cloud's *stack* turns it into usage lines for the resources that stack
deploys; a *catalog* of dated unit prices prices each line. Price lookup is kept apart
from cost, money is ``Decimal`` throughout, and a usage figure that is not given shows the
unit price instead of a guessed cost.

This package imports neither the fakewatch core nor the providers.
"""

from __future__ import annotations

from fakewatch_cost.catalog import Catalog, load_catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.estimate import Estimate, estimate
from fakewatch_cost.profile import UsageProfile, load_profile

__all__ = [
    "Catalog",
    "CostInputError",
    "Estimate",
    "UsageProfile",
    "estimate",
    "load_catalog",
    "load_profile",
]
