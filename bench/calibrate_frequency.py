"""Calibrate the frequency signal on real photographs and numpy decoder outputs.

Run: ``python bench/calibrate_frequency.py [--out bench/results/frequency_calibration.json]``.
Needs scikit-image and matplotlib (their bundled sample photographs; nothing is downloaded).

Reports, for the statistic the signal scores (the effective peak prominence), the ROC AUC,
the false-positive rate on the photographs and the true-positive rate on decoder outputs at
the review level (score >= 0.5), per group, and the prominence the photographs reach (99th
percentile and maximum) from which ``REVIEW_PROMINENCE`` was chosen.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functions"))
sys.path.insert(0, str(HERE))

from fakewatch.media.types import Media, MediaKind, MediaType  # noqa: E402
from fakewatch.signals import frequency  # noqa: E402
from frequency_corpus import Sample, negatives, positives  # noqa: E402


def to_media(data: bytes) -> Media:
    im = Image.open(io.BytesIO(data))
    im.load()
    fmt = (im.format or "png").lower()
    return Media(data, MediaType(MediaKind.IMAGE, fmt, f"image/{fmt}"), image=im)


def auc(neg: list[float], pos: list[float]) -> float:
    """Mann-Whitney estimate of P(positive > negative), ties counted half."""
    n = np.asarray(neg)[:, None]
    p = np.asarray(pos)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (n.size * p.size))


def measure(samples: list[Sample]) -> list[dict[str, object]]:
    signal = frequency.FrequencySignal()
    rows = []
    for s in samples:
        result = signal.run(to_media(s.data))
        rows.append(
            {
                "label": s.label,
                "group": s.group,
                "status": result.status.value,
                "score": result.score or 0.0,
                "confidence": result.confidence,
                "prominence": float(result.details.get("effective_prominence", 1.0)),
            }
        )
    return rows


def rate(rows: list[dict[str, object]]) -> float:
    return sum(float(r["score"]) >= 0.5 for r in rows) / max(1, len(rows))  # type: ignore[arg-type]


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    neg = [r for r in rows if r["label"] == 0]
    pos = [r for r in rows if r["label"] == 1]
    neg_p = [float(r["prominence"]) for r in neg]  # type: ignore[arg-type]
    pos_p = [float(r["prominence"]) for r in pos]  # type: ignore[arg-type]
    by_op: dict[str, list[dict[str, object]]] = defaultdict(list)
    by_post: dict[str, list[dict[str, object]]] = defaultdict(list)
    neg_post: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in pos:
        op, scale, enc = str(r["group"]).split("/")
        by_op[op].append(r)
        by_post[f"{scale}/{'png' if enc == 'png' else 'jpeg'}"].append(r)
    for r in neg:
        _, scale, enc = str(r["group"]).split("/")
        neg_post[f"{scale}/{enc}"].append(r)
    return {
        "negatives": len(neg),
        "positives": len(pos),
        "auc": round(auc(neg_p, pos_p), 4),
        "auc_by_upsampling_op": {
            op: round(
                auc(neg_p, [float(r["prominence"]) for r in pos if str(r["group"]).startswith(op)]),
                4,
            )  # type: ignore[arg-type]
            for op in ("nearest", "bilinear", "tconv3", "tconv4")
        },
        "review_prominence": frequency.REVIEW_PROMINENCE,
        "fpr_at_review": round(rate(neg), 4),
        "tpr_at_review": round(rate(pos), 4),
        "negative_prominence_p99": round(float(np.percentile(neg_p, 99)), 2),
        "negative_prominence_max": round(max(neg_p), 2),
        "tpr_by_decoder": {k: round(rate(v), 3) for k, v in sorted(by_op.items())},
        "tpr_by_postprocessing": {k: round(rate(v), 3) for k, v in sorted(by_post.items())},
        "fpr_by_postprocessing": {k: round(rate(v), 3) for k, v in sorted(neg_post.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results" / "frequency_calibration.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    samples = [*negatives(), *positives()]
    rows = measure(samples)
    summary = summarise(rows)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
