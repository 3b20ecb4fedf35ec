"""Bad requests get a clear status and reason; bad media get a ``failed`` reading. Never a
crash, a hang, or a neutral score."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

from fakewatch.samples.hostile import broken_chunks_png, zlib_bomb
from fakewatch.samples.images import corrupt_file
from fakewatch.stores import get_store
from fakewatch_serve.wire import decode_predictions

from .conftest import png

RED = png((230, 20, 20))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_oversized_requests_get_413_before_and_while_reading(serve, stat_manifest: Path) -> None:
    _, client = serve("azureml", manifest=str(stat_manifest), max_request_bytes=4096)
    big = b"\0" * 5000
    declared = client.post("/score", content=big, headers={"content-type": "image/png"})
    assert declared.status_code == 413
    assert "exceeds the limit of 4096 bytes" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(5):
            yield b"\0" * 1000

    streamed = client.post("/score", content=chunks(), headers={"content-type": "image/png"})
    assert streamed.status_code == 413
    ok = client.post("/score", content=RED, headers={"content-type": "image/png"})
    assert ok.status_code == 200  # the server is still serving


def test_vertex_default_limit_is_1_5_mb(serve, stat_manifest: Path) -> None:
    _, client = serve("vertex", manifest=str(stat_manifest))
    response = client.post(
        "/predict", json={"instances": [{"b64": b64(b"\0" * 1_200_000)}]}
    )  # 1.6 MB once base64-encoded
    assert response.status_code == 413


def test_malformed_requests_get_400_with_the_reason(serve, stat_manifest: Path) -> None:
    _, client = serve("vertex", manifest=str(stat_manifest))
    cases = {
        b"": ("application/json", "empty"),
        b"{not json": ("application/json", "not valid JSON"),
        b'{"instances": []}': ("application/json", "non-empty list"),
        b'{"instances": [42]}': ("application/json", "instances[0]"),
        b'{"instances": [{"b64": "***"}]}': ("application/json", "not valid base64"),
        b'{"instances": [{"url": "x"}]}': ("application/json", '"uri"'),
        b"a,b,c": ("text/csv", "not supported"),
    }
    for body, (ctype, reason) in cases.items():
        response = client.post("/predict", content=body, headers={"content-type": ctype})
        assert response.status_code == 400, body
        assert reason in response.json()["error"], body


def test_too_many_instances_is_413(serve, stat_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(stat_manifest))
    body = {"instances": [{"b64": b64(RED)}] * 65}
    response = client.post("/invocations", json=body)
    assert response.status_code == 413 and "at most 64" in response.json()["error"]


def test_unreadable_media_are_failed_readings_beside_good_ones(serve, stat_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(stat_manifest))
    bad = [corrupt_file("png"), b"%PDF-1.4 not an image", b"\x00" * 64, broken_chunks_png()]
    body = {"instances": [{"b64": b64(RED)}] + [{"b64": b64(x)} for x in bad]}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200
    good, *rest = decode_predictions(response.content, expected=1 + len(bad))
    assert good.status == "ok" and good.score is not None
    for reading in rest:
        assert reading.status in ("failed", "not_applicable")
        assert reading.score is None and reading.confidence == 0.0  # never a neutral score
        assert reading.evidence and reading.evidence[0]


def test_a_decompression_bomb_is_refused_not_inflated(serve, stat_manifest: Path) -> None:
    _, client = serve("sagemaker", manifest=str(stat_manifest))
    bomb = zlib_bomb()
    response = client.post("/invocations", content=bomb, headers={"content-type": "image/png"})
    assert response.status_code == 200
    (reading,) = decode_predictions(response.content, expected=1)
    assert reading.status == "failed" and reading.score is None


def test_by_reference_instances_read_only_allowed_prefixes(serve, stat_manifest: Path) -> None:
    store = get_store("memory")
    store.make_bucket("serve-media")  # type: ignore[attr-defined]
    store.put("serve-media", "ok/red.png", RED)
    store.put("serve-media", "secret/red.png", RED)
    _, client = serve(
        "vertex",
        manifest=str(stat_manifest),
        env={"FAKEWATCH_SERVE_URI_PREFIXES": "memory://serve-media/ok/"},
    )
    sha = hashlib.sha256(RED).hexdigest()
    body = {
        "instances": [
            {"uri": "memory://serve-media/ok/red.png", "sha256": sha},
            {"uri": "memory://serve-media/secret/red.png"},
            {"uri": "memory://serve-media/ok/red.png", "sha256": "0" * 64},
            {"uri": "memory://serve-media/ok/missing.png"},
        ]
    }
    response = client.post("/predict", json=body)
    assert response.status_code == 200
    ok, forbidden, tampered, missing = decode_predictions(response.content, expected=4)
    assert ok.status == "ok" and ok.score is not None and ok.score > 0.9
    assert forbidden.status == "failed" and "not under a prefix" in forbidden.evidence[0]
    assert tampered.status == "failed" and "sha256" in tampered.evidence[0]
    assert missing.status == "failed" and "missing.png" in missing.evidence[0]
