"""--formula on the command line: a formula runs; a bad one exits 2 with one line naming the column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landscape_gui", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_run_with_a_formula_writes_it_in_the_surface_column(tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    p = cli("run", "--formula", "(x - 1)^2 + (y + 2)^2", "--optimizer", "sgd", "--set", "lr=0.1",
            "--start=3,3", "-o", str(out))
    assert p.returncode == 0, p.stderr
    from landscape_gui.core.export import read_csv

    (run,) = read_csv(out)
    assert run.surface == "(x - 1)^2 + (y + 2)^2"
    assert run.status == "converged"
    assert abs(run.positions[-1, 0] - 1) < 1e-5 and abs(run.positions[-1, 1] + 2) < 1e-5


def test_bad_and_hostile_formulas_exit_2_with_one_line(tmp_path: Path) -> None:
    for formula, words in [
        ("x +", "formula ends too early after '+' at column 4"),
        ("__import__('os').system('touch pwned')", "is not allowed at column 12"),
        ("9**9**9**9", "number too large"),
    ]:
        p = cli("run", "--formula", formula, "--optimizer", "sgd", "--start=1,1", "-o", str(tmp_path / "r.csv"))
        assert p.returncode == 2
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], p.stderr
    assert not (ROOT / "pwned").exists() and not (tmp_path / "r.csv").exists()
