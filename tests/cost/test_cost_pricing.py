"""Each cloud's billing rules as the stacks apply them, and the free-tier switch."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.estimate import estimate
from fakewatch_cost.pricing import PRICED, UNPRICED
from fakewatch_cost.profile import load_profile
from fakewatch_cost.stacks.gcp import vcpu_for

BASE = {"objects_per_month": "1000000", "scan.seconds": "0.25", "scan.memory_mb": "1024"}


def line(
    catalogs: dict[str, Catalog],
    provider: str,
    key: str,
    values: dict[str, object],
    free: str = "none",
):
    profile = load_profile("medium").with_values({**BASE, **values, "free_tiers": free})
    lines = [ln for ln in estimate(profile, catalogs)[provider].lines if ln.key == key]
    assert lines, key
    return lines[0]


@pytest.mark.parametrize(
    ("seconds", "memory", "expected_gb_s"),
    [
        ("0.25", "1024", D(250_000)),
        ("0.2501", "1024", D(251_000)),  # billed in 1 ms steps
        ("0.0004", "128", D("125")),  # 1 ms minimum
        ("1", "1769", D(1_000_000) * D(1769) / 1024),
    ],
)
def test_lambda_bills_memory_times_duration_in_1ms_steps(
    catalogs: dict[str, Catalog], seconds: str, memory: str, expected_gb_s: D
) -> None:
    ln = line(
        catalogs,
        "aws",
        "lambda.duration.x86_64",
        {"scan.seconds": seconds, "scan.memory_mb": memory},
    )
    assert ln.quantity == expected_gb_s
    assert ln.cost == expected_gb_s * D("0.0000166667")


def test_lambda_arm64_uses_its_own_price(catalogs: dict[str, Catalog]) -> None:
    ln = line(catalogs, "aws", "lambda.duration.arm64", {"options.lambda_arch": "arm64"})
    assert ln.quantity == D(250_000) and ln.cost == D(250_000) * D("0.0000133334")


@pytest.mark.parametrize(
    ("seconds", "memory", "expected_gb_s"),
    [
        ("0.25", "1024", D(250_000)),
        ("0.05", "1024", D(100_000)),  # 100 ms minimum
        ("0.25", "1000", D(250_000)),  # 1000 MB rounds up to 1024
        ("0.25", "1025", D(250_000) * D(1152) / 1024),  # next 128 MB step
    ],
)
def test_azure_consumption_rounds_memory_to_128mb_with_100ms_minimum(
    catalogs: dict[str, Catalog], seconds: str, memory: str, expected_gb_s: D
) -> None:
    ln = line(
        catalogs,
        "azure",
        "functions.consumption.execution-time",
        {
            "scan.seconds": seconds,
            "scan.memory_mb": memory,
            "options.azure_functions_plan": "consumption",
        },
    )
    assert ln.quantity == expected_gb_s


def test_azure_flex_bills_the_instance_size_not_the_scan_memory(
    catalogs: dict[str, Catalog],
) -> None:
    ln = line(
        catalogs,
        "azure",
        "functions.flex.execution-time",
        {"scan.memory_mb": "300", "options.azure_flex_instance_mb": 4096},
    )
    assert ln.quantity == D(1_000_000) * D("0.25") * 4
    assert ln.cost == ln.quantity * D("0.000026")


@pytest.mark.parametrize(
    ("memory", "vcpu"),
    [(128, "0.083"), (512, "0.333"), (1024, "0.583"), (1500, "1"), (4096, "2"), (32768, "8")],
)
def test_cloud_run_functions_vcpu_follows_memory(memory: int, vcpu: str) -> None:
    assert vcpu_for(D(memory)) == D(vcpu)


def test_cloud_run_bills_vcpu_and_memory_in_100ms_steps(catalogs: dict[str, Catalog]) -> None:
    cpu = line(catalogs, "gcp", "run.cpu", {"scan.seconds": "0.21"})
    memory = line(catalogs, "gcp", "run.memory", {"scan.seconds": "0.21"})
    assert memory.quantity == D(300_000)  # 0.21 s -> 0.3 s
    assert cpu.quantity == D(300_000) * D("0.583")
    explicit = line(catalogs, "gcp", "run.cpu", {"scan.seconds": "0.21", "scan.vcpu": "2"})
    assert explicit.quantity == D(600_000)


@pytest.mark.parametrize(
    ("mode", "key", "provider", "expected"),
    [
        ("none", "lambda.requests", "aws", D("0.2")),
        ("monthly", "lambda.requests", "aws", D(0)),
        ("trial", "lambda.requests", "aws", D(0)),
        # S3's grant is a 12-month trial: only the "trial" mode applies it.
        ("monthly", "s3.requests.get", "aws", D(1_000_000) * D("0.0000004")),
        ("trial", "s3.requests.get", "aws", D(980_000) * D("0.0000004")),
        ("none", "run.requests", "gcp", D("0.4")),
        ("monthly", "run.requests", "gcp", D(0)),
        ("monthly", "functions.flex.executions", "azure", D(750_000) * D("0.0000004")),
    ],
)
def test_free_tier_switch(
    catalogs: dict[str, Catalog], mode: str, key: str, provider: str, expected: D
) -> None:
    ln = line(catalogs, provider, key, {}, free=mode)
    assert ln.status == PRICED and ln.cost == expected


def test_gpu_floor_is_min_instances_around_the_clock(catalogs: dict[str, Catalog]) -> None:
    est = estimate(load_profile("medium"), catalogs)["aws"]
    gpu = [ln for ln in est.lines if ln.component == "gpu_inference"]
    busy, idle = gpu[0].quantity, gpu[1].quantity
    assert busy == D(1_000_000) * D("0.05") * D("0.2") / 3600
    assert busy + idle == 730
    assert est.component_total("gpu_inference") == D(730) * D("0.7364")


def test_gpu_scales_out_past_the_floor_and_stops_at_max(catalogs: dict[str, Catalog]) -> None:
    profile = load_profile("medium").with_values({"objects_per_month": "200000000"})
    gpu = [ln for ln in estimate(profile, catalogs)["gcp"].lines if ln.key == "vertex.gpu.t4"]
    busy = D(200_000_000) * D("0.05") * D("0.2") / 3600
    assert gpu[0].quantity == busy
    assert gpu[0].quantity + gpu[1].quantity == min(busy / D("0.6"), D(4 * 730))


def test_accelerator_a_cloud_does_not_offer_is_unpriced_not_guessed(
    catalogs: dict[str, Catalog],
) -> None:
    profile = load_profile("medium").with_values({"gpu.accelerator": "l4"})
    azure = [
        ln for ln in estimate(profile, catalogs)["azure"].lines if ln.component == "gpu_inference"
    ]
    assert azure and all(ln.status == UNPRICED and ln.cost is None for ln in azure)
    aws = [ln for ln in estimate(profile, catalogs)["aws"].lines if ln.component == "gpu_inference"]
    assert all(ln.key == "sagemaker.ml.g6.xlarge" and ln.status == PRICED for ln in aws)


def test_queue_requests_count_64kb_chunks(catalogs: dict[str, Catalog]) -> None:
    small = line(catalogs, "aws", "sqs.requests.standard", {"messages.size_kb": "2"})
    big = line(catalogs, "aws", "sqs.requests.standard", {"messages.size_kb": "100"})
    assert small.quantity == D(3_000_000) and big.quantity == D(6_000_000)


def test_money_is_decimal_everywhere(catalogs: dict[str, Catalog]) -> None:
    for est in estimate(load_profile("large"), catalogs).values():
        assert isinstance(est.total, D)
        for ln in est.lines:
            assert ln.cost is None or isinstance(ln.cost, D)
            assert ln.quantity is None or isinstance(ln.quantity, D)
