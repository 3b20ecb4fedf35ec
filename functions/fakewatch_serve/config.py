"""Serving configuration from arguments and the environment, read once at start-up.

The cloud's own variables (``AIP_HTTP_PORT``, ``SAGEMAKER_BIND_TO_PORT``, ...) decide routes
and ports; ``FAKEWATCH_SERVE_*`` (named in :mod:`fakewatch.settings`) tune the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from fakewatch import settings
from fakewatch.errors import ConfigError
from fakewatch.media.limits import Limits
from fakewatch_serve.batching import BatchConfig
from fakewatch_serve.contracts import Contract, contract_for
from fakewatch_serve.engine import EngineConfig
from fakewatch_serve.wire import MAX_INSTANCES

Mode = Literal["realtime", "async"]
MODES: tuple[Mode, ...] = ("realtime", "async")


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``create_app`` needs besides the model loader."""

    contract: Contract
    engine: EngineConfig
    mode: Mode = "realtime"
    host: str = "0.0.0.0"  # containers listen on every interface
    max_request_bytes: int = 6_000_000
    max_instances: int = MAX_INSTANCES
    shutdown_timeout_s: float = 25.0  # SageMaker sends SIGKILL 30 s after SIGTERM
    answer_prefixes: tuple[str, ...] = ()  # set: serve queued jobs too (POST /jobs)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.contract.port

    @classmethod
    def build(
        cls,
        contract: str,
        *,
        manifest: str | None = None,
        mode: str | None = None,
        port: int | None = None,
        max_batch: int | None = None,
        max_wait_ms: float | None = None,
        max_request_bytes: int | None = None,
        providers: tuple[str, ...] | None = None,
        intra_op_threads: int | None = None,
        workers: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ServeConfig:
        """Arguments win over ``FAKEWATCH_SERVE_*`` variables, which win over defaults."""
        env = os.environ if env is None else env
        chosen = mode or env.get(settings.SERVE_MODE) or "realtime"
        if chosen not in MODES:
            raise ConfigError(f"{settings.SERVE_MODE}: {chosen!r} is not one of {MODES}")
        spec = contract_for(contract, env)
        port = port or _int(env, settings.SERVE_PORT)
        if port:
            spec = replace(spec, port=port)
        limit = spec.async_max_request_bytes if chosen == "async" else spec.max_request_bytes
        batch = BatchConfig(
            max_batch=max_batch or _int(env, settings.SERVE_MAX_BATCH) or 16,
            max_wait_ms=_float(env, settings.SERVE_MAX_WAIT_MS, max_wait_ms, 5.0),
        )
        engine = EngineConfig(
            manifest=manifest or env.get(settings.MODEL_MANIFEST) or spec.default_manifest(),
            providers=providers or _list(env.get(settings.SERVE_PROVIDERS)),
            batch=batch,
            limits=Limits(max_bytes=max(limit, Limits().max_bytes)),
            uri_prefixes=_list(env.get(settings.SERVE_URI_PREFIXES)) or (),
            intra_op_threads=_positive("intra_op_threads", intra_op_threads),
            workers=_positive("workers", workers),
        )
        return cls(
            contract=spec,
            engine=engine,
            mode=chosen,
            answer_prefixes=_list(env.get(settings.SERVE_ANSWER_PREFIXES)) or (),
            max_request_bytes=max_request_bytes
            or _int(env, settings.SERVE_MAX_REQUEST_BYTES)
            or limit,
        )


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if not value:
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {value!r} is not a whole number") from exc
    if number <= 0:
        raise ConfigError(f"{name}: must be positive, got {number}")
    return number


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ConfigError(f"{name}: must be at least 1, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, given: float | None, default: float) -> float:
    if given is not None:
        return given
    value = env.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {value!r} is not a number") from exc
    if number < 0:
        raise ConfigError(f"{name}: must not be negative, got {number}")
    return number


def _list(value: str | None) -> tuple[str, ...] | None:
    items = tuple(v.strip() for v in (value or "").split(",") if v.strip())
    return items or None


__all__ = ["MODES", "Mode", "ServeConfig"]
