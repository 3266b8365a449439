"""Command-line start-up: ``--version``, ``list`` and the fixed cost of a ``basins`` map, against
``python -c "import numpy"`` measured in the same run.

Each command runs in a fresh process, the contenders interleaved round by round so that a burst of
load on a shared machine hits them alike; figures are medians of the wall time (what a user waits)
and, beside it, of the process's CPU time (user + system, far less disturbed by other programs on a
busy machine). Byte-code is compiled first (as ``pip install`` does) and written caches are used, as
after a first run: the compiled kernels' disk cache and the installed-plugin list are warm, and
``PYTHONDONTWRITEBYTECODE`` is dropped for the children.

The issue's targets: ``--version`` and ``list`` at most 1.2× the numpy import; a resolution-2 basin map
(the fixed cost: start-up, imports, the run, labels and the three files) at most 0.3 s.

``--baseline-root DIR`` also runs every command from another checkout (say, the main branch before
a change) in the same rounds, for before/after ratios measured under the same load.

    python benchmarks/bench_cli.py [--repeats 15] [--baseline-root /path/to/other/checkout]
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
NUMPY = 'python -c "import numpy"'


def _run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime


def _commands(py: str, tmp: str) -> dict[str, list[str]]:
    cli = [py, "-m", "landscape_gui"]
    return {
        "landscape-gui --version": cli + ["--version"],
        "landscape-gui list surfaces": cli + ["list", "surfaces"],
        "landscape-gui list optimizers": cli + ["list", "optimizers"],
        "landscape-gui list schedules": cli + ["list", "schedules"],
        "basins himmelblau adam R=2": cli + ["basins", "--surface", "himmelblau", "--optimizer", "adam",
                                             "--resolution", "2", "-o", os.path.join(tmp, "b")],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--baseline-root", metavar="DIR", help="another checkout whose commands run in the same rounds")
    a = ap.parse_args()
    roots = {"": ROOT}
    if a.baseline_root:
        roots["baseline: "] = os.path.abspath(a.baseline_root)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cases: dict[str, tuple[list[str], dict[str, str]]] = {NUMPY: ([py, "-c", "import numpy"], env)}
        for prefix, root in roots.items():
            compileall.compile_dir(os.path.join(root, "landscape_gui"), quiet=1)
            root_env = dict(env, PYTHONPATH=root)
            for label, argv in _commands(py, tmp).items():
                cases[prefix + label] = (argv, root_env)
        for argv, case_env in cases.values():  # warm the file cache, byte-code, kernel and plugin caches
            _run(argv, case_env, tmp)
        wall: dict[str, list[float]] = {k: [] for k in cases}
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(a.repeats):
            for label, (argv, case_env) in cases.items():
                w, c = _run(argv, case_env, tmp)
                wall[label].append(w)
                cpu[label].append(c)
    base_w, base_c = statistics.median(wall[NUMPY]), statistics.median(cpu[NUMPY])
    print(f"{a.repeats} rounds, interleaved; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':44}{'wall s':>8}{'× numpy':>9}{'cpu s':>9}{'× numpy':>9}")
    for label in cases:
        w, c = statistics.median(wall[label]), statistics.median(cpu[label])
        print(f"{label:44}{w:8.3f}{w / base_w:9.2f}{c:9.3f}{c / base_c:9.2f}")


if __name__ == "__main__":
    main()
