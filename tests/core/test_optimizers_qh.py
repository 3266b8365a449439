"""QHM and QHAdam (Ma & Yarats 2019, "Quasi-hyperbolic momentum and Adam for deep learning", ICLR).

The paper's update rules are written out again here, independently of the implementation, and the
special cases the paper names are checked against the other optimizers:

* QHM with nu = 0 is plain SGD with the same lr (bit for bit).
* QHM with nu = 1 is momentum SGD. QHM's buffer is a running *mean*, b_t = beta b_{t-1} + (1 - beta) g_t
  from b_0 = 0, while torch's SGD keeps a running *sum*, B_t = mu B_{t-1} + g_t from B_1 = g_1 (dampening
  0). By induction b_t = (1 - beta) B_t when mu = beta, so QHM(lr = a, beta, nu = 1) takes exactly the
  steps of SGD(lr = a (1 - beta), momentum = beta, dampening = 0). (torch's dampening = beta would not
  do: its first buffer is g_1, not (1 - beta) g_1.)
* QHAdam with nu1 = nu2 = 1 is Adam.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface

STARTS = np.array([[-1.0, -2.5], [0.5, 4.0], [4.0, -4.0]])
SURFACE = get_surface("himmelblau")


def paper_qhm(starts: np.ndarray, steps: int, lr: float, beta: float, nu: float, wd: float = 0.0) -> np.ndarray:
    """QHM, Ma & Yarats 2019 eq. (3): g_t <- beta g_{t-1} + (1 - beta) grad; theta <- theta - a[(1 - nu) grad + nu g_t]."""
    theta = starts.copy()
    buf = np.zeros_like(theta)
    out = [theta.copy()]
    for _ in range(steps):
        grad = SURFACE.grad(theta) + wd * theta
        buf = beta * buf + (1.0 - beta) * grad
        theta = theta - lr * ((1.0 - nu) * grad + nu * buf)
        out.append(theta.copy())
    return np.array(out)


def paper_qhadam(starts: np.ndarray, steps: int, lr: float, b1: float, b2: float, nu1: float, nu2: float,
                 eps: float) -> np.ndarray:
    """QHAdam, Ma & Yarats 2019 algorithm 2, with Adam's bias corrections."""
    theta = starts.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = [theta.copy()]
    for t in range(1, steps + 1):
        grad = SURFACE.grad(theta)
        m = b1 * m + (1.0 - b1) * grad
        v = b2 * v + (1.0 - b2) * grad**2
        mhat = m / (1.0 - b1**t)
        vhat = v / (1.0 - b2**t)
        theta = theta - lr * ((1.0 - nu1) * grad + nu1 * mhat) / (np.sqrt((1.0 - nu2) * grad**2 + nu2 * vhat) + eps)
        out.append(theta.copy())
    return np.array(out)


def ours(name: str, hp: dict, steps: int) -> np.ndarray:
    runs = engine.run_many(SURFACE, name, STARTS, hp, max_steps=steps, tol=0)
    assert all(r.steps == steps for r in runs)
    return np.stack([r.positions for r in runs], axis=1)


@pytest.mark.parametrize("hp", [
    {"lr": 0.01, "beta": 0.999, "nu": 0.7},
    {"lr": 0.02, "beta": 0.9, "nu": 0.3},
    {"lr": 0.01, "beta": 0.5, "nu": 0.9, "weight_decay": 0.1},
])
def test_qhm_follows_the_paper(hp: dict) -> None:
    ref = paper_qhm(STARTS, 150, hp["lr"], hp["beta"], hp["nu"], hp.get("weight_decay", 0.0))
    np.testing.assert_allclose(ours("qhm", hp, 150), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hp", [
    {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "nu1": 0.7, "nu2": 1.0, "eps": 1e-8},
    {"lr": 0.05, "beta1": 0.995, "beta2": 0.999, "nu1": 0.7, "nu2": 0.5, "eps": 1e-3},
])
def test_qhadam_follows_the_paper(hp: dict) -> None:
    ref = paper_qhadam(STARTS, 150, hp["lr"], hp["beta1"], hp["beta2"], hp["nu1"], hp["nu2"], hp["eps"])
    np.testing.assert_allclose(ours("qhadam", hp, 150), ref, rtol=1e-11, atol=1e-12)


def test_qhm_with_nu_0_is_plain_sgd() -> None:
    np.testing.assert_array_equal(ours("qhm", {"lr": 0.01, "nu": 0}, 200), ours("sgd", {"lr": 0.01}, 200))


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.999])
def test_qhm_with_nu_1_is_momentum_sgd_with_lr_times_one_minus_beta(beta: float) -> None:
    a = 0.02
    qhm = ours("qhm", {"lr": a, "beta": beta, "nu": 1}, 200)
    sgd = ours("momentum", {"lr": a * (1 - beta), "momentum": beta, "dampening": 0}, 200)
    np.testing.assert_allclose(qhm, sgd, rtol=1e-12, atol=1e-12)
    # and it really is different from QHM's default mix
    assert np.abs(ours("qhm", {"lr": a, "beta": beta, "nu": 0.7}, 200) - qhm).max() > 1e-3


def test_qhadam_with_nu_1_is_adam() -> None:
    hp = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    np.testing.assert_allclose(ours("qhadam", {**hp, "nu1": 1, "nu2": 1}, 200), ours("adam", hp, 200),
                               rtol=1e-12, atol=1e-12)


def test_qh_hyperparameters_are_declared_with_ranges() -> None:
    qhm, qhadam = get_optimizer("qhm"), get_optimizer("qhadam")
    assert list(qhm.defaults()) == ["lr", "beta", "nu", "weight_decay", "maximize"]
    assert list(qhadam.defaults()) == ["lr", "beta1", "beta2", "nu1", "nu2", "eps", "weight_decay", "maximize"]
    assert "Ma & Yarats 2019" in qhm.reference and "Ma & Yarats 2019" in qhadam.reference
    for opt, key in ((qhm, "nu"), (qhadam, "nu1"), (qhadam, "nu2")):
        assert opt.hyperparameter(key).range_text() == "[0, 1]"
