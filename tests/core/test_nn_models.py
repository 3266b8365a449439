"""Batched backprop and exact plane Hessians of small networks against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core.nn.losses import get_loss, one_hot
from landscape_gui.core.nn.models import Net

CASES = [
    ((2, 4, 3, 1), "tanh", "sigmoid", "binary_crossentropy"),
    ((2, 5, 1), "relu", "identity", "hinge"),
    ((1, 4, 1), "sigmoid", "identity", "mean_squared_logarithmic_error"),
    ((2, 4, 3), "tanh", "softmax", "categorical_crossentropy"),
    ((2, 3, 3), "relu", "softmax", "sparse_categorical_crossentropy"),
    ((2, 3, 3), "tanh", "softmax", "kl_divergence"),
]


def setup(sizes, hidden, output, loss_name, m=3):
    rng = np.random.default_rng(7)
    net = Net(sizes, hidden, output)
    X = rng.normal(size=(9, sizes[0]))
    loss = get_loss(loss_name)
    k = sizes[-1]
    if loss.task == "classes":
        labels = rng.integers(0, k, 9)
        t = labels if loss.sparse else one_hot(labels, k)
    elif loss.task == "binary":
        t = rng.integers(0, 2, (9, 1)).astype(float)
    else:
        t = rng.uniform(0.5, 2.0, (9, 1))
    w = rng.normal(0, 0.8, (m, net.n_weights))
    return net, X, t, loss, w, rng


@pytest.mark.parametrize("case", CASES, ids=[c[3] for c in CASES])
def test_backprop_gradient_matches_finite_differences(case):
    net, X, t, loss, w, _ = setup(*case)
    value, grad = net.loss_and_grad(w, X, t, loss)
    np.testing.assert_allclose(value, loss.value(t, net.forward(w, X)), rtol=1e-13)
    h = 1e-6
    eye = np.eye(net.n_weights) * h
    fd = np.stack([(loss.value(t, net.forward(w + e, X)) - loss.value(t, net.forward(w - e, X))) / (2 * h)
                   for e in eye], axis=1)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=[c[3] for c in CASES])
def test_plane_jets_are_exact(case):
    net, X, t, loss, w, rng = setup(*case)
    u, v = rng.normal(size=(2, net.n_weights))
    f, fa, fb, faa, fab, fbb = net.loss_jets(w, u, v, X, t, loss)
    value, grad = net.loss_and_grad(w, X, t, loss)
    np.testing.assert_allclose(f, value, rtol=1e-13)
    np.testing.assert_allclose(fa, grad @ u, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fb, grad @ v, rtol=1e-10, atol=1e-12)
    h = 1e-6
    ga = lambda s: net.loss_and_grad(w + s, X, t, loss)[1]  # noqa: E731
    np.testing.assert_allclose(faa, (ga(h * u) - ga(-h * u)) @ u / (2 * h), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fab, (ga(h * v) - ga(-h * v)) @ u / (2 * h), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fbb, (ga(h * v) - ga(-h * v)) @ v / (2 * h), rtol=1e-5, atol=1e-7)


def test_batch_rows_are_independent():
    net, X, t, loss, w, _ = setup((2, 4, 3, 1), "tanh", "sigmoid", "binary_crossentropy", m=4)
    value, grad = net.loss_and_grad(w, X, t, loss)
    for i in range(4):
        vi, gi = net.loss_and_grad(w[i:i + 1], X, t, loss)
        np.testing.assert_allclose(value[i], vi[0], rtol=1e-13)
        np.testing.assert_allclose(grad[i], gi[0], rtol=1e-12, atol=1e-15)


def test_filter_normalised_direction_matches_neuron_norms_and_zero_biases():
    net = Net((2, 6, 4, 1))
    rng = np.random.default_rng(0)
    centre = net.glorot_init(rng)
    centre[net.layer_slices()[0][1]] = 0.3  # nonzero biases must not leak into the direction
    d = net.filter_normalised_direction(centre, rng)
    for (Wd, bd), (Wc, _) in zip(net.unpack(d), net.unpack(centre)):
        np.testing.assert_allclose(np.linalg.norm(Wd, axis=0), np.linalg.norm(Wc, axis=0), rtol=1e-12)
        assert np.all(bd == 0)


@pytest.mark.parametrize("hidden,output", [("tanh", "sigmoid"), ("relu", "identity"), ("sigmoid", "softmax")])
def test_forward_in_sample_blocks_matches_backprop_and_does_not_depend_on_the_batch(hidden, output):
    """A wide network on many samples goes through in cache-sized sample blocks: the predictions
    (hence a slice's values) are those of the unblocked pass backpropagation makes, and a weight
    vector's predictions are the same alone or among others."""
    rng = np.random.default_rng(3)
    k = 3 if output == "softmax" else 1
    net = Net((2, 64, 64, k), hidden, output)
    X = rng.normal(size=(2 * net.sample_block() + 37, 2))
    assert len(X) > net.sample_block()
    w = rng.normal(scale=0.3, size=(3, net.n_weights))
    y = net.forward(w, X)
    loss = get_loss("mean_squared_error")
    t = np.zeros((len(X), k))
    value, _ = net.loss_and_grad(w, X, t, loss)
    np.testing.assert_allclose(loss.value(t, y), value, rtol=1e-14)
    for i in range(3):
        np.testing.assert_array_equal(net.forward(w[i:i + 1], X)[0], y[i])
