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

Two lanes run the same rules in another layout, with the same bits: many runs without trajectories
(basin maps) step on contiguous columns (:func:`_run_columns`); one recorded run without noise (a
click in the window, a dragged start) steps on float64 scalars (:func:`_run_single`), where a dozen
operations on one-row arrays cost more than the arithmetic itself.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Optimizer, Rule, get_optimizer
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


def checkpoint(t: int, max_steps: int, progress: Callable[[float], None] | None,
               should_cancel: Callable[[], bool] | None) -> None:
    """What a stepping loop does every 16 steps (it calls this when ``t % 16 == 0``): raise
    :class:`Cancelled` if ``should_cancel`` says so, and every 32 steps report ``t / max_steps`` to
    ``progress``."""
    if should_cancel is not None and should_cancel():
        raise Cancelled()
    if progress is not None and t % 32 == 0:
        progress(t / max(max_steps, 1))


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

    # One recorded run without noise (a click, a dragged start): the same rules on scalars.
    if record and n == 1 and isinstance(rule, Rule) and noise is None:
        with np.errstate(all="ignore"):
            P, F, G = _run_single(_scalar_value_and_grad(surface), rule, opt, hp, hp_init, hp_steps, p0, max_steps,
                                  tol2 if tol > 0 else -1.0, (cx, cy, ix2, iy2, far_limit), status, steps, final_p,
                                  final_f, final_g, progress, should_cancel)
        if progress is not None:
            progress(1.0)
        run_ = Run(first_id, P, F, G, _CODE_TO_STATUS[int(status[0])], opt.name, _run_params(hp, schedule, None),
                   surface.name)
        return BatchResult(final_p, final_f, final_g, steps, status, [run_])

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
            if t % 16 == 0:
                checkpoint(t, max_steps, progress, should_cancel)
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
        runs = _assemble(log_idx, log_t, log_p, log_f, log_g, n, status, opt.name, _run_params(hp, schedule, noise),
                         surface.name, first_id)
    return BatchResult(final_p, final_f, final_g, steps, status, runs)


def _run_params(hp: Mapping[str, Any], schedule: "ScheduleSetting | None", noise: "GradientNoise | None") -> dict:
    """What a run's ``params`` hold: every hyperparameter, and the schedule and noise it ran with."""
    params = dict(hp)
    if schedule is not None:
        params["schedule"] = schedule.record()
    if noise is not None:
        params["noise"] = noise.record()
    return params


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
        if t % 16 == 0:
            checkpoint(t, max_steps, progress, should_cancel)
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


def _scalar_value_and_grad(surface: Surface) -> Callable[[Any, Any], tuple[Any, Any, Any]]:
    """``(x, y) -> (f, fx, fy)`` at one point, float64 scalars, for :func:`_run_single`.

    * A surface whose ``value_and_grad`` comes from its ``point`` function: ``point`` on scalars. Those
      functions are plain arithmetic and ufuncs (their contract, which the compiled kernels rely on
      too), which give the same bits on a scalar as on a column (tests/core/test_engine_single.py
      checks every registered surface).
    * A typed formula: its compiled function on one-element columns, as ``value_and_grad`` calls it.
      sympy prints powers as ``x**2``, and numpy squares an array but calls ``pow`` for a scalar,
      which can differ in the last place.
    * Any other surface: ``value_and_grad`` of a one-row array, the very call the general loop makes.
    """
    from landscape_gui.core.formula_functions import FormulaFunctionsSurface

    f64 = np.float64
    point = surface.point
    if point is not None and type(surface).value_and_grad is Surface.value_and_grad:
        def from_point(x: Any, y: Any) -> tuple[Any, Any, Any]:
            f, gx, gy = point(x, y)
            return f64(f), f64(gx), f64(gy)

        return from_point

    def first(r: Any) -> Any:
        return f64(r[0]) if np.ndim(r) else f64(r)  # a constant part comes back as a scalar

    if type(surface).value_and_grad is FormulaFunctionsSurface.value_and_grad:
        fn = surface.value_grad_function  # type: ignore[attr-defined]

        def from_formula(x: Any, y: Any) -> tuple[Any, Any, Any]:
            f, gx, gy = fn(np.array([x]), np.array([y]))
            return first(f), first(gx), first(gy)

        return from_formula

    def from_rows(x: Any, y: Any) -> tuple[Any, Any, Any]:
        f, g = surface.value_and_grad(np.array([[x, y]]))
        f = np.asarray(f, dtype=float)
        g = np.asarray(g, dtype=float)
        return f[0], g[0, 0], g[0, 1]

    return from_rows


def _run_single(vg: Callable[[Any, Any], tuple[Any, Any, Any]], rule: Rule, opt: Optimizer, hp: Mapping[str, Any],
                hp_init: Mapping[str, Any], hp_steps: Any, p0: np.ndarray, max_steps: int, tol2: float,
                lim: tuple[float, ...], status: np.ndarray, steps: np.ndarray, final_p: np.ndarray,
                final_f: np.ndarray, final_g: np.ndarray, progress: Callable[[float], None] | None,
                should_cancel: Callable[[], bool] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`run` of one start with its trajectory, for an optimizer with a
    :class:`~landscape_gui.core.optimizers.Rule`: the rule, the surface and the stop rules applied to
    float64 *scalars* (numpy's, so overflow and division by zero give inf and NaN as on arrays), one
    coordinate at a time as in :func:`_run_columns`, in the order of the general loop. Elementwise
    arithmetic and ufuncs give the same bits on a scalar as on an array (``**`` would not: numpy
    squares an array but calls ``pow`` for a scalar; the rules use none), so the trajectory, the stop
    decision and the step are the same bits as the general loop's; each step costs a few
    microseconds instead of the ~40 µs of a dozen tiny-array operations (a clicked 1,000-step run in a
    few milliseconds instead of ~50). Returns ``(positions, losses, grads)``; fills the end state of
    run 0 in the output arrays.

    Like :func:`~landscape_gui.core.optimizers.rule_update`, a state entry the optimizer's ``init``
    left out is passed as 0.0 at every step and its new value dropped."""
    cx, cy, ix2, iy2, far_limit = lim
    f64 = np.float64
    x, y = f64(p0[0, 0]), f64(p0[0, 1])
    f, gx, gy = vg(x, y)
    init = opt.init(p0, hp_init)
    kept = [k in init for k in rule.state]
    run_wide = [k in rule.per_run for k in rule.state]
    sx: list[Any] = []
    sy: list[Any] = []
    for k, keep, wide in zip(rule.state, kept, run_wide):
        if not keep:
            sx.append(0.0)
            sy.append(0.0)
            continue
        v = np.asarray(init[k], dtype=float)
        if wide:
            sx.append(f64(v.reshape(-1)[0]))
            sy.append(sx[-1])
        else:
            sx.append(f64(v[0, 0]))
            sy.append(f64(v[0, 1]))
    state_rows = [i for i, keep in enumerate(kept) if keep]
    xs, ys, fs, gxs, gys = [x], [y], [f], [gx], [gy]
    append_x, append_y, append_f, append_gx, append_gy = xs.append, ys.append, fs.append, gxs.append, gys.append
    isfinite = math.isfinite
    code = _MAX_STEPS
    last = (x, y, f, gx, gy)
    t = 0
    if not finite_step(x, y, f, gx, gy):
        code = _DIVERGED  # a start where the loss is undefined: its start is all there is to record
    else:
        step, coefficients = rule.step, rule.coefficients
        while True:
            if tol2 >= 0 and converged(gx, gy, tol2):
                code = _CONVERGED
                break
            if t == max_steps:
                code = _MAX_STEPS
                break
            if t % 16 == 0:
                checkpoint(t, max_steps, progress, should_cancel)
            t += 1
            c = coefficients(hp if hp_steps is None else {**hp, **next(hp_steps)}, t)
            out_x = step(x, gx, *sx, *c)
            out_y = step(y, gy, *sy, *c)
            nx, ny = f64(out_x[0]), f64(out_y[0])
            nf, ngx, ngy = vg(nx, ny)
            # isfinite of the same sum, and the same scaled distances, as the stop rules compute: when
            # these cheap tests pass, so would the rules; otherwise the rules decide
            if not isfinite(nf + ngx + ngy + nx + ny) and not finite_step(nx, ny, nf, ngx, ngy):
                code, t = _DIVERGED, t - 1  # ends at the last finite step, the previous one
                break
            x, y, f, gx, gy = nx, ny, nf, ngx, ngy
            append_x(x)
            append_y(y)
            append_f(f)
            append_gx(gx)
            append_gy(gy)
            for i in state_rows:
                sx[i] = f64(out_x[1 + i])
                sy[i] = sx[i] if run_wide[i] else f64(out_y[1 + i])
            if not (-far_limit <= (x - cx) * ix2 <= far_limit and -far_limit <= (y - cy) * iy2 <= far_limit) \
                    and far_outside(x, y, cx, cy, ix2, iy2, far_limit):
                code = _DIVERGED  # recorded, then ended
                break
        last = (x, y, f, gx, gy)
    status[0], steps[0] = code, t
    final_p[0] = last[0], last[1]
    final_f[0] = last[2]
    final_g[0] = last[3], last[4]
    P = np.empty((len(xs), 2))
    P[:, 0] = xs
    P[:, 1] = ys
    G = np.empty((len(xs), 2))
    G[:, 0] = gxs
    G[:, 1] = gys
    return P, np.array(fs, dtype=float), G


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


__all__ = ["BatchResult", "Cancelled", "FAR", "as_starts", "check_bounds", "check_limits", "checkpoint", "run", "run_many", "STATUSES"]
