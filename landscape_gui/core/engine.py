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

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Optimizer, get_optimizer
from landscape_gui.core.runs import CONVERGED, DIVERGED, MAX_STEPS, STATUSES, Run
from landscape_gui.core.surfaces import Bounds, Surface

if TYPE_CHECKING:
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.schedules import ScheduleSetting

FAR = 10.0
"""A position more than FAR widths of the bounds outside them counts as diverged."""

FAR_LIMIT = 1.0 + 2.0 * FAR
"""The same rule in units of the half-widths of the bounds, measured from their centre."""


# The stop rules, written once: the engine runs them on arrays, the compiled basin-map kernels
# (landscape_gui.core.fastpath) on floats.


def converged(gx: Any, gy: Any, tol2: float) -> Any:
    """Converged: ``|g|² <= tol²`` (``tol2 < 0`` disables the rule)."""
    return gx * gx + gy * gy <= tol2


def finite_step(x: Any, y: Any, f: Any, gx: Any, gy: Any) -> Any:
    """A step is usable when position, loss and gradient are all finite (one sum: a NaN or an
    infinity anywhere poisons it)."""
    return np.isfinite(f + gx + gy + x + y)


def far_outside(x: Any, y: Any, cx: float, cy: float, ix2: float, iy2: float, limit: float) -> Any:
    """Farther than :data:`FAR` bound-widths outside the bounds: with the centre ``(cx, cy)`` and the
    inverse half-widths ``(ix2, iy2)``, ``|x − cx|·ix2`` or ``|y − cy|·iy2`` exceeds ``limit``
    (:data:`FAR_LIMIT`). NaN compares False."""
    return (np.abs((x - cx) * ix2) > limit) | (np.abs((y - cy) * iy2) > limit)

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


def check_limits(max_steps: Any, tol: Any) -> tuple[int, float]:
    """Validate the stop rules: ``max_steps`` a whole number >= 0, ``tol`` a finite number >= 0."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, float, np.integer, np.floating)) \
            or int(max_steps) != max_steps or max_steps < 0:
        raise LandscapeError(f"max steps must be a whole number >= 0, got {max_steps!r}")
    try:
        t = float(tol)
    except (TypeError, ValueError):
        t = float("nan")
    if not (t >= 0 and np.isfinite(t)):
        raise LandscapeError(f"tolerance must be a finite number >= 0, got {tol!r}")
    return int(max_steps), t


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
    schedule: "ScheduleSetting | None" = None,
    noise: "GradientNoise | None" = None,
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
        schedule: a learning-rate schedule (:func:`landscape_gui.core.schedules.make_schedule`): update
            ``t`` uses the hyperparameters it gives for step ``t`` (``lr``, maybe momentum) over ``hp``.
        noise: gradient noise (:class:`landscape_gui.core.noise.GradientNoise`): update ``t`` of the
            run with id ``i`` uses ``noise.gradient(surface, p, g, i, t)`` instead of ``g``; the
            recorded gradient stays the true one. Keyed by (seed, run id, step), so batching and
            compaction cannot change it.
    """
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    max_steps, tol = check_limits(max_steps, tol)
    hp_steps = None if schedule is None else schedule.values(opt, hp, max_steps)
    hp_init = hp
    if hp_steps is not None and max_steps > 0:
        # torch makes an optimizer's state at its first step, with the values in force then
        first = next(hp_steps)
        hp_init = {**hp, **first}
        hp_steps = itertools.chain([first], hp_steps)
    if noise is not None:
        noise.check(surface)
    xmin, xmax, ymin, ymax = check_bounds(bounds if bounds is not None else surface.bounds)
    wx, wy = xmax - xmin, ymax - ymin
    tol2 = tol * tol
    tol2_margin = tol2 * (1.0 + 1e-9)

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
    log_t: list[int] = []

    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    inv_half = np.array([2.0 / wx, 2.0 / wy])
    far_limit = FAR_LIMIT  # |p - centre| / half-width beyond this is "far outside"
    (cx, cy), (ix2, iy2) = centre.tolist(), inv_half.tolist()

    rule = getattr(opt.update, "rule", None)
    # The column path takes schedules and Gaussian noise; mini-batches (network surfaces) take the general loop.
    if not record and n > 1 and surface.point is not None and rule is not None and (
            noise is None or noise.batch_size == 0):
        with np.errstate(all="ignore"):
            _run_columns(surface.point, rule, opt, hp, p0, max_steps, tol2 if tol > 0 else -1.0,
                         (cx, cy, ix2, iy2, far_limit), status, steps, final_p, final_f, final_g, progress,
                         should_cancel, hp_init=hp_init, hp_steps=hp_steps,
                         noise=noise if noise is not None and noise.active else None, first_id=first_id)
        return BatchResult(final_p, final_f, final_g, steps, status, None)

    with np.errstate(all="ignore"):
        idx = np.arange(n)  # run index of each row of the working arrays
        p = p0.copy()
        f, g = surface.value_and_grad(p)
        f = np.asarray(f, dtype=float)
        g = np.asarray(g, dtype=float)
        state = opt.init(p, hp_init)
        # Rows of finished runs stay in the working arrays (masked by `dead`) until they are a
        # quarter of them; then the arrays are compacted. Compacting on every finish would copy the
        # whole batch each step while runs trickle in.
        dead: np.ndarray | None = None
        n_dead = 0

        def finish(mask: np.ndarray, code: int, t: int, at_p=None, at_f=None, at_g=None) -> None:
            """End the live runs selected by ``mask`` with ``code``, last recorded at step ``t``."""
            nonlocal idx, p, f, g, state, dead, n_dead
            if dead is not None:
                mask = mask & ~dead
            if not mask.any():
                return
            gone = idx[mask]
            status[gone] = code
            fp, ff, fg = (p, f, g) if at_p is None else (at_p, at_f, at_g)
            final_p[gone], final_f[gone], final_g[gone], steps[gone] = fp[mask], ff[mask], fg[mask], t
            dead = mask.copy() if dead is None else (dead | mask)
            n_dead += int(np.count_nonzero(mask))
            if 4 * n_dead >= len(idx):
                keep = ~dead
                idx, p, f, g = idx[keep], p[keep], f[keep], g[keep]
                state = {k: v[keep] for k, v in state.items()}
                dead, n_dead = None, 0

        def log(sel: np.ndarray | None) -> None:
            log_t.append(t)
            if sel is None:
                log_idx.append(idx)
                log_p.append(p)
                log_f.append(f)
                log_g.append(g)
            else:
                log_idx.append(idx[sel])
                log_p.append(p[sel])
                log_f.append(f[sel])
                log_g.append(g[sel])

        # A start where the loss is undefined: its start is all there is to record.
        bad = ~finite_step(p[:, 0], p[:, 1], f, g[:, 0], g[:, 1])
        t = 0
        while True:
            if record:
                log(None if dead is None else ~dead)
            if t == 0 and bad.any():
                finish(bad, _DIVERGED, 0)
            if tol > 0:
                # One live run (a click): a scalar pre-test skips the array test while the gradient is
                # clearly above the tolerance (the margin covers any rounding difference).
                if len(idx) != 1 or not _norm2(g) > tol2_margin:
                    conv = converged(g[:, 0], g[:, 1], tol2)
                    if conv.any():
                        finish(conv, _CONVERGED, t)
            if t == max_steps and len(idx):
                finish(np.ones(len(idx), dtype=bool), _MAX_STEPS, t)
            if len(idx) == n_dead:
                break
            if should_cancel is not None and t % 16 == 0 and should_cancel():
                raise Cancelled()
            if progress is not None and t % 32 == 0:
                progress(t / max(max_steps, 1))
            t += 1
            p_old, f_old, g_old = p, f, g
            hp_t = hp if hp_steps is None else {**hp, **next(hp_steps)}
            g_t = g if noise is None else noise.gradient(surface, p, g, idx + first_id, t)
            p, state = opt.update(p, g_t, state, hp_t, t)
            f, g = surface.value_and_grad(p)
            f = np.asarray(f, dtype=float)
            g = np.asarray(g, dtype=float)
            # Cheap checks for the common case: a NaN or inf anywhere poisons the sum; the scaled
            # distance from the centre bounds every position at once.
            if len(idx) == 1 and _single_ok(p, f, g, cx, cy, ix2, iy2, far_limit):
                continue  # the same tests as below on Python floats (same IEEE operations), passed
            ok = finite_step(p[:, 0], p[:, 1], f, g[:, 0], g[:, 1])
            if not ok.all():
                if dead is not None:
                    ok |= dead
                # Ends at the last finite step, which is the previous one.
                finish(~ok, _DIVERGED, t - 1, p_old, f_old, g_old)
                if len(idx) == n_dead:
                    break
            q = (p - centre) * inv_half
            qmax, qmin = q.max(), q.min()
            if not (qmax <= far_limit and qmin >= -far_limit):  # NaN rows (finished above) compare False
                out = far_outside(p[:, 0], p[:, 1], cx, cy, ix2, iy2, far_limit)
                if dead is not None:
                    out &= ~dead
                if out.any():
                    if record:
                        log(out)  # recorded, then ended
                    finish(out, _DIVERGED, t)
                    if len(idx) == n_dead:
                        break
    if progress is not None:
        progress(1.0)

    runs = None
    if record:
        params = dict(hp)
        if schedule is not None:
            params["schedule"] = schedule.record()
        if noise is not None:
            params["noise"] = noise.record()
        runs = _assemble(log_idx, log_t, log_p, log_f, log_g, n, status, opt.name, params, surface.name, first_id)
    return BatchResult(final_p, final_f, final_g, steps, status, runs)


def _run_columns(point: Callable, rule: Any, opt: Optimizer, hp: Mapping[str, Any], p0: np.ndarray, max_steps: int,
                 tol2: float, lim: tuple[float, ...], status: np.ndarray, steps: np.ndarray,
                 final_p: np.ndarray, final_f: np.ndarray, final_g: np.ndarray,
                 progress: Callable[[float], None] | None, should_cancel: Callable[[], bool] | None, *,
                 hp_init: Mapping[str, Any] | None = None, hp_steps: Any = None,
                 noise: "GradientNoise | None" = None, first_id: int = 1) -> None:
    """:func:`run` without trajectories for a surface with a ``point`` function and an optimizer with a
    :class:`~landscape_gui.core.optimizers.Rule`: the same rules and stop decisions on contiguous
    columns (``x``, ``y``, each state entry per coordinate) instead of ``(n, 2)`` arrays, the rule
    applied to each coordinate; elementwise arithmetic does not depend on the layout, so the results
    are the same bits. Finished runs are masked until they are an eighth of the working arrays, then
    compacted away. A schedule's values (``hp_steps``, from ``hp_init`` on) and Gaussian gradient
    noise (drawn per run id and step, as :meth:`GradientNoise.gradient` draws it) enter as in
    :func:`run`."""
    cx, cy, ix2, iy2, far_limit = lim
    # positions beyond these are far outside (|x - cx| * ix2 > far_limit); a cheap pre-test on extremes
    xlo, xhi = cx - far_limit / ix2, cx + far_limit / ix2
    ylo, yhi = cy - far_limit / iy2, cy + far_limit / iy2
    n = len(p0)
    x = np.ascontiguousarray(p0[:, 0])
    y = np.ascontiguousarray(p0[:, 1])
    f, gx, gy = point(x, y)
    f = np.array(np.broadcast_to(f, (n,)), dtype=float)
    gx = np.array(np.broadcast_to(gx, (n,)), dtype=float)
    gy = np.array(np.broadcast_to(gy, (n,)), dtype=float)
    init = opt.init(p0, hp if hp_init is None else hp_init)
    per_run = [k in rule.per_run for k in rule.state]
    sx: list[Any] = []
    sy: list[Any] = []
    for k, run_wide in zip(rule.state, per_run):
        v = init.get(k)
        if v is None:
            sx.append(0.0)
            sy.append(0.0)
        elif run_wide:
            v = np.ascontiguousarray(v, dtype=float)
            sx.append(v)
            sy.append(v)
        else:
            sx.append(np.ascontiguousarray(v[:, 0], dtype=float))
            sy.append(np.ascontiguousarray(v[:, 1], dtype=float))
    idx = np.arange(n)
    dead = np.zeros(n, dtype=bool)
    n_dead = 0

    def finish(mask: np.ndarray, code: int, t: int, at: tuple[np.ndarray, ...]) -> None:
        nonlocal idx, x, y, f, gx, gy, sx, sy, dead, n_dead
        mask = mask & ~dead
        if not mask.any():
            return
        gone = idx[mask]
        ax, ay, af, agx, agy = at
        status[gone] = code
        steps[gone] = t
        final_p[gone, 0] = ax[mask]
        final_p[gone, 1] = ay[mask]
        final_f[gone] = af[mask]
        final_g[gone, 0] = agx[mask]
        final_g[gone, 1] = agy[mask]
        dead |= mask
        n_dead += int(np.count_nonzero(mask))
        if 8 * n_dead >= len(idx) and n_dead < len(idx):
            keep = ~dead
            idx, x, y, f, gx, gy = idx[keep], x[keep], y[keep], f[keep], gx[keep], gy[keep]
            sx = [v[keep] if isinstance(v, np.ndarray) else v for v in sx]
            sy = [sx[i] if per_run[i] else (v[keep] if isinstance(v, np.ndarray) else v) for i, v in enumerate(sy)]
            dead = np.zeros(len(idx), dtype=bool)
            n_dead = 0

    bad = ~finite_step(x, y, f, gx, gy)
    if bad.any():
        finish(bad, _DIVERGED, 0, (x, y, f, gx, gy))
    t = 0
    while True:
        if tol2 >= 0:
            conv = converged(gx, gy, tol2)
            if conv.any():
                finish(conv, _CONVERGED, t, (x, y, f, gx, gy))
        if t == max_steps and n_dead < len(idx):
            finish(np.ones(len(idx), dtype=bool), _MAX_STEPS, t, (x, y, f, gx, gy))
        if n_dead == len(idx):
            break
        if should_cancel is not None and t % 16 == 0 and should_cancel():
            raise Cancelled()
        if progress is not None and t % 32 == 0:
            progress(t / max(max_steps, 1))
        t += 1
        old = (x, y, f, gx, gy)
        coefficients = rule.coefficients(hp if hp_steps is None else {**hp, **next(hp_steps)}, t)
        ux, uy = gx, gy
        if noise is not None:
            from landscape_gui.core.noise import standard_normals

            z = standard_normals(noise.seed, idx + first_id, t, 2)
            ux, uy = gx + noise.scale * z[:, 0], gy + noise.scale * z[:, 1]
        out_x = rule.step(x, ux, *sx, *coefficients)
        out_y = rule.step(y, uy, *sy, *coefficients)
        x, y = out_x[0], out_y[0]
        sx = list(out_x[1:])
        sy = [out_x[1 + i] if per_run[i] else v for i, v in enumerate(out_y[1:])]
        f, gx, gy = point(x, y)
        ok = finite_step(x, y, f, gx, gy)
        if not ok.all():
            finish(~ok, _DIVERGED, t - 1, old)  # ends at the last finite step, the previous one
            if n_dead == len(idx):
                break
        if not (x.min() >= xlo and x.max() <= xhi and y.min() >= ylo and y.max() <= yhi):
            out = far_outside(x, y, cx, cy, ix2, iy2, far_limit)
            if out.any():
                finish(out, _DIVERGED, t, (x, y, f, gx, gy))  # recorded, then ended
                if n_dead == len(idx):
                    break
    if progress is not None:
        progress(1.0)


def _norm2(g: np.ndarray) -> float:
    """``|g|²`` of a one-row gradient as a Python float."""
    ((gx, gy),) = g.tolist()
    return gx * gx + gy * gy


def _single_ok(p: np.ndarray, f: np.ndarray, g: np.ndarray, cx: float, cy: float, ix2: float, iy2: float,
               far_limit: float) -> bool:
    """The per-step checks of :func:`run` for one live run, on Python floats: True when the step is
    finite (the same left-to-right sum) and not far outside the bounds (the same scaling). Python
    float arithmetic is IEEE double like numpy's, so True here means the array tests pass too; False
    sends the step through the array tests. Skips ~10 array operations (~6 µs) a step."""
    ((px, py),), ((gx, gy),), (fv,) = p.tolist(), g.tolist(), f.tolist()
    if not math.isfinite(fv + gx + gy + px + py):
        return False
    qx, qy = (px - cx) * ix2, (py - cy) * iy2
    return -far_limit <= qx <= far_limit and -far_limit <= qy <= far_limit


def _assemble(
    log_idx: list[np.ndarray],
    log_t: list[int],
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
    """Turn the step-major log into one :class:`Run` per start.

    Row ``t`` of run ``i`` lands at ``offset[i] + t`` of flat per-run-major arrays: the log is
    concatenated and scattered once (a Python loop over the logged steps cost ~5 µs a step).
    """
    sizes = np.fromiter((len(ix) for ix in log_idx), dtype=np.int64, count=len(log_idx))
    all_idx = np.concatenate(log_idx) if log_idx else np.empty(0, dtype=np.int64)
    counts = np.bincount(all_idx, minlength=n).astype(np.int64)
    offsets = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    total = int(counts.sum())
    P = np.empty((total, 2))
    F = np.empty(total)
    G = np.empty((total, 2))
    if log_idx:
        # every logged row at once: its run's offset plus the step it was logged at
        dest = offsets[all_idx] + np.repeat(np.asarray(log_t, dtype=np.int64), sizes)
        P[dest] = np.concatenate(log_p)
        F[dest] = np.concatenate(log_f)
        G[dest] = np.concatenate(log_g)
    params = dict(hp)
    ends = offsets + counts
    return [
        Run(first_id + i, P[offsets[i]:ends[i]], F[offsets[i]:ends[i]], G[offsets[i]:ends[i]],
            _CODE_TO_STATUS[int(status[i])], optimizer, dict(params), surface)
        for i in range(n)
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


__all__ = ["BatchResult", "Cancelled", "FAR", "as_starts", "check_bounds", "check_limits", "run", "run_many", "STATUSES"]
