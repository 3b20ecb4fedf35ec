"""Sample media built in memory, for the tests and for ``fakewatch demo``.

Everything is generated on the spot (Pillow, numpy, PyAV, c2pa-python with a throwaway
certificate): no files are shipped, nothing depicts a person, and the certificates are
useless outside a test.
"""

from __future__ import annotations

from fakewatch.samples.containers import (
    minimal_pdf,
    signed_mp4,
    signed_pdf,
    signed_wav,
    small_mp4,
    small_wav,
)
from fakewatch.samples.images import (
    a1111_png,
    ai_xmp_jpeg,
    animated_webp_with_metadata,
    comfyui_png,
    corrupt_file,
    exif_generator_jpeg,
    fooocus_png,
    invokeai_png,
    novelai_png,
    photo_like_jpeg,
    plain_png,
    truncated,
    xmp_jpeg,
)
from fakewatch.samples.signing import (
    Ingredient,
    ThrowawaySigner,
    c2pa_remote_reference,
    c2pa_signed,
    throwaway_signer,
)

__all__ = [
    "Ingredient",
    "ThrowawaySigner",
    "a1111_png",
    "ai_xmp_jpeg",
    "animated_webp_with_metadata",
    "c2pa_remote_reference",
    "c2pa_signed",
    "comfyui_png",
    "corrupt_file",
    "exif_generator_jpeg",
    "fooocus_png",
    "invokeai_png",
    "minimal_pdf",
    "novelai_png",
    "photo_like_jpeg",
    "plain_png",
    "signed_mp4",
    "signed_pdf",
    "signed_wav",
    "small_mp4",
    "small_wav",
    "throwaway_signer",
    "truncated",
    "xmp_jpeg",
]
