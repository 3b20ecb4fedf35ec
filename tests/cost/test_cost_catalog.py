"""Catalogs load, validate every unit price, warn when stale, and refuse bad files."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest

from fakewatch_cost.catalog import (
    DEFAULT_CATALOGS,
    CatalogAgeWarning,
    builtin_catalogs,
    load_catalog,
    load_catalog_set,
)
from fakewatch_cost.errors import CostInputError

GOOD = """
schema: fakewatch-cost-catalog/1
name: test-catalog
provider: aws
region: us-east-1
currency: USD
retrieved: "2026-11-01"
prices:
  - key: s3.storage.standard
    service: Amazon S3
    sku: TimedStorage-ByteHrs
    unit: GB-month
    tiers: [{start: 0, price: "0.023"}, {start: 51200, price: "0.022"}]
    source: https://aws.amazon.com/s3/pricing/
"""


def write(tmp_path: Path, text: str, name: str = "cat.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_builtin_catalog_loads_with_complete_unit_prices() -> None:
    names = builtin_catalogs()
    assert {"aws-us-east-1", "gcp-us-central1", "azure-eastus"} <= set(names)
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatalogAgeWarning)
            catalog = load_catalog(name)
        rows = catalog.rows()
        assert rows, name
        for row in rows:
            assert row.provider == catalog.provider
            assert row.service and row.sku and row.region and row.unit
            assert row.source.startswith(("https://", "seed:"))
            assert row.price >= 0 and row.tier_start >= 0
            assert isinstance(row.retrieved, dt.date)


def test_list_catalogs_cover_what_the_issue_names() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CatalogAgeWarning)
        cats = load_catalog_set()
    keys = {p: set(c.entries) for p, c in cats.items()}
    assert {
        "lambda.duration.x86_64",
        "lambda.duration.arm64",
        "sqs.requests.standard",
        "eventbridge.custom-events",
        "sagemaker.ml.g4dn.xlarge",
        "sagemaker.ml.g5.xlarge",
        "sagemaker.ml.g6.xlarge",
        "rekognition.detect-faces",
        "egress.internet",
    } <= keys["aws"]
    assert {
        "run.cpu",
        "run.memory",
        "pubsub.throughput",
        "eventarc.google-source-events",
        "vertex.n1-standard-4",
        "vertex.gpu.t4",
        "vertex.g2-standard-4",
        "vision.face-detection",
        "logging.ingest",
    } <= keys["gcp"]
    assert {
        "functions.consumption.execution-time",
        "functions.flex.execution-time",
        "eventgrid.operations",
        "azureml.nc4as-t4-v3",
        "azureml.nc6s-v3",
        "face.detect",
        "loganalytics.ingest",
    } <= keys["azure"]
    assert set(DEFAULT_CATALOGS.values()) <= set(builtin_catalogs())


def test_stale_catalog_warns_and_fresh_one_does_not(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.warns(CatalogAgeWarning, match="181 days"):
        load_catalog(str(path), today=dt.date(2027, 5, 1), max_age_days=180)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = load_catalog(str(path), today=dt.date(2026, 12, 1))
    assert catalog.staleness(dt.date(2026, 12, 1)) is None


def test_entry_date_older_than_catalog_date_counts(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    source: https://aws.amazon.com/s3/pricing/",
        '    source: https://aws.amazon.com/s3/pricing/\n    retrieved: "2024-01-01"',
    )
    catalog = load_catalog(str(write(tmp_path, text)), today=dt.date(2024, 2, 1))
    assert catalog.oldest() == dt.date(2024, 1, 1)
    assert "2024-01-01" in (catalog.staleness(dt.date(2026, 11, 1)) or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("currency: USD", "currency: EUR"), "currency"),
        (("    unit: GB-month\n", ""), "'unit' is a required property"),
        (
            ('{start: 0, price: "0.023"}', '{start: 1, price: "0.023"}'),
            "first tier must start at 0",
        ),
        (('{start: 51200, price: "0.022"}', '{start: 0, price: "0.022"}'), "must increase"),
        (('price: "0.023"', 'price: "-0.023"'), "negative price"),
        (('price: "0.023"', "price: twelve"), "price"),
        (("source: https://aws", "source: http://aws"), "source"),
        (('retrieved: "2026-11-01"', 'retrieved: "yesterday"'), "retrieved"),
        (("provider: aws", "provider: ibm"), "provider"),
    ],
)
def test_invalid_catalog_is_refused_with_a_clear_message(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(CostInputError, match=message):
        load_catalog(str(write(tmp_path, GOOD.replace(old, new))), today=dt.date(2026, 11, 2))


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    entry = GOOD[GOOD.index("  - key:") :]
    with pytest.raises(CostInputError, match="appears twice"):
        load_catalog(str(write(tmp_path, GOOD + entry)), today=dt.date(2026, 11, 2))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a: &a [1]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"prices: [unclosed", "not valid YAML"),
        (b"- just\n- a list\n", "invalid catalog"),
        (b"", "invalid catalog"),
    ],
)
def test_hostile_or_broken_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(CostInputError, match=message):
        load_catalog(str(path))


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (3 * 1024 * 1024))
    with pytest.raises(CostInputError, match="larger than"):
        load_catalog(str(path))


def test_unknown_catalog_names_the_builtins() -> None:
    with pytest.raises(CostInputError, match="aws-us-east-1"):
        load_catalog("no-such-catalog")


def test_catalog_set_refuses_a_catalog_for_the_wrong_cloud() -> None:
    with pytest.raises(CostInputError, match="is for gcp, not aws"):
        load_catalog_set({"aws": "gcp-us-central1"}, today=dt.date(2025, 7, 1))
