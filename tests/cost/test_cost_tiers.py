"""Tier ladders and free grants, table-driven."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fakewatch_cost.tiers import Tier, tiered_cost

S3 = [Tier(D(0), D("0.023")), Tier(D(51200), D("0.022")), Tier(D(512000), D("0.021"))]
EGRESS = [
    Tier(D(0), D("0.09")),
    Tier(D(10240), D("0.085")),
    Tier(D(51200), D("0.07")),
    Tier(D(153600), D("0.05")),
]
FLAT = [Tier(D(0), D("0.0000002"))]


@pytest.mark.parametrize(
    ("tiers", "quantity", "free", "expected"),
    [
        (S3, D(0), D(0), D(0)),
        (S3, D(950), D(0), D("21.85")),
        (S3, D(51200), D(0), D("1177.6")),
        (S3, D(51201), D(0), D("1177.622")),
        (
            S3,
            D(600000),
            D(0),
            D(51200) * D("0.023") + D(460800) * D("0.022") + D(88000) * D("0.021"),
        ),
        (S3, D(950), D(5), D(945) * D("0.023")),
        # The free grant covers the first units; tiers still count total usage.
        (EGRESS, D(100), D(100), D(0)),
        (EGRESS, D(99), D(100), D(0)),
        (EGRESS, D(10240), D(100), D(10140) * D("0.09")),
        (EGRESS, D(20000), D(100), D(10140) * D("0.09") + D(9760) * D("0.085")),
        (FLAT, D(10_000_000), D(1_000_000), D("1.8")),
        (FLAT, D(10_000_000), D(0), D("2")),
        (FLAT, D("0.5"), D(0), D("0.0000001")),
    ],
)
def test_tiered_cost(tiers: list[Tier], quantity: D, free: D, expected: D) -> None:
    assert tiered_cost(quantity, tiers, free) == expected


def test_free_grant_larger_than_first_tier_skips_into_the_second() -> None:
    ladder = [Tier(D(0), D(1)), Tier(D(10), D(2))]
    assert tiered_cost(D(15), ladder, D(12)) == D(3) * 2
    assert tiered_cost(D(15), ladder, D(0)) == D(10) + D(5) * 2
