"""The trajectory CSV: the contract other tools read.

Header and column order, exactly::

    run,step,x,y,loss,grad_x,grad_y,status,minimum,optimizer,params,surface

One row per recorded step. ``run`` is the run's id; ``step`` counts from 0 (the start); ``loss``,
``grad_x``, ``grad_y`` are evaluated at that row's ``x, y``; ``status`` is the run's final status on
every row; ``minimum`` is the id of the minimum the run settled in (empty when none); ``params`` is a
JSON object of every hyperparameter in force, defaults included; ``surface`` is the surface's name or
formula text. Floats are written in their shortest round-tripping form (``repr``), so reading them
back gives the same doubles and export -> import -> export is byte-identical. Files are written
atomically. :func:`read_csv` validates and names the line and column of any problem.

Optional extra columns (``extra_columns``, e.g. ``run --sharpness``'s ``sharpness,lr``) follow the
twelve above, each filled from the run's per-step ``extras`` series of that name.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Iterable, Sequence

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_text
from landscape_gui.core.runs import STATUSES, Run

COLUMNS = ("run", "step", "x", "y", "loss", "grad_x", "grad_y", "status", "minimum", "optimizer", "params", "surface")


def _num(v: float) -> str:
    return repr(float(v))


def params_json(params: dict) -> str:
    """The ``params`` cell: compact JSON in declaration order (floats in shortest form)."""
    return json.dumps(params, separators=(",", ":"), allow_nan=False)


def csv_text(runs: Iterable[Run], extra_columns: Sequence[str] = ()) -> str:
    """The whole CSV as text (what :func:`write_csv` writes); ``extra_columns`` are appended from
    each run's ``extras`` (a run without one of them raises :class:`LandscapeError`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS + tuple(extra_columns))
    for r in runs:
        params = params_json(r.params)
        minimum = "" if r.minimum is None else str(int(r.minimum))
        pos, loss, grad = r.positions.tolist(), r.losses.tolist(), r.grads.tolist()
        extra = []
        for name in extra_columns:
            if name not in r.extras:
                raise LandscapeError(f"run {r.id} has no {name!r} series to write")
            extra.append(np.asarray(r.extras[name], dtype=float).tolist())
        for k in range(len(pos)):
            w.writerow(
                (
                    r.id,
                    k,
                    _num(pos[k][0]),
                    _num(pos[k][1]),
                    _num(loss[k]),
                    _num(grad[k][0]),
                    _num(grad[k][1]),
                    r.status,
                    minimum,
                    r.optimizer,
                    params,
                    r.surface,
                )
                + tuple(_num(col[k]) for col in extra)
            )
    return buf.getvalue()


def write_csv(path: str | os.PathLike[str], runs: Iterable[Run], extra_columns: Sequence[str] = ()) -> None:
    """Write ``runs`` as a trajectory CSV, atomically (``extra_columns`` as :func:`csv_text`)."""
    atomic_write_text(path, csv_text(runs, extra_columns))


def read_csv(path: str | os.PathLike[str]) -> list[Run]:
    """Load a trajectory CSV back into runs, validating every cell.

    Raises :class:`LandscapeError` naming the file, line and column of the first problem.
    """
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise LandscapeError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise LandscapeError(f"{path}: not a text (UTF-8) file") from None
    except OSError as exc:
        raise LandscapeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_csv(text, str(path))


def parse_csv(text: str, name: str = "<csv>") -> list[Run]:
    """:func:`read_csv` on text already in memory; ``name`` prefixes error messages."""
    if "\x00" in text:
        raise LandscapeError(f"{name}: not a trajectory CSV (contains NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""))

    def fail(msg: str, col: str | None = None) -> LandscapeError:
        where = f"{name}, line {reader.line_num}"
        if col is not None:
            where += f", column {col}"
        return LandscapeError(f"{where}: {msg}")

    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise fail(f"malformed CSV ({exc})") from None
    if header is None:
        raise LandscapeError(f"{name}: empty file, expected the header {','.join(COLUMNS)}")
    if tuple(header) != COLUMNS:
        raise fail(f"expected the header {','.join(COLUMNS)}")

    runs: list[Run] = []
    seen: set[int] = set()
    cur: dict | None = None

    def finish() -> None:
        if cur is None:
            return
        p = np.array(cur["xy"], dtype=float).reshape(-1, 2)
        g = np.array(cur["g"], dtype=float).reshape(-1, 2)
        runs.append(
            Run(cur["id"], p, np.array(cur["loss"], dtype=float), g, cur["status"], cur["optimizer"],
                cur["params"], cur["surface"], cur["minimum"])
        )

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise fail(f"malformed CSV ({exc})") from None
        if not row:
            raise fail("empty line")
        if len(row) != len(COLUMNS):
            raise fail(f"expected {len(COLUMNS)} fields, found {len(row)}")
        cells = dict(zip(COLUMNS, row))

        def integer(col: str) -> int:
            s = cells[col]
            if not s.strip().lstrip("-").isdigit():
                raise fail(f"expected a whole number, found {s!r}", col)
            return int(s)

        def number(col: str) -> float:
            s = cells[col]
            try:
                v = float(s)
            except ValueError:
                raise fail(f"expected a number, found {s!r}", col) from None
            if col in ("x", "y") and not math.isfinite(v):
                raise fail(f"positions must be finite, found {s!r}", col)
            return v

        run_id = integer("run")
        step = integer("step")
        vals = [number(c) for c in ("x", "y", "loss", "grad_x", "grad_y")]
        status = cells["status"]
        if status not in STATUSES:
            raise fail(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}", "status")
        minimum = None if cells["minimum"] == "" else integer("minimum")
        optimizer = cells["optimizer"]
        if not optimizer:
            raise fail("optimizer name is empty", "optimizer")
        params_cell = cells["params"]
        surface = cells["surface"]

        if cur is None or run_id != cur["id"]:
            if run_id in seen:
                raise fail(f"rows of run {run_id} must be consecutive", "run")
            if step != 0:
                raise fail(f"run {run_id} must start at step 0, found {step}", "step")
            try:
                params = json.loads(params_cell)
            except json.JSONDecodeError as exc:
                raise fail(f"not valid JSON ({exc.msg})", "params") from None
            if not isinstance(params, dict):
                raise fail("expected a JSON object of hyperparameters", "params")
            finish()
            seen.add(run_id)
            cur = dict(id=run_id, xy=[], loss=[], g=[], status=status, minimum=minimum, optimizer=optimizer,
                       params=params, params_cell=params_cell, surface=surface)
        else:
            if step != len(cur["loss"]):
                raise fail(f"expected step {len(cur['loss'])} of run {run_id}, found {step}", "step")
            for col, want, got in (("status", cur["status"], status), ("minimum", cur["minimum"], minimum),
                                   ("optimizer", cur["optimizer"], optimizer),
                                   ("params", cur["params_cell"], params_cell), ("surface", cur["surface"], surface)):
                if want != got:
                    raise fail(f"differs from the earlier rows of run {run_id}", col)
        cur["xy"].extend(vals[0:2])
        cur["loss"].append(vals[2])
        cur["g"].extend(vals[3:5])
    finish()
    return runs
