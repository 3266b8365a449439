"""Basins of attraction: which minimum each starting point of a grid ends up in.

A basin map starts one run from the centre of every cell of an ``R × R`` grid over the bounds,

    x_i = xmin + (i + ½)(xmax − xmin)/R,   y_j = ymin + (j + ½)(ymax − ymin)/R,

runs the optimizer with the engine's stop rules (no trajectories are kept) and labels each cell with
the id of the critical point its run settled in (:class:`~landscape_gui.core.minima.MinimaTable`), or
``-1`` when it diverged or was still travelling at ``max_steps``. ``labels[i, j]`` belongs to the start
at x-cell ``i`` and y-cell ``j`` (the project's ``indexing="ij"`` convention). A basin's *fraction* is
its share of the ``R²`` cells.

This is the picture of Asenjo et al., "Visualising basins of attraction for the cross-entropy and the
squared error neural network loss functions" (Neurocomputing 2020) and of classical Newton fractals:
the map depends on the optimizer and its hyperparameters, not just on the surface.

Speed: the generic path is ``engine.run(record=False)``: batched numpy with active-set compaction,
no trajectories kept. Every catalogue surface and typed formula with every built-in optimizer also
runs compiled (:mod:`landscape_gui.core.fastpath`): a kernel generated from the same ``point`` and
update-rule functions the engine runs, so the labels are the same (the tests check it).
"""

from __future__ import annotations

import csv
import io
import os
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, TextIO

import numpy as np

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import (
    atomic_write_bytes,
    atomic_write_text,
    cleanup_on_signals,
    open_output,
)
from landscape_gui.core.minima import CriticalPoint, MinimaTable
from landscape_gui.core.optimizers import Optimizer, get_optimizer
from landscape_gui.core.surfaces import Bounds, Surface

MAX_RESOLUTION = 1024
QUENCH_STEPS = 5000
"""Step budget of the noiseless run that labels a noisy end point (:func:`quench_and_label`)."""
NO_MINIMUM = -1


@dataclass
class BasinMap:
    """Labels of an ``R × R`` grid of starts and the critical points they refer to.

    Attributes:
        labels: ``(R, R)`` int32; ``labels[i, j]`` = id of the critical point reached from the start
            at ``(xs[i], ys[j])``, ``-1`` for none.
        status: ``(R, R)`` int8 engine status codes (0 converged, 1 diverged, 2 max_steps).
        table: the critical points (shared between maps that are compared, so ids agree).
        xs, ys: ``(R,)`` cell centres.
        bounds: ``(xmin, xmax, ymin, ymax)`` of the grid (cell edges).
        surface: surface name or formula text.
        optimizer: optimizer name.
        params: every hyperparameter in force.
        max_steps, tol: the engine's stop rules.
        fused: whether the compiled fast path computed it.
    """

    labels: np.ndarray
    status: np.ndarray
    table: MinimaTable
    xs: np.ndarray
    ys: np.ndarray
    bounds: Bounds
    surface: str
    optimizer: str
    params: dict[str, Any] = field(default_factory=dict)
    max_steps: int = 1000
    tol: float = 1e-6
    fused: bool = False

    @property
    def resolution(self) -> int:
        return int(self.labels.shape[0])

    def counts(self) -> dict[int, int]:
        """Cells per critical-point id (ids that no cell reached are left out), in id order."""
        lab = np.asarray(self.labels).ravel()
        n = np.bincount(lab[lab >= 0])
        ids = np.flatnonzero(n)
        return dict(zip(ids.tolist(), n[ids].tolist()))

    def fractions(self) -> dict[int, float]:
        """Share of all cells ending at each id; they sum to :meth:`labelled_share`."""
        total = self.labels.size
        return {i: c / total for i, c in self.counts().items()}

    def labelled_share(self) -> float:
        """Share of cells that reached some critical point."""
        return float(np.count_nonzero(self.labels >= 0)) / self.labels.size

    def points(self) -> list[CriticalPoint]:
        """The critical points some cell reached, by id."""
        reached = set(self.counts())
        return [c for c in self.table.points if c.id in reached]

    def rebased(self, table: MinimaTable) -> "BasinMap":
        """This map with its labels translated to ``table``'s ids (``table`` gains the points it
        lacked). The GUI computes maps on a copy of its table in a worker thread and rebases the
        result on its own table, which may have grown meanwhile."""
        if table is self.table:
            return self
        mapping = table.absorb(self.table)
        lookup = np.full(int(self.table.ids().max(initial=0)) + 2, -1, dtype=np.int64)
        for old, new in mapping.items():
            lookup[old] = new
        labels = lookup[self.labels].astype(np.int32)  # -1 indexes the last slot, which stays -1
        return replace(self, labels=labels, table=table)


def cell_centres(bounds: Bounds, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)``: centres of an ``R × R`` grid of cells covering ``bounds``."""
    xmin, xmax, ymin, ymax = bounds
    k = np.arange(resolution) + 0.5
    return xmin + k * (xmax - xmin) / resolution, ymin + k * (ymax - ymin) / resolution


def check_resolution(resolution: Any) -> int:
    """A whole number of cells per side in ``[2, MAX_RESOLUTION]``."""
    if isinstance(resolution, bool):
        resolution = None
    try:
        r = int(resolution)
        if r != float(resolution):
            raise ValueError
    except (TypeError, ValueError):
        raise LandscapeError(f"resolution must be a whole number from 2 to {MAX_RESOLUTION}, got {resolution!r}") from None
    if not 2 <= r <= MAX_RESOLUTION:
        raise LandscapeError(f"resolution must be from 2 to {MAX_RESOLUTION} cells per side, got {r}")
    return r


def basin_map(
    surface: Surface,
    optimizer: Optimizer | str,
    hyperparameters: Mapping[str, Any] | None = None,
    bounds: Bounds | None = None,
    resolution: int = 256,
    max_steps: int = 1000,
    tol: float = 1e-6,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    table: MinimaTable | None = None,
    fused: bool | str = True,
    schedule: Any = None,
    noise: Any = None,
) -> BasinMap:
    """Label every cell of an ``R × R`` grid of starts with the minimum its run reaches.

    Args:
        surface: the landscape.
        optimizer: an :class:`Optimizer` or a registered name.
        hyperparameters: overrides of the optimizer's defaults (validated).
        bounds: the grid's extent; the surface's default bounds if omitted.
        resolution: cells per side, 2..1024.
        max_steps, tol: the engine's stop rules (see :func:`landscape_gui.core.engine.run`).
        progress: called with the fraction done (0..1) now and then, from the calling thread.
        should_cancel: polled now and then; answering True raises :class:`engine.Cancelled`.
        table: a minima table to extend (pass the same one to maps you will compare, or the GUI's
            table so ids match the runs table); a new one otherwise.
        fused: use the compiled fast path when one exists for this surface and optimizer (same
            arithmetic, same stop rules: see :mod:`landscape_gui.core.fastpath`); ``"auto"`` also
            skips it for maps so small that loading the compiler would cost more than it saves
            (the command line's choice).
        schedule, noise: a learning-rate schedule and gradient noise, as for
            :func:`landscape_gui.core.engine.run` (the compiled path takes both, except mini-batches).

    Raises:
        LandscapeError: bad resolution, bounds, hyperparameters, max_steps or tol.
        engine.Cancelled: ``should_cancel()`` answered True.
    """
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    b = engine.check_bounds(bounds if bounds is not None else surface.bounds)
    r = check_resolution(resolution)
    if table is None:
        table = MinimaTable(surface, b)
    xs, ys = cell_centres(b, r)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    del gx, gy

    final_p, codes, used_fused = end_points(surface, opt, hp, starts, b, max_steps, tol, progress, should_cancel,
                                            fused=fused, schedule=schedule, noise=noise)
    if noise is not None and noise.active:
        res = engine.BatchResult(final_p, np.full(len(codes), np.nan), np.full((len(codes), 2), np.nan),
                                 np.zeros(len(codes), dtype=np.int64), codes, None)
        labels = quench_and_label(surface, opt, hp, b, max_steps, tol, res, table, fused=fused,
                                  should_cancel=should_cancel).astype(np.int32).reshape(r, r)
    else:
        labels = table.assign(final_p, codes, tol).astype(np.int32).reshape(r, r)
    params: dict[str, Any] = dict(hp)
    if schedule is not None:
        params["schedule"] = schedule.record()
    if noise is not None:
        params["noise"] = noise.record()
    return BasinMap(
        labels, np.asarray(codes, dtype=np.int8).reshape(r, r), table, xs, ys, b, surface.name, opt.name,
        params, int(max_steps), float(tol), used_fused,
    )


def end_points(
    surface: Surface,
    optimizer: Optimizer,
    hyperparameters: Mapping[str, Any],
    starts: np.ndarray,
    bounds: Bounds,
    max_steps: int = 1000,
    tol: float = 1e-6,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    fused: bool | str = True,
    schedule: Any = None,
    noise: Any = None,
    first_id: int = 1,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Where the runs of a basin map end: ``(final_positions (n, 2), status_codes (n,), fused)``.

    The unlabelled half of :func:`basin_map`, for any ``(n, 2)`` block of its starts (a distributed
    sweep computes a map in shards of starts with it). Every start's run is independent of the others,
    so a block's results equal the same rows of the whole grid's, bit for bit. ``hyperparameters``
    must already be resolved (:meth:`Optimizer.resolve`). ``schedule`` and ``noise`` are the engine's;
    the compiled path takes both (not mini-batches) and gives the engine's results bit for bit. Noise
    is keyed by run id, so a block that does not start at the grid's first cell passes its
    ``first_id``.
    """
    active = noise if noise is not None and noise.active else None
    if fused:
        from landscape_gui.core import fastpath

        runner = fastpath.fused_runner(surface, optimizer, hyperparameters, len(starts) if fused == "auto" else None,
                                       schedule=schedule, noise=active)
        if runner is not None:
            engine.check_limits(max_steps, tol)
            if active is not None:
                active.check(surface)
            final_p, codes = runner(starts, bounds, int(max_steps), float(tol), progress, should_cancel,
                                    first_id=first_id)
            return final_p, codes, True
    res = engine.run(surface, optimizer, starts, hyperparameters, bounds=bounds, max_steps=max_steps, tol=tol,
                     record=False, progress=progress, should_cancel=should_cancel, schedule=schedule, noise=noise,
                     first_id=first_id)
    return res.final_positions, res.status_codes, False


def quench_and_label(surface: Surface, opt: Optimizer, hp: Mapping[str, Any], bounds: Bounds, max_steps: int,
                     tol: float, res: engine.BatchResult, table: MinimaTable, *, fused: bool | str = True,
                     should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Label noisy end points by the basin they lie in: a noisy run rarely meets the gradient
    tolerance (it jitters around the bottom), so from its end point the same optimizer runs on
    without noise or schedule (a *quench*, as in energy-landscape analysis: Stillinger & Weber 1982,
    Phys. Rev. A 25, 978) and the quenched end point is labelled. Diverged runs stay unlabelled. The
    quench may take up to :data:`QUENCH_STEPS` steps (or ``max_steps`` if more): settling from near
    a bottom can take longer than the noisy run's own budget when the learning rate is small.

    The quench goes through :func:`end_points`, so ``fused`` means what it means there: compiled
    when the surface and optimizer have a compiled form (the engine's end points bit for bit), the
    numpy engine otherwise. ``should_cancel`` is polled as in :func:`end_points`."""
    labels = np.full(len(res.status_codes), -1, dtype=np.int64)
    alive = np.flatnonzero(res.status_codes != 1)
    if len(alive):
        final_p, codes, _ = end_points(surface, opt, hp, res.final_positions[alive], bounds,
                                       max(max_steps, QUENCH_STEPS), tol, None, should_cancel, fused=fused)
        labels[alive] = table.assign(final_p, codes, tol)
    return labels


def terminal_progress(stream: TextIO | None = None, label: str = "basin map") -> Callable[[float], None] | None:
    """A ``progress`` callback printing ``label: NN %`` in place on ``stream`` (stderr by default),
    or ``None`` when the stream is not a terminal (pipes and log files stay clean)."""
    out = stream if stream is not None else sys.stderr
    try:
        if not out.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    last = [-1]

    def report(fraction: float) -> None:
        pct = int(100 * min(max(fraction, 0.0), 1.0))
        if pct != last[0]:
            last[0] = pct
            out.write(f"\r{label}: {pct:3d} %" + ("\n" if pct == 100 else ""))
            out.flush()

    return report


def compare_basins(map_a: BasinMap, map_b: BasinMap) -> tuple[np.ndarray, float]:
    """Cells where two maps end in different places: ``(mask (R, R) bool, share of cells)``.

    Both maps must cover the same grid. When they were built with different minima tables, ``map_b``'s
    ids are translated to ``map_a``'s by location (within the table's merge tolerance); a point only
    ``map_b`` reached never matches. ``-1`` equals ``-1``: two runs that both diverged agree.
    """
    if map_a.labels.shape != map_b.labels.shape:
        raise LandscapeError(
            f"cannot compare basin maps of resolution {map_a.resolution} and {map_b.resolution}"
        )
    if not np.allclose(map_a.bounds, map_b.bounds, rtol=1e-12, atol=0):
        raise LandscapeError("cannot compare basin maps over different bounds")
    lb = map_b.labels
    if map_b.table is not map_a.table:
        ids_b = map_b.table.ids()
        lookup = np.full(int(ids_b.max(initial=0)) + 2, -2, dtype=np.int64)
        lookup[-1] = -1  # index -1 maps "no minimum" to itself
        xy = np.array([[c.x, c.y] for c in map_b.table.points]).reshape(-1, 2)
        matched = map_a.table.match(xy)
        ids_a = map_a.table.ids()
        for k, ident in enumerate(ids_b):
            lookup[ident] = ids_a[matched[k]] if matched[k] >= 0 else -2
        lb = lookup[lb]
    mask = map_a.labels != lb
    return mask, float(np.count_nonzero(mask)) / mask.size


# --------------------------------------------------------------------------------------------------
# Files: PREFIX.npy, PREFIX.csv, PREFIX.png

CSV_COLUMNS = ("minimum", "x", "y", "loss", "kind", "fraction")


def basin_csv_text(bmap: BasinMap) -> str:
    """The CSV table: one row per critical point some cell reached, columns
    ``minimum,x,y,loss,kind,fraction`` (floats in shortest round-trip repr)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    fr = bmap.fractions()
    # The csv module writes a float as repr(float): the shortest string that reads back the same.
    w.writerows((c.id, float(c.x), float(c.y), float(c.loss), c.kind, float(fr[c.id])) for c in bmap.points())
    return buf.getvalue()


def write_basin_outputs(
    prefix: str,
    bmap: BasinMap,
    surface: Surface,
    *,
    render_png: Callable[[BasinMap, Surface], bytes] | None = None,
) -> list[str]:
    """Write ``PREFIX.npy`` (int32 labels ``(R, R)``), ``PREFIX.csv`` and, given a renderer,
    ``PREFIX.png``; return the paths written. Each file is written atomically. Drawing needs Qt, which
    the core never imports: the command line passes
    :func:`landscape_gui.basin_image.render_basin_png` (the map, a marker at each critical point, a
    legend of shares).

    The ``.npy`` and the ``.csv`` are written (and synced to disk) by a worker thread while this one
    draws the picture; the ``.png`` is written once both are, and not at all if either failed, as
    when the three were written one after the other. Each error is raised from this thread.

    Raises:
        LandscapeError: the folder does not exist or is not writable.
    """
    folder = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(folder):
        raise LandscapeError(f"cannot write basin map {prefix}: folder {folder} does not exist")
    labels = np.ascontiguousarray(bmap.labels, dtype=np.int32)
    paths = [prefix + ".npy", prefix + ".csv"]

    def write_tables() -> None:
        with open_output(paths[0], binary=True) as fh:
            np.save(fh, labels)
        atomic_write_text(paths[1], basin_csv_text(bmap))

    if render_png is None:
        write_tables()
        return paths
    failed: list[BaseException] = []

    def write_tables_in_worker() -> None:
        try:
            write_tables()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread and raised there
            failed.append(exc)

    data = None
    with cleanup_on_signals():
        worker = threading.Thread(target=write_tables_in_worker, name="basin-tables")
        worker.start()
        try:
            data = render_png(bmap, surface)
        except OSError as exc:
            drawing_error: LandscapeError | None = LandscapeError(f"cannot render {prefix}.png: {exc}")
        else:
            drawing_error = None
        finally:
            worker.join()
    if failed:
        raise failed[0]
    if drawing_error is not None:
        raise drawing_error
    atomic_write_bytes(prefix + ".png", data)
    paths.append(prefix + ".png")
    return paths


__all__ = [
    "BasinMap",
    "CSV_COLUMNS",
    "MAX_RESOLUTION",
    "NO_MINIMUM",
    "basin_csv_text",
    "basin_map",
    "cell_centres",
    "check_resolution",
    "compare_basins",
    "end_points",
    "quench_and_label",
    "terminal_progress",
    "write_basin_outputs",
]
