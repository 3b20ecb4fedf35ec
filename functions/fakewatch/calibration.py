"""Calibration on labelled media: AUC, false-positive and detection rates, chosen thresholds.

Seed 002: the false-positive rate at the operating threshold is the metric that matters, so
thresholds are chosen as the lowest risk whose false-positive rate on the real media is at or
below the target — never tuned on the fakes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def auc(real: Sequence[float], fake: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties count half); None without both classes."""
    if not real or not fake:
        return None
    ranked = sorted([(s, 0) for s in real] + [(s, 1) for s in fake])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2.0
        rank_sum += mean_rank * sum(1 for k in range(i, j) if ranked[k][1] == 1)
        i = j
    n1 = len(fake)
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * len(real))


@dataclass(frozen=True)
class Rates:
    threshold: float
    fpr: float  # real media flagged
    tpr: float  # fake media flagged (detection rate)


def rates_at(real: Sequence[float], fake: Sequence[float], threshold: float) -> Rates:
    fpr = sum(s >= threshold for s in real) / len(real) if real else math.nan
    tpr = sum(s >= threshold for s in fake) / len(fake) if fake else math.nan
    return Rates(threshold, fpr, tpr)


def threshold_for_fpr(real: Sequence[float], target_fpr: float, floor: float = 0.05) -> float:
    """The lowest threshold whose false-positive rate on ``real`` is at most ``target_fpr``.

    At most ``floor(target × n)`` real scores may reach it, so it sits just above the next one.
    """
    if not real:
        raise ValueError("calibration needs real (negative) media")
    allowed = math.floor(target_fpr * len(real))
    ordered = sorted(real, reverse=True)
    if allowed >= len(ordered):
        return floor
    boundary = ordered[allowed]  # the highest real score that must NOT be flagged
    return round(min(1.0, max(floor, math.nextafter(boundary, 2.0) + 1e-4)), 4)


def min_real_for(target_fpr: float) -> int:
    """Real samples needed before a false-positive rate this small can be measured at all."""
    return math.ceil(1.0 / target_fpr)
