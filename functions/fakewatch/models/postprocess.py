"""A model's raw output to P(synthetic), a score centred on its threshold, and a confidence.

- ``logits``: softmax over the labels (after dividing by the temperature), summing the
  positive labels;
- ``probabilities``: already a distribution; a temperature other than 1 re-sharpens it;
- ``sigmoid``: one independent logit per label; the most probable positive label counts.

The score maps the manifest's decision threshold to 0.5, so 0.5 means "on the model's own
fence" whatever threshold its authors chose. Confidence grows with the distance from that
fence, is capped by the manifest (a learned model's accuracy is domain-limited) and halved
when the model runs outside its declared modality.
"""

from __future__ import annotations

import numpy as np

from fakewatch.models.manifest import OutputSpec

OUT_OF_DOMAIN_FACTOR = 0.5


def synthetic_probability(raw: np.ndarray, output: OutputSpec, temperature: float) -> np.ndarray:
    """P(synthetic) per batch item, from the output tensor of shape (N, labels)."""
    values = np.asarray(raw, dtype=np.float64)
    values = values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1, 1)
    if values.shape[1] != len(output.labels):
        raise ValueError(
            f"output {output.name!r} has {values.shape[1]} values per item, "
            f"the manifest lists {len(output.labels)} labels"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"output {output.name!r} holds NaN or infinite values")
    positive = list(output.positive_indices)
    if output.kind == "sigmoid":
        return np.asarray(_sigmoid(values[:, positive] / temperature).max(axis=1))
    if output.kind == "probabilities":
        values = np.log(np.clip(values, 1e-12, 1.0))
    probs = _softmax(values / temperature)
    return np.clip(probs[:, positive].sum(axis=1), 0.0, 1.0)


def centred_score(probability: float, threshold: float) -> float:
    """Map [0, threshold, 1] linearly onto [0, 0.5, 1]."""
    if probability >= threshold:
        return 0.5 + 0.5 * (probability - threshold) / (1.0 - threshold)
    return 0.5 * probability / threshold


def confidence(score: float, cap: float, *, in_domain: bool) -> float:
    """Distance from the fence, capped by the manifest, halved outside the declared modality."""
    margin = abs(score - 0.5) * 2.0
    factor = 1.0 if in_domain else OUT_OF_DOMAIN_FACTOR
    return float(min(1.0, max(0.0, margin * cap * factor)))


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))  # overflow-free
