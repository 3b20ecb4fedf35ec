"""A derived usage quantity, or the profile figures it still needs.

Arithmetic on ``Q`` propagates missing figures, so a cost line built from an absent
figure says which one instead of inventing a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

Number = Decimal | int


@dataclass(frozen=True)
class Q:
    value: Decimal | None
    missing: tuple[str, ...] = ()

    @staticmethod
    def of(value: Decimal | None, name: str) -> Q:
        return Q(value) if value is not None else Q(None, (name,))

    @property
    def known(self) -> bool:
        return self.value is not None

    def _combine(self, other: Q | Number, op: str) -> Q:
        right = other if isinstance(other, Q) else Q(Decimal(other))
        missing = tuple(dict.fromkeys(self.missing + right.missing))
        if self.value is None or right.value is None:
            return Q(None, missing)
        a, b = self.value, right.value
        if op == "+":
            return Q(a + b)
        if op == "-":
            return Q(a - b)
        if op == "*":
            return Q(a * b)
        return Q(a / b if b else Decimal(0))

    def __add__(self, other: Q | Number) -> Q:
        return self._combine(other, "+")

    def __sub__(self, other: Q | Number) -> Q:
        return self._combine(other, "-")

    def __mul__(self, other: Q | Number) -> Q:
        return self._combine(other, "*")

    def __truediv__(self, other: Q | Number) -> Q:
        return self._combine(other, "/")

    def clamp(self, low: Decimal | None = None, high: Decimal | None = None) -> Q:
        if self.value is None:
            return self
        value = self.value
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return Q(value)


def qmax(a: Q, b: Q) -> Q:
    if a.value is None or b.value is None:
        return Q(None, tuple(dict.fromkeys(a.missing + b.missing)))
    return Q(max(a.value, b.value))
