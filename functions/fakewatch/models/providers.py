"""Which ONNX Runtime execution providers to ask for: TensorRT, then CUDA, then CPU.

Functions run on CPU; GPU endpoints set ``prefer_gpu``. An explicit list wins over both,
filtered to what this onnxruntime build offers. CPU always closes the list, so a session can
always be created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
GPU_ORDER = (TENSORRT, CUDA)


@dataclass(frozen=True)
class ProviderChoice:
    """The providers to request, and the ones asked for that this build does not have."""

    providers: tuple[str, ...]
    unavailable: tuple[str, ...] = ()

    @property
    def wants_gpu(self) -> bool:
        return any(p != CPU for p in self.providers)


def available_providers() -> tuple[str, ...]:
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def choose_providers(
    *,
    prefer_gpu: bool = False,
    explicit: Sequence[str] | None = None,
    available: Sequence[str] | None = None,
) -> ProviderChoice:
    """The ordered providers for a session on this machine."""
    have = tuple(available) if available is not None else available_providers()
    if explicit:
        wanted = [p for p in explicit if p != CPU]
        chosen = [p for p in wanted if p in have]
        missing = tuple(p for p in wanted if p not in have)
        return ProviderChoice((*chosen, CPU), missing)
    if prefer_gpu:
        return ProviderChoice((*[p for p in GPU_ORDER if p in have], CPU))
    return ProviderChoice((CPU,))
