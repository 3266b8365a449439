"""Network surfaces run compiled from the engine's own loss and activation rules.

The compiled value and gradient (:mod:`landscape_gui.core.nn.kernel`) call the same loss terms
(the class losses' renormalised term too) and activation rules as the engine; only the order of sums
(BLAS and pairwise sums against sequential ones) and the C library's transcendental functions
against numpy's differ, so every value and gradient component agrees within
``1e-12·(1 + |engine's|)`` and basin maps label alike: softmax outputs and networks of up to
:data:`~landscape_gui.core.nn.kernel.MAX_WEIGHTS` weights included.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import fastpath
from landscape_gui.core.basins import basin_map
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.nn.kernel import MAX_DATA, MAX_WEIGHTS, compilable
from landscape_gui.core.nn.slices import nn_surface_from_spec
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no compiled path")

FAMILIES = {
    "bce, sigmoid output": "nn_moons_logistic_bce",
    "hinge": "nn_moons_linear_hinge",
    "squared hinge": "nn_moons_linear_squared_hinge",
    "mse, tanh unit": "nn_sine_tanh_mse",
    "mae": "nn_sine_tanh_mae",
    "msle": "nn_line_affine_msle",
    "mape": "nn_line_affine_mape",
    "relu MLP": "nn:dataset=moons;n=60;model=mlp;hidden=3,3;activation=relu;loss=bce;centre=initial",
    "sigmoid MLP, mse": "nn:dataset=sine;n=50;model=mlp;hidden=4;activation=sigmoid;loss=mse;centre=initial",
    "cce, softmax": "nn_blobs_rotation_cce",
    "sparse cce, softmax": "nn_blobs_rotation_scce",
    "kl divergence, softmax": "nn_blobs_rotation_kld",
    "softmax MLP, cce": "nn:dataset=blobs;n=60;model=mlp;hidden=5;activation=tanh;loss=cce;centre=initial",
    "softmax MLP, kld": "nn:dataset=blobs;n=60;model=mlp;hidden=4;activation=relu;loss=kld;centre=initial",
    "2-16-16-1 tanh MLP (337 weights)": "nn:dataset=moons;n=80;model=mlp;hidden=16,16;loss=bce;centre=initial",
    "1-16-16-1 trained MLP (321 weights)": "nn_sine_mlp_mse",
    "2-16-16-3 softmax MLP (371 weights)":
        "nn:dataset=blobs;n=60;model=mlp;hidden=16,16;activation=sigmoid;loss=scce;centre=initial",
}


def _surface(name):
    return nn_surface_from_spec(name) if name.startswith("nn:") else get_surface(name)


def _compiled_point(surface):
    import numba

    fastpath._register_helpers()
    namespace = {"_jitable": fastpath._jitable}
    exec(compile(surface.point_source(), "<generated>", "exec"), namespace)
    return numba.njit(error_model="numpy")(namespace["point_fn"])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_compiled_value_and_gradient_match_the_engine(family):
    surface = _surface(FAMILIES[family])
    assert compilable(surface)
    rng = np.random.default_rng(5)
    xmin, xmax, ymin, ymax = surface.bounds
    p = np.column_stack([rng.uniform(xmin, xmax, 150), rng.uniform(ymin, ymax, 150)])
    f, g = surface.value_and_grad(p)
    fn = _compiled_point(surface)
    got = np.array([fn(x, y) for x, y in p])
    assert np.all(np.abs(got[:, 0] - f) <= 1e-12 * (1 + np.abs(f)))
    assert np.all(np.abs(got[:, 1:] - g) <= 1e-12 * (1 + np.abs(g)))
    assert not np.array_equal(got[:, 1:], np.zeros_like(g))


def test_networks_beyond_the_cache_limits_stay_on_the_engine():
    wide = _surface("nn:dataset=moons;n=50;model=mlp;hidden=32,32;loss=bce;centre=initial")
    assert wide.net.n_weights > MAX_WEIGHTS and wide.point_source() is None
    fits = _surface("nn:dataset=moons;n=50;model=mlp;hidden=29,29;loss=bce;centre=initial")
    assert fits.net.n_weights <= MAX_WEIGHTS and fits.point_source() is not None
    many = _surface(f"nn:dataset=moons;n={MAX_DATA // 3 + 1};model=linear;loss=bce")
    assert many.point_source() is None


@pytest.mark.parametrize("name,opt,hp", [
    ("nn_sine_tanh_mse", "adam", {"lr": 0.05}),
    ("nn_moons_linear_hinge", "momentum", {"lr": 0.05}),
    ("nn_blobs_rotation_scce", "adam", {"lr": 0.1}),
    ("nn_blobs_rotation_kld", "sgd", {"lr": 0.5}),
    ("nn:dataset=xor;n=40;model=mlp;hidden=12,12;loss=bce;centre=initial", "rmsprop", {"lr": 0.01}),
])
def test_a_network_basin_map_runs_compiled_with_the_engines_labels(name, opt, hp):
    surface = _surface(name)
    table = MinimaTable(surface)
    slow = basin_map(surface, opt, hp, resolution=10, max_steps=200, table=table, fused=False)
    fast = basin_map(surface, opt, hp, resolution=10, max_steps=200, table=table, fused=True)
    assert fast.fused and not slow.fused
    assert np.array_equal(fast.labels, slow.labels)
    assert np.array_equal(fast.status, slow.status)
