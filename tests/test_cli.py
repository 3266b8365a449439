"""The command line as a user meets it: exit codes, one-line errors, the CSV it writes."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.cli import main
from landscape_gui.core.starts import grid_starts, random_starts
from landscape_gui.core.export import read_csv

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "landscape_gui", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=full_env)


def test_version():
    from landscape_gui import __version__

    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"landscape-gui {__version__}"


def test_list_surfaces_and_optimizers_name_first_then_description():
    for what, must in (("surfaces", {"himmelblau", "rosenbrock"}), ("optimizers", {"sgd", "momentum", "nesterov"})):
        out = cli("list", what)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        names = [ln.split()[0] for ln in lines]
        assert must <= set(names)
        assert all(len(ln.split(None, 1)) == 2 for ln in lines), "each line has a description"


def test_run_writes_the_csv(tmp_path):
    out_csv = tmp_path / "runs.csv"
    res = cli("run", "--surface", "himmelblau", "--optimizer", "momentum", "--set", "lr=0.002",
              "--start=-3,2", "--start", "-1.5,-2.5", "--grid", "2", "--max-steps", "300", "-o", str(out_csv))
    assert res.returncode == 0, res.stderr
    runs = read_csv(out_csv)
    assert [r.id for r in runs] == [1, 2, 3, 4, 5, 6]
    assert runs[0].start == (-3.0, 2.0) and runs[1].start == (-1.5, -2.5)
    assert {r.start for r in runs[2:]} == {(-2.5, -2.5), (-2.5, 2.5), (2.5, -2.5), (2.5, 2.5)}
    assert all(r.params["lr"] == 0.002 and r.optimizer == "momentum" for r in runs)
    assert all(r.steps <= 300 for r in runs)
    assert "wrote 6 runs" in res.stderr


def test_run_to_stdout_and_random_starts_are_seeded(tmp_path):
    a = cli("run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=0.0005", "--random", "3",
            "--seed", "5", "--max-steps", "20", "-o", "-")
    b = cli("run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=0.0005", "--random", "3",
            "--seed", "5", "--max-steps", "20", "-o", "-")
    c = cli("run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=0.0005", "--random", "3",
            "--seed", "6", "--max-steps", "20", "-o", "-")
    assert a.returncode == 0 and a.stdout == b.stdout != c.stdout
    rows = list(csv.DictReader(a.stdout.splitlines()))
    assert {r["run"] for r in rows} == {"1", "2", "3"}


def test_cli_and_in_process_main_agree(tmp_path, capsys):
    p1, p2 = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ["run", "--surface", "himmelblau", "--optimizer", "nesterov", "--set", "lr=0.001", "--start=0.5,0.5",
            "--max-steps", "100"]
    assert cli(*args, "-o", str(p1)).returncode == 0
    assert main(args + ["-o", str(p2)]) == 0
    assert p1.read_bytes() == p2.read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--surface", "nope", "--optimizer", "sgd", "--start=0,0", "-o", "x.csv"], "unknown surface 'nope'"),
        (["run", "--surface", "himmelblau", "--optimizer", "nope", "--start=0,0", "-o", "x.csv"], "unknown optimizer 'nope'"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "lr=-1", "--start=0,0", "-o", "x.csv"], "lr must be in (0, inf)"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "bogus=1", "--start=0,0", "-o", "x.csv"], "valid: lr, momentum"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "nesterov=maybe", "--start=0,0", "-o", "x.csv"], "true or false"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "lr", "--start=0,0", "-o", "x.csv"], "KEY=VALUE"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=1", "-o", "x.csv"], "--start takes X,Y"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=0,0", "--bounds=1,0,0,1", "-o", "x.csv"], "XMIN < XMAX"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "-o", "x.csv"], "no starting points"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=0,0", "--grid", "0", "-o", "x.csv"], "--grid takes a whole number"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=0,0", "--max-steps", "x", "-o", "x.csv"], "--max-steps takes a whole number"),
        (["run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=0,0", "-o", "/nonexistent/x.csv"], "does not exist"),
        (["run", "--optimizer", "sgd", "--start=0,0", "-o", "x.csv"], "--surface"),
        (["list", "things"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    res = cli(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("landscape-gui: error: ")
    assert message in lines[0]
    assert "Traceback" not in res.stderr


def test_existing_output_survives_a_failed_run(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    res = cli("run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "lr=-1", "--start=0,0", "-o", str(out))
    assert res.returncode == 2 and out.read_text() == "precious"


def test_grid_and_random_starts_cover_the_bounds():
    g = grid_starts((0.0, 4.0, -2.0, 2.0), 4)
    assert g.shape == (16, 2)
    np.testing.assert_allclose(np.unique(g[:, 0]), [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(np.unique(g[:, 1]), [-1.5, -0.5, 0.5, 1.5])
    assert g[1, 0] == 0.5 and g[1, 1] == -0.5, "x-major: start i*N + j is x-cell i, y-cell j"
    r = random_starts((0.0, 4.0, -2.0, 2.0), 1000, 1)
    assert r[:, 0].min() >= 0 and r[:, 0].max() <= 4 and r[:, 1].min() >= -2 and r[:, 1].max() <= 2
    assert r[:, 0].max() - r[:, 0].min() > 3.5


def read_plugin_csv(path, site, *names):
    """Read a CSV written with plugin optimizers, with those plugins installed in this process too
    (the reader refuses optimizer names it does not know)."""
    import os

    from landscape_gui.core import optimizers as optmod

    old_env = os.environ.get("LANDSCAPE_GUI_PLUGINS")
    sys.path.insert(0, str(site))
    os.environ["LANDSCAPE_GUI_PLUGINS"] = ",".join(names)
    optmod.reload_plugins()
    try:
        return read_csv(path)
    finally:
        sys.path.remove(str(site))
        os.environ["LANDSCAPE_GUI_PLUGINS"] = old_env if old_env is not None else "none"
        optmod.reload_plugins()
        sys.modules.pop("myplug", None)


def test_installed_plugin_is_listed_and_runs(tmp_path):
    from tests.plugin_fixture import BROKEN_NAME, PLUGIN_NAME, allow, make_plugin_dir

    site = make_plugin_dir(tmp_path / "site")
    env = {"PYTHONPATH": f"{ROOT}{__import__('os').pathsep}{site}", **allow(PLUGIN_NAME, BROKEN_NAME)}
    listed = cli("list", "optimizers", env=env)
    assert listed.returncode == 0
    names = [ln.split()[0] for ln in listed.stdout.splitlines()]
    assert PLUGIN_NAME in names and names.index(PLUGIN_NAME) > names.index("adam")
    assert "brokenplug" in listed.stderr and "warning" in listed.stderr, "a broken plugin is reported, not fatal"
    out = tmp_path / "plug.csv"
    res = cli("run", "--surface", "booth", "--optimizer", PLUGIN_NAME, "--set", "lr=0.1", "--start=0,0",
              "--max-steps", "50", "-o", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert "warning: optimizer plugin 'brokenplug' failed to load" in res.stderr
    (run,) = read_plugin_csv(out, site, PLUGIN_NAME)
    assert run.optimizer == PLUGIN_NAME and run.params == {"lr": 0.1}
    np.testing.assert_allclose(run.positions[1], [0.1, 0.1])  # sign descent: one lr step per axis


# --------------------------------------------------------------------------------------------------
# Schedules, noise, fans and probability maps


def test_run_with_a_schedule_records_it_and_follows_torch(tmp_path):
    out_csv = tmp_path / "runs.csv"
    res = cli("run", "--surface", "himmelblau", "--optimizer", "sgd", "--set", "lr=0.01", "--schedule", "step",
              "--schedule-set", "step_size=10", "--schedule-set", "gamma=0.5", "--start=-4,4.5", "--max-steps", "60",
              "--tol", "0", "-o", str(out_csv))
    assert res.returncode == 0, res.stderr
    (run,) = read_csv(out_csv)
    assert run.params["schedule"] == {"name": "step", "step_size": 10, "gamma": 0.5}
    import json

    case = next(c for c in json.loads((ROOT / "tests" / "data" / "torch_schedules.json").read_text())["cases"]
                if c["schedule"] == "step" and c["optimizer"] == "sgd")
    np.testing.assert_allclose(run.positions[1:], np.array(case["positions"])[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("args, message", [
    (("--schedule-set", "gamma=0.5"), "--schedule-set needs --schedule NAME"),
    (("--schedule", "cosine", "--schedule-set", "T_max"), "--schedule-set takes KEY=VALUE"),
    (("--schedule", "nope"), "unknown schedule 'nope'; choose one of: step, multistep"),
    (("--schedule", "cosine", "--schedule-set", "T_max=-1"), "T_max must be in [0, inf), got -1"),
    (("--noise", "-1"), "--noise takes a finite number >= 0"),
    (("--fan", "3"), "--fan needs --noise S"),
    (("--batch-size", "4"), "a mini-batch size needs a neural-network surface"),
])
def test_bad_schedule_and_noise_options_exit_2_with_one_line(args, message):
    res = cli("run", "--surface", "saddle", "--optimizer", "sgd", "--start", "1,1", "-o", "-", *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr


def test_run_fan_writes_noisy_runs_grouped_by_start(tmp_path):
    out_csv = tmp_path / "fan.csv"
    args = ("run", "--surface", "saddle", "--optimizer", "sgd", "--noise", "1", "--noise-seed", "5", "--fan", "4",
            "--start", "1.5,0.02", "--start=-1,1.5", "--max-steps", "100", "-o", str(out_csv))
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    runs = read_csv(out_csv)
    assert [r.start for r in runs] == [(1.5, 0.02)] * 4 + [(-1.0, 1.5)] * 4
    assert len({r.end for r in runs}) == 8
    assert runs[0].params["noise"] == {"scale": 1.0, "seed": 5}
    # each noisy run is labelled with the well it ended in: (0, -1) or (0, 1)
    well = {}
    for r in runs:
        assert r.minimum is not None
        assert well.setdefault(r.minimum, np.sign(r.end[1])) == np.sign(r.end[1])
    first = out_csv.read_bytes()
    assert cli(*args).returncode == 0 and out_csv.read_bytes() == first  # seeded: the same file again


def test_basins_with_noise_writes_a_probability_map(tmp_path):
    prefix = tmp_path / "pm"
    res = cli("basins", "--surface", "saddle", "--optimizer", "sgd", "--set", "lr=0.05", "--noise", "1.5",
              "--samples", "8", "--resolution", "10", "--max-steps", "120", "-o", str(prefix))
    assert res.returncode == 0, res.stderr
    probs = np.load(str(prefix) + "-probabilities.npy")
    entropy = np.load(str(prefix) + "-entropy.npy")
    assert probs.shape == (2, 10, 10) and entropy.shape == (10, 10)
    assert np.allclose(probs.sum(axis=0), 1.0)
    rows = list(csv.DictReader(open(str(prefix) + "-cells.csv")))
    assert len(rows) == 100 and {"most_likely", "probability", "entropy", "p_1", "p_2"} <= set(rows[0])
    import imageio.v3 as iio

    img = iio.imread(str(prefix) + ".png")
    assert img.shape[2] == 3 and img.shape[0] >= 10
    assert iio.imread(str(prefix) + "-entropy.png").shape == img.shape
    assert "mean entropy" in res.stderr


def test_basins_samples_without_noise_is_refused(tmp_path):
    res = cli("basins", "--surface", "saddle", "--optimizer", "sgd", "--samples", "4", "--resolution", "4",
              "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "--samples needs --noise" in res.stderr
    assert not list(tmp_path.iterdir())


def test_list_schedules():
    out = cli("list", "schedules")
    assert out.returncode == 0
    names = [ln.split()[0] for ln in out.stdout.splitlines()]
    assert names == ["step", "multistep", "exponential", "cosine", "linear", "onecycle", "cyclic", "warmup_cosine"]


def test_race_writes_a_reproducible_leaderboard(tmp_path):
    out = tmp_path / "lb.csv"
    runs = tmp_path / "runs.csv"
    args = ("race", "--surface", "himmelblau", "--optimizers", "sgd,adam", "--set", "sgd.lr=0.0005", "--steps", "40",
            "--budget", "6", "--starts", "6", "-o", str(out), "--runs", str(runs), "--animate", str(tmp_path / "r.gif"),
            "--size", "120x90")
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out)))
    assert [r["optimizer"] for r in rows] == ["sgd", "adam"] and rows[0]["rank"] == "1"
    assert "trial 1 = the default setting" in rows[0]["method"]
    assert "1. sgd" in res.stderr
    from landscape_gui.core.animation import read_frames

    assert len(read_frames(tmp_path / "r.gif")) == 41  # steps 0..40, both maps side by side
    race_runs = read_csv(runs)
    assert len(race_runs) == 12 and len({r.id for r in race_runs}) == 12
    first = out.read_bytes()
    assert cli(*args).returncode == 0 and out.read_bytes() == first


@pytest.mark.parametrize("args, message", [
    (("--optimizers", "sgd", "--set", "lr=1"), "--set takes OPTIMIZER.KEY=VALUE"),
    (("--optimizers", "sgd", "--set", "adam.lr=1"), "--set names adam, which is not racing"),
    (("--optimizers", "sgd", "--objective", "speed"), "invalid choice: 'speed'"),
    (("--optimizers", "sgd", "--tune", "foo"), "sgd has no hyperparameter 'foo'"),
])
def test_race_bad_input_exits_2(tmp_path, args, message):
    res = cli("race", "--surface", "himmelblau", *args, "-o", str(tmp_path / "x.csv"))
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_plugin_that_exits_or_fails_never_takes_the_command_line_down(tmp_path):
    from tests.plugin_fixture import add_distribution, allow

    site = tmp_path / "site"
    add_distribution(site, "exitplug", "raise SystemExit(3)\n", "exitplug = exitplug:OPTIMIZER")
    add_distribution(site, "zeroplug", (
        "from landscape_gui.core.optimizers import Hyperparameter, Optimizer\n"
        "def update(params, grads, state, hp, step):\n"
        "    return params - hp['lr'] * grads if step < 2 else 1 / 0, state\n"
        "OPTIMIZER = Optimizer(name='zeroplug', description='fails at step 2', init=lambda p, hp: {},\n"
        "    update=update, hyperparameters=(Hyperparameter('lr', 0.1, 'step', low=0.0),))\n"),
        "zeroplug = zeroplug:OPTIMIZER")
    env = {"PYTHONPATH": f"{ROOT}{__import__('os').pathsep}{site}", **allow("exitplug", "zeroplug")}
    out = tmp_path / "a.csv"
    ok = cli("run", "--surface", "booth", "--optimizer", "adam", "--start=0,0", "-o", str(out), env=env)
    assert ok.returncode == 0 and out.exists()
    assert ok.stderr.splitlines()[0] == "landscape-gui: warning: optimizer plugin 'exitplug' failed to load: it called exit(3)"
    res = cli("run", "--surface", "booth", "--optimizer", "exitplug", "--start=0,0", "-o", str(out), env=env)
    assert res.returncode == 2
    assert "landscape-gui: error: optimizer 'exitplug' is an installed plugin that failed to load: it called exit(3)" \
        in res.stderr
    out.write_text("precious")
    res = cli("run", "--surface", "booth", "--optimizer", "zeroplug", "--start=0,0", "-o", str(out), env=env)
    assert res.returncode == 1 and out.read_text() == "precious"
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("landscape-gui: error: optimizer plugin 'zeroplug'") and "ZeroDivisionError" in last
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
