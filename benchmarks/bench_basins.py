"""Basin maps from the command line against the torch script a user would write, in the same run.

For every catalogue surface × {sgd, momentum, rmsprop, adam, nadam} at 256² (``--suite``), for
Himmelblau/Adam (lr 0.05) at 512² (``--hero``) and for Himmelblau typed as a formula (``--formula``):

- ours: the wall time of ``landscape-gui basins --surface S --optimizer O --resolution R -o PREFIX``
  as a user runs it (a fresh process: start-up, the map, minimum labels, .npy/.csv/.png), median of
  ``--repeats``, the compiled kernels' disk cache warm (a first run, untimed, fills it);
- torch: ``torch.optim.<O>`` on an ``(R², 2)`` float64 tensor of the same starts with requires_grad,
  ``--max-steps`` steps of ``zero_grad(); loss(x, y).sum().backward(); step()`` (the loss typed in
  torch), timed inside the torch process after imports and set-up — only the loop, which favours
  torch; the best of 1 and 2 torch threads, ``OMP_WAIT_POLICY=PASSIVE``.

``--lessons`` times basin maps under a learning-rate schedule and under gradient noise, compiled
against the numpy engine on the same starts in the same run (both give the same bits; the script
checks), for Himmelblau/Adam lr 0.05: ``end_points`` alone (the runs) and the whole ``basin_map``
(with labelling; under noise that includes the noiseless quench of every end point, which runs
compiled or on the engine with the rest of the map).

``--engine`` times the numpy engine (``engine.run(record=False)``) against a plain batched numpy Adam
loop that steps every run to the end (the compaction target: ≤ 0.5×). Ratios are same-run figures;
the machine may be shared, so medians and ratios matter more than seconds.

    python benchmarks/bench_basins.py --torch-python /work/venv-ref/bin/python [--suite] [--hero]
        [--formula] [--engine] [--lessons] [--resolution 256] [--max-steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from landscape_gui.core import engine  # noqa: E402
from landscape_gui.core.basins import cell_centres  # noqa: E402
from landscape_gui.core.optimizers import get_optimizer  # noqa: E402
from landscape_gui.core.surfaces import get_surface, surface_names  # noqa: E402

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "nadam")

# Each catalogue surface as a user types it in torch (the smoothed Ackley as the catalogue defines it).
TORCH_LOSSES = {
    "himmelblau": "(x*x + y - 11)**2 + (x + y*y - 7)**2",
    "rosenbrock": "(1 - x)**2 + 100*(y - x*x)**2",
    "rastrigin": "20 + x*x - 10*torch.cos(2*pi*x) + y*y - 10*torch.cos(2*pi*y)",
    "ackley": "-20*torch.exp(-0.2*(0.5*(x*x + y*y))/torch.sqrt(0.5*(x*x + y*y) + 0.01)) "
              "- torch.exp(0.5*(torch.cos(2*pi*x) + torch.cos(2*pi*y))) + math.e + 20",
    "beale": "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    "booth": "(x + 2*y - 7)**2 + (2*x + y - 5)**2",
    "matyas": "0.26*(x*x + y*y) - 0.48*x*y",
    "mccormick": "torch.sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 1",
    "three_hump_camel": "2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2",
    "six_hump_camel": "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
    "goldstein_price": "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
                       "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
    "styblinski_tang": "0.5*(x**4 - 16*x**2 + 5*x + y**4 - 16*y**2 + 5*y)",
    "muller_brown": "sum(A*torch.exp(a*(x - x0)**2 + b*(x - x0)*(y - y0) + c*(y - y0)**2) for A, a, b, c, x0, y0 in "
                    "((-200, -1, 0, -10, 1, 0), (-100, -1, 0, -10, 0, 0.5), (-170, -6.5, 11, -6.5, -0.5, 1.5), "
                    "(15, 0.7, 0.6, 0.7, -1, 1)))",
    "peaks": "3*(1 - x)**2*torch.exp(-x**2 - (y + 1)**2) - 10*(x/5 - x**3 - y**5)*torch.exp(-x**2 - y**2) "
             "- torch.exp(-(x + 1)**2 - y**2)/3",
    "saddle": "x**2 + (y**2 - 1)**2",
    "easom": "-torch.cos(x)*torch.cos(y)*torch.exp(-(x - pi)**2 - (y - pi)**2)",
    "elongated_bowl": "0.5*((0.75 + 25)*x*x + 2*(-99*math.sqrt(3)/4)*x*y + (0.25 + 75)*y*y)",
    "levy13": "torch.sin(3*pi*x)**2 + (x - 1)**2*(1 + torch.sin(3*pi*y)**2) + (y - 1)**2*(1 + torch.sin(2*pi*y)**2)",
    "griewank": "1 + (x*x + y*y)/4000 - torch.cos(x)*torch.cos(y/math.sqrt(2))",
}

TORCH_SCRIPT = r"""
import json, math, sys, time, torch
from math import pi
jobs = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))
out = []
for job in jobs:
    R, steps = job["R"], job["steps"]
    xmin, xmax, ymin, ymax = job["bounds"]
    k = torch.arange(R, dtype=torch.float64) + 0.5
    xs, ys = xmin + k * (xmax - xmin) / R, ymin + k * (ymax - ymin) / R
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    starts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    loss = eval("lambda x, y: " + job["loss"])
    cls = getattr(torch.optim, job["torch_class"])
    p = starts.clone().requires_grad_(True)
    opt = cls([p], **job["kwargs"])
    timed = job.get("timed_steps") or steps
    t0 = time.perf_counter()
    for _ in range(timed):
        opt.zero_grad()
        loss(p[:, 0], p[:, 1]).sum().backward()
        opt.step()
    out.append((time.perf_counter() - t0) * steps / timed)
print(json.dumps({"times": out, "threads": torch.get_num_threads(), "version": torch.__version__}))
"""


def torch_job(surface: str, optimizer: str, hp: dict, R: int, steps: int) -> dict:
    """The torch.optim call a user would make for our optimizer and hyperparameters."""
    opt = get_optimizer(optimizer)
    full = opt.resolve(hp)
    if optimizer in ("sgd", "momentum", "nesterov"):
        cls, kw = "SGD", {"lr": full["lr"], "momentum": full["momentum"], "nesterov": full["nesterov"]}
    elif optimizer == "rmsprop":
        cls, kw = "RMSprop", {"lr": full["lr"], "alpha": full["alpha"], "eps": full["eps"]}
    elif optimizer == "adam":
        cls, kw = "Adam", {"lr": full["lr"], "betas": (full["beta1"], full["beta2"]), "eps": full["eps"]}
    elif optimizer == "nadam":
        cls, kw = "NAdam", {"lr": full["lr"], "betas": (full["beta1"], full["beta2"]), "eps": full["eps"],
                            "momentum_decay": full["momentum_decay"]}
    else:
        raise SystemExit(f"no torch counterpart wired for {optimizer}")
    return {"R": R, "steps": steps, "bounds": list(get_surface(surface).bounds), "loss": TORCH_LOSSES[surface],
            "torch_class": cls, "kwargs": kw, "timed_steps": TORCH_STEPS}


TORCH_THREADS = (1, 2)
TORCH_STEPS: int | None = None
"""Time torch over this many steps and scale to ``--max-steps`` (its loop does the same work every step)."""


def run_torch(torch_python: str, jobs: list[dict]) -> tuple[list[float], str]:
    """Best of 1 and 2 torch threads (:data:`TORCH_THREADS`) for each job (OMP_WAIT_POLICY=PASSIVE): the
    times and torch's version."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    best: list[float] | None = None
    version = "?"
    for threads in TORCH_THREADS:
        out = subprocess.run([torch_python, "-c", TORCH_SCRIPT, json.dumps(jobs), str(threads)], env=env,
                             capture_output=True, text=True, check=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        version = info["version"]
        best = info["times"] if best is None else [min(a, b) for a, b in zip(best, info["times"])]
    assert best is not None
    return best, version


WARM_UP = True


def cli_time(args: list[str], repeats: int, tmp: str) -> float:
    """Median wall time of ``landscape-gui basins ARGS -o PREFIX`` in fresh processes (one untimed run
    first, unless :data:`WARM_UP` is off because the kernel cache is known to be warm)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = ROOT
    argv = [sys.executable, "-m", "landscape_gui", "basins", *args, "-o", os.path.join(tmp, "b")]
    times = []
    first = 0 if WARM_UP else 1
    for k in range(first, repeats + 1):
        t0 = time.perf_counter()
        out = subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: {out.stderr}")
        if k:
            times.append(dt)
    return statistics.median(times)


def numpy_baseline(starts: np.ndarray, steps: int, lr: float) -> np.ndarray:
    """Plain batched Adam on Himmelblau, whole array every step, no stop rules, no compaction."""
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-python", help="python with torch (e.g. /work/venv-ref/bin/python)")
    ap.add_argument("--suite", action="store_true", help="every catalogue surface × 5 optimizers")
    ap.add_argument("--hero", action="store_true", help="Himmelblau/Adam lr 0.05 at 512²")
    ap.add_argument("--formula", action="store_true", help="Himmelblau typed as a formula vs the catalogue's")
    ap.add_argument("--engine", action="store_true", help="numpy engine vs a plain batched numpy loop")
    ap.add_argument("--lessons", action="store_true", help="schedule and noise: compiled vs the numpy engine")
    ap.add_argument("--surfaces", help="comma-separated subset of the suite's surfaces")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-threads", default="1,2",
                    help="torch thread counts to try, the best counts (default 1,2; '1' halves torch's share "
                         "of a long suite on a machine too loaded for two threads to help)")
    ap.add_argument("--torch-batch", action="store_true",
                    help="time all of the suite's torch loops in one process per thread count, before and after "
                         "ours (the best of both per case), instead of one process per case next to ours (saves "
                         "the torch import per case)")
    ap.add_argument("--no-warm-up", action="store_true",
                    help="time every run of ours, without an untimed first one (the kernel cache is warm)")
    ap.add_argument("--torch-steps", type=int,
                    help="time torch over this many steps and scale to --max-steps (its loop does the same work "
                         "at every step: no run stops early); default: all of them")
    a = ap.parse_args()
    global TORCH_THREADS, WARM_UP, TORCH_STEPS
    TORCH_THREADS = tuple(int(t) for t in a.torch_threads.split(","))
    WARM_UP = not a.no_warm_up
    TORCH_STEPS = a.torch_steps
    if not (a.suite or a.hero or a.formula or a.engine or a.lessons):
        a.suite = a.hero = a.formula = a.engine = a.lessons = True
    print(f"cpus {os.cpu_count()}; load average at start {os.getloadavg()[0]:.1f}; max {a.max_steps} steps; "
          f"torch threads {','.join(map(str, TORCH_THREADS))}; {a.repeats} timed run(s) of ours per case"
          f"{'' if WARM_UP else ', no warm-up run'}"
          f"{f'; torch timed over {TORCH_STEPS} steps, scaled' if TORCH_STEPS else ''}")

    with tempfile.TemporaryDirectory() as tmp:
        if a.suite:
            names = a.surfaces.split(",") if a.surfaces else [n for n in surface_names() if n in TORCH_LOSSES]
            print(f"\nbasins CLI at {a.resolution}², default hyperparameters, vs torch (loop only, best of "
                  f"{' and '.join(map(str, TORCH_THREADS))} thread(s))")
            print(f"{'surface':18}{'optimizer':10}{'ours s':>9}{'torch s':>9}{'ratio':>8}", flush=True)
            ratios = []
            cases = [(name, opt) for name in names for opt in OPTIMIZERS]
            jobs = [torch_job(n, o, {}, a.resolution, a.max_steps) for n, o in cases]
            if a.torch_python and a.torch_batch:
                # All of torch's loops in one process per thread count (importing torch costs seconds on a
                # loaded machine), once before ours and once after, the best of both for each case: the
                # load may change during the suite, and this way it never favours us.
                before, _ = run_torch(a.torch_python, jobs)
                ours = []
                for name, opt in cases:
                    ours.append(cli_time(["--surface", name, "--optimizer", opt, "--resolution", str(a.resolution),
                                          "--max-steps", str(a.max_steps)], a.repeats, tmp))
                    print(f"{name:18}{opt:10}{ours[-1]:9.3f}  load {os.getloadavg()[0]:.1f}", flush=True)
                after, _ = run_torch(a.torch_python, jobs)
                print(f"\n{'surface':18}{'optimizer':10}{'ours s':>9}{'torch s':>9}{'ratio':>8}")
                for (name, opt), t, t1, t2 in zip(cases, ours, before, after):
                    tt = min(t1, t2)
                    ratios.append(t / tt)
                    print(f"{name:18}{opt:10}{t:9.3f}{tt:9.3f}{t / tt:8.3f}", flush=True)
            else:
                for (name, opt), job in zip(cases, jobs):
                    t = cli_time(["--surface", name, "--optimizer", opt, "--resolution", str(a.resolution),
                                  "--max-steps", str(a.max_steps)], a.repeats, tmp)
                    tt = float("nan")
                    if a.torch_python:
                        (tt,), _ = run_torch(a.torch_python, [job])
                        ratios.append(t / tt)
                    print(f"{name:18}{opt:10}{t:9.3f}{tt:9.3f}{t / tt:8.3f}  load {os.getloadavg()[0]:.1f}", flush=True)
            if ratios:
                print(f"ratio: median {statistics.median(ratios):.3f}, worst {max(ratios):.3f} (target ≤ 0.1 each)")

        if a.hero:
            t = cli_time(["--surface", "himmelblau", "--optimizer", "adam", "--set", "lr=0.05", "--resolution",
                          "512", "--max-steps", str(a.max_steps)], a.repeats, tmp)
            line = f"\nHimmelblau/Adam lr 0.05 at 512²: ours {t:.3f} s"
            if a.torch_python:
                (tt,), version = run_torch(a.torch_python, [torch_job("himmelblau", "adam", {"lr": 0.05}, 512,
                                                                      a.max_steps)])
                line += f", torch {version} {tt:.3f} s, ratio {t / tt:.3f} (target ≤ 0.05)"
            print(line, flush=True)

        if a.formula:
            formula = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
            common = ["--optimizer", "adam", "--set", "lr=0.05", "--resolution", "512", "--max-steps",
                      str(a.max_steps), "--bounds=-5,5,-5,5"]
            tc = cli_time(["--surface", "himmelblau", *common], a.repeats, tmp)
            tf = cli_time(["--formula", formula, *common], a.repeats, tmp)
            print(f"\nHimmelblau at 512², Adam: catalogue {tc:.3f} s, typed formula {tf:.3f} s, "
                  f"ratio {tf / tc:.2f} (target ≤ 1.5)")

    if a.engine:
        surface = get_surface("himmelblau")
        xs, ys = cell_centres(surface.bounds, a.resolution)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        starts = np.column_stack([gx.ravel(), gy.ravel()])
        te, tb = [], []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            engine.run(surface, "adam", starts, {"lr": 0.05}, max_steps=a.max_steps, record=False)
            te.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            numpy_baseline(starts, a.max_steps, 0.05)
            tb.append(time.perf_counter() - t0)
        e, b = statistics.median(te), statistics.median(tb)
        print(f"\nnumpy engine at {len(starts)} starts (Himmelblau/Adam lr 0.05): engine.run(record=False) {e:.3f} s, "
              f"plain batched numpy {b:.3f} s, ratio {e / b:.2f} (target ≤ 0.5)")

    if a.lessons:
        lessons(a.resolution, a.max_steps, a.repeats)


def lessons(resolution: int, max_steps: int, repeats: int) -> None:
    """Schedules and noise: the compiled path against the numpy engine, same starts, same run."""
    from landscape_gui.core.basins import basin_map, end_points
    from landscape_gui.core.minima import MinimaTable
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.schedules import make_schedule

    surface = get_surface("himmelblau")
    opt = get_optimizer("adam")
    hp = opt.resolve({"lr": 0.05})
    xs, ys = cell_centres(surface.bounds, resolution)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    cases = [("plain", {}), ("cosine schedule", {"schedule": make_schedule("cosine")}),
             ("onecycle schedule", {"schedule": make_schedule("onecycle")}),
             ("noise 0.5", {"noise": GradientNoise(0.5, 1)}),
             ("noise 0.5 + cosine", {"noise": GradientNoise(0.5, 1), "schedule": make_schedule("cosine")})]
    print(f"\nHimmelblau/Adam lr 0.05, {resolution}² starts, {max_steps} steps: compiled vs numpy engine "
          f"(medians of {repeats})")
    print(f"{'case':22}{'what':12}{'compiled s':>11}{'engine s':>10}{'ratio':>8}  same", flush=True)
    for label, kw in cases:
        for k in (True, False):  # compile (or load) the kernels, untimed
            end_points(surface, opt, hp, starts[:64], surface.bounds, 5, 1e-6, fused=k, **kw)
        ends = {}
        times = {}
        for fused in (True, False):
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                ends[fused] = end_points(surface, opt, hp, starts, surface.bounds, max_steps, 1e-6, fused=fused, **kw)
                ts.append(time.perf_counter() - t0)
            times[fused] = statistics.median(ts)
        assert ends[True][2] and not ends[False][2]
        same = np.array_equal(ends[True][0], ends[False][0]) and np.array_equal(ends[True][1], ends[False][1])
        print(f"{label:22}{'end points':12}{times[True]:11.3f}{times[False]:10.3f}"
              f"{times[True] / times[False]:8.3f}  {'yes' if same else 'NO'}", flush=True)
        maps = {}
        for fused in (True, False):
            ts = []
            for _ in range(max(1, repeats - 1)):
                t0 = time.perf_counter()
                maps[fused] = basin_map(surface, opt, hp, resolution=resolution, max_steps=max_steps,
                                        table=MinimaTable(surface), fused=fused, **kw)
                ts.append(time.perf_counter() - t0)
            times[fused] = statistics.median(ts)
        same = np.array_equal(maps[True].labels, maps[False].labels)
        print(f"{'':22}{'basin map':12}{times[True]:11.3f}{times[False]:10.3f}"
              f"{times[True] / times[False]:8.3f}  {'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
