"""Turn an API's price ladder into catalog tiers, splitting a zero-price first tier into a
free grant (Azure and GCP publish free grants that way)."""

from __future__ import annotations

from decimal import Decimal

from fakewatch_cost.refresh.fetch import RefreshError


def normalise(
    ladder: list[tuple[Decimal, Decimal]], where: str
) -> tuple[list[dict[str, str]], Decimal | None]:
    """Sorted ``(start, price)`` pairs -> catalog tiers and the free quantity, if any."""
    if not ladder:
        raise RefreshError(f"{where}: no prices")
    ladder = sorted(ladder)
    starts = [s for s, _ in ladder]
    if len(set(starts)) != len(starts):
        raise RefreshError(f"{where}: two prices for the same tier start")
    if any(p < 0 for _, p in ladder):
        raise RefreshError(f"{where}: negative price")
    free: Decimal | None = None
    if len(ladder) > 1 and ladder[0][1] == 0:
        free = ladder[1][0]
        ladder = [(Decimal(0), ladder[1][1]), *ladder[2:]]
    if ladder[0][0] != 0:
        raise RefreshError(f"{where}: the price ladder does not start at 0")
    tiers = [{"start": _plain(s), "price": _plain(p)} for s, p in ladder]
    return tiers, free


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text
