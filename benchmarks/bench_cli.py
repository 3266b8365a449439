"""Command-line start-up: ``--version``, ``list`` and the fixed cost of a ``basins`` map, against
``python -c "import numpy"`` measured in the same run.

Each command runs in a fresh process, the contenders interleaved round by round so that a burst of
load on a shared machine hits them alike; figures are medians. Byte-code is compiled first (as
``pip install`` does) and written caches are used, as after a first run: the compiled kernels' disk
cache is warm, and ``PYTHONDONTWRITEBYTECODE`` is dropped for the children.

The issue's targets: ``--version`` and ``list`` at most 1.2× the numpy import; a resolution-2 basin map
(the fixed cost: start-up, imports, the run, labels and the three files) at most 0.3 s.

    python benchmarks/bench_cli.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {out.stderr.decode()}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    compileall.compile_dir(os.path.join(ROOT, "landscape_gui"), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = ROOT
    py = sys.executable
    cli = [py, "-m", "landscape_gui"]
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            'python -c "import numpy"': [py, "-c", "import numpy"],
            "landscape-gui --version": cli + ["--version"],
            "landscape-gui list surfaces": cli + ["list", "surfaces"],
            "landscape-gui list optimizers": cli + ["list", "optimizers"],
            "basins himmelblau adam R=2": cli + ["basins", "--surface", "himmelblau", "--optimizer", "adam",
                                                 "--resolution", "2", "-o", os.path.join(tmp, "b")],
        }
        for argv in cases.values():  # warm the file cache, byte-code and kernel caches
            _run(argv, env, tmp)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(a.repeats):
            for label, argv in cases.items():
                times[label].append(_run(argv, env, tmp))
    base = statistics.median(times['python -c "import numpy"'])
    print(f"{a.repeats} rounds, interleaved; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':34}{'median s':>10}{'× numpy import':>16}")
    for label, ts in times.items():
        m = statistics.median(ts)
        print(f"{label:34}{m:10.3f}{m / base:16.2f}")


if __name__ == "__main__":
    main()
