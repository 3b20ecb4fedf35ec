"""The JSON the endpoint speaks, shared by the server and the escalation clients.

One grammar behind every contract, so a client does not care which cloud it talks to:

request   raw media bytes (``application/octet-stream``, ``image/*``, ``video/*``): one instance;
          or JSON ``{"instances": [instance, ...], "parameters": {...}}`` (Vertex AI's shape),
          where an instance is ``{"b64": "<base64 bytes>", "mime": "image/jpeg"}`` (by value)
          or ``{"uri": "s3://bucket/key", "sha256": "<hex>"}`` (by reference, for large media,
          when the server allows that prefix).
response  ``{"predictions": [signal, ...]}``, one per instance, in order, each shaped like
          :meth:`fakewatch.signals.base.SignalResult.to_dict`. An instance that could not be
          read (corrupt, unsupported, too large) is a ``failed`` signal saying why — never a
          neutral score — while the others in the same request still get their readings.

This module imports nothing beyond the core, so functions can use it without Starlette.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fakewatch.ports.escalation import EscalationRequest
from fakewatch.signals.base import SignalResult

JSON = "application/json"
RAW_PREFIXES = ("image/", "video/", "audio/")
RAW_TYPES = frozenset({"application/octet-stream", "application/x-image", "application/pdf"})
MAX_INSTANCES = 64


class PayloadError(ValueError):
    """The request body is not one the endpoint understands (HTTP 400)."""

    status = 400


class PayloadTooLarge(PayloadError):
    """The request, or an instance in it, is over the configured size (HTTP 413)."""

    status = 413


@dataclass(frozen=True)
class Instance:
    """One item to score: its bytes, or a store URI the server reads itself."""

    data: bytes | None = None
    uri: str | None = None
    sha256: str | None = None
    mime: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.uri is None):
            raise PayloadError("an instance needs exactly one of 'b64' (bytes) or 'uri'")


# -- requests ---------------------------------------------------------------------------------
def media_type(content_type: str | None) -> str:
    """``"image/jpeg; charset=x"`` → ``"image/jpeg"``; empty when absent."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_raw(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return kind in RAW_TYPES or kind.startswith(RAW_PREFIXES)


def parse_payload(
    content_type: str | None, body: bytes, *, max_instances: int = MAX_INSTANCES
) -> list[Instance]:
    """The instances a request carries, or :class:`PayloadError` saying what is wrong."""
    if not body:
        raise PayloadError("the request body is empty")
    if is_raw(content_type):
        return [Instance(data=body, mime=media_type(content_type))]
    kind = media_type(content_type)
    if kind and kind != JSON and not kind.endswith("+json"):
        raise PayloadError(
            f"content type {kind!r} is not supported: send media bytes "
            "(application/octet-stream, image/*, video/*) or application/json"
        )
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"the body is not valid JSON: {exc}") from exc
    items = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise PayloadError('JSON requests carry a non-empty list "instances"')
    if len(items) > max_instances:
        raise PayloadTooLarge(f"{len(items)} instances; at most {max_instances} per request")
    return [_instance(item, i) for i, item in enumerate(items)]


def _instance(item: Any, index: int) -> Instance:
    where = f"instances[{index}]"
    if not isinstance(item, dict):
        raise PayloadError(f'{where}: must be an object with "b64" or "uri"')
    mime = item.get("mime")
    if mime is not None and not isinstance(mime, str):
        raise PayloadError(f"{where}.mime: must be a string")
    if "b64" in item:
        encoded = item["b64"]
        if not isinstance(encoded, str):
            raise PayloadError(f"{where}.b64: must be a base64 string")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadError(f"{where}.b64: not valid base64 ({exc})") from exc
        return Instance(data=data, mime=mime)
    uri, sha = item.get("uri"), item.get("sha256")
    if not isinstance(uri, str) or "://" not in uri:
        raise PayloadError(f'{where}: needs "b64" (bytes) or "uri" (a store URI)')
    if sha is not None and not isinstance(sha, str):
        raise PayloadError(f"{where}.sha256: must be a hex string")
    return Instance(uri=uri, sha256=sha, mime=mime)


def request_document(requests: Sequence[EscalationRequest], *, by_reference: bool = False) -> bytes:
    """The JSON body a client sends for these requests (bytes by value unless asked)."""
    instances: list[dict[str, Any]] = []
    for req in requests:
        if by_reference or req.data is None:
            instances.append({"uri": req.uri, "sha256": req.sha256, "mime": req.mime})
        else:
            encoded = base64.b64encode(req.data).decode("ascii")
            instances.append({"b64": encoded, "mime": req.mime})
    return json.dumps({"instances": instances}).encode()


# -- responses --------------------------------------------------------------------------------
def predictions_document(results: Sequence[SignalResult]) -> dict[str, Any]:
    return {"predictions": [r.to_dict() for r in results]}


def decode_predictions(
    body: bytes | str | Mapping[str, Any], *, expected: int
) -> list[SignalResult]:
    """An endpoint's answer → readings; ValueError when it is not the schema's shape."""
    doc: Any = body
    if isinstance(body, bytes | str):
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"endpoint answered non-JSON: {exc}") from exc
    items = doc.get("predictions") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise ValueError('endpoint answer has no "predictions" list')
    if len(items) != expected:
        raise ValueError(f"endpoint answered {len(items)} predictions for {expected} instances")
    return [signal_from_dict(item) for item in items]


def signal_from_dict(doc: Any) -> SignalResult:
    """Rebuild a :class:`SignalResult` from its ``to_dict`` form, checking every field."""
    return SignalResult.from_dict(doc)


__all__ = [
    "JSON",
    "Instance",
    "PayloadError",
    "PayloadTooLarge",
    "decode_predictions",
    "is_raw",
    "parse_payload",
    "predictions_document",
    "request_document",
    "signal_from_dict",
]
