"""Engine throughput: point-steps per second, engine vs a plain batched numpy loop without compaction.

Both run the same optimizer on the same starts for the same budget with the same stop rules
(converged, non-finite, far outside the bounds); the baseline steps every run until all are done and
freezes finished ones with masks (what a straightforward vectorised loop does), the engine drops runs
from the active set as they finish. Figures are medians over repeats, in this process.

    python benchmarks/bench_engine.py [--surface himmelblau] [--optimizer momentum] [--runs 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_time  # noqa: E402

from landscape_gui.core import engine  # noqa: E402
from landscape_gui.core.optimizers import get_optimizer  # noqa: E402
from landscape_gui.core.surfaces import get_surface  # noqa: E402


def baseline(surface, opt, hp, starts, max_steps, tol, bounds):
    """A straightforward batched loop with the engine's stop rules: every run is stepped until the
    budget, finished ones are frozen by masks (no compaction), nothing is recorded."""
    xmin, xmax, ymin, ymax = bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    inv_half = np.array([2 / (xmax - xmin), 2 / (ymax - ymin)])
    limit = 1 + 2 * engine.FAR
    p = starts.copy()
    state = opt.init(p, hp)
    f, g = surface.value_and_grad(p)
    active = np.ones(len(p), dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(1, max_steps + 1):
            active &= np.hypot(g[:, 0], g[:, 1]) > tol
            if not active.any():
                break
            p_new, state = opt.update(p, g, state, hp, t)
            f_new, g_new = surface.value_and_grad(p_new)
            ok = np.isfinite(f_new) & np.isfinite(g_new).all(axis=1) & np.isfinite(p_new).all(axis=1)
            far = (np.abs((p_new - centre) * inv_half) > limit).any(axis=1)
            move = active & ok
            p = np.where(move[:, None], p_new, p)
            f = np.where(move, f_new, f)
            g = np.where(move[:, None], g_new, g)
            active = move & ~far
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--surface", default="himmelblau")
    ap.add_argument("--optimizer", default="momentum")
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    surface = get_surface(a.surface)
    opt = get_optimizer(a.optimizer)
    hp = opt.resolve({"lr": a.lr})
    starts = np.random.default_rng(0).uniform(-5, 5, size=(a.runs, 2))
    tol = 1e-6

    res = engine.run(surface, opt, starts, hp, max_steps=a.max_steps, tol=tol, record=False)
    useful = int(res.steps.sum()) + a.runs  # point evaluations the runs really need
    rows = []
    for label, fn in (
        ("baseline (mask, no compaction)", lambda: baseline(surface, opt, hp, starts, a.max_steps, tol, surface.bounds)),
        ("engine record=False", lambda: engine.run(surface, opt, starts, hp, max_steps=a.max_steps, tol=tol, record=False)),
        ("engine record=True", lambda: engine.run(surface, opt, starts, hp, max_steps=a.max_steps, tol=tol, record=True)),
    ):
        rows.append((label, median_time(fn, a.repeats)))

    base = rows[0][1]
    print(f"{a.runs} runs of {a.optimizer} on {a.surface}, lr={a.lr}, max {a.max_steps} steps, tol {tol}")
    print(f"steps actually needed: median {int(np.median(res.steps))}, max {int(res.steps.max())}")
    print(f"{'':34}{'median s':>10}{'Mpoint-steps/s':>16}{'speed-up':>10}")
    for label, t in rows:
        print(f"{label:34}{t:10.4f}{useful / t / 1e6:16.2f}{base / t:10.2f}x")


if __name__ == "__main__":
    main()
