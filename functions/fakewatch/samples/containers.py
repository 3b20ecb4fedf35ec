"""Small video, audio and document containers, plain or carrying a C2PA manifest."""

from __future__ import annotations

import wave
from io import BytesIO

import numpy as np

from fakewatch.samples.images import synthetic_canvas
from fakewatch.samples.signing import ThrowawaySigner, c2pa_signed


def small_mp4(frames: int = 10, size: int = 64, fps: int = 10) -> bytes:
    """A short MP4 (MPEG-4 Part 2 video) made with PyAV: a slowly changing render."""
    import av

    buf = BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            rgb = np.asarray(synthetic_canvas(size, size, seed=100 + i))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def small_wav(seconds: float = 0.5, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV: a chirp, the kind of tone a vocoder test would use."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * (300 + 400 * t) * t) * 12_000).astype("<i2")
    buf = BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def signed_mp4(
    digital_source_type: str = "trainedAlgorithmicMedia", *, signer: ThrowawaySigner | None = None
) -> bytes:
    """A small MP4 whose embedded C2PA manifest declares ``digital_source_type``."""
    return c2pa_signed(small_mp4(), "video/mp4", digital_source_type, signer=signer)


def signed_wav(
    digital_source_type: str = "trainedAlgorithmicMedia", *, signer: ThrowawaySigner | None = None
) -> bytes:
    """A small WAV whose embedded C2PA manifest declares ``digital_source_type``."""
    return c2pa_signed(small_wav(), "audio/wav", digital_source_type, signer=signer)


def signed_pdf(
    digital_source_type: str = "trainedAlgorithmicMedia", *, signer: ThrowawaySigner | None = None
) -> bytes:
    """A one-page PDF whose embedded C2PA manifest declares ``digital_source_type``."""
    return c2pa_signed(minimal_pdf(), "application/pdf", digital_source_type, signer=signer)
