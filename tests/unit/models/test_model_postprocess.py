"""Reading a model's output: softmax / probabilities / sigmoid, temperature, threshold."""

from __future__ import annotations

import numpy as np
import pytest

from fakewatch.models import OutputSpec
from fakewatch.models.postprocess import centred_score, confidence, synthetic_probability

TWO = OutputSpec("out", "logits", ("real", "fake"), ("fake",))


def test_logits_go_through_softmax_and_sum_positive_labels() -> None:
    spec = OutputSpec("out", "logits", ("real", "gan", "diffusion"), ("gan", "diffusion"))
    p = synthetic_probability(np.log(np.array([[0.5, 0.2, 0.3]])), spec, 1.0)
    assert p == pytest.approx([0.5])


def test_temperature_softens_logits() -> None:
    raw = np.array([[0.0, 4.0]])
    sharp = synthetic_probability(raw, TWO, 1.0)[0]
    soft = synthetic_probability(raw, TWO, 4.0)[0]
    assert sharp == pytest.approx(1 / (1 + np.exp(-4)))
    assert soft == pytest.approx(1 / (1 + np.exp(-1)))


def test_probabilities_are_used_as_given_and_re_tempered() -> None:
    spec = OutputSpec("out", "probabilities", ("real", "fake"), ("fake",))
    raw = np.array([[0.2, 0.8], [0.9, 0.1]])
    assert synthetic_probability(raw, spec, 1.0) == pytest.approx([0.8, 0.1])
    tempered = synthetic_probability(raw, spec, 2.0)
    assert tempered[0] == pytest.approx(np.sqrt(0.8) / (np.sqrt(0.8) + np.sqrt(0.2)))


def test_sigmoid_outputs_take_the_most_probable_positive_label() -> None:
    spec = OutputSpec("out", "sigmoid", ("faceswap", "lipsync"), ("faceswap", "lipsync"))
    p = synthetic_probability(np.array([[-2.0, 1.0]]), spec, 1.0)
    assert p == pytest.approx([1 / (1 + np.exp(-1.0))])
    huge = synthetic_probability(np.array([[1e6, -1e6]]), spec, 1.0)  # no overflow
    assert huge == pytest.approx([1.0])


def test_wrong_width_and_non_finite_outputs_are_errors() -> None:
    with pytest.raises(ValueError, match="has 3 values per item, the manifest lists 2 labels"):
        synthetic_probability(np.zeros((1, 3)), TWO, 1.0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        synthetic_probability(np.array([[np.nan, 1.0]]), TWO, 1.0)


def test_the_threshold_maps_to_one_half() -> None:
    assert centred_score(0.3, 0.3) == 0.5
    assert centred_score(0.0, 0.3) == 0.0 and centred_score(1.0, 0.3) == 1.0
    assert centred_score(0.15, 0.3) == pytest.approx(0.25)
    assert centred_score(0.65, 0.3) == pytest.approx(0.75)
    assert centred_score(0.7, 0.5) == pytest.approx(0.7)  # default threshold: identity


def test_confidence_grows_with_the_margin_and_is_capped_by_domain() -> None:
    assert confidence(0.5, 0.8, in_domain=True) == 0.0
    assert confidence(1.0, 0.8, in_domain=True) == pytest.approx(0.8)
    assert confidence(0.0, 0.8, in_domain=True) == pytest.approx(0.8)
    assert confidence(0.75, 0.8, in_domain=True) == pytest.approx(0.4)
    assert confidence(0.75, 0.8, in_domain=False) == pytest.approx(0.2)
