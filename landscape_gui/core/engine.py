"""The batched lockstep runner: starting points in, trajectories out.

All runs of a call advance together, one vectorised optimizer step per iteration; there is no Python
loop over runs. A run leaves the active set the moment it finishes (active-set compaction), so the
cost of a step follows the number of runs still moving.

Per step ``t`` of an active run, with position ``p_t``, loss ``f_t`` and gradient ``g_t`` recorded:

1. ``|g_t| <= tol`` (and ``tol > 0``): ``converged`` at step ``t``;
2. otherwise, if ``t == max_steps``: ``max_steps``;
3. otherwise ``p_{t+1} = update(p_t, g_t)`` and ``f, g`` are evaluated there. A non-finite position,
   loss or gradient ends the run as ``diverged`` at step ``t`` (the non-finite step is not recorded);
   a finite position farther than :data:`FAR` bound-widths outside the bounds is recorded and ends the
   run as ``diverged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Optimizer, get_optimizer
from landscape_gui.core.runs import CONVERGED, DIVERGED, MAX_STEPS, STATUSES, Run
from landscape_gui.core.surfaces import Bounds, Surface

FAR = 10.0
"""A position more than FAR widths of the bounds outside them counts as diverged."""

_CONVERGED, _DIVERGED, _MAX_STEPS, _RUNNING = 0, 1, 2, 3
_CODE_TO_STATUS = {_CONVERGED: CONVERGED, _DIVERGED: DIVERGED, _MAX_STEPS: MAX_STEPS}


class Cancelled(Exception):
    """Raised inside :func:`run` when ``should_cancel()`` answers True."""


@dataclass
class BatchResult:
    """Outcome of :func:`run` for ``n`` starts.

    Attributes:
        final_positions: ``(n, 2)`` last recorded position of each run.
        final_losses: ``(n,)`` loss there.
        final_grads: ``(n, 2)`` gradient there.
        steps: ``(n,)`` steps taken (last recorded step index).
        status_codes: ``(n,)`` int8: 0 converged, 1 diverged, 2 max_steps.
        runs: full trajectories (``record=True`` only), in start order.
    """

    final_positions: np.ndarray
    final_losses: np.ndarray
    final_grads: np.ndarray
    steps: np.ndarray
    status_codes: np.ndarray
    runs: list[Run] | None

    @property
    def statuses(self) -> list[str]:
        return [_CODE_TO_STATUS[int(c)] for c in self.status_codes]


def as_starts(starts: Any) -> np.ndarray:
    """Validate and convert starting points to a float64 ``(n, 2)`` array."""
    try:
        arr = np.asarray(starts, dtype=float)
    except (TypeError, ValueError):
        raise LandscapeError(f"starting points must be pairs of numbers (x, y), got {starts!r}") from None
    if arr.ndim == 1 and arr.size == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise LandscapeError(f"starting points must be pairs (x, y), got an array of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise LandscapeError("starting points must be finite numbers")
    return np.ascontiguousarray(arr)


def check_bounds(bounds: Any) -> Bounds:
    """Validate ``(xmin, xmax, ymin, ymax)``: four finite numbers with min < max."""
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        raise LandscapeError(f"bounds must be four numbers XMIN,XMAX,YMIN,YMAX, got {bounds!r}") from None
    if len(b) != 4 or not all(np.isfinite(b)):
        raise LandscapeError(f"bounds must be four finite numbers XMIN,XMAX,YMIN,YMAX, got {bounds!r}")
    if not (b[0] < b[1] and b[2] < b[3]):
        raise LandscapeError(f"bounds need XMIN < XMAX and YMIN < YMAX, got {','.join(map(repr, b))}")
    return b  # type: ignore[return-value]


def run(
    surface: Surface,
    optimizer: Optimizer | str,
    starts: Any,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    bounds: Bounds | None = None,
    max_steps: int = 1000,
    tol: float = 1e-6,
    record: bool = True,
    first_id: int = 1,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BatchResult:
    """Run ``optimizer`` on ``surface`` from every start at once.

    Args:
        surface: the landscape.
        optimizer: an :class:`Optimizer` or a registered name.
        starts: ``(n, 2)`` starting points.
        hyperparameters: overrides of the optimizer's defaults (validated).
        bounds: the domain used for the divergence rule; the surface's default bounds if omitted.
        max_steps: update budget per run (a run has at most ``max_steps + 1`` recorded rows).
        tol: converged when the gradient norm is ``<= tol``; ``0`` disables the rule.
        record: keep full trajectories (``result.runs``); basin maps turn this off.
        first_id: id of the first run; the others count up from it.
        progress: called with the fraction done (0..1) now and then.
        should_cancel: polled now and then; answering True raises :class:`Cancelled`.
    """
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    if isinstance(max_steps, bool) or int(max_steps) != max_steps or max_steps < 0:
        raise LandscapeError(f"max steps must be a whole number >= 0, got {max_steps!r}")
    max_steps = int(max_steps)
    tol = float(tol)
    if not (tol >= 0 and np.isfinite(tol)):
        raise LandscapeError(f"tolerance must be a finite number >= 0, got {tol!r}")
    xmin, xmax, ymin, ymax = check_bounds(bounds if bounds is not None else surface.bounds)
    wx, wy = xmax - xmin, ymax - ymin
    far_lo = np.array([xmin - FAR * wx, ymin - FAR * wy])
    far_hi = np.array([xmax + FAR * wx, ymax + FAR * wy])
    tol2 = tol * tol

    p0 = as_starts(starts)
    n = len(p0)
    status = np.full(n, _RUNNING, dtype=np.int8)
    steps = np.zeros(n, dtype=np.int64)
    final_p = p0.copy()
    final_f = np.full(n, np.nan)
    final_g = np.full((n, 2), np.nan)

    # Step-major log of the active set: one (indices, p, f, g) block per step, assembled at the end.
    log_idx: list[np.ndarray] = []
    log_p: list[np.ndarray] = []
    log_f: list[np.ndarray] = []
    log_g: list[np.ndarray] = []

    with np.errstate(all="ignore"):
        idx = np.arange(n)
        p = p0.copy()
        f, g = surface.value_and_grad(p)
        f = np.asarray(f, dtype=float)
        g = np.asarray(g, dtype=float)
        bad = ~(np.isfinite(f) & np.isfinite(g).all(axis=1))
        if bad.any():
            # A start where the loss is undefined: nothing finite to record but the start itself.
            f = np.where(bad, np.nan, f)
        state = opt.init(p, hp)
        t = 0
        while True:
            if record:
                log_idx.append(idx)
                log_p.append(p)
                log_f.append(f)
                log_g.append(g)
            final_p[idx], final_f[idx], final_g[idx], steps[idx] = p, f, g, t
            done = np.zeros(len(idx), dtype=np.int8) + _RUNNING
            if t == 0 and bad.any():
                done[bad] = _DIVERGED
            gn2 = g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1]
            if tol > 0:
                done[(done == _RUNNING) & (gn2 <= tol2)] = _CONVERGED
            if t == max_steps:
                done[done == _RUNNING] = _MAX_STEPS
            finished = done != _RUNNING
            if finished.any():
                status[idx[finished]] = done[finished]
                keep = ~finished
                if not keep.any():
                    break
                idx, p, g = idx[keep], p[keep], g[keep]
                state = {k: v[keep] for k, v in state.items()}
            if should_cancel is not None and t % 16 == 0 and should_cancel():
                raise Cancelled()
            if progress is not None and t % 32 == 0:
                progress(t / max(max_steps, 1))
            t += 1
            p_new, state = opt.update(p, g, state, hp, t)
            f_new, g_new = surface.value_and_grad(p_new)
            f_new = np.asarray(f_new, dtype=float)
            g_new = np.asarray(g_new, dtype=float)
            ok = np.isfinite(p_new).all(axis=1) & np.isfinite(f_new) & np.isfinite(g_new).all(axis=1)
            if not ok.all():
                gone = ~ok
                status[idx[gone]] = _DIVERGED
                if not ok.any():
                    break
                idx, p_new, f_new, g_new = idx[ok], p_new[ok], f_new[ok], g_new[ok]
                state = {k: v[ok] for k, v in state.items()}
            p, f, g = p_new, f_new, g_new
            out = ((p < far_lo) | (p > far_hi)).any(axis=1)
            if out.any():
                # Recorded, then ended: log this step for the runs that left, drop them.
                o_idx = idx[out]
                if record:
                    log_idx.append(o_idx)
                    log_p.append(p[out])
                    log_f.append(f[out])
                    log_g.append(g[out])
                final_p[o_idx], final_f[o_idx], final_g[o_idx], steps[o_idx] = p[out], f[out], g[out], t
                status[o_idx] = _DIVERGED
                keep = ~out
                if not keep.any():
                    break
                idx, p, f, g = idx[keep], p[keep], f[keep], g[keep]
                state = {k: v[keep] for k, v in state.items()}
    if progress is not None:
        progress(1.0)

    runs = None
    if record:
        runs = _assemble(log_idx, log_p, log_f, log_g, n, status, opt.name, hp, surface.name, first_id)
    return BatchResult(final_p, final_f, final_g, steps, status, runs)


def _assemble(
    log_idx: list[np.ndarray],
    log_p: list[np.ndarray],
    log_f: list[np.ndarray],
    log_g: list[np.ndarray],
    n: int,
    status: np.ndarray,
    optimizer: str,
    hp: Mapping[str, Any],
    surface: str,
    first_id: int,
) -> list[Run]:
    """Turn the step-major log into one :class:`Run` per start (a stable sort by run index)."""
    idx = np.concatenate(log_idx)
    order = np.argsort(idx, kind="stable")
    P = np.concatenate(log_p)[order]
    F = np.concatenate(log_f)[order]
    G = np.concatenate(log_g)[order]
    counts = np.bincount(idx, minlength=n)
    cuts = np.cumsum(counts)[:-1]
    params = dict(hp)
    return [
        Run(first_id + i, pos, loss, grad, _CODE_TO_STATUS[int(status[i])], optimizer, dict(params), surface)
        for i, (pos, loss, grad) in enumerate(zip(np.split(P, cuts), np.split(F, cuts), np.split(G, cuts)))
    ]


def run_many(
    surface: Surface,
    optimizer: Optimizer | str,
    starts: Any,
    hyperparameters: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> list[Run]:
    """:func:`run` with ``record=True``, returning just the runs."""
    result = run(surface, optimizer, starts, hyperparameters, record=True, **kwargs)
    assert result.runs is not None
    return result.runs


__all__ = ["BatchResult", "Cancelled", "FAR", "as_starts", "check_bounds", "run", "run_many", "STATUSES"]
