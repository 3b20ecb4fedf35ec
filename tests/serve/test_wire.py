"""The shared JSON grammar: what clients send, and how answers become readings again."""

from __future__ import annotations

import base64
import json

import pytest

from fakewatch.media.types import MediaKind
from fakewatch.ports.escalation import EscalationRequest
from fakewatch.signals.base import SignalResult, Status
from fakewatch_serve.wire import (
    Instance,
    PayloadError,
    decode_predictions,
    parse_payload,
    predictions_document,
    request_document,
    signal_from_dict,
)

READING = SignalResult(
    "learned:endpoint",
    Status.OK,
    "image",
    score=0.8123,
    confidence=0.5,
    evidence=("rates this image 0.81",),
    details={"model": {"name": "m", "version": "1", "sha256": "ab"}},
    duration_ms=12.5,
)


def test_a_reading_survives_the_round_trip() -> None:
    doc = json.loads(json.dumps(predictions_document([READING])))
    (back,) = decode_predictions(doc, expected=1)
    assert back == READING


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        ({"status": "great"}, "great"),
        ({"score": "high"}, "finite number"),
        ({"score": float("nan")}, "finite number"),
        ({"score": 1.5}, "score in [0, 1]"),
        ({"confidence": -1}, "confidence"),
        ({"evidence": "one line"}, "list of strings"),
        ({"strong": "yes"}, "true or false"),
        ({"name": ""}, "non-empty string"),
    ],
)
def test_malformed_predictions_are_refused(mutation: dict, reason: str) -> None:
    doc = {**READING.to_dict(), **mutation}
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        signal_from_dict(doc)


def test_answers_must_match_the_request() -> None:
    with pytest.raises(ValueError, match="non-JSON"):
        decode_predictions(b"<html>502</html>", expected=1)
    with pytest.raises(ValueError, match='no "predictions"'):
        decode_predictions({"error": "x"}, expected=1)
    with pytest.raises(ValueError, match="2 predictions for 1"):
        decode_predictions(predictions_document([READING, READING]), expected=1)
    with pytest.raises(ValueError, match="lacks field"):
        decode_predictions({"predictions": [{"name": "x"}]}, expected=1)


def test_request_documents_by_value_and_by_reference() -> None:
    req = EscalationRequest("s3://in/a.png", "f" * 64, MediaKind.IMAGE, "image/png", b"\x89PNG")
    by_value = json.loads(request_document([req]))
    assert by_value == {
        "instances": [{"b64": base64.b64encode(b"\x89PNG").decode(), "mime": "image/png"}]
    }
    by_ref = json.loads(request_document([req], by_reference=True))
    assert by_ref == {
        "instances": [{"uri": "s3://in/a.png", "sha256": "f" * 64, "mime": "image/png"}]
    }
    # and the server reads back exactly what the client meant
    (inst,) = parse_payload("application/json", request_document([req]))
    assert inst == Instance(data=b"\x89PNG", mime="image/png")
    (ref,) = parse_payload(
        "application/json; charset=utf-8", request_document([req], by_reference=True)
    )
    assert ref.uri == "s3://in/a.png" and ref.data is None


def test_raw_content_types_are_one_instance() -> None:
    for ctype in ("image/jpeg", "video/mp4", "application/octet-stream", "IMAGE/PNG; q=1"):
        (inst,) = parse_payload(ctype, b"bytes")
        assert inst.data == b"bytes"
    with pytest.raises(PayloadError, match="exactly one"):
        Instance()
