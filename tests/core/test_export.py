"""The trajectory CSV contract: header, exact floats, atomic writes, a validating reader."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.export import COLUMNS, csv_text, parse_csv, read_csv, write_csv
from landscape_gui.core.surfaces import get_surface

HEADER = "run,step,x,y,loss,grad_x,grad_y,status,minimum,optimizer,params,surface"


@pytest.fixture
def runs():
    s = get_surface("himmelblau")
    rs = engine.run_many(s, "momentum", [[0.1, 0.2], [-3.0, 2.0], [4.9, -4.9]], {"lr": 0.0013}, max_steps=60)
    rs[1].minimum = 2
    return rs


def test_header_and_rows(tmp_path, runs):
    path = tmp_path / "t.csv"
    write_csv(path, runs)
    text = path.read_text()
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(open(path, newline="")))
    assert len(rows) == sum(len(r.positions) for r in runs)
    first = rows[0]
    assert first["run"] == "1" and first["step"] == "0"
    assert float(first["x"]) == 0.1 and float(first["y"]) == 0.2
    assert first["minimum"] == ""
    assert first["optimizer"] == "momentum" and first["surface"] == "himmelblau"
    params = json.loads(first["params"])
    assert params == {"lr": 0.0013, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0,
                      "nesterov": False, "maximize": False}
    assert {r["minimum"] for r in rows if r["run"] == "2"} == {"2"}
    assert {r["status"] for r in rows if r["run"] == "1"} == {runs[0].status}


def test_floats_round_trip_exactly_and_export_is_byte_identical(tmp_path, runs):
    a = tmp_path / "a.csv"
    write_csv(a, runs)
    back = read_csv(a)
    for r, b in zip(runs, back):
        assert r.same_trajectory(b)
        assert (b.id, b.optimizer, b.params, b.surface, b.minimum) == (r.id, r.optimizer, r.params, r.surface, r.minimum)
    b2 = tmp_path / "b.csv"
    write_csv(b2, back)
    assert a.read_bytes() == b2.read_bytes()


def test_readable_by_the_csv_module_with_quoted_json(runs):
    rows = list(csv.reader(csv_text(runs).splitlines()))
    assert all(len(r) == len(COLUMNS) for r in rows)


def test_failed_write_leaves_existing_file_untouched(tmp_path, runs, monkeypatch):
    path = tmp_path / "keep.csv"
    path.write_text("precious")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(LandscapeError, match="No space left"):
        write_csv(path, runs)
    assert path.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"], "no temp file left behind"


def test_write_into_missing_folder_is_a_clear_error(tmp_path, runs):
    with pytest.raises(LandscapeError, match="does not exist"):
        write_csv(tmp_path / "nope" / "x.csv", runs)


GOOD_ROW = '1,0,0.5,1.0,2.0,0.1,0.2,converged,,sgd,"{""lr"":0.1}",himmelblau'


@pytest.mark.parametrize(
    "body, where",
    [
        ("run,step,x\n", "line 1: expected the header"),
        (HEADER + "\n1,0,abc,1.0,2.0,0.1,0.2,converged,,sgd,{},himmelblau\n", "line 2, column x: expected a number"),
        (HEADER + "\n1,0,0.5,1.0,2.0,0.1,0.2,converged,,sgd,{}\n", "line 2: expected 12 fields, found 11"),
        (HEADER + "\n1,0,0.5,1.0,2.0,0.1,0.2,weird,,sgd,{},himmelblau\n", "line 2, column status: unknown status"),
        (HEADER + "\n1,1,0.5,1.0,2.0,0.1,0.2,converged,,sgd,{},himmelblau\n", "line 2, column step: run 1 must start at step 0"),
        (HEADER + "\n" + GOOD_ROW + "\n1,2,0.5,1.0,2.0,0.1,0.2,converged,,sgd,\"{\"\"lr\"\":0.1}\",himmelblau\n",
         "line 3, column step: expected step 1"),
        (HEADER + "\n1,0,0.5,1.0,2.0,0.1,0.2,converged,,sgd,{lr:1},himmelblau\n", "line 2, column params: not valid JSON"),
        (HEADER + "\n1,0,0.5,1.0,2.0,0.1,0.2,converged,x,sgd,{},himmelblau\n", "line 2, column minimum"),
        (HEADER + "\n" + GOOD_ROW + "\n1,1,0.5,1.0,2.0,0.1,0.2,diverged,,sgd,\"{\"\"lr\"\":0.1}\",himmelblau\n",
         "line 3, column status: differs"),
        (HEADER + "\n1,0,inf,1.0,2.0,0.1,0.2,converged,,sgd,{},himmelblau\n", "line 2, column x: must be a finite number"),
        ("", "empty file"),
    ],
)
def test_reader_names_line_and_column(tmp_path, body, where):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(LandscapeError) as err:
        read_csv(path)
    assert where in str(err.value)
    assert str(path) in str(err.value)


def test_reader_refuses_missing_and_binary_files(tmp_path):
    with pytest.raises(LandscapeError, match="no such file"):
        read_csv(tmp_path / "missing.csv")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(LandscapeError):
        read_csv(p)


def test_diverged_run_with_undefined_start_survives_the_round_trip():
    from landscape_gui.core.runs import Run

    r = Run(7, np.array([[0.0, -1.0]]), np.array([np.nan]), np.array([[np.nan, np.nan]]), "diverged", "sgd",
            {"lr": 0.1}, "log(y)")
    (back,) = parse_csv(csv_text([r]))
    assert back.status == "diverged" and np.isnan(back.losses[0]) and back.surface == "log(y)"
    assert csv_text([back]) == csv_text([r])


SGD = '"{""lr"":0.1}"'


def row(run="1", step="0", x="0.5", y="1.0", loss="2.0", gx="0.1", gy="0.2", status="converged", minimum="",
        optimizer="sgd", params=SGD, surface="himmelblau") -> str:
    return ",".join((run, step, x, y, loss, gx, gy, status, minimum, optimizer, params, surface))


@pytest.mark.parametrize(
    "body, where",
    [
        (row(run="²"), "line 2, column run: run id must be a whole number"),
        (row(run="--1"), "line 2, column run: run id must be a whole number"),
        (row(run="-1"), "line 2, column run: run id must be a whole number"),
        (row(run="9" * 5000), "line 2, column run: run id must be a whole number"),
        (row(x="1" * 5000), "line 2, column x: a number of 5000 characters (at most 100)"),
        (row(x="1_0"), "line 2, column x: expected a number, found '1_0'"),
        (row(loss="nan"), "line 2, column loss: must be a finite number"),
        (row(loss="1e400"), "line 2, column loss: '1e400' is too large for a double"),
        (row(minimum="-5"), "line 2, column minimum: minimum id must be a whole number"),
        (row(optimizer="nosuch"), "line 2, column optimizer: unknown optimizer 'nosuch'"),
        (row(params='"{""lr"":-1}"'), "line 2, column params: sgd: lr must be in (0, inf)"),
        (row(params='"{""bogus"":1}"'), "line 2, column params: sgd: sgd has no hyperparameter 'bogus'"),
        (row(params='"' + '[' * 1000 + ']' * 1000 + '"'), "line 2, column params: JSON nested more than 32"),
        (row(params='"{""lr"":' + "1" * 5000 + '}"'), "line 2, column params: not valid JSON (a number of 5000"),
        (row(params='"{""lr"":NaN}"'), "line 2, column params: not valid JSON (NaN is not a finite number)"),
        (row(loss="", status="converged"), "line 2, column loss: an empty loss or gradient cell is only allowed"),
        (row(loss="", status="diverged") + "\n" + row(step="1", loss="", status="diverged"),
         "line 2, column loss: an empty loss or gradient cell is only allowed"),
        (row() + "\n\n" + row(run="2"), "line 3: empty line in the middle of the file"),
    ],
)
def test_reader_refuses_what_it_cannot_trust(tmp_path, body, where):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n" + body + "\n")
    with pytest.raises(LandscapeError) as err:
        read_csv(path)
    assert f"{path}, {where}" in str(err.value)


def test_reader_accepts_a_bom_crlf_and_trailing_blank_lines(tmp_path, runs):
    text = csv_text(runs)
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    back = read_csv(path)
    assert csv_text(back) == text


def test_reader_reports_progress_and_can_be_cancelled(tmp_path):
    s = get_surface("himmelblau")
    rs = engine.run_many(s, "sgd", np.random.default_rng(0).uniform(-4, 4, (60, 2)), {"lr": 1e-4}, max_steps=400,
                         tol=0)
    path = tmp_path / "big.csv"
    write_csv(path, rs)
    seen: list[float] = []
    back = read_csv(path, progress=seen.append)
    assert len(back) == 60 and seen[-1] == 1.0 and len(seen) > 3 and seen == sorted(seen)
    polls = []

    def cancel_on_the_third_poll() -> bool:
        polls.append(1)
        return len(polls) >= 3

    with pytest.raises(engine.Cancelled):
        read_csv(path, should_cancel=cancel_on_the_third_poll)


def test_writer_never_writes_a_non_finite_number():
    from landscape_gui.core.runs import Run

    r = Run(3, np.array([[0.0, 1.0]]), np.array([np.inf]), np.array([[np.nan, -np.inf]]), "diverged", "sgd",
            {"lr": 0.1}, "1/x")
    text = csv_text([r])
    assert text.splitlines()[1].startswith("3,0,0.0,1.0,,,,diverged,")
    bad = Run(4, np.array([[np.nan, 1.0]]), np.array([1.0]), np.array([[0.0, 0.0]]), "diverged", "sgd", {}, "x")
    with pytest.raises(LandscapeError, match="non-finite position"):
        csv_text([bad])
