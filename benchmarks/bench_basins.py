"""Benchmark: a basin map of himmelblau with Adam against a plain numpy loop and torch.optim.Adam.

The issue's target: a 512×512 basin map (lr=0.05, at most 1,000 steps, tol 1e-6) in at most a tenth
of the time of the equivalent torch script, peak memory ≤ 1 GiB. Contenders, same starts (cell
centres of the grid), float64 everywhere:

- ours: ``basin_map(...)`` as the GUI and CLI call it (fused numba kernel when numba is installed,
  the batched engine otherwise), labelling included;
- ours, numpy: ``basin_map(..., fused=False)`` (``engine.run(record=False)``: batched numpy, lazy compaction; what
  runs without numba);
- engine: ``engine.run(..., record=False)`` (batched numpy, compaction at every step) for reference;
- numpy baseline: a plain batched loop, 1,000 Adam steps on the whole (R², 2) array, no compaction,
  no labelling (what one writes first);
- torch (``--torch-python PY``, in a subprocess): ``torch.optim.Adam`` on an (R², 2) float64 tensor
  with requires_grad, 1,000 steps of zero_grad / loss.sum().backward() / step.

Prints medians over ``--repeats`` runs, ratios to torch and to the baseline, and peak memory
(tracemalloc peak of numpy allocations per contender; ru_maxrss of each process).

    python benchmarks/bench_basins.py [--resolution 512] [--repeats 3] [--torch-python /tmp/torchvenv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from landscape_gui.core import engine, fastpath  # noqa: E402
from landscape_gui.core.basins import basin_map, cell_centres  # noqa: E402
from landscape_gui.core.optimizers import Hyperparameter, Optimizer, get_optimizer, optimizer_names  # noqa: E402
from landscape_gui.core.surfaces import get_surface  # noqa: E402

TORCH_SCRIPT = r"""
import json, resource, sys, time, torch
R, steps, lr, repeats = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
if int(sys.argv[5]) > 0:
    torch.set_num_threads(int(sys.argv[5]))
xmin, xmax, ymin, ymax = -5.0, 5.0, -5.0, 5.0
k = torch.arange(R, dtype=torch.float64) + 0.5
xs, ys = xmin + k * (xmax - xmin) / R, ymin + k * (ymax - ymin) / R
gx, gy = torch.meshgrid(xs, ys, indexing="ij")
starts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    p = starts.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        x, y = p[:, 0], p[:, 1]
        f = (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2
        f.sum().backward()
        opt.step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "threads": torch.get_num_threads(), "version": torch.__version__,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _adam() -> Optimizer:
    """The registered Adam, or a copy of torch's _single_tensor_adam (until branch opt is merged)."""
    if "adam" in optimizer_names():
        return get_optimizer("adam")

    def init(p, hp):
        return {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}

    def update(params, grads, state, hp, step):
        m, v = state["exp_avg"], state["exp_avg_sq"]
        b1, b2 = hp["beta1"], hp["beta2"]
        g = grads
        m += (1.0 - b1) * (g - m)
        v *= b2
        v += (1.0 - b2) * g * g
        denom = np.sqrt(v) / (1 - b2**step) ** 0.5 + hp["eps"]
        return params + -(hp["lr"] / (1 - b1**step)) * (m / denom), state

    hps = (
        Hyperparameter("lr", 0.001, "learning rate", low=0.0, low_open=True),
        Hyperparameter("beta1", 0.9, "first-moment decay", 0.0, 1.0),
        Hyperparameter("beta2", 0.999, "second-moment decay", 0.0, 1.0),
        Hyperparameter("eps", 1e-8, "denominator guard", 0.0),
        Hyperparameter("weight_decay", 0.0, "L2 penalty", 0.0),
        Hyperparameter("maximize", False, "climb"),
    )
    return Optimizer("adam", "Adam (benchmark copy)", hps, init, update)


def numpy_baseline(starts: np.ndarray, steps: int, lr: float) -> np.ndarray:
    """Plain batched Adam, whole array every step, no convergence test, no compaction."""
    surface = get_surface("himmelblau")
    p = starts.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        _, g = surface.value_and_grad(p)
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        p = p - (lr / (1 - b1**t)) * (m / (np.sqrt(v) / (1 - b2**t) ** 0.5 + eps))
    return p


def timed(fn, repeats: int) -> tuple[list[float], int]:
    """Run ``fn`` ``repeats`` times: wall times and the tracemalloc peak (bytes) of the last run."""
    times = []
    peak = 0
    for k in range(repeats):
        last = k == repeats - 1
        if last:
            tracemalloc.start()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if last:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return times, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-python", help="python with torch installed (e.g. /tmp/torchvenv/bin/python)")
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="torch.set_num_threads (0: torch's default). On a busy machine torch's default of one "
                         "OpenMP thread per core slows down many times over; 1 is the robust choice there")
    ap.add_argument("--skip-engine", action="store_true", help="do not time the numpy-only paths (one run each)")
    args = ap.parse_args()

    surface = get_surface("himmelblau")
    adam = _adam()
    R = args.resolution
    xs, ys = cell_centres(surface.bounds, R)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    hp = {"lr": args.lr}
    print(f"himmelblau, adam lr={args.lr}, {R}x{R} = {R * R} starts, max {args.max_steps} steps, tol {args.tol:g}")
    print(f"numba fused path: {'available' if fastpath.AVAILABLE else 'not installed'}; cpus: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.2f}")

    results: dict[str, tuple[float, float]] = {}

    def ours(fused: bool):
        return lambda: basin_map(surface, adam, hp, resolution=R, max_steps=args.max_steps, tol=args.tol, fused=fused)

    t0 = time.perf_counter()
    bmap = ours(True)()
    first = time.perf_counter() - t0
    print(f"ours: first call {first:.3f} s (includes numba compile or cache load); fused={bmap.fused}")
    times, peak = timed(ours(True), args.repeats)
    results["ours (basin_map)"] = (statistics.median(times), peak)
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    share = {k: f"{100 * v:.2f}%" for k, v in bmap.fractions().items()}
    print(f"  basins: {share}; no minimum: {100 * (1 - bmap.labelled_share()):.3f}%; "
          f"status counts {np.bincount(bmap.status.ravel(), minlength=3).tolist()}")
    print(f"  process peak RSS so far (ours + imports): {rss_ours / 1024:.0f} MiB")
    if not args.skip_engine:
        times, peak = timed(ours(False), 1)
        results["ours, numpy only (fused=False)"] = (statistics.median(times), peak)
        times, peak = timed(lambda: engine.run(surface, adam, starts, hp, max_steps=args.max_steps, tol=args.tol,
                                               record=False), 1)
        results["engine.run(record=False)"] = (statistics.median(times), peak)
    times, peak = timed(lambda: numpy_baseline(starts, args.max_steps, args.lr), args.repeats)
    results["numpy baseline (no compaction)"] = (statistics.median(times), peak)

    torch_t = None
    if args.torch_python:
        out = subprocess.run(
            [args.torch_python, "-c", TORCH_SCRIPT, str(R), str(args.max_steps), str(args.lr), str(args.repeats),
             str(args.torch_threads)],
            capture_output=True, text=True, check=True,
        )
        info = json.loads(out.stdout.strip().splitlines()[-1])
        torch_t = statistics.median(info["times"])
        results[f"torch {info['version']} ({info['threads']} threads)"] = (torch_t, info["maxrss_kib"] * 1024)

    base_t = results["numpy baseline (no compaction)"][0]
    print()
    print(f"{'contender':44s} {'median s':>9s} {'vs torch':>9s} {'vs numpy':>9s} {'peak MiB':>9s}")
    for name, (t, mem) in results.items():
        vt = f"{t / torch_t:.3f}" if torch_t else "-"
        kind = " (RSS)" if name.startswith("torch") else ""
        print(f"{name:44s} {t:9.3f} {vt:>9s} {t / base_t:9.3f} {mem / 2**20:9.1f}{kind}")
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          "(tracemalloc peaks count numpy allocations of each contender)")


if __name__ == "__main__":
    main()
