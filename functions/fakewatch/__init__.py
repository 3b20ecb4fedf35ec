"""fakewatch: the provider-agnostic core of the deepfake / AI-media scanner."""

from __future__ import annotations

__version__ = "0.1.0"
PIPELINE_VERSION = __version__
