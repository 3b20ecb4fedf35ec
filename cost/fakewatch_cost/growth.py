"""How totals grow with volume, and the volumes at which the cheapest option changes.

Three questions, each answered by pricing the same profile at other monthly volumes:

* which cloud is cheapest, and where that changes;
* for the learned-model stage, a GPU endpoint against running the model on the
  function's CPU (the endpoint's floor is fixed, CPU time grows with volume);
* for face detection, a managed face API against self-hosted detection on the function.

Costs are piecewise linear in volume, so a change found between two grid points is
narrowed by bisection to the whole object count where it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from fakewatch_cost.catalog import PROVIDERS, Catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.estimate import MILLION, estimate
from fakewatch_cost.money import ZERO, plain
from fakewatch_cost.profile import UsageProfile

CHEAPEST = "cheapest cloud"
GPU_VS_CPU = "GPU endpoint vs serverless CPU"
FACE_API = "managed face API vs self-hosted"
Changes = list[tuple[Decimal, str, str]]
Answers = list[tuple[str, Changes, str]]  # (provider, changes, option at the lowest volume)
DEFAULT_VOLUMES = [Decimal(10) ** k for k in range(3, 10)]
GRID_PER_DECADE = 4
BISECT_STEPS = 60


@dataclass(frozen=True)
class GrowthPoint:
    volume: Decimal
    totals: dict[str, Decimal]

    def per_million(self, provider: str) -> Decimal:
        return self.totals[provider] / self.volume * MILLION

    @property
    def cheapest(self) -> str:
        return min(PROVIDERS, key=lambda p: (self.totals[p], PROVIDERS.index(p)))


@dataclass(frozen=True)
class Crossover:
    """At ``volume`` objects a month the cheaper option changes from ``before`` to ``after``."""

    question: str
    provider: str  # "" for the cheapest-cloud question
    volume: Decimal
    before: str
    after: str


@dataclass(frozen=True)
class Growth:
    points: list[GrowthPoint]
    crossovers: list[Crossover]
    unanswered: list[str]
    # (question, provider, option) for answers that do not change across the volumes.
    steady: list[tuple[str, str, str]]


def totals_at(
    profile: UsageProfile, catalogs: dict[str, Catalog], volume: Decimal
) -> dict[str, Decimal]:
    scaled = profile.with_objects(volume)
    return {p: e.total for p, e in estimate(scaled, catalogs).items()}


def growth(
    profile: UsageProfile,
    catalogs: dict[str, Catalog],
    volumes: list[Decimal] | None = None,
) -> Growth:
    if not profile.objects_per_month:
        raise CostInputError(f"profile {profile.name}: growth needs objects_per_month")
    chosen = sorted(set(volumes or DEFAULT_VOLUMES))
    if any(v <= 0 for v in chosen):
        raise CostInputError("growth volumes must be positive")
    points = [GrowthPoint(v, totals_at(profile, catalogs, v)) for v in chosen]
    low, high = chosen[0], chosen[-1]
    crossovers: list[Crossover] = []
    steady: list[tuple[str, str, str]] = []
    unanswered: list[str] = []
    for question, finder in (
        (CHEAPEST, cheapest_changes),
        (GPU_VS_CPU, gpu_vs_cpu),
        (FACE_API, face_api_vs_self_hosted),
    ):
        try:
            for provider, changes, first in finder(profile, catalogs, low, high):
                if not changes:
                    steady.append((question, provider, first))
                crossovers += [Crossover(question, provider, v, b, a) for v, b, a in changes]
        except CostInputError as exc:
            unanswered.append(f"{question}: {exc}")
    return Growth(points, crossovers, unanswered, steady)


def _grid(low: Decimal, high: Decimal) -> list[Decimal]:
    """Log-spaced whole volumes from ``low`` to ``high``, ``GRID_PER_DECADE`` a decade."""
    if low >= high:
        return [low]
    decades = (high / low).log10()
    steps = max(2, int(decades * GRID_PER_DECADE) + 1)
    ratio = (high / low) ** (Decimal(1) / (steps - 1))
    values = [(low * ratio**i).to_integral_value() for i in range(steps)]
    values[-1] = high
    return sorted(set(values))


def _changes(label: Callable[[Decimal], str], low: Decimal, high: Decimal) -> tuple[Changes, str]:
    """Whole volumes where ``label`` changes, each narrowed by bisection; and the first label."""
    found: Changes = []
    grid = _grid(low, high)
    labels = [label(v) for v in grid]
    for i in range(len(grid) - 1):
        a, b, la = grid[i], grid[i + 1], labels[i]
        if la == labels[i + 1]:
            continue
        lo, hi = a, b
        for _ in range(BISECT_STEPS):
            if hi - lo <= 1:
                break
            mid = ((lo + hi) / 2).to_integral_value()
            if label(mid) == la:
                lo = mid
            else:
                hi = mid
        found.append((hi, la, label(hi)))
    return found, labels[0]


def cheapest_changes(
    profile: UsageProfile, catalogs: dict[str, Catalog], low: Decimal, high: Decimal
) -> Answers:
    def cheapest(volume: Decimal) -> str:
        return GrowthPoint(volume, totals_at(profile, catalogs, volume)).cheapest

    changes, first = _changes(cheapest, low, high)
    return [("", changes, first)]


def _component(
    profile: UsageProfile, catalogs: dict[str, Catalog], provider: str, component: str
) -> Decimal:
    total = estimate(profile, {provider: catalogs[provider]})[provider].component_total(component)
    return total if total is not None else ZERO


def _extra_compute(
    profile: UsageProfile, catalogs: dict[str, Catalog], provider: str, extra_seconds: Decimal
) -> Decimal:
    """What adding ``extra_seconds`` to the mean scan costs on the provider's functions."""
    base = profile.scan.seconds
    if base is None:
        raise CostInputError("needs scan.seconds")
    longer = profile.with_values({"scan.seconds": plain(base + extra_seconds)}, validate=False)
    return _component(longer, catalogs, provider, "compute") - _component(
        profile, catalogs, provider, "compute"
    )


def gpu_vs_cpu(
    profile: UsageProfile, catalogs: dict[str, Catalog], low: Decimal, high: Decimal
) -> Answers:
    rate, cpu_s = profile.escalation_rate, profile.cpu_seconds
    if rate is None or cpu_s is None or profile.gpu_seconds is None:
        raise CostInputError(
            "needs escalation.rate, escalation.gpu_seconds and escalation.cpu_seconds"
        )
    with_gpu = profile.with_values({"gpu.enabled": True}, validate=False)
    found: Answers = []
    for provider in PROVIDERS:

        def option(volume: Decimal, provider: str = provider) -> str:
            at = with_gpu.with_objects(volume)
            gpu = _component(at, catalogs, provider, "gpu_inference")
            cpu = _extra_compute(at, catalogs, provider, rate * cpu_s)
            return "GPU endpoint" if gpu < cpu else "serverless CPU"

        changes, first = _changes(option, low, high)
        found.append((provider, changes, first))
    return found


def face_api_vs_self_hosted(
    profile: UsageProfile, catalogs: dict[str, Catalog], low: Decimal, high: Decimal
) -> Answers:
    face = profile.face_api
    if face.self_hosted_seconds is None or (face.rate is None and face.images is None):
        raise CostInputError("needs face_api.self_hosted_seconds and face_api.rate or images")
    with_api = profile.with_values({"face_api.enabled": True}, validate=False)
    found: Answers = []
    for provider in PROVIDERS:

        def option(volume: Decimal, provider: str = provider) -> str:
            at = with_api.with_objects(volume)
            managed = _component(at, catalogs, provider, "face_detection")
            images = (
                at.face_api.images
                if at.face_api.images is not None
                else (volume * at.media_mix["image"] * (at.face_api.rate or ZERO))
            )
            per_scan = images / volume * (face.self_hosted_seconds or ZERO)
            own = _extra_compute(at, catalogs, provider, per_scan)
            return "managed face API" if managed < own else "self-hosted"

        changes, first = _changes(option, low, high)
        found.append((provider, changes, first))
    return found
