"""Benchmark: a sweep's throughput on 1 and 2 local Dask workers against one process computing the same
cells in a loop, in the same run.

Workloads (``--workload``), each a grid of cells, every cell an R×R basin map:

- ``fused``: himmelblau, Adam, lr over 8 log-spaced values × beta1 ∈ {0.8, 0.9}: the compiled
  (numba) kernel, the common case;
- ``numpy``: two wells and a saddle, SGD with momentum, lr × momentum: the batched numpy engine
  (surfaces and optimizers without a compiled kernel).

Contenders, same cells, same results (checked):

- loop: ``basin_map(...)`` for each cell in this process, one after another (numba's kernels use every
  core, as in the window and ``landscape-gui basins``);
- sweep, N workers: ``run_sweep`` on a ``LocalCluster`` of N single-threaded worker processes (each with
  cores / N numba threads), the cluster started and warmed (one small sweep) beforehand, the shards'
  end points labelled in this process as cells complete; with ``--output`` also writing the folder
  (shard files, labels, CSVs; no PNG) as the command line does.

Prints medians over ``--repeats`` (the machine is shared and noisy) of the wall time, the throughput
in million starts per second and each sweep's ratio to the loop, and of the CPU time of every process
involved (this one and the workers): on a loaded machine the wall time mostly measures how much of the
cores the other jobs left, the CPU time what the sweep itself costs. Also the time to start a cluster,
which a one-off ``landscape-gui sweep`` pays on top.

    python benchmarks/bench_sweep.py [--workload fused|numpy|both] [--resolution 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from timing import median_time  # noqa: E402

from landscape_gui.core.basins import basin_map  # noqa: E402
from landscape_gui.core.surfaces import surface_from_spec  # noqa: E402
from landscape_gui.core.sweep import default_workers, local_cluster, make_spec, run_sweep  # noqa: E402

WORKLOADS = {
    "fused": dict(surface="himmelblau", optimizer="adam",
                  vary={"lr": np.geomspace(0.01, 0.5, 8), "beta1": [0.8, 0.9]}, max_steps=1000),
    "numpy": dict(surface="saddle", optimizer="momentum",
                  vary={"lr": np.geomspace(0.01, 0.3, 4), "momentum": [0.0, 0.5, 0.9]}, max_steps=500),
}


def loop(spec) -> list:
    surface = surface_from_spec(spec.surface)
    return [basin_map(surface, spec.optimizer, spec.cell_hyperparameters(c), spec.bounds, spec.resolution,
                      spec.max_steps, spec.tol) for c in range(spec.n_cells)]


def bench(name: str, resolution: int, repeats: int, output: bool) -> None:
    from distributed import Client

    w = WORKLOADS[name]
    spec = make_spec(w["surface"], w["optimizer"], w["vary"], resolution=resolution, max_steps=w["max_steps"])
    starts = spec.n_cells * spec.starts_per_cell
    print(f"\n== {name}: {spec.describe()}, ≤ {spec.max_steps} steps; {spec.n_cells} cells, "
          f"{spec.n_shards} shards of {spec.shard_size} starts")
    small = make_spec(w["surface"], w["optimizer"], {k: list(v)[:1] for k, v in w["vary"].items()}, resolution=16,
                      max_steps=20)
    loop(small)  # compile / import in this process too
    clients = {}
    for n in (1, 2):
        t0 = time.perf_counter()
        cluster = local_cluster(n)
        client = Client(cluster, set_as_default=False)
        run_sweep(small, client=client)  # warm: workers import the package, load the compiled kernels
        clients[n] = (cluster, client, time.perf_counter() - t0)

    def write(client) -> None:
        folder = tempfile.mkdtemp()
        try:
            run_sweep(spec, client=client, output=os.path.join(folder, "s"))
        finally:
            shutil.rmtree(folder)

    def worker_cpu(client) -> float:
        return sum(client.run(_process_cpu).values())

    def measure(fn, client=None) -> tuple[float, float]:
        """(wall seconds, CPU seconds of every process involved: this one and the workers)."""
        c0 = time.process_time() + (worker_cpu(client) if client is not None else 0.0)
        t0 = time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        c1 = time.process_time() + (worker_cpu(client) if client is not None else 0.0)
        return wall, c1 - c0

    # Interleaved: every repeat times each contender once, so a change in the machine's load hits all.
    contenders = [("loop, 1 process", lambda: loop(spec), None)]
    for n in (1, 2):
        client = clients[n][1]
        label = f"sweep, {n} worker{'s' if n > 1 else ''}"
        contenders.append((label, lambda c=client: run_sweep(spec, client=c), client))
        if output:
            contenders.append((label + ", -o DIR", lambda c=client: write(c), client))
    times: dict[str, list[tuple[float, float]]] = {k: [] for k, _, _ in contenders}
    try:
        maps = loop(spec)
        for n in (1, 2):
            r = run_sweep(spec, client=clients[n][1])
            for c, m in enumerate(maps):
                assert np.array_equal(m.rebased(r.table).labels, r.labels[c]), f"cell {c} differs from the loop"
        for _ in range(repeats):
            for label, fn, client in contenders:
                times[label].append(measure(fn, client))
    finally:
        for cluster, client, _ in reversed(list(clients.values())):
            client.close()
            cluster.close()
    t_loop = statistics.median(t for t, _ in times["loop, 1 process"])
    c_loop = statistics.median(c for _, c in times["loop, 1 process"])
    print(f"{'':<26} {'wall':>7}   {'starts/s':>12}   {'wall vs loop':>12}   {'CPU':>7}   {'CPU vs loop':>11}")
    for label, ts in times.items():
        t = statistics.median(w for w, _ in ts)
        c = statistics.median(cpu for _, cpu in ts)
        extra = ""
        if label.endswith(("worker", "workers")):
            n = int(label.split()[1])
            extra = f"   (cluster start + warm-up {clients[n][2]:.1f} s)"
        print(f"{label:<26} {t:6.2f} s   {starts / t / 1e6:6.3f} M/s   {t_loop / t:10.2f}×   {c:6.2f} s   "
              f"{c / c_loop:10.2f}×{extra}")


def _process_cpu() -> float:
    """CPU seconds (user + system, all threads) of the calling process: run on each worker."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", choices=["fused", "numpy", "both"], default="both")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-output", action="store_true", help="skip the runs that write an output folder")
    args = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores ({default_workers()} usable), load average {load}; "
          f"medians of {args.repeats}")
    for name in (["fused", "numpy"] if args.workload == "both" else [args.workload]):
        bench(name, args.resolution, args.repeats, not args.no_output)


if __name__ == "__main__":
    main()
