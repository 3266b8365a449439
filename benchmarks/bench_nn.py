"""Network slices: the loss on a 101×101 grid of a plane through an MLP's weights, against torch.

Two cases from the issue, each against a torch baseline in the same run:

- 2-16-16-1 (tanh, sigmoid output, binary cross-entropy) on 500 points (two moons): ours
  (:meth:`NetSurface.grid`, batched, chunks on threads, BLAS single-threaded inside) against a torch
  batched evaluation (``torch.func.vmap`` of the loss of one weight vector over all grid points).
  Targets: ≤ 0.5 s and ≤ 0.5× torch.
- 2-64-64-1 on 2,000 points: ours against torch's per-point loop (one forward pass per grid point,
  what a user writes first). Target: ≤ 0.5× torch at any load; ours is also timed with one thread.

The torch side runs in ``--torch-python`` (a subprocess given the same weights, directions and data;
the better median of 1 and 2 torch threads, ``OMP_WAIT_POLICY=PASSIVE``, timed after imports). Every
round runs each variant once (ours, ours on one thread, torch on 1 and on 2 threads), so a change in
the machine's load hits all of them alike; medians over the rounds.
Ours is also given as processor time (all threads), which shows the work done whatever else runs
on the machine, and on one thread. ``--stress N`` runs ``stress-ng --cpu N`` beside the whole measurement (torch's
included) to measure under a known load.

    python benchmarks/bench_nn.py --torch-python /work/venv-ref/bin/python [--repeats 3] [--resolution 101] [--stress 4]
    python benchmarks/bench_nn.py --basins 64     # compiled basin maps of network surfaces (softmax, 105 weights)
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from landscape_gui.core import threads  # noqa: E402
from landscape_gui.core.nn.slices import nn_surface_from_spec  # noqa: E402

TORCH_SCRIPT = r"""
import json, sys, time, numpy as np, torch
data = np.load(sys.argv[1])
mode, repeats = sys.argv[2], int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]))
sizes = [int(s) for s in data["sizes"]]
X = torch.tensor(data["X"]); t = torch.tensor(data["t"])
w0, dw, pts = torch.tensor(data["w0"]), torch.tensor(data["dw"]), torch.tensor(data["pts"])

def loss_of(w):
    h, at = X, 0
    for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = w[at:at + i * o].reshape(i, o); at += i * o
        b = w[at:at + o]; at += o
        z = h @ W + b
        h = torch.tanh(z) if l < len(sizes) - 2 else torch.sigmoid(z)
    p = torch.clamp(h, 1e-7, 1 - 1e-7)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()

def evaluate(pts):
    with torch.no_grad():
        if mode == "vmap":  # the weights of every grid point: w0 + a d1 + b d2
            theta = w0 + pts[:, 0:1] * dw[0] + pts[:, 1:2] * dw[1]
            return torch.func.vmap(loss_of, chunk_size=1024)(theta)
        return torch.stack([loss_of(w0 + a * dw[0] + b * dw[1]) for a, b in pts.tolist()])

evaluate(pts[:64])  # warm-up, untimed
times, cpus = [], []
for _ in range(repeats):
    t0, c0 = time.perf_counter(), time.process_time()
    evaluate(pts)
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
print(json.dumps({"times": times, "cpus": cpus, "version": torch.__version__, "threads": torch.get_num_threads()}))
"""


class TorchRunner:
    """The torch baseline of one surface: the same weights, directions, data and grid, saved once for
    the subprocess; :meth:`once` times one evaluation with 1 or 2 torch threads."""

    def __init__(self, torch_python: str, surface, R: int, mode: str, tmp: str) -> None:
        xs = np.linspace(*surface.bounds[:2], R)
        ys = np.linspace(*surface.bounds[2:], R)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        t = surface.targets.reshape(len(surface.dataset.X), -1)
        self.path = os.path.join(tmp, "slice.npz")
        np.savez(self.path, X=surface.dataset.X, t=t, w0=surface._w0, dw=surface._dw, pts=pts,
                 sizes=np.array(surface.net.sizes))
        self.python, self.mode, self.version = torch_python, mode, "?"

    def once(self, n_threads: int) -> tuple[float, float]:
        """Wall and processor time of one evaluation (timed inside the subprocess, after imports)."""
        out = subprocess.run([self.python, "-c", TORCH_SCRIPT, self.path, self.mode, "1", str(n_threads)],
                             env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"), capture_output=True, text=True,
                             check=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        self.version = info["version"]
        return info["times"][0], info["cpus"][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-python", help="python with torch (e.g. /work/venv-ref/bin/python)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--resolution", type=int, default=101)
    ap.add_argument("--basins", type=int, default=0, metavar="R",
                    help="instead: R×R basin maps (Adam) of small network surfaces, compiled against the engine")
    ap.add_argument("--case", choices=("both", "16", "64"), default="both",
                    help="which network: 2-16-16-1 (16), 2-64-64-1 (64) or both")
    ap.add_argument("--stress", type=int, default=0, metavar="N",
                    help="run `stress-ng --cpu N` beside the measurement (0: none)")
    a = ap.parse_args()
    stress = None
    if a.stress > 0:
        stress = subprocess.Popen(["stress-ng", "--cpu", str(a.stress), "--timeout", "3600"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.0)  # let its workers start
    try:
        if a.basins:
            measure_basins(a.basins)
        else:
            measure(a)
    finally:
        if stress is not None:
            stress.terminate()
            stress.wait(timeout=30)


def cpu_and_wall(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median processor time (all threads) of ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


BASIN_CASES = (
    ("nn_sine_tanh_mse", "nn_sine_tanh_mse"),
    ("nn_moons_logistic_bce", "nn_moons_logistic_bce"),
    ("nn_blobs_rotation_cce (softmax)", "nn_blobs_rotation_cce"),
    ("2-8-8-1 tanh MLP, 105 weights, 100 moons", "nn:dataset=moons;n=100;model=mlp;hidden=8,8;loss=bce;centre=initial"),
)
"""Network surfaces of the ``--basins`` measurement: (what, catalogue name or spec)."""


def measure_basins(R: int) -> None:
    """Basin maps of network surfaces on the compiled kernel against the numpy engine (the kernel is
    compiled or loaded from the cache first, outside the timing): the whole map, and the runs alone
    (:func:`~landscape_gui.core.basins.end_points`, without the labelling both paths share)."""
    from landscape_gui.core.basins import basin_map, cell_centres, end_points
    from landscape_gui.core.optimizers import get_optimizer
    from landscape_gui.core.surfaces import get_surface

    print(f"cpus {os.cpu_count()}, usable {threads.usable_cpus()}; load average {os.getloadavg()[0]:.1f}")
    adam = get_optimizer("adam")
    hp = adam.resolve({"lr": 0.05})
    for what, name in BASIN_CASES:
        s = nn_surface_from_spec(name) if name.startswith("nn:") else get_surface(name)
        xs, ys = cell_centres(s.bounds, R)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        starts = np.column_stack([gx.ravel(), gy.ravel()])
        basin_map(s, "adam", {"lr": 0.05}, resolution=4, max_steps=10, fused=True)
        runs = {}
        for fused in (True, False):
            runs[fused] = cpu_and_wall(lambda f=fused, s=s, p=starts: end_points(s, adam, hp, p, s.bounds, 300, 1e-6, fused=f),
                                       1)
        fast_t, fast_cpu = cpu_and_wall(lambda s=s: basin_map(s, "adam", {"lr": 0.05}, resolution=R, max_steps=300,
                                                              fused=True), 1)
        slow_t, slow_cpu = cpu_and_wall(lambda s=s: basin_map(s, "adam", {"lr": 0.05}, resolution=R, max_steps=300,
                                                              fused=False), 1)
        print(f"{what} (Q = {s.net.n_weights}) {R}×{R}, Adam lr 0.05, ≤ 300 steps:\n"
              f"  runs alone: compiled {runs[True][0]:.2f} s (processor {runs[True][1]:.2f} s), engine "
              f"{runs[False][0]:.2f} s (processor {runs[False][1]:.2f} s); ratio {runs[True][0] / runs[False][0]:.3f}\n"
              f"  whole map:  compiled {fast_t:.2f} s (processor {fast_cpu:.2f} s), "
              f"engine {slow_t:.2f} s (processor {slow_cpu:.2f} s); ratio {fast_t / slow_t:.3f}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)


def measure(a: argparse.Namespace) -> None:
    R = a.resolution
    print(f"cpus {os.cpu_count()}, usable {threads.usable_cpus()}; load average {os.getloadavg()[0]:.1f}")
    for hidden, n, mode, target in (("16,16", 500, "vmap", "≤ 0.5 s and ≤ 0.5× torch vmap"),
                                    ("64,64", 2000, "loop", "≤ 0.5× torch's per-point loop")):
        if a.case != "both" and not hidden.startswith(a.case):
            continue
        spec = f"nn:dataset=moons;n={n};model=mlp;hidden={hidden};activation=tanh;loss=bce;centre=trained"
        t0 = time.perf_counter()
        s = nn_surface_from_spec(spec)
        build = time.perf_counter() - t0
        walls: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}

        def timed(key: str, fn) -> None:
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            walls.setdefault(key, []).append(time.perf_counter() - t0)
            cpus.setdefault(key, []).append(time.process_time() - c0)

        def record(key: str, wall_cpu: tuple[float, float]) -> None:
            walls.setdefault(key, []).append(wall_cpu[0])
            cpus.setdefault(key, []).append(wall_cpu[1])

        with tempfile.TemporaryDirectory() as tmp:
            runner = TorchRunner(a.torch_python, s, R, mode, tmp) if a.torch_python else None
            real = threads.usable_cpus
            try:
                for _ in range(a.repeats):  # every variant once per round: a change of load hits all alike
                    threads.usable_cpus = real
                    timed("ours", lambda: s.grid(resolution=R))
                    threads.usable_cpus = lambda: 1
                    timed("one", lambda: s.grid(resolution=R))
                    threads.usable_cpus = real
                    if runner is not None:
                        for k in (1, 2):
                            record(f"torch{k}", runner.once(k))
            finally:
                threads.usable_cpus = real
        med = {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in walls}
        (ours, ours_cpu), (one, one_cpu) = med["ours"], med["one"]
        line = (f"\n2-{hidden.replace(',', '-')}-1 on {n} points, {R}×{R} grid (built in {build:.2f} s): ours "
                f"{ours:.3f} s, processor {ours_cpu:.3f} s ({one:.3f} s, processor {one_cpu:.3f} s with one "
                f"thread)")
        if runner is not None:
            tthreads = min((1, 2), key=lambda k: med[f"torch{k}"][0])
            tt, tcpu = med[f"torch{tthreads}"]
            line += (f"; torch {runner.version} {mode} {tt:.3f} s (processor {tcpu:.3f} s, {tthreads} thread"
                     f"{'s' if tthreads > 1 else ''}; the other count {med[f'torch{3 - tthreads}'][0]:.3f} s); "
                     f"ratio {ours / tt:.3f} (target {target}), processor time ratio {ours_cpu / tcpu:.3f}")
        line += f"; medians of {a.repeats}, load average {os.getloadavg()[0]:.1f}"
        print(line)


if __name__ == "__main__":
    main()
