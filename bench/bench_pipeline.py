"""The default pipeline (provenance + metadata + frequency, no learned model) on camera-sized
JPEGs, as a ratio to Pillow merely decoding the same file (the floor), plus peak memory.

Goal (issue #2): at most 3x the decode time. Run: ``python bench/bench_pipeline.py``.
Writes bench/results/pipeline.json; ``scan_seconds``/``memory_mb`` feed the cost model.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_seconds, write

SIZES = {"1080p": (1920, 1080), "12MP": (4000, 3000)}
GOAL = 3.0


def jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    from fakewatch.samples.images import photo_like_rgb

    buf = io.BytesIO()
    Image.fromarray(photo_like_rgb(width, height)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def time_case(data: bytes, repeat: int) -> dict[str, float]:
    from PIL import Image

    from fakewatch.scanner import Scanner
    from fakewatch.verdict import ObjectIdentity

    def decode() -> None:
        Image.open(io.BytesIO(data)).load()

    scanner = Scanner.default()
    ident = ObjectIdentity(uri="bench://b/k.jpg", bucket="b", key="k.jpg")
    floor = median_seconds(decode, repeat)
    total = median_seconds(lambda: scanner.scan(data, ident), repeat)
    per_signal = {s["name"]: s["duration_ms"] for s in scanner.scan(data, ident).signals}
    return {
        "decode_s": floor,
        "pipeline_s": total,
        "ratio": total / floor,
        "signals_ms": per_signal,
    }


# VmHWM (the peak RSS of this process image) rather than ru_maxrss, which Linux carries over
# from the parent across fork/exec and so reports the benchmark's own footprint.
PEAK = """
import sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from fakewatch.scanner import Scanner
from fakewatch.verdict import ObjectIdentity
data = sys.stdin.buffer.read()
scanner = Scanner.default()
scanner.scan(b"", ObjectIdentity(uri="bench://b/w", bucket="b", key="w"))
before = hwm()
scanner.scan(data, ObjectIdentity(uri="bench://b/k.jpg", bucket="b", key="k.jpg"))
after = hwm()
print(after, after - before)
"""


def peak_memory_mb(data: bytes) -> tuple[float, float]:
    """(peak RSS of a fresh process that scans once, growth caused by the scan) in MiB."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK], input=data, capture_output=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    repeat = 5
    cases = {}
    for name, (w, h) in SIZES.items():
        data = jpeg(w, h)
        case = time_case(data, repeat)
        case["peak_rss_mb"], case["scan_growth_mb"] = peak_memory_mb(data)
        case["bytes"] = len(data)
        cases[name] = case
        print(
            f"{name:>6}: decode {case['decode_s'] * 1000:7.1f} ms  pipeline "
            f"{case['pipeline_s'] * 1000:7.1f} ms  ratio {case['ratio']:.2f}x (goal <= {GOAL}x)  "
            f"peak RSS {case['peak_rss_mb']:.0f} MiB (+{case['scan_growth_mb']:.0f} for the scan)"
        )
        print("        per signal (ms): " + json.dumps(case["signals_ms"]))
    path = write(
        "pipeline",
        {
            "goal_ratio": GOAL,
            "cases": cases,
            "scan_seconds": cases["1080p"]["pipeline_s"],
            "memory_mb": cases["1080p"]["peak_rss_mb"],
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
