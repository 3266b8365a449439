"""``landscape-gui sweep`` as a user meets it: the folder it writes, the same labels as ``basins``,
one-line errors, Ctrl-C that says how to resume and a rerun that does."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.cli import main

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["sweep", "--surface", "himmelblau", "--optimizer", "momentum", "--vary", "lr=0.001:0.01:2:log",
         "--vary", "momentum=0:0.9:2", "--resolution", "10", "--max-steps", "300"]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_sweep_writes_the_folder_and_each_cell_is_the_basins_map(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main([*SWEEP, "--workers", "2", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out}: 4 cells × 10×10 starts" in err and "computed, 0 reused" in err
    assert len(err.strip().splitlines()) == 1, err  # Dask's logs and warnings stay quiet
    assert (out / "phase.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["lr", "momentum", "minimum", "x", "y", "loss", "kind", "fraction"]
    with open(out / "cells.csv", newline="") as fh:
        cells = list(csv.DictReader(fh))
    assert [(float(c["lr"]), float(c["momentum"])) for c in cells] == [(0.001, 0.0), (0.001, 0.9), (0.01, 0.0), (0.01, 0.9)]
    # Each cell's shares add up to its settled share; one id is one place in every cell.
    by_id: dict[str, tuple[str, str]] = {}
    for r in rows[1:]:
        assert by_id.setdefault(r[2], (r[3], r[4])) == (r[3], r[4])
    for c in cells:
        total = sum(float(r[7]) for r in rows[1:] if (r[0], r[1]) == (c["lr"], c["momentum"]))
        assert total == pytest.approx(float(c["settled"]))

    # Cell 3 (lr=0.01, momentum=0.9) against `landscape-gui basins` with the same settings.
    prefix = tmp_path / "alone"
    assert main(["basins", "--surface", "himmelblau", "--optimizer", "momentum", "--set", "lr=0.01", "--set",
                 "momentum=0.9", "--resolution", "10", "--max-steps", "300", "-o", str(prefix)]) == 0
    alone = np.load(f"{prefix}.npy")
    with open(f"{prefix}.csv", newline="") as fh:
        alone_points = {r["minimum"]: (float(r["x"]), float(r["y"])) for r in csv.DictReader(fh)}
    sweep_ids = {(float(x), float(y)): int(i) for i, (x, y) in by_id.items()}
    lookup = {-1: -1}
    for ident, xy in alone_points.items():
        near = [v for k, v in sweep_ids.items() if abs(k[0] - xy[0]) < 1e-9 and abs(k[1] - xy[1]) < 1e-9]
        assert len(near) == 1
        lookup[int(ident)] = near[0]
    translated = np.vectorize(lookup.get)(alone)
    np.testing.assert_array_equal(np.load(out / cells[3]["labels"]), translated)

    # The same command again: nothing recomputed.
    assert main([*SWEEP, "--workers", "1", "-o", str(out)]) == 0
    assert "0 shards computed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--vary", "lr=0.1:1"], "--vary takes NAME=START:STOP:N"),
        (["--vary", "learning_rate=0.1:1:3"], "no numeric hyperparameter 'learning_rate'"),
        (["--vary", "lr=0.1:1:3", "--set", "lr=0.2"], "both set"),
        (["--vary", "lr=0:1:3:log"], "log axis needs START and STOP > 0"),
        (["--vary", "lr=0.1:1:3", "--workers", "0"], "--workers takes a whole number from 1"),
        (["--vary", "lr=0.1:1:3", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with"),
    ],
)
def test_bad_sweeps_exit_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    code = main(["sweep", "--surface", "saddle", "--optimizer", "momentum", "--resolution", "8", *args, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    # Dask's own setting for how long to try connecting, shortened for the test.
    env = dict(_env(), DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    res = subprocess.run([sys.executable, "-m", "landscape_gui", "sweep", "--surface", "saddle", "--optimizer", "sgd",
                          "--vary", "lr=0.1:0.2:2", "--resolution", "4", "--scheduler", "tcp://127.0.0.1:9",
                          "-o", str(tmp_path / "s")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_the_command_line_does_not_load_dask_until_a_sweep_runs():
    probe = ("import sys; from landscape_gui.cli import build_parser, main; build_parser(); "
             "assert 'landscape_gui.core.sweep' not in sys.modules; main(['list', 'optimizers']); "
             "heavy = [m for m in ('distributed', 'dask', 'matplotlib') if m in sys.modules]; "
             "print('heavy:', heavy, file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "heavy: []" in res.stderr, res.stderr


@pytest.mark.slow
def test_ctrl_c_cancels_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "sweep"
    args = [sys.executable, "-m", "landscape_gui", "sweep", "--surface", "saddle", "--optimizer", "momentum",
            "--vary", "lr=0.001:0.2:4:log", "--vary", "momentum=0:0.9:3", "--resolution", "32", "--max-steps", "1500",
            "--tol", "0", "--workers", "2", "--shard-size", "64", "-o", str(out)]
    # Its own process group, like a terminal's foreground job: Ctrl-C reaches the workers too.
    proc = subprocess.Popen(args, cwd=ROOT, env=_env(), stderr=subprocess.PIPE, text=True, start_new_session=True)

    def saved() -> int:
        try:
            return len(json.loads((out / "sweep.json").read_text())["done"])
        except (OSError, ValueError, KeyError):
            return 0

    deadline = time.monotonic() + 180
    pause = threading.Event()
    while saved() < 1 and proc.poll() is None:
        assert time.monotonic() < deadline, "no shard finished"
        pause.wait(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    total = 12 * 16
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "sweep interrupted" in err and "run the same command again to resume" in err
    manifest = json.loads((out / "sweep.json").read_text())
    first = manifest["runs"][-1]
    assert first["state"] == "cancelled" and 1 <= first["computed"] == len(manifest["done"]) < total

    again = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    second = json.loads((out / "sweep.json").read_text())["runs"][-1]
    assert (second["computed"], second["reused"]) == (total - first["computed"], first["computed"])
    assert f"{total - first['computed']} shards computed, {first['computed']} reused" in again.stderr


def test_progress_with_eta_on_a_terminal_only():
    import io

    from landscape_gui.cli_sweep import terminal_progress
    from landscape_gui.core.sweep import SweepProgress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert terminal_progress(io.StringIO()) is None  # a pipe or a log file stays clean
    out = Tty()
    report = terminal_progress(out)
    report(SweepProgress(0, 40, 0, 0, 10, 0.5, None))
    report(SweepProgress(40, 40, 4, 10, 10, 99.0, 0.0))
    text = out.getvalue()
    assert "\rsweep: 0/40 shards (0 %), 0/10 cells" in text
    assert "\rsweep: 40/40 shards (100 %), 10/10 cells, ETA 0s" in text and text.endswith("\n")


def test_the_dashboard_without_bokeh_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)  # as on a machine without bokeh installed
    code = main(["sweep", "--surface", "saddle", "--optimizer", "sgd", "--vary", "lr=0.1:0.2:2", "--resolution", "4",
                 "--dashboard", "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "the Dask dashboard needs bokeh" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
