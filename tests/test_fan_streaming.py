"""``run --fan N`` streams its noisy runs like any other ``run``: the same bytes as the fan computed
and labelled in memory (ids grouped by start, each run's own noise, every run labelled by the basin
it ended in), memory that does not grow with the rows written, and the work limit counting every
run of the fan."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import export
from landscape_gui.core.noise import GradientNoise
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.schedules import make_schedule
from landscape_gui.core.stochastic import fan, label_noisy_runs
from landscape_gui.core.streaming import write_runs_csv
from landscape_gui.core.surfaces import get_surface

ROOT = Path(__file__).resolve().parents[1]
STARTS = np.array([[1.5, 0.02], [-1.0, 1.5], [0.3, -0.4]])


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "landscape_gui", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def in_memory(surface, opt, starts, count, noise, hp, max_steps, tol=1e-6, schedule=None) -> str:
    """The fan as ``run --fan`` wrote it before it was streamed: every run computed in one batch,
    labelled together, then written."""
    runs = [r for g in fan(surface, opt, starts, count, noise, hp, bounds=surface.bounds, max_steps=max_steps,
                           tol=tol, schedule=schedule) for r in g]
    label_noisy_runs(surface, opt, runs, hp, surface.bounds, max_steps, tol)
    return export.csv_text(runs)


@pytest.mark.parametrize("name, optimizer, settings, noise, schedule", [
    ("saddle", "sgd", {}, GradientNoise(1.0, 5), None),
    ("himmelblau", "momentum", {"lr": 0.002}, GradientNoise(2.0, 3), ("step", {"step_size": 20})),
    ("himmelblau", "adam", {"lr": 0.05}, GradientNoise(0.5, 0), None),
])
def test_a_streamed_fan_gives_the_bytes_of_the_fan_in_memory(name, optimizer, settings, noise, schedule):
    s = get_surface(name)
    opt = get_optimizer(optimizer)
    hp = opt.resolve(settings)
    sched = make_schedule(*schedule) if schedule else None
    expected = in_memory(s, opt, STARTS, 5, noise, hp, 80, schedule=sched)
    buf = io.StringIO()
    # 4 runs a chunk: chunks cut through the fans of a start
    summary = write_runs_csv(buf, s, opt, STARTS, hp, bounds=s.bounds, max_steps=80, tol=1e-6, noise=noise,
                             schedule=sched, repeat=5, rows_per_chunk=4 * 81)
    assert buf.getvalue() == expected
    assert summary.runs == 15
    rows = list(csv.DictReader(io.StringIO(expected)))
    assert sorted({int(r["run"]) for r in rows}) == list(range(1, 16))
    assert all(r["minimum"] != "" for r in rows)  # every noisy run is labelled by the basin it ended in


def test_run_fan_writes_the_bytes_of_the_fan_in_memory(tmp_path):
    out = tmp_path / "fan.csv"
    res = cli("run", "--surface", "saddle", "--optimizer", "sgd", "--noise", "1", "--noise-seed", "5", "--fan", "4",
              "--start", "1.5,0.02", "--start=-1,1.5", "--max-steps", "100", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines() == [f"wrote 8 runs (8 max_steps) to {out}"]
    s, opt = get_surface("saddle"), get_optimizer("sgd")
    expected = in_memory(s, opt, STARTS[:2], 4, GradientNoise(1.0, 5), opt.resolve({}), 100)
    assert out.read_text() == expected


def test_a_streamed_fan_grows_by_a_few_numbers_per_run_not_by_its_rows():
    class Sink:
        def write(self, text: str) -> int:
            return len(text)

    s, opt = get_surface("saddle"), get_optimizer("sgd")
    hp = opt.resolve({})
    steps = 100

    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            write_runs_csv(Sink(), s, opt, STARTS, hp, bounds=s.bounds, max_steps=steps, tol=1e-6,
                           noise=GradientNoise(1.0, 5), repeat=count, rows_per_chunk=2000)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(5)  # first calls fill caches
    small, large = peak(10), peak(80)  # 30 runs, then 240
    row_bytes = (steps + 1) * 5 * 8  # a run's positions, losses and gradients
    assert (large - small) / 210 < row_bytes / 4, (small, large)


def test_the_work_limit_counts_every_run_of_a_fan(tmp_path):
    out = tmp_path / "fan.csv"
    args = ("run", "--surface", "saddle", "--optimizer", "sgd", "--noise", "1", "--start", "1,1", "--max-steps", "10")
    res = cli(*args, "--fan", "10", "--max-work", "99", "-o", str(out))
    assert res.returncode == 2 and not out.exists()
    (line,) = res.stderr.strip().splitlines()
    assert "10 runs × 10 steps" in line and "fewer runs" in line and "--max-work" in line
    res = cli(*args, "--fan", "10", "--max-work", "100", "-o", str(out))
    assert res.returncode == 0, res.stderr
