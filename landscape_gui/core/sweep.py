"""Sweeps: basin maps over a grid of hyperparameters, computed in shards on a Dask cluster.

A sweep fixes a surface, an optimizer, the bounds, the resolution ``R`` and the stop rules, and varies
some of the optimizer's hyperparameters over a grid: the Cartesian product of each varied parameter's
values (:class:`Axis`, linear or logarithmic). Every combination is a *cell*; every cell is the basin
map :func:`landscape_gui.core.basins.basin_map` would compute for those hyperparameters. Cells are
numbered in C order over the axes (the last axis varies fastest).

**Shards.** A cell's ``R²`` starts, in basin_map's order (start ``k = i·R + j`` is x-cell ``i``, y-cell
``j``), are cut into consecutive blocks of :attr:`SweepSpec.shard_size` starts. A shard is a task with
pure inputs (:class:`ShardTask`: the surface's spec text, the optimizer's name, the resolved
hyperparameters, bounds, resolution, the block's ``[start, stop)`` and the stop rules); it rebuilds the
surface and returns where each run ended (:func:`landscape_gui.core.basins.end_points`). Every start's
run is independent of the others, so a shard equals the same rows of the whole map, bit for bit,
whichever worker computes it and however often (Dask reruns the tasks of a worker that died).

**Labels.** When all shards of a cell are in, the caller's process labels the cell's end points with a
fresh :class:`~landscape_gui.core.minima.MinimaTable` exactly as ``basin_map`` does, so the cell's map is
the one ``landscape-gui basins`` writes. The critical points of all cells are then merged into one
table (numbered 1, 2, ... by loss, x, y over the whole sweep) and each cell's labels are translated to
it (:meth:`BasinMap.rebased`): one id means one place in every cell.

**The output folder** (optional) makes a sweep resumable and is what the command line writes:

- ``sweep.json``: the manifest: the spec, its SHA-256 key, the finished shards and one entry per
  invocation (shards computed, shards reused, how it ended). A folder holding another sweep is refused.
- ``shards/cCCCCC-sSSSS.npy``: float64 ``(n, 3)`` per shard: end x, end y, status code; each written
  atomically (temporary file + rename), so any number of processes may write the store and a killed
  one never leaves a partial shard. A rerun adopts every shard file it finds and computes the rest.
- ``labels/cCCCCC.npy``: int32 ``(R, R)`` labels of each cell in the sweep's ids.
- ``cells.csv``: ``cell,<varied names>,dominant,settled,labels``; ``summary.csv``:
  ``<varied names>,minimum,x,y,loss,kind,fraction``, one row per cell and critical point reached;
  ``phase.png``: the phase diagram (:mod:`landscape_gui.phase_image`).

Dask distributed (https://distributed.dask.org) schedules the shards: a ``LocalCluster`` of worker
processes by default, or any cluster a :class:`distributed.Client` is connected to. It is imported only
when a sweep runs.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import json
import logging
import math
import os
import queue
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np

from landscape_gui.core import engine
from landscape_gui.core.basins import BasinMap, cell_centres, check_resolution, end_points
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_bytes, atomic_write_text
from landscape_gui.core.minima import CriticalPoint, MinimaTable
from landscape_gui.core.optimizers import Hyperparameter, Optimizer, get_optimizer
from landscape_gui.core.surfaces import Bounds, Surface, surface_from_spec

FORMAT = "landscape-gui sweep 1"
"""Manifest format tag; a folder written by another format is refused."""
MAX_CELLS = 100_000
MAX_AXIS_POINTS = 10_000
MAX_SHARD = 65_536
"""Largest shard: a shard of the fused kernel at 1000 steps takes about a second on one core."""
MIN_SHARD = 16_384
"""Smallest shard (unless a cell is smaller)."""
TARGET_TASKS = 8
"""Cells are cut into shards only until the sweep has about this many tasks; from 8 cells on, one shard
per cell (cells up to 256×256). The numpy engine pays a fixed cost per step and batch, so a cell cut
into k shards pays it k times (``benchmarks/bench_sweep.py`` showed the numpy sweep's CPU time above
the loop's with 3 shards per cell, near it with whole cells). The compiled kernel has no such cost, but
one rule for both keeps a sweep's shards independent of what is installed where."""
MANIFEST_INTERVAL = 1.0
"""Seconds between manifest writes while shards arrive (shard files are the data; see :func:`_load_done`)."""
MANIFEST = "sweep.json"


class Cancelled(engine.Cancelled):
    """The sweep was cancelled (``should_cancel()`` answered True); finished shards are kept in the
    output folder, and a rerun with the same arguments resumes."""


# --------------------------------------------------------------------------------------------------
# What is varied


@dataclass(frozen=True)
class Axis:
    """One varied hyperparameter and the values it takes.

    Attributes:
        name: the optimizer's hyperparameter name (e.g. ``lr``, ``momentum``, ``beta1``).
        values: the values, in order (floats; whole numbers for integer hyperparameters).
        log: the values are spaced evenly on a log scale (drawn on a log axis).
    """

    name: str
    values: tuple[float, ...]
    log: bool = False

    @classmethod
    def linear(cls, name: str, start: float, stop: float, n: int) -> "Axis":
        """``n`` values evenly spaced from ``start`` to ``stop`` inclusive (``numpy.linspace``)."""
        _check_count(name, n)
        return cls(name, tuple(float(v) for v in np.linspace(float(start), float(stop), int(n))), False)

    @classmethod
    def logarithmic(cls, name: str, start: float, stop: float, n: int) -> "Axis":
        """``n`` values evenly spaced in ``log`` from ``start`` to ``stop`` (``numpy.geomspace``)."""
        _check_count(name, n)
        if not (start > 0 and stop > 0):
            raise LandscapeError(f"--vary {name}: a log axis needs START and STOP > 0, got {start:g} and {stop:g}")
        return cls(name, tuple(float(v) for v in np.geomspace(float(start), float(stop), int(n))), True)

    @classmethod
    def parse(cls, text: str) -> "Axis":
        """``"NAME=START:STOP:N"`` or ``"NAME=START:STOP:N:log"`` (the command line's ``--vary``)."""
        name, sep, rest = text.partition("=")
        name = name.strip()
        parts = [p.strip() for p in rest.split(":")]
        usage = f"--vary takes NAME=START:STOP:N or NAME=START:STOP:N:log, e.g. --vary lr=0.001:0.1:5:log, got {text!r}"
        if not sep or not name or len(parts) not in (3, 4) or (len(parts) == 4 and parts[3].lower() not in ("log", "lin")):
            raise LandscapeError(usage)
        try:
            start, stop = float(parts[0]), float(parts[1])
            n = int(parts[2])
        except ValueError:
            raise LandscapeError(usage) from None
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise LandscapeError(f"--vary {name}: START and STOP must be finite numbers, got {text!r}")
        if len(parts) == 4 and parts[3].lower() == "log":
            return cls.logarithmic(name, start, stop, n)
        return cls.linear(name, start, stop, n)

    def __len__(self) -> int:
        return len(self.values)


def _check_count(name: str, n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_AXIS_POINTS:
        raise LandscapeError(f"--vary {name}: N must be a whole number from 1 to {MAX_AXIS_POINTS}, got {n!r}")


def as_axes(vary: Mapping[str, Sequence[float]] | Sequence[Axis]) -> tuple[Axis, ...]:
    """Axes from ``{name: values}`` (a log axis is recognised by its values: all positive and evenly
    spaced in log but not linearly) or from :class:`Axis` objects."""
    if isinstance(vary, Mapping):
        axes = []
        for name, values in vary.items():
            vals = tuple(float(v) for v in np.asarray(values, dtype=float).reshape(-1))
            if not vals:
                raise LandscapeError(f"vary {name}: give at least one value")
            arr = np.array(vals)
            log = bool(len(arr) > 2 and (arr > 0).all() and not np.allclose(np.diff(arr), arr[1] - arr[0])
                       and np.allclose(np.diff(np.log(arr)), math.log(arr[1] / arr[0])))
            axes.append(Axis(str(name), vals, log))
        return tuple(axes)
    return tuple(vary)


def sweepable(optimizer: Optimizer) -> dict[str, Hyperparameter]:
    """The hyperparameters a sweep can vary, by name: every numeric one the optimizer declares.

    The one place that says what ``--vary NAME`` may name; hyperparameters declared elsewhere later
    (a learning-rate schedule's, say) join here.
    """
    return {h.name: h for h in optimizer.hyperparameters if h.kind is not bool}


# --------------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class SweepSpec:
    """Everything that determines a sweep's result (and nothing else: not the cluster).

    Build it with :func:`make_spec`, which validates. ``surface`` is the surface's spec text (a
    catalogue name, an ``nn:`` network spec or a formula, as :func:`surface_from_spec` reads it);
    ``hyperparameters`` are the fixed ones (defaults included, resolved), ``axes`` the varied ones.
    """

    surface: str
    optimizer: str
    hyperparameters: tuple[tuple[str, Any], ...]
    axes: tuple[Axis, ...]
    bounds: Bounds
    resolution: int
    max_steps: int
    tol: float
    shard_size: int

    @property
    def shape(self) -> tuple[int, ...]:
        """Cells along each axis."""
        return tuple(len(a) for a in self.axes)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def starts_per_cell(self) -> int:
        return self.resolution * self.resolution

    @property
    def shards_per_cell(self) -> int:
        return -(-self.starts_per_cell // self.shard_size)

    @property
    def n_shards(self) -> int:
        return self.n_cells * self.shards_per_cell

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def cell_values(self, cell: int) -> dict[str, float]:
        """The varied hyperparameters of ``cell``."""
        idx = np.unravel_index(cell, self.shape)
        return {a.name: a.values[int(i)] for a, i in zip(self.axes, idx)}

    def cell_hyperparameters(self, cell: int) -> dict[str, Any]:
        """Every hyperparameter in force in ``cell``, resolved (declaration order)."""
        opt = get_optimizer(self.optimizer)
        return opt.resolve({**dict(self.hyperparameters), **self.cell_values(cell)})

    def shard_range(self, shard: int) -> tuple[int, int]:
        """``[start, stop)`` of shard ``shard`` (within a cell) in basin_map's flat start order."""
        lo = shard * self.shard_size
        return lo, min(lo + self.shard_size, self.starts_per_cell)

    def shards(self) -> Iterator[tuple[int, int]]:
        """Every ``(cell, shard)``, cell by cell."""
        return itertools.product(range(self.n_cells), range(self.shards_per_cell))

    def as_json(self) -> dict[str, Any]:
        return {
            "surface": self.surface,
            "optimizer": self.optimizer,
            "hyperparameters": dict(self.hyperparameters),
            "vary": [{"name": a.name, "values": list(a.values), "log": a.log} for a in self.axes],
            "bounds": list(self.bounds),
            "resolution": self.resolution,
            "max_steps": self.max_steps,
            "tol": self.tol,
            "shard_size": self.shard_size,
        }

    @property
    def key(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`as_json` (floats in shortest round-trip form)."""
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """One line for messages: surface, optimizer, what varies."""
        vary = ", ".join(
            f"{a.name} {_num(a.values[0])}..{_num(a.values[-1])} ×{len(a)}{' log' if a.log else ''}" for a in self.axes
        )
        return f"{self.surface} with {self.optimizer}, varying {vary}, {self.resolution}×{self.resolution} starts"


def _num(v: float) -> str:
    return f"{v:.6g}"


def default_shard_size(resolution: int, n_cells: int) -> int:
    """Starts per shard: each cell cut into ``k = ⌈TARGET_TASKS / cells⌉`` equal shards, each kept within
    :data:`MIN_SHARD`..:data:`MAX_SHARD` starts (and no more than a cell has). Depends only on the sweep,
    never on the cluster, so a rerun on other workers finds the same shards."""
    per_cell = resolution * resolution
    k = max(1, -(-TARGET_TASKS // n_cells))
    size = -(-per_cell // k)
    return int(min(per_cell, MAX_SHARD, max(MIN_SHARD, size)))


def surface_spec(surface: Surface | str) -> str:
    """The text that rebuilds ``surface`` on another machine (its ``name``, read by
    :func:`surface_from_spec`); checks that it does."""
    spec = surface if isinstance(surface, str) else surface.name
    try:
        rebuilt = surface_from_spec(spec)
    except LandscapeError as exc:
        raise LandscapeError(f"cannot sweep surface {spec!r}: {exc}") from None
    if not isinstance(surface, str) and type(rebuilt) is not type(surface):
        raise LandscapeError(f"cannot sweep surface {spec!r}: its name does not describe it, so workers cannot rebuild it")
    return spec


def make_spec(
    surface: Surface | str,
    optimizer: Optimizer | str,
    vary: Mapping[str, Sequence[float]] | Sequence[Axis],
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    bounds: Bounds | None = None,
    resolution: int = 64,
    max_steps: int = 1000,
    tol: float = 1e-6,
    shard_size: int | None = None,
) -> SweepSpec:
    """Validate a sweep's inputs into a :class:`SweepSpec`.

    Raises:
        LandscapeError: an unknown surface or optimizer, a varied name that is not one of the
            optimizer's numeric hyperparameters (or is also fixed, or given twice), a value out of its
            hyperparameter's range in some cell, too many cells, bad bounds, resolution or limits.
    """
    spec_text = surface_spec(surface)
    surf = surface_from_spec(spec_text)
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    if get_optimizer(opt.name) is not opt:
        raise LandscapeError(f"optimizer {opt.name!r} must be registered so that workers can find it by name")
    fixed = dict(hyperparameters or {})
    axes = as_axes(vary)
    if not axes:
        raise LandscapeError("a sweep varies at least one hyperparameter (--vary NAME=START:STOP:N)")
    space = sweepable(opt)
    seen: set[str] = set()
    for a in axes:
        if a.name not in space:
            valid = ", ".join(space) or "none"
            raise LandscapeError(f"--vary {a.name}: {opt.name} has no numeric hyperparameter {a.name!r}; valid: {valid}")
        if a.name in seen:
            raise LandscapeError(f"--vary {a.name} is given twice")
        if a.name in fixed:
            raise LandscapeError(f"{a.name} is both set (--set) and varied (--vary); drop one")
        seen.add(a.name)
        h = space[a.name]
        for v in a.values:
            try:
                h.coerce(v)
            except LandscapeError as exc:
                raise LandscapeError(f"--vary {a.name}: {exc}") from None
    # Types and ranges now; cross-parameter rules per cell below (they may hold only with the varied values).
    typed = {k: opt.hyperparameter(k).coerce(v) for k, v in fixed.items()}
    fixed_items = tuple((k, typed.get(k, v)) for k, v in opt.defaults().items() if k not in seen)
    n_cells = int(np.prod([len(a) for a in axes], dtype=np.int64))
    if n_cells > MAX_CELLS:
        raise LandscapeError(f"a sweep of {n_cells} cells is too large (at most {MAX_CELLS})")
    b = engine.check_bounds(bounds if bounds is not None else surf.bounds)
    r = check_resolution(resolution)
    steps, tol_f = engine.check_limits(max_steps, tol)
    if shard_size is None:
        shard_size = default_shard_size(r, n_cells)
    elif isinstance(shard_size, bool) or not isinstance(shard_size, (int, np.integer)) or shard_size < 1:
        raise LandscapeError(f"shard size must be a whole number >= 1, got {shard_size!r}")
    spec = SweepSpec(spec_text, opt.name, fixed_items, axes, b, r, int(steps), float(tol_f),
                     int(min(shard_size, r * r)))
    # Cross-parameter checks (e.g. Nesterov needs momentum) in every cell, before any work is sent.
    for cell in range(spec.n_cells):
        try:
            spec.cell_hyperparameters(cell)
        except LandscapeError as exc:
            where = ", ".join(f"{k}={_num(v)}" for k, v in spec.cell_values(cell).items())
            raise LandscapeError(f"cell {where}: {exc}") from None
    return spec


# --------------------------------------------------------------------------------------------------
# The task


class ShardTask(NamedTuple):
    """A shard's pure inputs: plain data a worker anywhere turns into the same result."""

    surface: str
    optimizer: str
    hyperparameters: tuple[tuple[str, Any], ...]
    bounds: Bounds
    resolution: int
    start: int
    stop: int
    max_steps: int
    tol: float


@functools.lru_cache(maxsize=8)
def _surface(spec: str) -> Surface:
    """Surfaces rebuilt on a worker, kept for the shards that follow (formulas compile once)."""
    return surface_from_spec(spec)


def shard_starts(bounds: Bounds, resolution: int, start: int, stop: int) -> np.ndarray:
    """Starts ``start..stop-1`` of basin_map's grid (``k = i·R + j`` at ``(xs[i], ys[j])``), ``(n, 2)``,
    the same floats as the whole grid's rows."""
    xs, ys = cell_centres(bounds, resolution)
    k = np.arange(start, stop)
    return np.column_stack([xs[k // resolution], ys[k % resolution]])


def compute_shard(task: ShardTask) -> np.ndarray:
    """Run one shard: float64 ``(n, 3)``: end x, end y, status code (0 converged, 1 diverged,
    2 max_steps), for starts ``task.start..task.stop-1`` of the cell's grid. Pure: the result depends
    on ``task`` only."""
    surface = _surface(task.surface)
    opt = get_optimizer(task.optimizer)
    hp = dict(task.hyperparameters)
    starts = shard_starts(task.bounds, task.resolution, task.start, task.stop)
    final_p, codes, _ = end_points(surface, opt, hp, starts, task.bounds, task.max_steps, task.tol)
    out = np.empty((len(starts), 3))
    out[:, :2] = final_p
    out[:, 2] = codes
    return out


def shard_task(spec: SweepSpec, cell: int, shard: int) -> ShardTask:
    lo, hi = spec.shard_range(shard)
    hp = tuple(spec.cell_hyperparameters(cell).items())
    return ShardTask(spec.surface, spec.optimizer, hp, spec.bounds, spec.resolution, lo, hi, spec.max_steps, spec.tol)


def label_cell(spec: SweepSpec, cell: int, ends: np.ndarray, surface: Surface | None = None) -> BasinMap:
    """The cell's basin map from its gathered end points (``(R², 3)`` as :func:`compute_shard` rows):
    a fresh minima table labels them exactly as :func:`basin_map` does, so labels, status and table
    equal ``basin_map(...)``'s for the cell's hyperparameters."""
    surface = surface if surface is not None else _surface(spec.surface)
    r = spec.resolution
    table = MinimaTable(surface, spec.bounds)
    codes = ends[:, 2].astype(np.int8)
    labels = table.assign(ends[:, :2], codes, spec.tol).astype(np.int32).reshape(r, r)
    xs, ys = cell_centres(spec.bounds, r)
    opt = get_optimizer(spec.optimizer)
    from landscape_gui.core import fastpath

    hp = spec.cell_hyperparameters(cell)
    fused = fastpath.fused_runner(surface, opt, hp) is not None
    return BasinMap(labels, codes.reshape(r, r), table, xs, ys, spec.bounds, surface.name, opt.name, hp,
                    spec.max_steps, spec.tol, fused)


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands, passed to the ``progress`` callback after every shard.

    Attributes:
        done: shards finished (reused ones included).
        total: shards in the sweep.
        reused: shards found finished in the output folder (not computed again).
        cells_done: cells whose every shard is in.
        cells: cells in the sweep.
        elapsed: seconds since the sweep started.
        eta: estimated seconds left (from this run's shard rate), ``None`` until a shard is computed.
    """

    done: int
    total: int
    reused: int
    cells_done: int
    cells: int
    elapsed: float
    eta: float | None

    @property
    def fraction(self) -> float:
        """Share of shards finished, 0..1."""
        return self.done / self.total if self.total else 1.0


@dataclass
class SweepResult:
    """A finished sweep: plain arrays and objects, no cluster attached.

    Attributes:
        spec: what was swept.
        table: the critical points of all cells; ids as in ``labels`` and ``summary.csv``.
        labels: int32 ``(cells, R, R)``: ``labels[c, i, j]`` = id of the point reached from x-cell
            ``i``, y-cell ``j`` in cell ``c`` (``-1``: none); cells in C order over the axes.
        status: int8 ``(cells, R, R)`` engine status codes (0 converged, 1 diverged, 2 max_steps).
        computed: shards computed by this call; reused: shards taken from the output folder.
        output: the output folder, if any.
        elapsed: seconds the call took.
    """

    spec: SweepSpec
    table: MinimaTable
    labels: np.ndarray
    status: np.ndarray
    computed: int = 0
    reused: int = 0
    output: str | None = None
    elapsed: float = 0.0
    fused: bool = False

    @property
    def axes(self) -> tuple[Axis, ...]:
        return self.spec.axes

    @property
    def shape(self) -> tuple[int, ...]:
        return self.spec.shape

    def values(self, cell: int) -> dict[str, float]:
        """The varied hyperparameters of ``cell``."""
        return self.spec.cell_values(cell)

    def hyperparameters(self, cell: int) -> dict[str, Any]:
        """Every hyperparameter in force in ``cell``."""
        return self.spec.cell_hyperparameters(cell)

    def points(self) -> list[CriticalPoint]:
        """The critical points some cell reached, by id."""
        reached = set(np.unique(self.labels[self.labels >= 0]).tolist())
        return [c for c in self.table.points if c.id in reached]

    def fractions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (k,), shares (cells, k))``: each reached point's share of each cell's starts."""
        ids = np.array([c.id for c in self.points()], dtype=np.int64)
        flat = self.labels.reshape(len(self.labels), -1)
        shares = np.empty((len(flat), len(ids)))
        for k, ident in enumerate(ids):
            shares[:, k] = np.count_nonzero(flat == ident, axis=1) / flat.shape[1]
        return ids, shares

    def dominant(self) -> np.ndarray:
        """int64 array of :attr:`shape`: per cell, the id reached from the most starts (the lower id on
        a tie), ``-1`` where no start settled anywhere."""
        ids, shares = self.fractions()
        out = np.full(len(self.labels), -1, dtype=np.int64)
        if len(ids):
            best = np.argmax(shares, axis=1)
            has = shares[np.arange(len(shares)), best] > 0
            out[has] = ids[best[has]]
        return out.reshape(self.shape)

    def settled(self) -> np.ndarray:
        """Share of each cell's starts that reached some critical point, array of :attr:`shape`."""
        flat = self.labels.reshape(len(self.labels), -1)
        return (np.count_nonzero(flat >= 0, axis=1) / flat.shape[1]).reshape(self.shape)

    def cell_map(self, cell: int) -> BasinMap:
        """Cell ``cell`` as a :class:`BasinMap` on the sweep's table (what the window draws)."""
        spec = self.spec
        xs, ys = cell_centres(spec.bounds, spec.resolution)
        return BasinMap(self.labels[cell], self.status[cell], self.table, xs, ys, spec.bounds,
                        self.table.surface.name, spec.optimizer, self.hyperparameters(cell), spec.max_steps,
                        spec.tol, self.fused)

    def summary_rows(self) -> Iterator[list[Any]]:
        """Rows of ``summary.csv`` after its header (see :func:`summary_csv_text`)."""
        ids, shares = self.fractions()
        by_id = {c.id: c for c in self.table.points}
        for cell in range(len(self.labels)):
            vals = [repr(v) for v in self.values(cell).values()]
            for k, ident in enumerate(ids):
                if shares[cell, k] > 0:
                    c = by_id[int(ident)]
                    yield vals + [c.id, repr(c.x), repr(c.y), repr(c.loss), c.kind, repr(float(shares[cell, k]))]


SUMMARY_COLUMNS = ("minimum", "x", "y", "loss", "kind", "fraction")


def summary_csv_text(result: SweepResult) -> str:
    """``<varied names>,minimum,x,y,loss,kind,fraction``: one row per cell and critical point reached,
    cells in order, points by id (the columns of ``landscape-gui basins``' CSV after the varied values)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(result.spec.names) + list(SUMMARY_COLUMNS))
    w.writerows(result.summary_rows())
    return buf.getvalue()


def cells_csv_text(result: SweepResult) -> str:
    """``cell,<varied names>,dominant,settled,labels``: one row per cell with its label file."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["cell", *result.spec.names, "dominant", "settled", "labels"])
    dom = result.dominant().reshape(-1)
    settled = result.settled().reshape(-1)
    for cell in range(len(result.labels)):
        w.writerow([cell, *(repr(v) for v in result.values(cell).values()), int(dom[cell]),
                    repr(float(settled[cell])), _label_name(cell)])
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# The store


def _shard_name(cell: int, shard: int) -> str:
    return f"shards/c{cell:05d}-s{shard:04d}.npy"


def _label_name(cell: int) -> str:
    return f"labels/c{cell:05d}.npy"


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


class Store:
    """A sweep's output folder (module docstring): manifest, shard files, label files, tables."""

    def __init__(self, folder: str | os.PathLike[str], spec: SweepSpec) -> None:
        self.folder = Path(folder)
        self.spec = spec
        self.key = spec.key
        self.done: set[int] = set()
        self.runs: list[dict[str, Any]] = []
        self._last_write = 0.0

    # -- opening ---------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the folder or check that it holds this sweep; load the finished shards.

        Raises:
            LandscapeError: the parent folder is missing, the folder is not a folder, holds files
                but no sweep, or holds a different sweep.
        """
        f = self.folder
        if f.exists() and not f.is_dir():
            raise LandscapeError(f"cannot write the sweep to {f}: it is a file, not a folder")
        manifest = f / MANIFEST
        if f.is_dir() and manifest.exists():
            old = self._read_manifest(manifest)
            if old.get("key") != self.key:
                what = ""
                try:
                    spec = old["spec"]
                    what = f" ({spec['surface']} with {spec['optimizer']}, varying " + ", ".join(
                        v["name"] for v in spec["vary"]) + f", {spec['resolution']}×{spec['resolution']} starts)"
                except (KeyError, TypeError):
                    pass
                raise LandscapeError(
                    f"{f} holds a different sweep{what}; rerun with its own arguments to resume it, or write to another folder"
                )
            self.runs = list(old.get("runs", []))
            self.done = {int(s) for s in old.get("done", []) if isinstance(s, int)}
        elif f.is_dir() and any(f.iterdir()):
            raise LandscapeError(f"{f} is not empty and holds no sweep; write the sweep to a new or empty folder")
        else:
            parent = f.absolute().parent
            if not parent.is_dir():
                raise LandscapeError(f"cannot write the sweep to {f}: folder {parent} does not exist")
            try:
                (f / "shards").mkdir(parents=True, exist_ok=True)
                (f / "labels").mkdir(exist_ok=True)
            except OSError as exc:
                raise LandscapeError(f"cannot create {f}: {exc.strerror or exc}") from None
        for sub in ("shards", "labels"):
            try:
                (f / sub).mkdir(exist_ok=True)
            except OSError as exc:
                raise LandscapeError(f"cannot create {f / sub}: {exc.strerror or exc}") from None
        self._adopt_shard_files()

    def _read_manifest(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LandscapeError(f"{path} is not a readable sweep manifest ({exc}); write the sweep to another folder") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LandscapeError(f"{path} is not a {FORMAT} manifest; write the sweep to another folder")
        return data

    def _adopt_shard_files(self) -> None:
        """Shards whose files exist and are whole count as done (a hard kill can leave finished shard
        files the manifest has not listed yet); listed shards whose file is gone do not."""
        spc = self.spec.shards_per_cell
        found: set[int] = set()
        folder = self.folder / "shards"
        pattern = re.compile(r"c(\d{5})-s(\d{4})\.npy")
        for entry in os.scandir(folder):
            m = pattern.fullmatch(entry.name)
            if not m:
                continue
            cell, shard = int(m.group(1)), int(m.group(2))
            if cell >= self.spec.n_cells or shard >= spc:
                continue
            flat = cell * spc + shard
            if flat in self.done or self._valid(cell, shard):
                found.add(flat)
        self.done = found

    def _valid(self, cell: int, shard: int) -> bool:
        lo, hi = self.spec.shard_range(shard)
        try:
            a = np.load(self.folder / _shard_name(cell, shard), allow_pickle=False)
        except (OSError, ValueError):
            return False
        return a.shape == (hi - lo, 3) and a.dtype == np.float64 and np.isin(a[:, 2], (0, 1, 2)).all()

    # -- writing ---------------------------------------------------------------------------------
    def begin(self) -> None:
        self.runs.append({"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          "computed": 0, "reused": len(self.done), "state": "running"})
        self.write_manifest(force=True)

    def put_shard(self, cell: int, shard: int, ends: np.ndarray) -> None:
        atomic_write_bytes(self.folder / _shard_name(cell, shard), _npy_bytes(np.ascontiguousarray(ends, dtype=np.float64)))
        self.done.add(cell * self.spec.shards_per_cell + shard)
        self.runs[-1]["computed"] += 1
        self.write_manifest()

    def get_shard(self, cell: int, shard: int) -> np.ndarray:
        return np.load(self.folder / _shard_name(cell, shard), allow_pickle=False)

    def finish(self, state: str) -> None:
        if self.runs:
            self.runs[-1]["state"] = state
            self.runs[-1]["ended"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.write_manifest(force=True)

    def write_manifest(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < MANIFEST_INTERVAL:
            return
        self._last_write = now
        data = {
            "format": FORMAT,
            "key": self.key,
            "spec": self.spec.as_json(),
            "cells": self.spec.n_cells,
            "shards_per_cell": self.spec.shards_per_cell,
            "done": sorted(self.done),
            "runs": self.runs,
        }
        atomic_write_text(self.folder / MANIFEST, json.dumps(data, indent=1) + "\n")

    def write_results(self, result: SweepResult, render_png: Callable[[SweepResult], bytes] | None) -> list[str]:
        """Label files, cells.csv, summary.csv and (given a renderer) phase.png; the paths written."""
        for cell in range(len(result.labels)):
            atomic_write_bytes(self.folder / _label_name(cell), _npy_bytes(np.ascontiguousarray(result.labels[cell])))
        atomic_write_text(self.folder / "cells.csv", cells_csv_text(result))
        atomic_write_text(self.folder / "summary.csv", summary_csv_text(result))
        paths = [str(self.folder / "summary.csv"), str(self.folder / "cells.csv"), str(self.folder / "labels")]
        if render_png is not None:
            atomic_write_bytes(self.folder / "phase.png", render_png(result))
            paths.append(str(self.folder / "phase.png"))
        return paths


# --------------------------------------------------------------------------------------------------
# Running


def default_workers() -> int:
    """Worker processes of a local cluster by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def local_cluster(workers: int | None = None, *, dashboard: str | None = None, quiet: bool = True) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes (default: the
    core count), each with an equal share of the cores for numba's parallel kernels. The dashboard is
    off unless ``dashboard`` gives an address (it needs bokeh); Dask's logs are silenced unless
    ``quiet`` is False.

    Raises:
        LandscapeError: a bad worker count, or a dashboard asked for without bokeh.
    """
    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise LandscapeError(f"--workers takes a whole number >= 1, got {workers!r}")
    if dashboard is not None:
        try:
            import bokeh  # noqa: F401
        except ImportError:
            raise LandscapeError("the Dask dashboard needs bokeh: pip install 'bokeh>=3.1' (or run without --dashboard)") from None
    import dask.config
    from distributed import LocalCluster

    threads = max(1, default_workers() // int(n))
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes glibc's mmap threshold
    # at 128 KiB: every temporary array of the numpy engine above that size is then mapped and unmapped
    # afresh (page faults on each step), making a 20,000-start shard ~5× slower than in this process.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    # Shards are small inputs, all ready at once: send them all to the workers at the start (no
    # root-task queuing), so a worker finishing one starts the next without a round trip.
    # The workers' statistical profiler (a stack sample every 10 ms) only feeds the dashboard; the
    # event-loop tick (every 20 ms, to warn of blocked loops), the memory monitor (100 ms) and the
    # system monitor (500 ms) run in every process of the cluster: slower paces for a batch job that
    # holds little memory leave the cores to the shards.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ,
                          "distributed.scheduler.worker-saturation": "inf",
                          "distributed.worker.profile.enabled": dashboard is not None,
                          "distributed.admin.tick.interval": "500ms",
                          "distributed.admin.tick.limit": "30s",
                          "distributed.worker.memory.monitor-interval": "1s",
                          "distributed.admin.system-monitor.interval": "2s"}):
        return LocalCluster(
            n_workers=int(n),
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard,
            # Without a dashboard the scheduler still serves its health and metrics routes over HTTP:
            # on a free port, not 8787 (which may be taken, and then Dask warns).
            scheduler_kwargs=None if dashboard is not None else {"dashboard_address": ":0"},
            # Quiet: even Dask's ERROR records (a worker's heartbeat cut off by a shutdown on Ctrl-C);
            # a failing shard reaches the caller through its future, never only through a log.
            silence_logs=logging.CRITICAL if quiet else logging.INFO,
            # numba's OpenMP threads wait at barriers by sleeping, not spinning: the sweep's own
            # process labels finished cells on the same cores meanwhile.
            env={"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
            preload=["landscape_gui.core.sweep_worker"],
        )


def _check_workers(client: Any) -> None:
    """Every worker must run this package (workers on other machines need it installed)."""

    def probe() -> str:
        try:
            import landscape_gui

            return landscape_gui.__version__
        except Exception as exc:  # noqa: BLE001 - reported to the user below
            return f"error: {exc}"

    from landscape_gui import __version__

    try:
        versions = client.run(probe)
    except Exception as exc:  # noqa: BLE001
        raise LandscapeError(f"cannot talk to the Dask workers: {exc}") from None
    if not versions:
        raise LandscapeError("the Dask cluster has no workers; start some (dask worker ADDRESS) and retry")
    bad = {w: v for w, v in versions.items() if v != __version__}
    if bad:
        worker, version = next(iter(bad.items()))
        raise LandscapeError(
            f"Dask worker {worker} runs landscape-gui {version!r}, this is {__version__}: "
            "install the same version on every worker"
        )


def run_sweep(
    spec: SweepSpec,
    *,
    client: Any = None,
    workers: int | None = None,
    output: str | os.PathLike[str] | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    render_png: Callable[[SweepResult], bytes] | None = None,
    dashboard: str | None = None,
    quiet: bool = True,
) -> SweepResult:
    """Compute a sweep on a Dask cluster; see the module docstring.

    Args:
        spec: the sweep (:func:`make_spec`).
        client: a connected ``distributed.Client``; without one a :func:`local_cluster` of ``workers``
            processes is started for this call and shut down after it.
        output: a folder to store shards, labels, tables and the phase diagram in; a rerun with the
            same spec resumes from it. ``None``: keep everything in memory.
        progress: called with a :class:`SweepProgress` after each shard, in the calling thread.
        should_cancel: polled several times a second; answering True cancels every pending shard on
            the cluster (a local cluster is shut down) and raises :class:`Cancelled`.
        render_png: draws the phase diagram for ``output`` (e.g.
            :func:`landscape_gui.phase_image.render_phase_png`).

    Raises:
        LandscapeError: a folder holding something else, an unreachable or mismatched cluster, a shard
            that failed on its worker (the message says why).
        Cancelled: ``should_cancel()`` answered True. KeyboardInterrupt likewise cancels the cluster's
            work before it propagates.
    """
    t0 = time.monotonic()
    surface = _surface(spec.surface)
    store: Store | None = None
    if output is not None:
        store = Store(output, spec)
        store.open()
    spc = spec.shards_per_cell
    done = set(store.done) if store is not None else set()
    reused = len(done)
    ends: dict[int, np.ndarray] = {}  # in-memory end points of unfinished cells
    have = np.zeros(spec.n_cells, dtype=np.int64)
    for flat in done:
        have[flat // spc] += 1
    maps: dict[int, BasinMap] = {}

    def finish_cell(cell: int) -> None:
        if store is not None:
            rows = np.concatenate([store.get_shard(cell, s) for s in range(spc)])
        else:
            rows = ends.pop(cell)
        maps[cell] = label_cell(spec, cell, rows, surface)

    computed = 0
    t_submit = t0

    def report() -> None:
        if progress is None:
            return
        now = time.monotonic()
        left = spec.n_shards - len(done)
        eta = (now - t_submit) / computed * left if computed else (0.0 if left == 0 else None)
        elapsed = now - t0
        progress(SweepProgress(len(done), spec.n_shards, reused, len(maps), spec.n_cells, elapsed, eta))

    for cell in np.flatnonzero(have == spc):
        finish_cell(int(cell))
    report()

    todo = [(c, s) for c, s in spec.shards() if c * spc + s not in done]
    own_cluster = None
    state = "failed"
    futures: list[Any] = []
    if store is not None:
        store.begin()
    try:
        if todo:
            from distributed import Client

            if client is None:
                own_cluster = local_cluster(workers, dashboard=dashboard, quiet=quiet)
                client = Client(own_cluster, set_as_default=False)
            _check_workers(client)
            t_submit = time.monotonic()
            arrived: "queue.Queue[Any]" = queue.Queue()
            key_prefix = f"landscape-shard-{spec.key[:16]}"
            where: dict[str, tuple[int, int]] = {}
            for cell, shard in todo:
                key = f"{key_prefix}-{cell}-{shard}"
                fut = client.submit(compute_shard, shard_task(spec, cell, shard), key=key, pure=False,
                                    priority=-cell)
                where[fut.key] = (cell, shard)
                fut.add_done_callback(arrived.put)
                futures.append(fut)
            pending = len(futures)
            while pending:
                if should_cancel is not None and should_cancel():
                    raise Cancelled("sweep cancelled")
                try:
                    fut = arrived.get(timeout=0.2)
                except queue.Empty:
                    continue
                pending -= 1
                cell, shard = where[fut.key]
                if fut.status != "finished":
                    try:
                        fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker-side failure, reported in one line
                        what = str(exc) if isinstance(exc, LandscapeError) else f"{type(exc).__name__}: {exc}"
                        raise LandscapeError(f"shard {shard} of cell {cell} failed on its worker: {what}") from None
                    raise LandscapeError(f"shard {shard} of cell {cell} was {fut.status} on the cluster")
                rows = fut.result()
                fut.release()
                if store is not None:
                    store.put_shard(cell, shard, rows)
                else:
                    lo, hi = spec.shard_range(shard)
                    buf = ends.get(cell)
                    if buf is None:
                        buf = ends[cell] = np.empty((spec.starts_per_cell, 3))
                    buf[lo:hi] = rows
                done.add(cell * spc + shard)
                computed += 1
                have[cell] += 1
                if have[cell] == spc:
                    finish_cell(cell)
                report()
        state = "finished"
    except (Cancelled, KeyboardInterrupt):
        state = "cancelled"
        raise
    finally:
        if futures and state != "finished":
            try:
                client.cancel(futures)  # tasks no other client of the cluster wants are dropped
            except Exception:  # noqa: BLE001 - the cluster may already be gone
                pass
        if own_cluster is not None:
            _shutdown(client, own_cluster)
        if store is not None:
            store.finish(state)

    result = _merge(spec, maps, surface)
    result.computed, result.reused = computed, reused
    if store is not None:
        store.write_results(result, render_png)
        result.output = str(store.folder)
    result.elapsed = time.monotonic() - t0
    return result


def _shutdown(client: Any, cluster: Any) -> None:
    """Close our client and local cluster quietly (their worker processes end with them).

    While they close, Dask's own loggers are muted entirely: the scheduler reports the comms it finds
    closed (its client's, on Ctrl-C) at CRITICAL level with a traceback, which is no news to the user,
    who gets this program's own one-line message instead.
    """
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name == "distributed" or name.startswith("distributed.")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        for closer in (client.close, cluster.close):
            try:
                closer()
            except Exception:  # noqa: BLE001 - shutting down after an error must not hide the error
                pass
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _merge(spec: SweepSpec, maps: Mapping[int, BasinMap], surface: Surface) -> SweepResult:
    """One table for all cells: every cell's critical points added in one batch (ids by loss, x, y
    over the sweep), each cell's labels translated to it."""
    table = MinimaTable(surface, spec.bounds)
    pts = [(c.x, c.y) for m in maps.values() for c in m.table.points]
    if pts:
        table.add(np.array(pts, dtype=float), spec.tol)
    r = spec.resolution
    labels = np.empty((spec.n_cells, r, r), dtype=np.int32)
    status = np.empty((spec.n_cells, r, r), dtype=np.int8)
    fused = False
    for cell in range(spec.n_cells):
        m = maps[cell].rebased(table)
        labels[cell] = m.labels
        status[cell] = m.status
        fused = fused or m.fused
    return SweepResult(spec, table, labels, status, fused=fused)


__all__ = [
    "Axis",
    "Cancelled",
    "FORMAT",
    "ShardTask",
    "Store",
    "SweepProgress",
    "SweepResult",
    "SweepSpec",
    "as_axes",
    "cells_csv_text",
    "compute_shard",
    "default_shard_size",
    "default_workers",
    "label_cell",
    "local_cluster",
    "make_spec",
    "run_sweep",
    "shard_starts",
    "shard_task",
    "summary_csv_text",
    "surface_spec",
    "sweepable",
]
