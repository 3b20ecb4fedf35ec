"""SageMaker Asynchronous Inference, end to end: the Lambda handler queues a grey-zone object,
SageMaker's answer comes back through SNS → the scan queue, and the handler folds it into
revision 2 of the verdict.

No emulator implements SageMaker's asynchronous front end (moto accepts
``InvokeEndpointAsync`` and answers with canned data), so a small loopback shim plays it: it
accepts ``POST /endpoints/<name>/async-invocations`` as SageMaker does (202, output location
header), then reads the input from S3, calls the real fakewatch serving container's
``/invocations``, writes the answer to the S3 output path and publishes SageMaker's
notification on an SNS topic. Everything else is real: boto3, moto's S3, SNS (raw delivery to
SQS), SQS and DynamoDB, the serving app and its ONNX model, the Lambda handler, the core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakewatch.policy import load_policy
from fakewatch.scanner import build_scanner
from fakewatch.testing.onnx_models import statistic_classifier, write_model
from fakewatch.verdict import validate_verdict
from fakewatch_aws import runtime as runtime_module
from fakewatch_aws.escalation import sagemaker_escalation
from fakewatch_aws.store import make_client
from fakewatch_serve.server import LoopbackServer
from fakewatch_serve.testing import running

from .aws_helpers import Stack
from .test_escalation import GREY_EVERYWHERE, RED

ENDPOINT, DOWN = "fakewatch-gpu-async", "fakewatch-gpu-down"


class AsyncFrontEnd:
    """SageMaker's asynchronous inference, played on loopback (see the module docstring)."""

    def __init__(self, container: str, aws: dict[str, Any], output: str, topic: str) -> None:
        self.container, self.output, self.topic = container, output, topic
        self.s3, self.sns = make_client("s3", **aws), make_client("sns", **aws)
        self.requests: list[dict[str, str]] = []

    def app(self) -> Starlette:
        route = Route("/endpoints/{name}/async-invocations", self.invoke, methods=["POST"])
        return Starlette(routes=[route])

    async def invoke(self, request: Request) -> Response:
        name = request.path_params["name"]
        h = request.headers
        job = {
            "endpoint": name,
            "input": h["x-amzn-sagemaker-inputlocation"],
            "id": h.get("x-amzn-sagemaker-inference-id", "generated-id"),
            "content_type": h.get("x-amzn-sagemaker-content-type", "application/octet-stream"),
        }
        self.requests.append(job)
        output = f"{self.output}{job['id']}.out"
        return JSONResponse(
            {"InferenceId": job["id"]},
            202,
            headers={"X-Amzn-SageMaker-OutputLocation": output},
            background=BackgroundTask(self.process, job, output),
        )

    def process(self, job: dict[str, str], output: str) -> None:
        bucket, _, key = job["input"].removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        note: dict[str, Any] = {
            "awsRegion": "us-east-1",
            "eventTime": datetime.now(UTC).isoformat(),
            "receivedTime": datetime.now(UTC).isoformat(),
            "requestParameters": {
                "contentType": job["content_type"],
                "endpointName": job["endpoint"],
                "inputLocation": job["input"],
            },
            "inferenceId": job["id"],
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        url = self.container if job["endpoint"] == ENDPOINT else "http://127.0.0.1:9"
        try:
            answer = httpx.post(
                url + "/invocations",
                content=body,
                headers={"content-type": job["content_type"]},
                timeout=30,
            )
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            out_bucket, _, out_key = output.removeprefix("s3://").partition("/")
            self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=answer.content)
            note |= {
                "invocationStatus": "Completed",
                "responseParameters": {"contentType": "application/json", "outputLocation": output},
            }
        else:
            note |= {
                "invocationStatus": "Failed",
                "failureReason": "ClientError: Received server error (500) from primary with "
                "message 'model container unreachable'",
            }
        self.sns.publish(TopicArn=self.topic, Message=json.dumps(note))


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manifest: Path = write_model(tmp_path_factory.mktemp("async"), statistic_classifier())
    with running("sagemaker", manifest=str(manifest)) as server:
        yield server.url


@pytest.fixture
def front_end(stack: Stack, container: str) -> Iterator[AsyncFrontEnd]:
    """The shim, and the stack's SNS topic subscribed to the scan queue with raw delivery —
    what the Pulumi stack wires for an async endpoint."""
    d = stack.deployment
    sns = make_client("sns", **stack.aws)
    topic = sns.create_topic(Name=f"{d.bus}-escalations")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=d.queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    shim = AsyncFrontEnd(container, stack.aws, f"s3://{d.results_bucket}/escalations/", topic)
    with LoopbackServer(shim.app()) as server:
        shim.url = server.url  # type: ignore[attr-defined]
        yield shim


def use_async_endpoint(
    stack: Stack, shim: AsyncFrontEnd, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    client = make_client("sagemaker-runtime", endpoint_url=shim.url, region_name="us-east-1")  # type: ignore[attr-defined]
    escalation = sagemaker_escalation(endpoint, client=client, mode="async", timeout_s=10)
    scanner = build_scanner(load_policy(GREY_EVERYWHERE), escalation=escalation)
    monkeypatch.setattr(runtime_module, "build_scanner", lambda settings, store: scanner)
    runtime_module.reset_runtime()


def run_until(stack: Stack, done: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the asynchronous answer never arrived"
        stack.run(max_batches=1)


def revisions(stack: Stack) -> list[dict[str, Any]]:
    d = stack.deployment
    keys = [k for k in stack.keys(d.results_bucket, "verdicts/") if k.endswith(".r2.json")]
    return [stack.store.get_json(d.results_bucket, k) for k in keys]


def test_the_async_answer_revises_the_verdict(
    stack: Stack, front_end: AsyncFrontEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_async_endpoint(stack, front_end, monkeypatch, ENDPOINT)
    d = stack.deployment
    stack.s3.put_object(Bucket=d.input_bucket, Key="grey/red square.png", Body=RED)
    run_until(stack, lambda: bool(front_end.requests))
    (pending,) = stack.verdicts().values()
    validate_verdict(pending)
    assert pending["escalation"]["status"] == "pending" and pending["label"] == "no_evidence"
    (job,) = front_end.requests
    assert (
        job["id"] == pending["id"] and job["input"] == f"s3://{d.input_bucket}/grey/red square.png"
    )

    run_until(stack, lambda: bool(revisions(stack)))
    (revised,) = revisions(stack)
    validate_verdict(revised)
    assert revised["revision"] == 2 and revised["supersedes"] == pending["id"]
    assert revised["escalation"]["status"] == "used"
    assert revised["escalation"]["endpoint"] == f"sagemaker:{ENDPOINT}"
    reading = next(s for s in revised["signals"] if s["name"] == "learned:endpoint")
    assert reading["status"] == "ok" and reading["score"] > 0.9
    assert revised["label"] == "suspicious"
    if revised["action"] == "quarantine":
        q = stack.store.get_json(
            d.quarantine_bucket, f"{d.input_bucket}/grey/red square.png.verdict.json"
        )
        assert q["revision"] == 2
    else:
        tags = stack.store.get_tags(d.input_bucket, "grey/red square.png")
        assert tags["fakewatch-label"] == "suspicious"
    kinds = [e["record"]["kind"] for e in stack.audit().entries()]
    assert kinds == ["scan", "escalation"] and stack.audit().verify().ok
    data = [e["detail"]["data"] for e in stack.result_events()]
    assert [(e["label"], e["revision"]) for e in data] == [("no_evidence", 1), ("suspicious", 2)]
    assert data[1]["supersedes"] == data[0]["verdict_id"]


def test_a_failed_async_inference_is_recorded_not_retried(
    stack: Stack, front_end: AsyncFrontEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_async_endpoint(stack, front_end, monkeypatch, DOWN)
    d = stack.deployment
    stack.s3.put_object(Bucket=d.input_bucket, Key="grey/red.png", Body=RED)
    run_until(stack, lambda: bool(revisions(stack)))
    (revised,) = revisions(stack)
    assert revised["escalation"]["status"] == "failed"
    assert "unreachable" in revised["escalation"]["reason"]
    assert revised["label"] == "no_evidence"  # the cheap decision stands
    assert stack.store.get_tags(d.input_bucket, "grey/red.png")["fakewatch-label"] == "no_evidence"
    assert stack.dlq() == []


def test_a_malformed_sagemaker_notification_goes_to_the_dlq(stack: Stack) -> None:
    stack.send(json.dumps({"eventSource": "aws:sagemaker", "invocationStatus": "Completed"}))
    reports = stack.run(max_batches=1)
    assert sum(len(r.failed) for r in reports) == 1
