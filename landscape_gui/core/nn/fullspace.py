"""Runs in full weight space, drawn on a slice by their least-squares projection.

A run on a slice (:class:`~landscape_gui.core.nn.slices.NetSurface`) can step in the plane (that is
just :func:`landscape_gui.core.engine.run` on the surface: the gradient projected onto span{d1, d2},
the surface shown is exactly the landscape it walks) or, with :func:`run_full_space`, in the full
weight space of the network. Then the true path generally leaves the plane, and the picture must not
pretend otherwise: every step records

* ``positions``: the least-squares projection ``(a, b) = (D Dᵀ)⁻¹ D (θ − θc)`` of the weights;
* ``losses``, ``grads``: the *plane's* loss and in-plane gradient at that projection (so the drawn
  point lies on the drawn surface and the CSV columns mean what they mean for any surface);
* ``extras["true_loss"]``: the network's loss at the actual weights θ;
* ``extras["distance"]``: ``‖θ − θ(a, b)‖``, how far the weights are from the plane;
* ``extras["grad_norm"]``: the norm of the full gradient, which the stop rule uses;
* ``extras["weights"]`` (only with ``record_weights=True``): ``(k + 1, P)`` the weights themselves, so
  the run can be drawn on another plane (:func:`landscape_gui.core.directions.path_run`) or its
  trajectory enter a PCA plane (:func:`landscape_gui.core.directions.pca_plane`).

Stop rules and statuses are the engine's (:mod:`landscape_gui.core.engine`), with the full gradient:
``converged`` when ``‖∇_θ L‖ <= tol``; ``diverged`` on a non-finite loss/gradient/weight (the step is
not recorded) or when the projection lands more than ``FAR`` bound-widths outside the bounds
(recorded); ``max_steps`` otherwise. All runs advance together (one batched step per iteration) and
leave the active set when they finish. Optionally mini-batch SGD: each step uses the gradient on a
seeded random batch of ``batch_size`` samples (the same batch for every run at a step).
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Mapping

import numpy as np

from landscape_gui.core.engine import FAR, as_starts, check_bounds, check_limits, checkpoint
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.slices import NetSurface
from landscape_gui.core.optimizers import Optimizer, get_optimizer
from landscape_gui.core.runs import CONVERGED, DIVERGED, MAX_STEPS, Run

_RUNNING = "running"


def run_full_space(
    surface: NetSurface,
    optimizer: Optimizer | str,
    starts_ab: Any,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    max_steps: int = 1000,
    tol: float = 1e-6,
    bounds: tuple[float, float, float, float] | None = None,
    first_id: int = 1,
    batch_size: int | None = None,
    batch_seed: int = 0,
    record_weights: bool = False,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    schedule: Any = None,
    noise: Any = None,
) -> list[Run]:
    """Step ``optimizer`` in full weight space from ``θc + a·d1 + b·d2`` for every start ``(a, b)``.

    Args:
        surface: a network surface (slice or two-weight model).
        optimizer: an :class:`Optimizer` or a registered name (update rules are shape-generic).
        starts_ab: ``(n, 2)`` starting points on the plane.
        hyperparameters: overrides of the optimizer's defaults.
        max_steps, tol, bounds, first_id, progress, should_cancel: as :func:`landscape_gui.core.engine.run`.
        batch_size: mini-batch size for stochastic gradients (``None``: full batch).
        batch_seed: seed of the mini-batch sampler (same seed, same batches).
        record_weights: also keep every step's weights in ``extras["weights"]`` ``(k + 1, P)``.
        schedule: a learning-rate schedule, as :func:`landscape_gui.core.engine.run`.
        noise: gradient noise (:class:`landscape_gui.core.noise.GradientNoise`): Gaussian noise in all
            ``P`` dimensions and/or per-run mini-batches, keyed by (seed, run id, step) like the
            plane's; not together with ``batch_size``.

    Returns:
        One :class:`Run` per start, in start order, with ``extras`` ``true_loss``, ``distance`` and
        ``grad_norm`` (see the module docstring).
    """
    if not isinstance(surface, NetSurface):
        raise LandscapeError("full-weight-space runs need a neural-network surface")
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    max_steps, tol = check_limits(max_steps, tol)
    n_samples = surface.dataset.n_samples
    if batch_size is not None and (int(batch_size) != batch_size or not 1 <= batch_size <= n_samples):
        raise LandscapeError(f"batch size must be a whole number 1..{n_samples}, got {batch_size!r}")
    xmin, xmax, ymin, ymax = check_bounds(bounds if bounds is not None else surface.bounds)
    far_lo = np.array([xmin - FAR * (xmax - xmin), ymin - FAR * (ymax - ymin)])
    far_hi = np.array([xmax + FAR * (xmax - xmin), ymax + FAR * (ymax - ymin)])
    rng = np.random.default_rng(batch_seed)
    if noise is not None:
        if batch_size is not None and noise.batch_size:
            raise LandscapeError("give the mini-batch size once: batch_size or the noise's batch size")
        noise.check(surface)
    hp_steps = None if schedule is None else schedule.values(opt, hp, max_steps)
    hp_init = hp
    if hp_steps is not None and max_steps > 0:
        first = next(hp_steps)
        hp_init = {**hp, **first}
        hp_steps = itertools.chain([first], hp_steps)

    ab0 = as_starts(starts_ab)
    n = len(ab0)
    status = [_RUNNING] * n
    rows: list[list[tuple[np.ndarray, float, np.ndarray, float, float, float]]] = [[] for _ in range(n)]
    weights: list[list[np.ndarray]] = [[] for _ in range(n)]

    def record(idx: np.ndarray, theta: np.ndarray, true_loss: np.ndarray, gnorm: np.ndarray) -> np.ndarray:
        ab, dist = surface.project(theta)
        f, g = surface.value_and_grad(ab)
        for r, i in enumerate(idx):
            rows[i].append((ab[r], f[r], g[r], true_loss[r], dist[r], gnorm[r]))
            if record_weights:
                weights[i].append(theta[r].copy())
        return ab

    def gradient(theta: np.ndarray) -> np.ndarray:
        if batch_size is None or batch_size == n_samples:
            return surface.full_value_and_grad(theta)[1]
        pick = rng.choice(n_samples, size=int(batch_size), replace=False)
        X, t = surface.dataset.X[pick], surface.targets[pick]
        w = surface._weights(theta)
        _, gw = surface.net.loss_and_grad(w, X, t, surface.loss)
        return gw if surface.weight_map is None else gw @ surface.weight_map.T

    with np.errstate(all="ignore"):
        idx = np.arange(n)
        theta = surface.theta(ab0)
        f, g_full = surface.full_value_and_grad(theta)
        gnorm = np.linalg.norm(g_full, axis=1)
        ok = np.isfinite(f) & np.isfinite(g_full).all(axis=1)
        record(idx, theta, f, gnorm)
        for i in idx[~ok]:
            status[i] = DIVERGED
        idx, theta = idx[ok], theta[ok]
        gnorm = gnorm[ok]
        g = g_full[ok] if batch_size is None else gradient(theta)
        state = opt.init(theta, hp_init)
        t = 0
        while len(idx):
            done = np.zeros(len(idx), dtype=bool)
            if tol > 0:
                conv = gnorm <= tol
                for i in idx[conv]:
                    status[i] = CONVERGED
                done |= conv
            if t == max_steps:
                for i in idx[~done]:
                    status[i] = MAX_STEPS
                done[:] = True
            if done.any():
                keep = ~done
                idx, theta, g, gnorm = idx[keep], theta[keep], g[keep], gnorm[keep]
                state = {k: v[keep] for k, v in state.items()}
                if not len(idx):
                    break
            if t % 16 == 0:
                checkpoint(t, max_steps, progress, should_cancel)
            t += 1
            hp_t = hp if hp_steps is None else {**hp, **next(hp_steps)}
            g_t = g if noise is None else noise.full_gradient(surface, theta, g, idx + first_id, t)
            theta_new, state = opt.update(theta, g_t, state, hp_t, t)
            f_new, g_full = surface.full_value_and_grad(theta_new)
            ok = np.isfinite(theta_new).all(axis=1) & np.isfinite(f_new) & np.isfinite(g_full).all(axis=1)
            if not ok.all():
                for i in idx[~ok]:
                    status[i] = DIVERGED
                idx, theta_new, f_new, g_full = idx[ok], theta_new[ok], f_new[ok], g_full[ok]
                state = {k: v[ok] for k, v in state.items()}
                if not len(idx):
                    break
            theta = theta_new
            gnorm = np.linalg.norm(g_full, axis=1)
            ab = record(idx, theta, f_new, gnorm)
            out = ((ab < far_lo) | (ab > far_hi)).any(axis=1)
            if out.any():
                for i in idx[out]:
                    status[i] = DIVERGED
                keep = ~out
                idx, theta, g_full, gnorm = idx[keep], theta[keep], g_full[keep], gnorm[keep]
                state = {k: v[keep] for k, v in state.items()}
            g = g_full if batch_size is None else (gradient(theta) if len(idx) else g_full)
    if progress is not None:
        progress(1.0)

    params = dict(hp)
    if batch_size is not None:
        params = {**params, "batch_size": int(batch_size), "batch_seed": int(batch_seed)}
    if schedule is not None:
        params["schedule"] = schedule.record()
    if noise is not None:
        params["noise"] = noise.record()
    runs = []
    for i in range(n):
        ab, f, g, true_loss, dist, gn = (np.array(col) for col in zip(*rows[i]))
        extras = {"true_loss": true_loss, "distance": dist, "grad_norm": gn}
        if record_weights:
            extras["weights"] = np.array(weights[i]).reshape(len(weights[i]), -1)
        runs.append(Run(first_id + i, ab.reshape(-1, 2), f, g.reshape(-1, 2), status[i], opt.name,
                        dict(params), surface.name, extras=extras))
    return runs


__all__ = ["run_full_space"]
