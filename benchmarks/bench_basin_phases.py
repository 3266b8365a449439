"""Where a basin map's time goes after the compiled kernel: labelling the end points and writing the
three files, phase by phase, in one process per measurement.

For each case a fresh child process imports the package (timed), computes the end points (the
kernel, timed), labels them (``MinimaTable.assign``, timed) and writes ``.npy``/``.csv``/``.png``
with ``write_basin_outputs`` (timed, the first call in the process: Pillow's import included, as in
the ``basins`` command). Each phase is reported as the median over ``--repeats`` processes of its wall
time and of the process's CPU time in it (all threads; far less disturbed by other programs on a
busy machine than the wall time). ``--baseline-root DIR`` runs the same children from another
checkout (say, the main branch), interleaved round by round, for before/after ratios under one load.

    python benchmarks/bench_basin_phases.py [--repeats 5] [--baseline-root /path/to/other/checkout]
        [--cases himmelblau:adam:512:lr=0.05,rosenbrock:rmsprop:256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULT_CASES = (
    "himmelblau:adam:512:lr=0.05",  # the 512² map
    "rosenbrock:rmsprop:256",  # every run stops at max_steps in the valley: all refined
    "easom:sgd:256",  # a plain of ~17,000 degenerate critical points: a long CSV and legend
    "griewank:sgd:256",  # max_steps runs in shallow bowls
    "levy13:sgd:256",
)

CHILD = r"""
import json, sys, time
T, C = time.perf_counter, time.process_time
surface_name, optimizer, R, sets, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
t0, c0 = T(), C()
import numpy as np
from landscape_gui.basin_image import render_basin_png
from landscape_gui.core.basins import BasinMap, cell_centres, end_points, write_basin_outputs
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface
t1, c1 = T(), C()
surface, opt = get_surface(surface_name), get_optimizer(optimizer)
hp = opt.resolve({k: float(v) for k, v in (kv.split("=") for kv in sets.split(";") if kv)})
b = surface.bounds
xs, ys = cell_centres(b, R)
gx, gy = np.meshgrid(xs, ys, indexing="ij")
starts = np.column_stack([gx.ravel(), gy.ravel()])
t2, c2 = T(), C()
final, codes, fused = end_points(surface, opt, hp, starts, b, 1000, 1e-6, fused="auto")
t3, c3 = T(), C()
table = MinimaTable(surface, b)
labels = table.assign(final, codes, 1e-6).astype(np.int32).reshape(R, R)
t4, c4 = T(), C()
bmap = BasinMap(labels, np.asarray(codes, dtype=np.int8).reshape(R, R), table, xs, ys, b, surface.name, opt.name,
                dict(hp), 1000, 1e-6, fused)
write_basin_outputs(prefix, bmap, surface, render_png=render_basin_png)
t5, c5 = T(), C()
print(json.dumps({"imports": [t1 - t0, c1 - c0], "kernel": [t3 - t2, c3 - c2], "label": [t4 - t3, c4 - c3],
                  "write": [t5 - t4, c5 - c4], "fused": fused}))
"""

PHASES = ("imports", "kernel", "label", "write")


def run_child(root: str, case: str, prefix: str) -> dict:
    name, opt, R, *rest = case.split(":")
    sets = rest[0].replace(",", ";") if rest else ""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = root
    out = subprocess.run([sys.executable, "-c", CHILD, name, opt, R, sets, prefix], env=env, cwd=root,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{case} in {root} failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-root", metavar="DIR", help="another checkout whose children run in the same rounds")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES),
                    help="comma-separated SURFACE:OPTIMIZER:RESOLUTION[:name=value] cases")
    a = ap.parse_args()
    roots = {"this": ROOT}
    if a.baseline_root:
        roots["baseline"] = os.path.abspath(a.baseline_root)
    cases = [c for c in a.cases.split(",") if c]
    print(f"{a.repeats} processes per case and checkout, interleaved; load average at start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            results: dict[str, list[dict]] = {k: [] for k in roots}
            for k in roots:  # untimed first runs: byte-code and the kernels' disk cache warm
                run_child(roots[k], case, os.path.join(tmp, k))
            for r in range(a.repeats):
                for k in (list(roots) if r % 2 == 0 else list(roots)[::-1]):
                    results[k].append(run_child(roots[k], case, os.path.join(tmp, k)))
            print(f"\n{case}  (medians, wall s / cpu s; load {os.getloadavg()[0]:.1f})")
            med = {k: {ph: [statistics.median(r[ph][i] for r in results[k]) for i in (0, 1)] for ph in PHASES}
                   for k in roots}
            for ph in PHASES:
                line = f"  {ph:8}" + "".join(f"  {k}: {med[k][ph][0]:6.3f} / {med[k][ph][1]:6.3f}" for k in roots)
                if "baseline" in roots:
                    b_cpu = med["baseline"][ph][1]
                    line += f"   cpu ratio {med['this'][ph][1] / b_cpu:5.2f}" if b_cpu > 0 else ""
                print(line, flush=True)


if __name__ == "__main__":
    main()
