"""Tiered prices and free grants as plain functions over Decimal quantities.

A tier ladder is a list of ``(start, price)`` pairs sorted by ``start``, the first at 0:
units from ``start`` up to the next tier's start cost ``price`` each. A free grant covers
the *first* units of the month, so the tiers still count total usage (AWS egress: the
first 100 GB free, then $0.09 "up to 10 TB" of total usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fakewatch_cost.money import ZERO


@dataclass(frozen=True)
class Tier:
    start: Decimal
    price: Decimal


def tier_bands(tiers: list[Tier]) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    """``(start, end or None, price)`` for each tier."""
    bands: list[tuple[Decimal, Decimal | None, Decimal]] = []
    for index, tier in enumerate(tiers):
        end = tiers[index + 1].start if index + 1 < len(tiers) else None
        bands.append((tier.start, end, tier.price))
    return bands


def tiered_cost(quantity: Decimal, tiers: list[Tier], free: Decimal = ZERO) -> Decimal:
    """Cost of units ``(free, quantity]`` priced along the tier ladder."""
    if quantity <= free:
        return ZERO
    total = ZERO
    for start, end, price in tier_bands(tiers):
        low = max(start, free)
        high = quantity if end is None else min(end, quantity)
        if high > low:
            total += (high - low) * price
    return total


def billable(quantity: Decimal, free: Decimal) -> Decimal:
    """Units left after a free grant (never negative)."""
    return max(quantity - free, ZERO)


def first_price(tiers: list[Tier]) -> Decimal:
    return tiers[0].price
