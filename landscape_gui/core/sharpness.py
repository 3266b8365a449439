"""Sharpness along a run and the edge of stability.

**Sharpness** is the largest Hessian eigenvalue ``λ_max(H)`` of the loss at a point. On a quadratic,
gradient descent with learning rate ``η`` is stable exactly when ``λ_max < 2/η``; Cohen, Kaur, Li,
Kolter & Talwalkar ("Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability",
ICLR 2021) found that full-batch training drives ``λ_max`` up to ``2/η`` and then hovers there.
Their appendix gives the thresholds of momentum methods on a quadratic: heavy ball (torch's SGD
momentum ``μ``, dampening ``d``: effective step ``η(1 − d)``) is stable for
``λ < (2 + 2μ) / (η(1 − d))``; Nesterov (dampening 0) for ``λ < (2 + 2μ) / (η(1 + 2μ))``.

For adaptive methods the relevant quantity is the **preconditioned sharpness** ``λ_max(P⁻¹H)``
(Cohen, Ghorbani, Krishnan, Agarwal, Medapati, Badura, Suo, Cardoze, Nado, Dahl & Gilmer, "Adaptive
Gradient Methods at the Edge of Stability", arXiv:2207.14484, 2022, section 2). Written as a
preconditioned method, ``w ← w − η P⁻¹ m``, Adam's preconditioner at update ``t`` is

``P_t = (1 − β₁ᵗ) · diag(√v̂_t + ε)``,  ``v̂_t = v_t / (1 − β₂ᵗ)``,  ``v_t = β₂ v_{t−1} + (1 − β₂) g_t²``

(the ``(1 − β₁ᵗ)`` is Adam's first-moment bias correction folded into ``P``, as the paper does, so
``η P⁻¹ m_t`` is exactly torch's step; with AMSGrad ``v`` is the running maximum). With ``P`` frozen,
the update is heavy-ball momentum in EMA form on ``P^{-1/2} H P^{-1/2}``, stable for
``λ_max(P⁻¹H) < (2 + 2β₁) / ((1 − β₁) η)``, i.e. ``38/η`` for ``β₁ = 0.9``. The same construction
gives RMSprop (``P = diag(√v + ε)``; threshold ``2/η``, or ``(2 + 2μ)/η`` with momentum ``μ``;
centred: ``v − ḡ²``) and Adagrad (``P = diag(√Σg² + ε)``, ``η`` the decayed rate in force,
threshold ``2/η``). ``λ_max(P⁻¹H)`` is computed as ``λ_max(P^{-1/2} H P^{-1/2})``, a symmetric
eigenproblem (closed form for 2×2, ``eigh`` or Lanczos on exact Hessian-vector products for a
network's full weight space).

The row convention: row ``k`` of a run is the point ``p_k``; its learning rate and preconditioner are
those of the update that *leaves* ``p_k`` (update ``k + 1``, which uses the gradient at ``p_k``), so
every row, the last included, has a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import eigenvalues_2x2
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Bounds, Surface

ADAPTIVE = ("adam", "adamw", "rmsprop", "adagrad")
"""Optimizers whose preconditioned sharpness is defined here."""
DENSE_MAX = 64
"""Up to this many parameters a run's sharpness comes from ``eigvalsh`` of the exact Hessian; above,
from Lanczos on exact Hessian-vector products, warm-started from the previous row's eigenvector."""


def lambda_max_2x2(surface: Surface, points: Any) -> np.ndarray:
    """``(n,)`` exact largest Hessian eigenvalue of the surface at each point (closed-form 2×2)."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    with np.errstate(all="ignore"):
        h = np.asarray(surface.hessian(p), dtype=float).reshape(-1, 2, 2)
    return eigenvalues_2x2(h)[:, 1]


def sharpness_grid(surface: Surface, bounds: Bounds | None = None, resolution: int = 200,
                   progress: Callable[[float], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``xs (R,), ys (R,), lam (R, R)`` with ``lam[i, j] = λ_max(H(xs[i], ys[j]))`` (the grid of
    :meth:`Surface.grid`); NaN where the Hessian is not finite. Rows of the grid are computed in
    blocks, with ``progress``/``should_cancel`` between them (a network slice's Hessians take seconds)."""
    from landscape_gui.core.engine import Cancelled, check_bounds

    if isinstance(resolution, bool) or int(resolution) != resolution or not 2 <= resolution <= 4096:
        raise LandscapeError(f"resolution must be a whole number 2..4096, got {resolution!r}")
    xmin, xmax, ymin, ymax = check_bounds(bounds if bounds is not None else surface.bounds)
    xs = np.linspace(xmin, xmax, int(resolution))
    ys = np.linspace(ymin, ymax, int(resolution))
    R = len(xs)
    lam = np.empty((R, R))
    block = max(1, R // 16)
    for lo in range(0, R, block):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        gx, gy = np.meshgrid(xs[lo:lo + block], ys, indexing="ij")
        lam[lo:lo + block] = lambda_max_2x2(surface, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        if progress is not None:
            progress(min(1.0, (lo + block) / R))
    return xs, ys, np.where(np.isfinite(lam), lam, np.nan)


def eos_mask(lam: np.ndarray, lr: float) -> np.ndarray:
    """Where plain gradient descent at learning rate ``lr`` is unstable: ``λ_max > 2/lr`` (bool,
    the shape of ``lam``; NaN cells are False)."""
    lr = float(lr)
    if not (np.isfinite(lr) and lr > 0):
        raise LandscapeError(f"learning rate must be > 0, got {lr!r}")
    with np.errstate(invalid="ignore"):
        return np.asarray(lam) > 2.0 / lr


def eos_map(surface: Surface, lr: float, bounds: Bounds | None = None, resolution: int = 200,
            progress: Callable[[float], None] | None = None,
            should_cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``xs, ys, mask``: the edge-of-stability overlay of a map (:func:`sharpness_grid` + :func:`eos_mask`;
    a window keeps ``lam`` and re-thresholds it with :func:`eos_mask` when only the learning rate moves)."""
    eos_mask(np.zeros(1), lr)  # validate lr before the work
    xs, ys, lam = sharpness_grid(surface, bounds, resolution, progress, should_cancel)
    return xs, ys, eos_mask(lam, lr)


# --------------------------------------------------------------------------------------------------
# Thresholds and the learning rate in force


def lr_per_step(optimizer: str, hp: Mapping[str, Any], rows: int) -> np.ndarray:
    """``(rows,)`` the learning rate in force for the update leaving each row (update ``k + 1``):
    ``lr`` (constant), Adagrad's ``lr / (1 + k·lr_decay)``."""
    k = np.arange(rows, dtype=float)
    lr = float(hp["lr"])
    if optimizer == "adagrad":
        return lr / (1.0 + k * float(hp.get("lr_decay", 0.0)))
    return np.full(rows, lr)


def stability_threshold(optimizer: str, hp: Mapping[str, Any], lr: Any = None) -> tuple[np.ndarray | float, bool]:
    """The sharpness above which the optimizer is unstable on a quadratic, and whether it applies
    to the *preconditioned* sharpness (see module docstring). ``lr`` overrides ``hp["lr"]`` (array ok)."""
    eta = np.asarray(hp["lr"] if lr is None else lr, dtype=float)
    if optimizer in ("adam", "adamw"):
        b1 = float(hp["beta1"])
        return (2.0 + 2.0 * b1) / ((1.0 - b1) * eta), True
    if optimizer == "rmsprop":
        mu = float(hp.get("momentum", 0.0))
        return (2.0 + 2.0 * mu) / eta, True
    if optimizer == "adagrad":
        return 2.0 / eta, True
    if optimizer in ("sgd", "momentum", "nesterov"):
        mu = float(hp.get("momentum", 0.0))
        if mu > 0 and hp.get("nesterov"):
            return (2.0 + 2.0 * mu) / (eta * (1.0 + 2.0 * mu)), False
        return (2.0 + 2.0 * mu) / (eta * (1.0 - float(hp.get("dampening", 0.0)))), False
    return 2.0 / eta, False


def preconditioner_diagonals(optimizer: str, hp: Mapping[str, Any], positions: np.ndarray,
                             grads: np.ndarray) -> np.ndarray:
    """``(rows, d)``: the diagonal of ``P`` for the update leaving each row, replayed from the
    gradients ``grads (rows, d)`` at ``positions (rows, d)`` (module docstring; weight decay and
    ``maximize`` as the optimizer applies them)."""
    if optimizer not in ADAPTIVE:
        raise LandscapeError(f"preconditioned sharpness is defined for {', '.join(ADAPTIVE)}, not {optimizer}")
    g = np.asarray(grads, dtype=float)
    if hp.get("maximize"):
        g = -g
    wd = float(hp.get("weight_decay", 0.0))
    decoupled = optimizer == "adamw" or bool(hp.get("decoupled_weight_decay", False))
    if wd and not decoupled:
        g = g + wd * np.asarray(positions, dtype=float)
    rows = len(g)
    out = np.empty_like(g)
    eps = float(hp["eps"])
    if optimizer in ("adam", "adamw"):
        b1, b2 = float(hp["beta1"]), float(hp["beta2"])
        v = np.zeros(g.shape[1])
        vmax = np.zeros(g.shape[1])
        for k in range(rows):
            t = k + 1
            v = b2 * v + (1.0 - b2) * g[k] * g[k]
            use = v
            if hp.get("amsgrad"):
                vmax = np.maximum(vmax, v)
                use = vmax
            out[k] = (1.0 - b1**t) * (np.sqrt(use / (1.0 - b2**t)) + eps)
        return out
    if optimizer == "rmsprop":
        a = float(hp["alpha"])
        v = np.zeros(g.shape[1])
        avg = np.zeros(g.shape[1])
        for k in range(rows):
            v = a * v + (1.0 - a) * g[k] * g[k]
            if hp.get("centered"):
                avg = a * avg + (1.0 - a) * g[k]
                out[k] = np.sqrt(v - avg * avg) + eps
            else:
                out[k] = np.sqrt(v) + eps
        return out
    s = np.full(g.shape[1], float(hp.get("initial_accumulator_value", 0.0)))
    for k in range(rows):
        s = s + g[k] * g[k]
        out[k] = np.sqrt(s) + eps
    return out


# --------------------------------------------------------------------------------------------------
# Along a run


@dataclass(frozen=True)
class SharpnessSeries:
    """Sharpness at every row of a run.

    Attributes:
        steps: ``(k + 1,)`` 0, 1, ...
        sharpness: ``(k + 1,)`` ``λ_max(H)`` at each point.
        lr: ``(k + 1,)`` learning rate in force for the update leaving the point.
        threshold: ``(k + 1,)`` ``2/lr``: plain gradient descent's stability limit (the line to plot).
        optimizer_threshold: ``(k + 1,)`` the optimizer's own limit (heavy ball, Nesterov, or for an
            adaptive method the preconditioned one; see :func:`stability_threshold`).
        preconditioned: ``(k + 1,)`` ``λ_max(P⁻¹H)`` for adaptive optimizers, else ``None``.
        full_space: computed from the full weight-space Hessian (a network run that kept its weights)
            rather than the 2×2 Hessian of the plane.
    """

    steps: np.ndarray
    sharpness: np.ndarray
    lr: np.ndarray
    threshold: np.ndarray
    optimizer_threshold: np.ndarray
    preconditioned: np.ndarray | None
    full_space: bool

    def unstable(self) -> np.ndarray:
        """Rows where ``λ_max > 2/lr`` (plain gradient descent would be unstable there)."""
        return self.sharpness > self.threshold


def _precond_lmax_2x2(h: np.ndarray, pdiag: np.ndarray) -> np.ndarray:
    s = 1.0 / np.sqrt(pdiag)
    m = h * s[:, :, None] * s[:, None, :]
    return eigenvalues_2x2(m)[:, 1]


def run_sharpness(surface: Surface, run: Run, hyperparameters: Mapping[str, Any] | None = None,
                  lr: Any = None, full_space: bool | None = None,
                  progress: Callable[[float], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> SharpnessSeries:
    """Sharpness (and preconditioned sharpness for adaptive optimizers) at every row of ``run``.

    ``hyperparameters``: every value in force (default ``run.params``); ``lr``: per-row learning rates
    (default :func:`lr_per_step`). ``full_space``: use the network's full Hessian at the recorded
    weights (default: when the run has ``extras["weights"]``; see :data:`DENSE_MAX`); otherwise the
    exact 2×2 Hessian of the surface at the positions — the curvature of the landscape a plane run walks.
    """
    from landscape_gui.core.engine import Cancelled

    hp = dict(run.params if hyperparameters is None else hyperparameters)
    if "lr" not in hp:
        raise LandscapeError(f"run {run.id}: its hyperparameters have no learning rate")
    rows = len(run.positions)
    lrs = lr_per_step(run.optimizer, hp, rows) if lr is None else np.broadcast_to(np.asarray(lr, float), (rows,)).copy()
    weights = run.extras.get("weights") if run.extras else None
    if full_space is None:
        full_space = weights is not None
    adaptive = run.optimizer in ADAPTIVE
    thr, _ = stability_threshold(run.optimizer, hp, lrs)
    if not full_space:
        with np.errstate(all="ignore"):
            h = np.asarray(surface.hessian(run.positions), dtype=float).reshape(-1, 2, 2)
        lam = eigenvalues_2x2(h)[:, 1]
        pre = None
        if adaptive:
            pdiag = preconditioner_diagonals(run.optimizer, hp, run.positions, run.grads)
            pre = _precond_lmax_2x2(h, pdiag)
        if progress is not None:
            progress(1.0)
        return SharpnessSeries(np.arange(rows), lam, lrs, 2.0 / lrs, np.asarray(thr) * np.ones(rows), pre, False)

    from landscape_gui.core.spectrum import hessian_matrix, hessian_vector_product, lanczos_top

    if weights is None:
        raise LandscapeError(f"run {run.id} kept no weights: run it in full weight space with record_weights=True")
    W = np.asarray(weights, dtype=float)
    if adaptive and hp.get("batch_size") is not None:
        raise LandscapeError("preconditioned sharpness needs full-batch gradients; this run used mini-batches")
    grads = surface.full_value_and_grad(W)[1] if adaptive else None
    pdiags = preconditioner_diagonals(run.optimizer, hp, W, grads) if adaptive else None
    P = W.shape[1]
    lam = np.empty(rows)
    pre = np.empty(rows) if adaptive else None
    v_prev = v_pre = None
    for k in range(rows):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        if P <= DENSE_MAX:
            H = hessian_matrix(surface, W[k])
            lam[k] = np.linalg.eigvalsh(H)[-1]
            if adaptive:
                s = 1.0 / np.sqrt(pdiags[k])
                pre[k] = np.linalg.eigvalsh(H * s[:, None] * s[None, :])[-1]
        else:
            def mv(x: np.ndarray, _k: int = k) -> np.ndarray:
                x = np.asarray(x, dtype=float)
                return hessian_vector_product(surface, W[_k], x.T).T if x.ndim == 2 else \
                    hessian_vector_product(surface, W[_k], x)

            vals, vecs = lanczos_top(mv, P, 1, v0=v_prev)
            lam[k], v_prev = vals[0], vecs[0]
            if adaptive:
                s = 1.0 / np.sqrt(pdiags[k])

                def pmv(x: np.ndarray, _s: np.ndarray = s) -> np.ndarray:
                    x = np.asarray(x, dtype=float)
                    if x.ndim == 2:
                        return (_s[:, None] * mv(_s[:, None] * x))
                    return _s * mv(_s * x)

                vals, vecs = lanczos_top(pmv, P, 1, v0=v_pre)
                pre[k], v_pre = vals[0], vecs[0]
        if progress is not None:
            progress((k + 1) / rows)
    return SharpnessSeries(np.arange(rows), lam, lrs, 2.0 / lrs, np.asarray(thr) * np.ones(rows), pre, True)


__all__ = ["ADAPTIVE", "SharpnessSeries", "eos_map", "eos_mask", "lambda_max_2x2", "lr_per_step",
           "preconditioner_diagonals", "run_sharpness", "sharpness_grid", "stability_threshold"]
