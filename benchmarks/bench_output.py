"""Peak memory and time of ``landscape-gui run`` writing a large CSV, as a user runs it.

Each measurement is a fresh child process (``python -m landscape_gui run ...``); its peak resident
set size comes from ``resource.getrusage(RUSAGE_CHILDREN)`` read right after it ends (the same figure
``/usr/bin/time -v`` prints as "Maximum resident set size"). The default job is the issue's
``--grid 100 --max-steps 3000`` on a landscape where no run stops early (Rosenbrock, tiny SGD steps):
10,000 runs × 3,001 rows = 30 million rows, about 3 GB of CSV.

    python benchmarks/bench_output.py                       # this checkout
    python benchmarks/bench_output.py --baseline-root ../main   # and an older checkout

The comparison with an older checkout uses ``--max-steps 500`` (5 million rows), which the old code
can still hold in memory. Also prints how long a bad ``-o`` takes to be refused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOB = ["run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=1e-5", "--grid", "100",
       "--max-steps", "3000"]


def measure(root: Path, args: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MiB, exit status, last stderr line) of one child run from ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    env.setdefault("LANDSCAPE_GUI_PLUGINS", "none")
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(dt, rss, p.returncode, (p.stderr.strip().splitlines() or [''])[-1], sep='\\t')\n"
    )
    # A wrapper process per measurement, so RUSAGE_CHILDREN holds exactly one run.
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "landscape_gui", *args], cwd=root,
                         env=env, capture_output=True, text=True, check=True)
    dt, rss, rc, last = out.stdout.rstrip("\n").split("\t", 3)
    return float(dt), int(rss) / 1024, int(rc), last


def job(max_steps: int) -> list[str]:
    return JOB[:-1] + [str(max_steps)]


def report(label: str, root: Path, args: list[str], tmp: str) -> tuple[float, float]:
    out = Path(tmp) / "out.csv"
    dt, rss, rc, last = measure(root, args + ["-o", str(out)])
    size = out.stat().st_size / 2**20 if out.exists() else 0.0
    out.unlink(missing_ok=True)
    print(f"  {label}: {dt:7.1f} s, peak RSS {rss:7.0f} MiB, exit {rc}, {size:,.0f} MiB written; {last}", flush=True)
    return dt, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-root", type=Path, help="an older checkout to compare with")
    ap.add_argument("--baseline-max-steps", type=int, default=500,
                    help="--max-steps of the comparison job (the old code holds every row in memory: 3000 "
                         "takes it past 8 GB)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"job: landscape-gui {' '.join(JOB)} -o FILE  (30 million rows)", flush=True)
        report("this checkout", ROOT, JOB, tmp)
        dt, rss, rc, last = measure(ROOT, JOB + ["-o", "/nonexistent/dir/out.csv"])
        print(f"  this checkout: bad -o refused after {dt:.2f} s (peak RSS {rss:.0f} MiB): {last}", flush=True)
        if a.baseline_root is None:
            return
        small = job(a.baseline_max_steps)
        print(f"comparison job: landscape-gui {' '.join(small)} -o FILE", flush=True)
        t1, m1 = report("this checkout", ROOT, small, tmp)
        t0, m0 = report("baseline", a.baseline_root.resolve(), small, tmp)
        print(f"ratio this/baseline: time {t1 / t0:.2f}×, peak memory {m1 / m0:.3f}×", flush=True)
        dt, rss, rc, last = measure(a.baseline_root.resolve(), small + ["-o", "/nonexistent/dir/out.csv"])
        print(f"  baseline: bad -o refused after {dt:.2f} s (peak RSS {rss:.0f} MiB): {last}", flush=True)


if __name__ == "__main__":
    main()
