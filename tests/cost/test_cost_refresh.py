"""Refreshers parse recorded API responses (hand-recorded in the published shapes, see
``recorded/README.md``): these machines cannot reach the price APIs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

import pytest

from fakewatch_cost.catalog import CatalogAgeWarning, load_catalog
from fakewatch_cost.errors import CostInputError
from fakewatch_cost.refresh import aws as aws_api
from fakewatch_cost.refresh import azure as azure_api
from fakewatch_cost.refresh import gcp as gcp_api
from fakewatch_cost.refresh import refresh_catalog, write_catalog
from fakewatch_cost.refresh.fetch import RefreshError, redact
from fakewatch_cost.refresh.tiers import normalise

RECORDED = Path(__file__).parent / "recorded"
TODAY = dt.date(2026, 11, 22)
KEY = "test-api-key-123"


class Recorded:
    """A fetcher that answers from files and fails like an unreachable API otherwise."""

    def __init__(self, mapping: dict[str, Path]) -> None:
        self.mapping = mapping
        self.requested: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.requested.append(url)
        if url not in self.mapping:
            raise RefreshError(f"{redact(url)}: no recorded response (unreachable)")
        return self.mapping[url].read_bytes()


def aws_fetcher() -> Recorded:
    return Recorded(
        {
            aws_api.offer_url(offer, "us-east-1"): RECORDED / "aws" / f"{offer}-us-east-1.json"
            for offer in ("AmazonS3", "AWSLambda", "AWSQueueService")
        }
    )


def azure_fetcher() -> Recorded:
    flex = (
        "serviceName eq 'Functions' and armRegionName eq 'eastus' and skuName eq "
        "'Flex Consumption' and meterName eq 'On Demand Execution Time'"
    )
    page1 = RECORDED / "azure" / "functions-flex-execution-time-page1.json"
    page2_url = json.loads(page1.read_text())["NextPageLink"]
    blob = "serviceName eq 'Storage' and armRegionName eq 'eastus' and skuName eq 'Hot LRS' and "
    vm = (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq "
        "'Standard_NC4as_T4_v3' and priceType eq 'Consumption'"
    )
    return Recorded(
        {
            azure_api.query_url(flex): page1,
            page2_url: RECORDED / "azure" / "functions-flex-execution-time-page2.json",
            azure_api.query_url(blob + "meterName eq 'Hot LRS Data Stored'"): RECORDED
            / "azure"
            / "blob-hot-lrs-data-stored.json",
            azure_api.query_url(blob + "meterName eq 'Hot LRS Write Operations'"): RECORDED
            / "azure"
            / "blob-hot-lrs-write-operations.json",
            azure_api.query_url(vm): RECORDED / "azure" / "vm-nc4as-t4-v3.json",
        }
    )


def gcp_fetcher() -> Recorded:
    token = json.loads((RECORDED / "gcp" / "storage-page1.json").read_text())["nextPageToken"]
    return Recorded(
        {
            gcp_api.skus_url("95FF-2EF5-5EA1", KEY): RECORDED / "gcp" / "storage-page1.json",
            gcp_api.skus_url("95FF-2EF5-5EA1", KEY, token): RECORDED / "gcp" / "storage-page2.json",
            gcp_api.skus_url("152E-C115-5142", KEY): RECORDED / "gcp" / "run-page1.json",
        }
    )


def entry(document: dict, key: str) -> dict:
    return next(e for e in document["prices"] if e["key"] == key)


def test_aws_offer_files_refresh_tiers_and_split_zero_price_tier_into_free_grant() -> None:
    fetch = aws_fetcher()
    result = refresh_catalog("aws-us-east-1", fetch, today=TODAY)
    doc = result.document
    s3 = entry(doc, "s3.storage.standard")
    assert s3["tiers"] == [
        {"start": "0", "price": "0.0225"},
        {"start": "51200", "price": "0.022"},
        {"start": "512000", "price": "0.021"},
    ]
    assert s3["retrieved"] == "2026-11-22"
    assert s3["source"] == aws_api.offer_url("AmazonS3", "us-east-1")
    arm = entry(doc, "lambda.duration.arm64")
    assert [t["price"] for t in arm["tiers"]] == ["0.0000128", "0.0000115", "0.0000102"]
    assert entry(doc, "lambda.requests")["tiers"] == [{"start": "0", "price": "0.0000002"}]
    sqs = entry(doc, "sqs.requests.standard")
    assert sqs["free"]["quantity"] == "1000000"
    assert sqs["tiers"][0] == {"start": "0", "price": "0.0000004"}
    assert set(result.changed) == {"s3.storage.standard", "lambda.duration.arm64"}
    # Offers with no recording keep their transcribed price and old date, and say why.
    kept = dict(result.kept)
    assert "unreachable" in kept["sagemaker.ml.g4dn.xlarge"]
    assert entry(doc, "sagemaker.ml.g4dn.xlarge")["retrieved"] == "2025-06-01"
    # Each offer file is fetched once however many entries use it.
    assert len(fetch.requested) == len(set(fetch.requested))


def test_refreshed_catalog_is_written_and_loads(tmp_path: Path) -> None:
    result = refresh_catalog("aws-us-east-1", aws_fetcher(), today=TODAY)
    path = write_catalog(result.document, tmp_path)
    assert path.name == "aws-us-east-1.yaml"
    with pytest.warns(CatalogAgeWarning):  # the kept entries are still from 2025
        catalog = load_catalog("aws-us-east-1", search=[tmp_path], today=TODAY)
    assert catalog.price("s3.storage.standard").tiers[0].price == D("0.0225")
    assert catalog.price("s3.storage.standard").retrieved == TODAY
    assert catalog.oldest() == dt.date(2025, 6, 1)  # kept entries still count as old
    assert "Refreshed from the AWS Price List" in catalog.method


def test_azure_retail_prices_follow_next_page_link_and_convert_units() -> None:
    fetch = azure_fetcher()
    doc = refresh_catalog("azure-eastus", fetch, today=TODAY).document
    flex = entry(doc, "functions.flex.execution-time")
    assert flex["tiers"] == [{"start": "0", "price": "0.000026"}]
    assert flex["free"]["quantity"] == "100000"  # zero-price first tier on page 1
    write = entry(doc, "blob.ops.write")
    assert write["tiers"] == [{"start": "0", "price": "0.0000065"}]  # $0.065 per "10K"
    blob = entry(doc, "blob.storage.hot-lrs")
    assert [t["start"] for t in blob["tiers"]] == ["0", "51200", "512000"]
    vm = entry(doc, "azureml.nc4as-t4-v3")
    assert vm["tiers"] == [{"start": "0", "price": "0.526"}]  # not Windows, Spot or reserved
    assert any("$skip=100" in url for url in fetch.requested)


def test_gcp_catalog_api_follows_page_tokens_and_reads_units_and_nanos() -> None:
    fetch = gcp_fetcher()
    result = refresh_catalog("gcp-us-central1", fetch, today=TODAY, api_key=KEY)
    doc = result.document
    assert entry(doc, "gcs.storage.standard")["tiers"] == [{"start": "0", "price": "0.02"}]
    assert entry(doc, "gcs.ops.class-b")["tiers"] == [{"start": "0", "price": "0.0000004"}]
    cpu = entry(doc, "run.cpu")
    assert cpu["tiers"] == [{"start": "0", "price": "0.000024"}]
    assert cpu["free"]["quantity"] == "180000"
    assert entry(doc, "run.requests")["free"]["quantity"] == "2000000"
    text = json.dumps(doc)
    assert KEY not in text  # the API key never lands in the catalog
    assert len([u for u in fetch.requested if "95FF" in u]) == 2


def test_gcp_without_api_key_is_a_clear_error_before_any_request() -> None:
    fetch = gcp_fetcher()
    with pytest.raises(CostInputError, match="API key"):
        refresh_catalog("gcp-us-central1", fetch, today=TODAY, api_key=None)
    assert fetch.requested == []


@pytest.mark.parametrize(
    ("ladder", "tiers", "free"),
    [
        ([(D(0), D("0.5"))], [{"start": "0", "price": "0.5"}], None),
        ([(D(5), D(1)), (D(0), D(0))], [{"start": "0", "price": "1"}], D(5)),
        ([(D(0), D(0))], [{"start": "0", "price": "0"}], None),
    ],
)
def test_normalise(ladder: list[tuple[D, D]], tiers: list[dict[str, str]], free: D | None) -> None:
    assert normalise(ladder, "t") == (tiers, free)


@pytest.mark.parametrize(
    ("ladder", "message"),
    [
        ([], "no prices"),
        ([(D(0), D(1)), (D(0), D(2))], "same tier"),
        ([(D(0), D(-1))], "negative"),
        ([(D(10), D(1))], "start at 0"),
    ],
)
def test_normalise_refuses_bad_ladders(ladder: list[tuple[D, D]], message: str) -> None:
    with pytest.raises(RefreshError, match=message):
        normalise(ladder, "t")


def _one(fetch: Callable[[str], bytes], provider: str) -> None:
    name = {"aws": "aws-us-east-1", "azure": "azure-eastus", "gcp": "gcp-us-central1"}[provider]
    result = refresh_catalog(name, fetch, today=TODAY, api_key=KEY)
    assert not result.refreshed
    assert result.kept


@pytest.mark.parametrize(
    "body",
    [
        b"<html>503 Service Unavailable</html>",
        b"",
        b"[]",
        b'{"products": "nope"}',
        b'{"products": {}, "terms": {}}',
        b"\x00\xff" * 10,
    ],
)
def test_garbage_responses_are_kept_out_not_crashes(body: bytes) -> None:
    for provider in ("aws", "azure", "gcp"):
        _one(lambda url, b=body: b, provider)


def test_azure_next_page_link_may_not_leave_the_api() -> None:
    def fetch(url: str) -> bytes:
        return json.dumps(
            {"Items": [], "NextPageLink": "https://evil.example/api/retail/prices"}
        ).encode()

    with pytest.raises(RefreshError, match="leaves"):
        azure_api.items(fetch, "serviceName eq 'Storage'")


def test_endless_paging_is_cut_off() -> None:
    def fetch(url: str) -> bytes:
        return json.dumps({"skus": [], "nextPageToken": "again"}).encode()

    with pytest.raises(RefreshError, match="more than"):
        gcp_api.skus(fetch, "95FF-2EF5-5EA1", KEY)


def test_redact_removes_the_key() -> None:
    assert redact(gcp_api.skus_url("95FF-2EF5-5EA1", KEY)).endswith("?currencyCode=USD")
