"""Sharpness along runs, the edge-of-stability overlay, and the Hessian spectrum of networks."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.fullspace import run_full_space
from landscape_gui.core.nn.slices import build_surface
from landscape_gui.core.sharpness import (eos_map, lambda_max_2x2, preconditioner_diagonals, run_sharpness,
                                          sharpness_grid, stability_threshold)
from landscape_gui.core.spectrum import hessian_matrix, hessian_spectrum, top_eigenpairs
from landscape_gui.core.surfaces import get_surface

SMALL = "nn:dataset=moons;n=40;hidden=4,3;steps=60"


def test_surface_sharpness_is_the_largest_eigenvalue_of_the_exact_hessian():
    s = get_surface("rosenbrock")
    run = engine.run_many(s, "sgd", [[-1.5, 2.0]], {"lr": 1e-3}, max_steps=50)[0]
    series = run_sharpness(s, run)
    want = [np.linalg.eigvalsh(h)[-1] for h in s.hessian(run.positions)]
    np.testing.assert_allclose(series.sharpness, want, rtol=1e-12)
    np.testing.assert_allclose(series.lr, 1e-3)
    np.testing.assert_allclose(series.threshold, 2e3)
    assert series.preconditioned is None and not series.full_space


@pytest.mark.parametrize("spec", [SMALL, "nn:dataset=moons;n=40;hidden=8,6;steps=60"])  # 31 (eigh), 85 (Lanczos)
def test_full_space_sharpness_equals_eigh_of_the_full_hessian(spec):
    s = build_surface(spec)
    run = run_full_space(s, "sgd", [[0.2, 0.1]], {"lr": 0.5}, max_steps=6, tol=0, record_weights=True)[0]
    series = run_sharpness(s, run)
    assert series.full_space
    for k, w in enumerate(run.extras["weights"]):
        top = np.linalg.eigvalsh(hessian_matrix(s, w))[-1]
        assert series.sharpness[k] == pytest.approx(top, abs=1e-8)
    # Lanczos on exact products gives the same numbers
    vals, vecs = top_eigenpairs(s, run.extras["weights"][3], k=2, exact=False)
    H = hessian_matrix(s, run.extras["weights"][3])
    ev = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(vals, ev[::-1][:2], atol=1e-8)
    np.testing.assert_allclose(vecs @ H, vals[:, None] * vecs, atol=1e-8)


def test_adam_preconditioner_reproduces_adams_steps():
    """η P⁻¹ m with P = (1 − β₁ᵗ)(√v̂ + ε) is exactly Adam's step (so P is Adam's preconditioner)."""
    s = get_surface("himmelblau")
    hp = {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8}
    run = engine.run_many(s, "adam", [[-1.0, -2.0]], hp, max_steps=30, tol=0)[0]
    full_hp = run.params
    P = preconditioner_diagonals("adam", full_hp, run.positions, run.grads)
    m = np.zeros(2)
    for k in range(run.steps):
        m = 0.8 * m + 0.2 * run.grads[k]
        np.testing.assert_allclose(run.positions[k + 1] - run.positions[k], -0.05 * m / P[k], rtol=1e-9, atol=1e-15)


def test_preconditioned_sharpness_is_the_top_eigenvalue_of_p_inverse_h():
    s = get_surface("himmelblau")
    run = engine.run_many(s, "adam", [[-1.0, -2.0]], {"lr": 0.05}, max_steps=20, tol=0)[0]
    series = run_sharpness(s, run)
    P = preconditioner_diagonals("adam", run.params, run.positions, run.grads)
    for k in (0, 7, 20):
        M = np.linalg.solve(np.diag(P[k]), s.hessian(run.positions[k:k + 1])[0])
        assert series.preconditioned[k] == pytest.approx(np.linalg.eigvals(M).real.max(), rel=1e-10)
    thr, pre = stability_threshold("adam", run.params)
    assert pre and thr == pytest.approx(38 / 0.05)  # (2 + 2·0.9) / ((1 − 0.9)·η)


@pytest.mark.parametrize("spec", [SMALL, "nn:dataset=moons;n=40;hidden=8,6;steps=60"])
def test_full_space_preconditioned_sharpness_for_a_network(spec):
    s = build_surface(spec)
    run = run_full_space(s, "adam", [[0.0, 0.0]], {"lr": 0.01}, max_steps=3, tol=0, record_weights=True)[0]
    series = run_sharpness(s, run)
    W = run.extras["weights"]
    G = s.full_value_and_grad(W)[1]
    P = preconditioner_diagonals("adam", run.params, W, G)
    for k in range(len(W)):
        d = 1 / np.sqrt(P[k])
        want = np.linalg.eigvalsh(hessian_matrix(s, W[k]) * d[:, None] * d[None, :])[-1]
        assert series.preconditioned[k] == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("name, lr", [("rosenbrock", 1e-3), ("muller_brown", 2e-3), ("rastrigin", 0.02)])
def test_eos_overlay_is_lambda_max_above_two_over_lr_cell_by_cell(name, lr):
    s = get_surface(name)
    xs, ys, mask = eos_map(s, lr, resolution=41)
    for i in range(0, 41, 5):
        for j in range(0, 41, 3):
            h = s.hessian(np.array([[xs[i], ys[j]]]))[0]
            assert mask[i, j] == (np.linalg.eigvalsh(h)[-1] > 2 / lr)
    assert mask.any() and not mask.all()
    _, _, lam = sharpness_grid(s, resolution=41)
    np.testing.assert_array_equal(mask, lam > 2 / lr)


def test_gradient_descent_diverges_where_the_overlay_says_unstable():
    """On a quadratic bowl the overlay is exact: GD at lr escapes iff λ_max > 2/lr."""
    from landscape_gui.core.formula import formula_surface

    s = formula_surface("3*x**2 + y**2")  # λ = 6 and 2
    for lr, unstable in ((0.3, False), (0.34, True)):
        _, _, mask = eos_map(s, lr, resolution=5)
        assert mask.all() == unstable
        run = engine.run_many(s, "sgd", [[0.5, 0.5]], {"lr": lr}, max_steps=400, tol=1e-9)[0]
        assert (run.status != "converged") == unstable


def test_lambda_max_2x2_matches_eigvalsh():
    s = get_surface("peaks")
    p = np.random.default_rng(0).uniform(-3, 3, (100, 2))
    np.testing.assert_allclose(lambda_max_2x2(s, p), np.linalg.eigvalsh(s.hessian(p))[:, -1], rtol=1e-12, atol=1e-12)


def test_spectrum_of_a_small_network():
    s = build_surface(SMALL)
    spec = hessian_spectrum(s)
    H = hessian_matrix(s)
    ev = np.linalg.eigvalsh(H)
    assert spec.exact and len(spec.eigenvalues) == s.n_params
    np.testing.assert_allclose(spec.eigenvalues, ev, atol=1e-10)
    assert spec.trace == pytest.approx(np.trace(H), rel=1e-10)
    assert spec.condition_number == pytest.approx(np.abs(ev).max() / np.abs(ev).min(), rel=1e-6)
    counts, edges = spec.histogram(20)
    assert counts.sum() == s.n_params and len(edges) == 21


def test_spectrum_by_lanczos_for_a_larger_network():
    s = build_surface(SMALL)
    exact = hessian_spectrum(s)
    approx = hessian_spectrum(s, top_k=3, exact=False)
    assert not approx.exact and approx.condition_number is None
    np.testing.assert_allclose(approx.eigenvalues, exact.eigenvalues[-3:], atol=1e-8)
    assert abs(approx.trace - exact.trace) < 4 * approx.trace_stderr + 1e-12


def test_sharpness_needs_a_learning_rate_and_weights_when_asked():
    s = build_surface(SMALL)
    run = engine.run_many(s, "sgd", [[0.0, 0.0]], {"lr": 0.1}, max_steps=2)[0]
    with pytest.raises(LandscapeError, match="kept no weights"):
        run_sharpness(s, run, full_space=True)
    with pytest.raises(LandscapeError, match="nn: spec"):
        hessian_spectrum(get_surface("himmelblau"))


def test_parameter_space_hessian_of_a_two_weight_model_is_the_surface_hessian():
    s = build_surface("nn:dataset=sine;n=30;model=tanh_unit")
    for p in ([0.5, -1.0], [2.0, 1.5]):
        np.testing.assert_allclose(hessian_matrix(s, np.array(p)), s.hessian(np.array([p]))[0], rtol=1e-10, atol=1e-12)


def test_long_computations_report_progress_and_can_be_cancelled():
    from landscape_gui.core.engine import Cancelled

    s = build_surface(SMALL)
    seen = []
    hessian_spectrum(s, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(Cancelled):
        hessian_matrix(s, should_cancel=lambda: True)
    seen.clear()
    eos_map(get_surface("himmelblau"), 0.01, resolution=32, progress=seen.append)
    assert seen[-1] == 1.0
    with pytest.raises(Cancelled):
        sharpness_grid(get_surface("himmelblau"), resolution=32, should_cancel=lambda: True)
    with pytest.raises(LandscapeError, match="learning rate"):
        eos_map(get_surface("himmelblau"), 0.0)
