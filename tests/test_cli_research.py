"""The researchers' commands as a user meets them: path, profile, spectrum and run --sharpness."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from landscape_gui.cli import main
from landscape_gui.core.export import read_csv
from landscape_gui.core.surfaces import get_surface

NN = "nn:dataset=moons;n=40;hidden=4;steps=50"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_path_writes_images_and_prints_the_saddle(tmp_path, capsys):
    out = tmp_path / "mb.csv"
    rc = main(["path", "--surface", "muller_brown", "--from=-0.558,1.442", "--to", "-0.05,0.467",
               "--images", "11", "-o", str(out)])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("saddle ")
    x, y, loss = map(float, lines[0].split()[1:])
    assert (x, y, loss) == pytest.approx((-0.8220015587, 0.6243128028, -40.66484351), abs=1e-4)
    rows = _rows(out)
    assert list(rows[0]) == ["image", "x", "y", "loss", "grad_x", "grad_y", "kind"]
    assert [r["image"] for r in rows] == [str(i) for i in range(11)]
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == kinds[-1] == "end" and kinds.count("saddle") == 1 and kinds.count("image") == 8
    s = next(r for r in rows if r["kind"] == "saddle")
    assert float(s["x"]) == x and float(s["loss"]) == loss
    assert max(float(r["loss"]) for r in rows) == loss
    mb = get_surface("muller_brown")
    pts = np.array([[float(r["x"]), float(r["y"])] for r in rows])
    np.testing.assert_allclose([float(r["loss"]) for r in rows], mb.value(pts))


def test_path_with_a_formula_to_stdout(capsys):
    rc = main(["path", "--formula", "(x^2-1)^2 + y^2", "--from=-1.1,0.2", "--to=0.9,0", "--images", "5", "-o", "-"])
    assert rc == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "image,x,y,loss,grad_x,grad_y,kind"
    assert "saddle 0.0 0.0 1.0" in captured.err  # the summary moves to stderr when the CSV takes stdout


def test_profile_csv_and_barrier(tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["profile", "--surface", "peaks", "--from=0.228,-1.626", "--to=-1.347,0.205",
                 "--points", "21", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("peak ") and lines[1].startswith("barrier ")
    rows = _rows(out)
    assert list(rows[0]) == ["t", "x", "y", "loss"] and len(rows) == 21
    peak = float(lines[0].split()[3])
    assert peak >= max(float(r["loss"]) for r in rows)
    b_start, b_end = map(float, lines[1].split()[1:])
    assert b_start == pytest.approx(peak - float(rows[0]["loss"]))
    assert b_end == pytest.approx(peak - float(rows[-1]["loss"]))


def test_profile_on_a_network_slice_has_accuracy(tmp_path):
    out = tmp_path / "n.csv"
    assert main(["profile", "--surface", NN + ";directions=hessian", "--from", "-0.5,0", "--to=0.5,0",
                 "--points", "5", "-o", str(out)]) == 0
    rows = _rows(out)
    assert list(rows[0]) == ["t", "x", "y", "loss", "accuracy"]
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)


def test_spectrum_writes_every_eigenvalue(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["spectrum", "--surface", NN, "-o", str(out)]) == 0
    report = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    rows = _rows(out)
    vals = np.array([float(r["eigenvalue"]) for r in rows])
    assert len(vals) == 17 and (np.diff(vals) >= 0).all()  # 2-4-1: 17 weights, ascending
    assert float(report["lambda_max"]) == vals[-1]
    assert float(report["trace"]) == pytest.approx(vals.sum())
    assert main(["spectrum", "--surface", NN, "--top", "2", "-o", str(out)]) == 0
    top = np.array([float(r["eigenvalue"]) for r in _rows(out)])
    np.testing.assert_allclose(top, vals[-2:], atol=1e-8)


def test_run_sharpness_appends_two_columns(tmp_path):
    out = tmp_path / "r.csv"
    assert main(["run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=0.001", "--start=-1,1",
                 "--max-steps", "20", "--sharpness", "-o", str(out)]) == 0
    rows = _rows(out)
    header = list(rows[0])
    assert header[:12] == ["run", "step", "x", "y", "loss", "grad_x", "grad_y", "status", "minimum",
                           "optimizer", "params", "surface"]
    assert header[12:] == ["sharpness", "lr"]
    rb = get_surface("rosenbrock")
    pts = np.array([[float(r["x"]), float(r["y"])] for r in rows])
    np.testing.assert_allclose([float(r["sharpness"]) for r in rows],
                               np.linalg.eigvalsh(rb.hessian(pts))[:, -1], rtol=1e-12)
    assert {r["lr"] for r in rows} == {"0.001"}
    # without the flag the file is the plain contract, readable back
    assert main(["run", "--surface", "rosenbrock", "--optimizer", "sgd", "--start=-1,1", "--max-steps", "2",
                 "-o", str(out)]) == 0
    assert len(read_csv(out)) == 1


@pytest.mark.parametrize("argv, message", [
    (["path", "--surface", "muller_brown", "--from=-0.558,1.442", "--to=-0.55,1.44"], "same minimum"),
    (["path", "--surface", "muller_brown", "--from=1,2,3", "--to=0,0"], "--from takes X,Y"),
    (["path", "--surface", "himmelblau", "--from=3,2", "--to=-2.8,3.1", "--images", "2"], "--images takes"),
    (["path", "--formula", "x+y", "--from=0,0", "--to=1,1"], "no local minimum"),
    (["profile", "--surface", "peaks", "--from=0,0", "--to=1,1", "--points", "1"], "--points takes"),
    (["profile", "--surface", "peaks", "--from=0,0"], "--to"),
    (["spectrum", "--surface", "peaks"], "needs a network surface"),
    (["spectrum", "--surface", NN + ";directions=sideways"], "directions must be"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out.csv"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("landscape-gui: error:")
    assert not out.exists()


def test_missing_folder_is_refused_before_the_work(tmp_path, capsys):
    assert main(["path", "--surface", "muller_brown", "--from=-0.558,1.442", "--to=0.623,0.028",
                 "-o", str(tmp_path / "no" / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_profile_between_two_trained_networks(tmp_path, capsys):
    from landscape_gui.core.directions import train_trajectory
    from landscape_gui.core.nn.slices import build_surface

    out = tmp_path / "i.csv"
    assert main(["profile", "--surface", NN, "--networks", "adam:0.05,sgd:0.5@1", "--range", "-0.5,1.5",
                 "--points", "9", "-o", str(out)]) == 0
    report = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    rows = _rows(out)
    assert list(rows[0]) == ["alpha", "loss", "accuracy"] and len(rows) == 9
    s = build_surface(NN)
    wa = train_trajectory(s.net, s.net.glorot_init(np.random.default_rng(0)), s.dataset.X, s.targets, s.loss,
                          "adam", 0.05, 50)[-1]
    wb = train_trajectory(s.net, s.net.glorot_init(np.random.default_rng(1)), s.dataset.X, s.targets, s.loss,
                          "sgd", 0.5, 50)[-1]
    for r in rows:
        a = float(r["alpha"])
        want = s.full_value_and_grad(((1 - a) * wa + a * wb)[None])[0][0]
        assert float(r["loss"]) == pytest.approx(want, rel=1e-12)
    inside = [float(r["loss"]) for r in rows if 0 <= float(r["alpha"]) <= 1]
    ends = [float(r["loss"]) for r in rows if float(r["alpha"]) in (0.0, 1.0)]
    assert float(report["barrier"]) == pytest.approx(max(inside) - max(ends))


def test_run_on_a_chosen_plane_from_the_command_line(tmp_path):
    out = tmp_path / "r.csv"
    spec = NN + ";directions=pca;runs=adam:0.05,sgd:0.5"
    assert main(["run", "--surface", spec, "--optimizer", "sgd", "--start=0,0", "--max-steps", "5",
                 "-o", str(out)]) == 0
    runs = read_csv(out)
    assert "directions=pca" in runs[0].surface and "runs=adam:0.05,sgd:0.5" in runs[0].surface


@pytest.mark.parametrize("argv, message", [
    (["profile", "--surface", NN, "--networks", "adam:0.05"], "two networks"),
    (["profile", "--surface", "peaks", "--networks", "adam:0.05,sgd:1"], "needs a network surface"),
    (["profile", "--surface", NN, "--networks", "adam:0.05,x"], "--networks items are"),
    (["profile", "--surface", NN, "--networks", "init,trained", "--from=0,0"], "not both"),
    (["profile", "--surface", NN, "--networks", "init,trained", "--range=1,0"], "low < high"),
])
def test_bad_network_profiles_exit_2(tmp_path, capsys, argv, message):
    assert main([*argv, "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
