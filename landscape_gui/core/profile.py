"""1-D profiles: the loss along a straight segment, with its barrier.

:func:`segment_profile` samples ``L((1 − t)·a + t·b)`` for ``t ∈ [0, 1]`` between two points of a
surface and reports the highest point on it (refined between samples by bounded Brent search,
``scipy.optimize.minimize_scalar``), the barrier from each end (peak minus that end's loss) and the
barrier above linear interpolation of the end losses,
``max_t [L(t) − ((1 − t) L(0) + t L(1))]``, the measure of linear mode connectivity of Frankle,
Dziugaite, Roy & Carbin ("Linear mode connectivity and the lottery ticket hypothesis", ICML 2020).

On a network slice the plane is affine in the weights, so a segment between two plane points *is* the
linear interpolation between the two networks in full weight space (Goodfellow, Vinyals & Saxe,
"Qualitatively characterizing neural network optimization problems", ICLR 2015);
:func:`interpolate_networks` does the same for any two weight vectors, on or off the plane, over
``α`` beyond ``[0, 1]`` if asked, with the training accuracy beside the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import Surface

MAX_POINTS = 100_000


@dataclass(frozen=True)
class Profile:
    """The loss along a segment.

    Attributes:
        t: ``(n,)`` positions along the segment, 0 at ``start``, 1 at ``end``.
        points: ``(n, 2)`` the sampled points.
        loss: ``(n,)``; accuracy: ``(n,)`` training accuracy on a classification network, else ``None``.
        peak_t, peak_point, peak_loss: the highest point (refined between samples).
        barrier_from_start, barrier_from_end: ``peak_loss − L(start)``, ``peak_loss − L(end)``.
        linear_barrier: the largest excess over the straight line between the end losses (>= 0).
    """

    t: np.ndarray
    points: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray | None
    peak_t: float
    peak_point: tuple[float, float]
    peak_loss: float
    barrier_from_start: float
    barrier_from_end: float
    linear_barrier: float


def _check_points(n: Any) -> int:
    if isinstance(n, bool) or int(n) != n or not 2 <= n <= MAX_POINTS:
        raise LandscapeError(f"a profile takes 2..{MAX_POINTS} points, got {n!r}")
    return int(n)


def _peak(f, t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Largest value of ``f`` on ``[0, 1]``: the best sample, refined by bounded Brent search."""
    from scipy.optimize import minimize_scalar

    k = int(np.nanargmax(v))
    best_t, best_v = float(t[k]), float(v[k])
    lo, hi = float(t[max(k - 1, 0)]), float(t[min(k + 1, len(t) - 1)])
    if hi > lo:
        res = minimize_scalar(lambda s: -f(s), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        if np.isfinite(res.fun) and -res.fun > best_v:
            best_t, best_v = float(res.x), float(-res.fun)
    return best_t, best_v


def segment_profile(surface: Surface, start: Any, end: Any, points: int = 101) -> Profile:
    """The loss of ``surface`` along the segment from ``start`` to ``end`` (see module docstring)."""
    n = _check_points(points)
    a = np.asarray(start, dtype=float).reshape(2)
    b = np.asarray(end, dtype=float).reshape(2)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise LandscapeError("the ends of a profile must be finite points")
    t = np.linspace(0.0, 1.0, n)
    P = (1 - t)[:, None] * a + t[:, None] * b
    with np.errstate(all="ignore"):
        v = np.asarray(surface.value(P), dtype=float)
    if not np.isfinite(v[[0, -1]]).all():
        raise LandscapeError("the loss is not defined at an end of the profile")

    def f(s: float) -> float:
        with np.errstate(all="ignore"):
            return float(surface.value(((1 - s) * a + s * b)[None])[0])

    peak_t, peak_v = _peak(f, t, np.where(np.isfinite(v), v, -np.inf))
    lin = v - ((1 - t) * v[0] + t * v[-1])
    excess_t, excess = _peak(lambda s: f(s) - ((1 - s) * v[0] + s * v[-1]), t, np.where(np.isfinite(lin), lin, -np.inf))
    acc = None
    from landscape_gui.core.nn.slices import NetSurface

    if isinstance(surface, NetSurface):
        acc = network_accuracy(surface, surface.theta(P))
    pp = (1 - peak_t) * a + peak_t * b
    return Profile(t, P, v, acc, peak_t, (float(pp[0]), float(pp[1])), peak_v, peak_v - float(v[0]),
                   peak_v - float(v[-1]), max(0.0, excess))


def network_accuracy(surface, thetas: np.ndarray) -> np.ndarray | None:
    """Training accuracy ``(m,)`` of a classification network at parameter vectors ``(m, P)``
    (share of samples whose predicted class is the label); ``None`` for a regression dataset."""
    d = surface.dataset
    if not d.is_classification:
        return None
    thetas = np.asarray(thetas, dtype=float).reshape(-1, surface.n_params)
    y = d.y.astype(int)
    out = np.empty(len(thetas))
    step = max(1, 4096 // max(1, d.n_samples // 64))
    for lo in range(0, len(thetas), step):
        pred = surface.net.forward(surface._weights(thetas[lo:lo + step]), d.X)
        if pred.shape[-1] == 1:
            label = (pred[..., 0] > surface.decision_threshold).astype(int)
        else:
            label = pred.argmax(axis=-1)
        out[lo:lo + step] = (label == y).mean(axis=1)
    return out


@dataclass(frozen=True)
class Interpolation:
    """Loss (and accuracy) along ``θ(α) = (1 − α) θa + α θb``.

    Attributes:
        alpha: ``(n,)``; loss: ``(n,)``; accuracy: ``(n,)`` or ``None`` (regression);
        barrier: ``max_{α∈[0,1]} L − max(L(θa), L(θb))`` over the samples in ``[0, 1]``;
        linear_barrier: ``max_{α∈[0,1]} [L(α) − ((1 − α) L(θa) + α L(θb))]``, >= 0.
    """

    alpha: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray | None
    barrier: float
    linear_barrier: float


def interpolate_networks(surface, theta_a: Any, theta_b: Any, points: int = 101,
                         alpha_range: tuple[float, float] = (0.0, 1.0)) -> Interpolation:
    """Linear interpolation between two networks in full weight space (Goodfellow et al. 2015)."""
    from landscape_gui.core.nn.slices import NetSurface

    if not isinstance(surface, NetSurface):
        raise LandscapeError("interpolating networks needs a neural-network surface (an nn: spec)")
    n = _check_points(points)
    lo, hi = (float(v) for v in alpha_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise LandscapeError(f"the interpolation range needs two finite numbers low < high, got {alpha_range!r}")
    A = np.asarray(theta_a, dtype=float).reshape(-1)
    B = np.asarray(theta_b, dtype=float).reshape(-1)
    if A.shape[0] != surface.n_params or B.shape[0] != surface.n_params:
        raise LandscapeError(f"both networks need {surface.n_params} parameters")
    alpha = np.linspace(lo, hi, n)
    if lo < 0.0 < hi:
        alpha = np.union1d(alpha, [0.0])
    if lo < 1.0 < hi:
        alpha = np.union1d(alpha, [1.0])
    thetas = (1 - alpha)[:, None] * A + alpha[:, None] * B
    with np.errstate(all="ignore"):
        loss = surface.full_value_and_grad(thetas)[0]
        ends = surface.full_value_and_grad(np.vstack([A, B]))[0]
    inside = (alpha >= 0) & (alpha <= 1)
    barrier = float(np.max(loss[inside]) - max(ends)) if inside.any() else float("nan")
    lin = loss - ((1 - alpha) * ends[0] + alpha * ends[1])
    linear = float(max(0.0, np.max(lin[inside]))) if inside.any() else float("nan")
    return Interpolation(alpha, loss, network_accuracy(surface, thetas), barrier, linear)


__all__ = ["Interpolation", "Profile", "interpolate_networks", "network_accuracy", "segment_profile"]
