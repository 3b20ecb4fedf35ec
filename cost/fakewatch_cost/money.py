"""Decimal helpers: parse, round to cents, format. Money is never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fakewatch_cost.errors import CostInputError

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_DIGITS = 40


def to_decimal(value: object, where: str) -> Decimal:
    """Parse a YAML/JSON number or string into a finite ``Decimal``.

    Floats are converted through ``repr`` so ``0.023`` stays ``0.023``; booleans, NaN,
    infinities and absurdly long numbers are rejected with a message naming ``where``.
    """
    if isinstance(value, bool) or value is None:
        raise CostInputError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        text = repr(value) if isinstance(value, float) else str(value).strip()
        if len(text) > MAX_DIGITS:
            raise CostInputError(f"{where}: number too long ({len(text)} characters)")
        try:
            result = Decimal(text.replace("_", ""))
        except InvalidOperation as exc:
            raise CostInputError(f"{where}: not a number: {value!r}") from exc
    else:
        raise CostInputError(f"{where}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise CostInputError(f"{where}: not a finite number: {value!r}")
    return result


def cents(amount: Decimal) -> Decimal:
    """Round half-up to whole cents, as invoices do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def usd(amount: Decimal | None) -> str:
    """``$1,259.19``; ``-`` for an amount that could not be computed."""
    if amount is None:
        return "-"
    value = cents(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def plain(amount: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``0.0000166667``, ``950``."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def unit_price(amount: Decimal, unit: str) -> str:
    """A unit price readable at any scale: ``$0.023 per GB-month``, ``$0.2 per 1M requests``."""
    plural = unit if unit.endswith("s") else f"{unit}s"
    if amount == 0:
        return f"$0 per {unit}"
    if amount >= Decimal("0.01"):
        return f"${plain(amount)} per {unit}"
    if amount * 1000 >= Decimal("0.01"):
        return f"${plain(amount * 1000)} per 1K {plural}"
    return f"${plain(amount * 10**6)} per 1M {plural}"
