"""The trajectory CSV: the contract other tools read.

Header and column order, exactly::

    run,step,x,y,loss,grad_x,grad_y,status,minimum,optimizer,params,surface

One row per recorded step. ``run`` is the run's id; ``step`` counts from 0 (the start); ``loss``,
``grad_x``, ``grad_y`` are evaluated at that row's ``x, y``; ``status`` is the run's final status on
every row; ``minimum`` is the id of the minimum the run settled in (empty when none); ``params`` is a
JSON object of every hyperparameter in force, defaults included; ``surface`` is the surface's name or
formula text. Floats are written in their shortest round-tripping form (``repr``), so reading them
back gives the same doubles and export -> import -> export is byte-identical.

No non-finite number is ever written. The only row that can hold one is the start of a run whose
loss or gradient is undefined right there (``sqrt(abs(x))`` at ``x = 0``, ``1/x`` at the origin,
an overflow): such a run is ``diverged`` with that single row, and the undefined ``loss``,
``grad_x`` or ``grad_y`` cells are left *empty*. The reader accepts empty cells there and nowhere
else (and reads them as NaN).

Output is streamed (:class:`CsvWriter`): memory does not grow with the number of rows. Files are
written through :func:`landscape_gui.core.fileio.open_output` (atomic for regular files).
:func:`read_csv` validates every cell, names the file, line and column of any problem, and can
report progress and be cancelled.

Optional extra columns (``extra_columns``, e.g. ``run --sharpness``'s ``sharpness,lr``) follow the
twelve above, each filled from the run's per-step ``extras`` series of that name.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
from typing import Callable, Iterable, Iterator, Sequence, TextIO

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import (
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    check_json_depth,
    open_output,
    parse_number,
)
from landscape_gui.core.runs import DIVERGED, STATUSES, Run

COLUMNS = ("run", "step", "x", "y", "loss", "grad_x", "grad_y", "status", "minimum", "optimizer", "params", "surface")
HEADER_LINE = ",".join(COLUMNS) + "\n"

MAX_PARAMS_CHARS = 10_000
"""Longest ``params`` cell accepted (a JSON object of a few hyperparameters is ~100 characters)."""

MAX_ID = 10**15
"""Largest run or minimum id accepted."""


def _num(v: float) -> str:
    return repr(float(v))


def params_json(params: dict) -> str:
    """The ``params`` cell: compact JSON in declaration order (floats in shortest form)."""
    return json.dumps(params, separators=(",", ":"), allow_nan=False)


def _suffix(run: Run) -> str:
    """The cells that are the same on every row of ``run`` (status..surface), CSV-quoted."""
    buf = io.StringIO()
    minimum = "" if run.minimum is None else str(int(run.minimum))
    csv.writer(buf, lineterminator="\n").writerow((run.status, minimum, run.optimizer, params_json(run.params), run.surface))
    return buf.getvalue()


BLOCK_ROWS = 1 << 15
"""Rows formatted at a time: a run of a million steps is written without its whole text in memory."""


def row_blocks(run: Run, block: int = BLOCK_ROWS, extra_columns: Sequence[str] = ()) -> Iterator[str]:
    """The CSV rows of ``run`` (no header) as text, ``block`` rows at a time; ``extra_columns`` are
    appended from the run's ``extras`` (a run without one of them raises :class:`LandscapeError`)."""
    suffix = _suffix(run)
    rid = int(run.id)
    pos = np.asarray(run.positions, dtype=float)
    loss = np.asarray(run.losses, dtype=float)
    grad = np.asarray(run.grads, dtype=float)
    if not np.isfinite(pos).all():
        raise LandscapeError(f"run {rid} has a non-finite position; it cannot be written")
    extras = []
    for name in extra_columns:
        if name not in run.extras:
            raise LandscapeError(f"run {rid} has no {name!r} series to write")
        extras.append(np.asarray(run.extras[name], dtype=float))

    def cell(v: float) -> str:
        return repr(v) if math.isfinite(v) else ""

    for a in range(0, len(pos), block):
        b = a + block
        p, f, g = pos[a:b], loss[a:b], grad[a:b]
        rows = zip(range(a, a + len(p)), p.tolist(), f.tolist(), g.tolist())
        if extras:
            tails = ["," + ",".join(cell(v) for v in vals) for vals in zip(*(e[a:b].tolist() for e in extras))]
            body = suffix[:-1]
            yield "".join(f"{rid},{k},{x!r},{y!r},{cell(fv)},{cell(gx)},{cell(gy)},{body}{tail}\n"
                          for (k, (x, y), fv, (gx, gy)), tail in zip(rows, tails))
        elif np.isfinite(f).all() and np.isfinite(g).all():
            yield "".join(f"{rid},{k},{x!r},{y!r},{fv!r},{gx!r},{gy!r},{suffix}" for k, (x, y), fv, (gx, gy) in rows)
        else:
            yield "".join(f"{rid},{k},{x!r},{y!r},{cell(fv)},{cell(gx)},{cell(gy)},{suffix}"
                          for k, (x, y), fv, (gx, gy) in rows)


def run_rows(run: Run) -> str:
    """Every CSV row of ``run`` (no header), as text."""
    return "".join(row_blocks(run))


class CsvWriter:
    """Streams trajectory CSV to a text stream: the header at once, then runs as they come.

    ``with open_output(path) as fh: w = CsvWriter(fh); w.write_runs(chunk) ...`` keeps only one
    chunk of runs in memory at a time.
    """

    def __init__(self, stream: TextIO, extra_columns: Sequence[str] = ()) -> None:
        self.stream = stream
        self.extra_columns = tuple(extra_columns)
        self.rows = 0
        self.runs = 0
        stream.write(",".join(COLUMNS + self.extra_columns) + "\n")

    def write_run(self, run: Run) -> None:
        for text in row_blocks(run, extra_columns=self.extra_columns):
            self.stream.write(text)
        self.rows += len(run.positions)
        self.runs += 1

    def write_runs(self, runs: Iterable[Run]) -> None:
        for r in runs:
            self.write_run(r)


def csv_text(runs: Iterable[Run], extra_columns: Sequence[str] = ()) -> str:
    """The whole CSV as text (what :func:`write_csv` writes); ``extra_columns`` as :class:`CsvWriter`."""
    buf = io.StringIO()
    CsvWriter(buf, extra_columns).write_runs(runs)
    return buf.getvalue()


def write_csv(path: str | os.PathLike[str], runs: Iterable[Run], extra_columns: Sequence[str] = ()) -> None:
    """Write ``runs`` as a trajectory CSV (atomically for a regular file; ``-`` is standard output)."""
    with open_output(path) as fh:
        CsvWriter(fh, extra_columns).write_runs(runs)


# --------------------------------------------------------------------------------------------------
# Reading

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]

_ID_RE = re.compile(r"[0-9]{1,16}")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_FIVE_NUMBERS = re.compile(",".join([_NUMBER] * 5))


def read_csv(
    path: str | os.PathLike[str],
    *,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> list[Run]:
    """Load a trajectory CSV back into runs, validating every cell.

    Reads the file a line at a time (a 50 MB file is never held as one string). ``progress`` is
    called with the fraction of bytes read now and then; ``should_cancel`` is polled as often and
    answering True raises :class:`landscape_gui.core.engine.Cancelled`. Both are called from the
    calling thread, so a window can run this on its job runner.

    Raises :class:`LandscapeError` naming the file, line and column of the first problem.
    """
    name = os.fspath(path)
    try:
        fh = open(name, "rb")
    except FileNotFoundError:
        raise LandscapeError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise LandscapeError(f"{name}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise LandscapeError(f"{name}: cannot read: {exc.strerror or exc}") from None
    with fh:
        try:
            total = os.fstat(fh.fileno()).st_size
        except OSError:
            total = 0
        done = [0]

        def blocks() -> Iterator[list[str]]:
            """The file's lines, a megabyte at a time (csv.reader then pulls them at C speed)."""
            rest = b""
            line_no = 1
            first = True
            while True:
                data = fh.read(1 << 20)
                done[0] += len(data)
                if not data:
                    tail = [rest] if rest else []
                    data, rest = rest, b""
                else:
                    data = rest + data
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:
                        rest = data
                        continue
                    data, rest = data[:cut], data[cut:]
                    tail = None
                if not data:
                    return
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = line_no + data[: exc.start].count(b"\n")
                    raise LandscapeError(f"{name}, line {line}: not a text (UTF-8) file") from None
                line_no += data.count(b"\n")
                if first:
                    first = False
                    if text.startswith("\ufeff"):
                        text = text[1:]
                parts = text.split("\n")  # not splitlines(): it also splits at \x0c, \x85, \u2028 ...
                last = parts.pop()
                lines = [part + "\n" for part in parts]
                if last:
                    lines.append(last)
                yield lines
                if tail is not None:
                    return

        def tick() -> None:
            if should_cancel is not None and should_cancel():
                from landscape_gui.core.engine import Cancelled

                raise Cancelled()
            if progress is not None and total:
                progress(min(1.0, done[0] / total))

        try:
            runs = list(_parse(itertools.chain.from_iterable(blocks()), name, tick))
        except OSError as exc:
            raise LandscapeError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if progress is not None:
        progress(1.0)
    return runs


def parse_csv(text: str, name: str = "<csv>") -> list[Run]:
    """:func:`read_csv` on text already in memory; ``name`` prefixes error messages."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return list(_parse(io.StringIO(text, newline=""), name, None))


def _parse(lines: Iterable[str], name: str, tick: Callable[[], None] | None) -> Iterator[Run]:
    """Validate rows one by one and yield each run once its last row has been read."""
    reader = csv.reader(lines, strict=True)
    from landscape_gui.core.optimizers import optimizers

    known = optimizers()

    def fail(msg: str, col: str | None = None, line: int | None = None) -> LandscapeError:
        where = f"{name}, line {reader.line_num if line is None else line}"
        if col is not None:
            where += f", column {col}"
        return LandscapeError(f"{where}: {msg}")

    def next_row() -> list[str] | None:
        try:
            return next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise fail(f"malformed CSV ({exc})") from None

    header = next_row()
    if header is None:
        raise LandscapeError(f"{name}: empty file, expected the header {','.join(COLUMNS)}")
    if "\x00" in "".join(header):
        raise LandscapeError(f"{name}: not a trajectory CSV (contains NUL bytes)")
    if tuple(header) != COLUMNS:
        raise fail(f"expected the header {','.join(COLUMNS)}")

    seen: set[int] = set()
    cur: dict | None = None
    blank_at: int | None = None
    count = 0

    def finish(c: dict) -> Run:
        p = np.array(c["xy"], dtype=float).reshape(-1, 2)
        g = np.array(c["g"], dtype=float).reshape(-1, 2)
        f = np.array(c["loss"], dtype=float)
        if c["undefined_at"] is not None and (len(f) != 1 or c["status"] != DIVERGED):
            raise fail("an empty loss or gradient cell is only allowed in the single row of a diverged run "
                       "that starts where the loss is undefined", c["undefined_col"], c["undefined_at"])
        return Run(c["id"], p, f, g, c["status"], c["optimizer"], c["params"], c["surface"], c["minimum"])

    while True:
        row = next_row()
        if row is None:
            break
        count += 1
        if tick is not None and count % 4096 == 0:
            tick()
        # Fast path for the common row: the next step of the current run, five plain numbers, the
        # same run-wide cells as its first row (anything else goes through the checks below).
        if (cur is not None and blank_at is None and len(row) == 12 and row[0] == cur["id_text"]
                and row[7:] == cur["tail"] and cur["undefined_at"] is None and row[1] == str(len(cur["loss"]))):
            nums = row[2:7]
            if max(map(len, nums)) <= MAX_NUMBER_CHARS and _FIVE_NUMBERS.fullmatch(",".join(nums)):
                x, y, f, gx, gy = map(float, nums)
                if math.isfinite(x + y + f + gx + gy):
                    cur["xy"] += (x, y)
                    cur["loss"].append(f)
                    cur["g"] += (gx, gy)
                    continue
        if not row or (len(row) == 1 and not row[0].strip()):
            if blank_at is None:
                blank_at = reader.line_num
            continue
        if blank_at is not None:
            raise fail("empty line in the middle of the file", line=blank_at)
        if len(row) != len(COLUMNS):
            raise fail(f"expected {len(COLUMNS)} fields, found {len(row)}")
        if "\x00" in "".join(row):
            raise fail("not a trajectory CSV (contains NUL bytes)")
        cells = dict(zip(COLUMNS, row))

        def whole(col: str, what: str) -> int:
            s = cells[col]
            if not _ID_RE.fullmatch(s) or int(s) > MAX_ID:
                shown = s if len(s) <= 40 else s[:40] + "…"
                raise fail(f"{what} must be a whole number from 0 to {MAX_ID:.0e}, found {shown!r}", col)
            return int(s)

        undefined: str | None = None

        def number(col: str) -> float:
            nonlocal undefined
            s = cells[col]
            if s == "" and col in ("loss", "grad_x", "grad_y"):
                undefined = undefined or col
                return math.nan
            try:
                return parse_number(s)
            except ValueError as exc:
                raise fail(str(exc), col) from None

        run_id = whole("run", "run id")
        step = whole("step", "step")
        vals = [number(c) for c in ("x", "y", "loss", "grad_x", "grad_y")]
        status = cells["status"]
        if status not in STATUSES:
            raise fail(f"unknown status {status[:40]!r}; expected one of {', '.join(STATUSES)}", "status")
        minimum = None if cells["minimum"] == "" else whole("minimum", "minimum id")
        optimizer = cells["optimizer"]
        params_cell = cells["params"]
        surface = cells["surface"]

        if cur is None or run_id != cur["id"]:
            if run_id in seen:
                raise fail(f"rows of run {run_id} must be consecutive", "run")
            if step != 0:
                raise fail(f"run {run_id} must start at step 0, found {step}", "step")
            if not optimizer:
                raise fail("optimizer name is empty", "optimizer")
            if optimizer not in known:
                raise fail(f"unknown optimizer {optimizer[:40]!r}; known: {', '.join(known)}", "optimizer")
            params = _params(params_cell, known[optimizer], fail)
            if cur is not None:
                yield finish(cur)
            seen.add(run_id)
            cur = dict(id=run_id, xy=[], loss=[], g=[], status=status, minimum=minimum, optimizer=optimizer,
                       params=params, params_cell=params_cell, surface=surface, undefined_at=None,
                       undefined_col=None, id_text=row[0], tail=row[7:])
        else:
            if step != len(cur["loss"]):
                raise fail(f"expected step {len(cur['loss'])} of run {run_id}, found {step}", "step")
            for col, want, got in (("status", cur["status"], status), ("minimum", cur["minimum"], minimum),
                                   ("optimizer", cur["optimizer"], optimizer),
                                   ("params", cur["params_cell"], params_cell), ("surface", cur["surface"], surface)):
                if want != got:
                    raise fail(f"differs from the earlier rows of run {run_id}", col)
        if undefined is not None and cur["undefined_at"] is None:
            cur["undefined_at"], cur["undefined_col"] = reader.line_num, undefined
            if step != 0 or status != DIVERGED:
                raise fail("an empty loss or gradient cell is only allowed in the single row of a diverged run "
                           "that starts where the loss is undefined", undefined)
        elif cur["undefined_at"] is not None:
            raise fail("an empty loss or gradient cell is only allowed in the single row of a diverged run "
                       "that starts where the loss is undefined", cur["undefined_col"], cur["undefined_at"])
        cur["xy"].extend(vals[0:2])
        cur["loss"].append(vals[2])
        cur["g"].extend(vals[3:5])
    if cur is not None:
        yield finish(cur)


def _params(cell: str, opt, fail) -> dict:
    """Decode and check a ``params`` cell against the optimizer's declared hyperparameters."""
    if len(cell) > MAX_PARAMS_CHARS:
        raise fail(f"{len(cell)} characters is too long for hyperparameters (at most {MAX_PARAMS_CHARS})", "params")
    deep = check_json_depth(cell, MAX_JSON_DEPTH)
    if deep is not None:
        raise fail(f"JSON nested more than {MAX_JSON_DEPTH} deep", "params")
    try:
        params = json.loads(cell, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_bounded_float)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON ({exc.msg})", "params") from None
    except (ValueError, RecursionError) as exc:
        raise fail(f"not valid JSON ({exc})", "params") from None
    if not isinstance(params, dict):
        raise fail("expected a JSON object of hyperparameters", "params")
    hyper = {k: v for k, v in params.items() if k not in _RECORDS}
    for key, value in hyper.items():
        if not isinstance(value, (bool, int, float)):
            raise fail(f"hyperparameter {key[:40]!r} must be a number or true/false", "params")
    try:
        opt.resolve(hyper)
        _check_records(params)
    except LandscapeError as exc:
        raise fail(f"{opt.name}: {exc}", "params") from None
    return params


_RECORDS = ("schedule", "noise")
"""Keys of ``params`` that record a learning-rate schedule or gradient noise, not a hyperparameter."""


def _check_records(params: dict) -> None:
    """Check the ``schedule`` and ``noise`` records of a ``params`` cell as sessions check them."""
    schedule, noise = params.get("schedule"), params.get("noise")
    if schedule is not None:
        from landscape_gui.core.schedules import make_schedule

        if not isinstance(schedule, dict) or not isinstance(schedule.get("name"), str):
            raise LandscapeError("'schedule' must be an object with a 'name' and its settings")
        make_schedule(schedule["name"], {k: v for k, v in schedule.items() if k != "name"})
    if noise is not None:
        from landscape_gui.core.noise import GradientNoise

        if not isinstance(noise, dict) or set(noise) - {"scale", "seed", "batch_size"}:
            raise LandscapeError("'noise' must be an object with 'scale', 'seed' and optionally 'batch_size'")
        GradientNoise(noise.get("scale", 0.0), noise.get("seed", 0), noise.get("batch_size", 0))


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a finite number")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text} is too large for a double")
    return v


__all__ = ["COLUMNS", "CsvWriter", "csv_text", "params_json", "parse_csv", "read_csv", "row_blocks", "run_rows", "write_csv"]
