"""Keras losses: hand-computed values, gradients and Hessian-vector products against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.losses import EPSILON, LOSSES, get_loss


def v(name: str, t, y) -> float:
    y = np.asarray(y, dtype=float)[None]
    return float(get_loss(name).value(np.asarray(t, dtype=float if name != "sparse_categorical_crossentropy" else int), y)[0])


def test_binary_crossentropy_by_hand():
    # −log 0.8 and −log(1 − 0.4), averaged over the two samples.
    assert v("binary_crossentropy", [[1], [0]], [[0.8], [0.4]]) == pytest.approx((-math.log(0.8) - math.log(0.6)) / 2)
    # a confident wrong prediction is clipped at 1 − 1e-7: −log(1e-7)
    assert v("binary_crossentropy", [[0]], [[1.0]]) == pytest.approx(-math.log(EPSILON), rel=1e-6)


def test_hinge_and_squared_hinge_convert_01_labels():
    # 0/1 labels become −1/+1: max(1 − 0.3, 0) = 0.7 and max(1 + 0.5, 0) = 1.5
    assert v("hinge", [[1], [0]], [[0.3], [0.5]]) == pytest.approx((0.7 + 1.5) / 2)
    assert v("squared_hinge", [[1], [0]], [[0.3], [0.5]]) == pytest.approx((0.49 + 2.25) / 2)
    # labels already ±1 are kept: 1.3 and 0
    assert v("hinge", [[-1], [1]], [[0.3], [2.0]]) == pytest.approx(0.65)


def test_categorical_crossentropy_renormalises_and_sparse_agrees():
    assert v("categorical_crossentropy", [[0, 1, 0]], [[0.2, 0.6, 0.2]]) == pytest.approx(-math.log(0.6))
    # Keras divides by the row sum first: (1, 3, 1) is read as (0.2, 0.6, 0.2)
    assert v("categorical_crossentropy", [[0, 1, 0]], [[1.0, 3.0, 1.0]]) == pytest.approx(-math.log(0.6))
    assert v("sparse_categorical_crossentropy", [1, 2], [[0.2, 0.6, 0.2], [0.1, 0.1, 0.8]]) == pytest.approx(
        (-math.log(0.6) - math.log(0.8)) / 2)


def test_kl_divergence_clips_targets():
    expected = EPSILON * math.log(EPSILON / 0.4) + 1.0 * math.log(1.0 / 0.6)
    assert v("kl_divergence", [[0, 1]], [[0.4, 0.6]]) == pytest.approx(expected, rel=1e-12)


def test_regression_losses_by_hand():
    assert v("mean_squared_error", [[1], [2]], [[1.5], [1]]) == pytest.approx((0.25 + 1.0) / 2)
    assert v("mean_squared_error", [[1, 2]], [[2, 2]]) == pytest.approx(0.5)  # mean over outputs too
    assert v("mean_absolute_error", [[1], [2]], [[1.5], [1]]) == pytest.approx(0.75)
    assert v("mean_squared_logarithmic_error", [[1]], [[3]]) == pytest.approx(math.log(2) ** 2)
    # negative predictions are raised to epsilon before the log
    assert v("mean_squared_logarithmic_error", [[1]], [[-1]]) == pytest.approx(
        (math.log(1 + EPSILON) - math.log(2)) ** 2)
    # percent: |−1/2| and |1/4| -> 37.5 %
    assert v("mean_absolute_percentage_error", [[2], [-4]], [[1], [-3]]) == pytest.approx(37.5)
    # a zero target divides by epsilon
    assert v("mean_absolute_percentage_error", [[0.0]], [[1e-7]]) == pytest.approx(100.0)


def test_abbreviations_and_unknown_names():
    assert get_loss("mse").name == "mean_squared_error"
    assert get_loss("BCE").name == "binary_crossentropy"
    assert get_loss("kld").name == "kl_divergence"
    with pytest.raises(LandscapeError, match="unknown loss 'huber'"):
        get_loss("huber")


def _case(name: str, rng: np.random.Generator):
    m, n, k = 3, 5, 3
    loss = LOSSES[name]
    if loss.task == "binary":
        t = rng.integers(0, 2, (n, 1)).astype(float)
        y = rng.uniform(0.05, 0.95, (m, n, 1)) if name == "binary_crossentropy" else rng.normal(0, 1.5, (m, n, 1))
    elif loss.task == "classes":
        labels = rng.integers(0, k, n)
        t = labels if loss.sparse else np.eye(k)[labels]
        y = rng.uniform(0.1, 1.0, (m, n, k))
        if name == "kl_divergence":
            y = y / y.sum(-1, keepdims=True)
    else:
        t = rng.uniform(0.5, 3.0, (n, 2))
        y = rng.uniform(0.2, 4.0, (m, n, 2))
    return loss, t, y


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_and_hvp_match_finite_differences(name):
    rng = np.random.default_rng(3)
    loss, t, y = _case(name, rng)
    g = loss.grad(t, y)
    assert g.shape == y.shape
    h = 1e-6
    fd = np.zeros_like(y)
    for idx in np.ndindex(y.shape[1:]):
        e = np.zeros_like(y)
        e[(slice(None),) + idx] = h
        fd[(slice(None),) + idx] = (loss.value(t, y + e) - loss.value(t, y - e)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)
    d = rng.normal(size=y.shape)
    hv = loss.hvp(t, y, d)
    fd_hv = (loss.grad(t, y + h * d) - loss.grad(t, y - h * d)) / (2 * h)
    np.testing.assert_allclose(hv, fd_hv, rtol=1e-4, atol=1e-6)


def test_batched_over_parameter_vectors():
    rng = np.random.default_rng(0)
    for name in LOSSES:
        loss, t, y = _case(name, rng)
        whole = loss.value(t, y)
        each = np.array([loss.value(t, y[i:i + 1])[0] for i in range(len(y))])
        np.testing.assert_allclose(whole, each, rtol=1e-13)
