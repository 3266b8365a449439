"""Sweeps in the window: basin maps over a grid of hyperparameters, on a local Dask cluster.

:class:`SweepModel` runs :func:`landscape_gui.api.sweep` on the controller's job runner (key
``"sweep"``, one progress bar and one Cancel with everything else) for the current surface, bounds,
optimizer, its other hyperparameters, ``max_steps`` and ``tol``, varying the one or two
hyperparameters of a :class:`SweepRequest`. The work runs on a ``LocalCluster`` of
``request.workers`` processes started for the sweep and shut down after it (default: the core count,
at most :data:`MAX_DEFAULT_WORKERS`). Each cell's map is the map ``basins`` computes for its
hyperparameters (see :mod:`landscape_gui.core.sweep`), so :meth:`SweepModel.show_cell` can put one
on the landscape as the basin overlay (:meth:`~landscape_gui.qt.model.minima.BasinModel.show_map`).

Cancel stops the cluster's pending shards (:class:`landscape_gui.core.sweep.Cancelled` is an
``engine.Cancelled``); the session, the runs and any basin map shown are left as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from PySide6.QtCore import QObject, Signal

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.sweep import MAX_AXIS_POINTS, Axis, SweepResult, default_workers, sweepable
from landscape_gui.qt.model.controller import Controller
from landscape_gui.qt.model.minima import BasinModel

SWEEP_JOB = "sweep"
MAX_DEFAULT_WORKERS = 4
"""A local cluster gets at most this many worker processes unless the dialog asks for more."""
SWEEP_RESOLUTIONS = (8, 16, 32, 64, 128, 256)
DEFAULT_SWEEP_RESOLUTION = 64


@dataclass(frozen=True)
class AxisRequest:
    """One varied hyperparameter: ``count`` values from ``start`` to ``stop`` (``log``: evenly spaced
    on a log scale)."""

    name: str
    start: float
    stop: float
    count: int
    log: bool = False

    def axis(self) -> Axis:
        """The :class:`~landscape_gui.core.sweep.Axis` (raises ``LandscapeError`` on bad values)."""
        if not (math.isfinite(self.start) and math.isfinite(self.stop)):
            raise LandscapeError(f"{self.name}: start and stop must be finite numbers")
        if self.log:
            return Axis.logarithmic(self.name, self.start, self.stop, self.count)
        return Axis.linear(self.name, self.start, self.stop, self.count)


@dataclass(frozen=True)
class SweepRequest:
    """What the Runs ▸ Sweep dialog asks for."""

    axes: tuple[AxisRequest, ...]
    resolution: int = DEFAULT_SWEEP_RESOLUTION
    workers: int | None = None


def default_sweep_workers() -> int:
    """Local worker processes by default: the core count, kept small."""
    return max(1, min(default_workers(), MAX_DEFAULT_WORKERS))


def sweepable_names(optimizer: str) -> list[str]:
    """The hyperparameters of ``optimizer`` a sweep can vary (its declared numeric ones)."""
    return list(sweepable(get_optimizer(optimizer)))


def check_request(optimizer: str, request: SweepRequest) -> tuple[Axis, ...]:
    """The request's axes, or ``LandscapeError`` with a message saying what to change.

    Checks: one or two distinct hyperparameters of ``optimizer``; every value in the hyperparameter's
    declared range; a log axis only over positive values; whole numbers for integer hyperparameters.
    """
    opt = get_optimizer(optimizer)
    allowed = sweepable(opt)
    if not 1 <= len(request.axes) <= 2:
        raise LandscapeError("vary one or two hyperparameters")
    names = [a.name for a in request.axes]
    if len(set(names)) != len(names):
        raise LandscapeError(f"{names[0]} is chosen twice: pick two different hyperparameters")
    axes = []
    for a in request.axes:
        if a.name not in allowed:
            raise LandscapeError(f"{optimizer} has no numeric hyperparameter {a.name!r}; "
                                 f"choose one of {', '.join(allowed)}")
        if not 1 <= a.count <= MAX_AXIS_POINTS:
            raise LandscapeError(f"{a.name}: the count must be from 1 to {MAX_AXIS_POINTS}")
        if a.log and not (a.start > 0 and a.stop > 0):
            raise LandscapeError(f"{a.name}: a log scale needs start and stop > 0 (got {a.start:g} and {a.stop:g}); "
                                 "untick log or give positive values")
        axis = a.axis()
        h = allowed[a.name]
        for v in (axis.values[0], axis.values[-1]):
            try:
                opt.resolve({a.name: int(round(v)) if h.kind is int else v})
            except LandscapeError as exc:
                raise LandscapeError(f"{a.name} = {v:.4g} is out of range {h.range_text()}: {exc}") from None
        axes.append(axis)
    if request.resolution not in SWEEP_RESOLUTIONS:
        raise LandscapeError(f"map resolution must be one of {', '.join(map(str, SWEEP_RESOLUTIONS))}")
    if request.workers is not None and request.workers < 1:
        raise LandscapeError("workers must be at least 1")
    return tuple(axes)


class SweepModel(QObject):
    """A sweep on the job runner and its result; shows one cell's basin map on the landscape.

    Signals:
        finished(): :attr:`result` holds a new sweep (and :attr:`shown_cell` is ``None``).
        cellShown(int): cell ``c``'s map is the basin overlay now (``-1``: no cell shown any more).
        failed(str)
        cancelled()
    """

    finished = Signal()
    cellShown = Signal(int)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, controller: Controller, basins: BasinModel, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl, self.basins = controller, basins
        self.result: SweepResult | None = None
        self.request: SweepRequest | None = None
        self.shown_cell: int | None = None
        self._shown_map: Any = None
        self._ids: dict[int, int] | None = None
        self._showing = False
        self.client: Any = None
        """A ``distributed.Client`` to use instead of a local cluster (``None``: start one per sweep)."""
        basins.mapsChanged.connect(self._basins_changed)

    @property
    def busy(self) -> bool:
        return self.ctl.jobs.is_running(SWEEP_JOB)

    def start(self, request: SweepRequest) -> bool:
        """Intent: sweep the current optimizer on the current surface. Returns whether it started
        (bad input emits ``failed`` with the reason)."""
        from landscape_gui import api

        ctl = self.ctl
        try:
            if ctl.noise_active:
                raise LandscapeError("a sweep computes basin maps without gradient noise: set the noise scale "
                                     "to 0 first")
            if ctl.schedule_name:
                raise LandscapeError("a sweep computes basin maps at a constant learning rate: choose the "
                                     "constant schedule first")
            axes = check_request(ctl.optimizer, request)
        except LandscapeError as exc:
            self.failed.emit(str(exc))
            return False
        surface, bounds, optimizer = ctl.surface, tuple(ctl.bounds), ctl.optimizer
        varied = {a.name for a in axes}
        fixed = {k: v for k, v in ctl.hyperparameters(optimizer).items() if k not in varied}
        max_steps, tol, client = ctl.max_steps, ctl.tol, self.client
        workers = request.workers or default_sweep_workers()

        def work(progress, cancelled):
            return api.sweep(surface, optimizer, list(axes), fixed, bounds=bounds, resolution=request.resolution,
                             max_steps=max_steps, tol=tol, client=client, workers=None if client else workers,
                             progress=lambda p: progress(p.fraction), should_cancel=cancelled)

        def done(result: SweepResult) -> None:
            self.result, self.request = result, request
            self.shown_cell, self._shown_map = None, None
            self._ids = None
            if self._on_current_landscape():  # the session's ids, so colours match the basin overlay
                self._ids = self.basins.minima.table.absorb(result.table)
            self.finished.emit()

        def failed(exc: BaseException) -> None:
            self.failed.emit(str(exc) if isinstance(exc, LandscapeError) else f"sweep failed: {exc}")

        shape = "×".join(str(len(a)) for a in axes)
        label = (f"Sweep {optimizer} over {', '.join(a.name for a in axes)}: {shape} cells of "
                 f"{request.resolution}×{request.resolution} starts on {workers if not client else 'the'} worker(s)")
        ctl.jobs.submit(SWEEP_JOB, label, work, done, failed, self.cancelled.emit)
        return True

    def cancel(self) -> None:
        self.ctl.jobs.cancel(SWEEP_JOB)

    def show_cell(self, cell: int) -> None:
        """Put cell ``cell``'s basin map on the landscape (the sweep must be of the current surface and
        bounds; otherwise ``failed`` says so)."""
        result = self.result
        if result is None or not 0 <= cell < len(result.labels):
            return
        if not self._on_current_landscape():
            self.failed.emit(f"this sweep was computed on {result.table.surface.name} over other bounds: "
                             "go back to that surface and bounds to see its cells on the landscape")
            return
        self._showing = True
        try:
            self._shown_map = self.basins.show_map(result.cell_map(cell))
        finally:
            self._showing = False
        self.shown_cell = cell
        self.cellShown.emit(cell)

    def _on_current_landscape(self) -> bool:
        r = self.result
        return (r is not None and r.table.surface.name == self.ctl.surface.name
                and tuple(r.spec.bounds) == tuple(self.ctl.bounds))

    def phase(self) -> tuple[np.ndarray, np.ndarray]:
        """``(dominant, share)``, arrays of the sweep's shape: the id of the minimum most starts of
        each cell reach (the session's ids, as the basin overlay colours them; ``-1``: none) and its
        share of the cell's starts."""
        r = self.result
        if r is None:
            return np.zeros((0,), dtype=np.int64), np.zeros((0,))
        ids, shares = r.fractions()
        dominant = r.dominant().reshape(-1)
        share = np.zeros(len(dominant))
        for c, d in enumerate(dominant):
            if d >= 0:
                share[c] = shares[c, int(np.flatnonzero(ids == d)[0])]
        if self._ids is not None:
            dominant = np.array([self._ids.get(int(d), int(d)) if d >= 0 else -1 for d in dominant], dtype=np.int64)
        return dominant.reshape(r.shape), share.reshape(r.shape)

    def describe(self, cell: int) -> str:
        """``"lr = 0.01, momentum = 0.9"``: the varied values of ``cell``."""
        if self.result is None:
            return ""
        return ", ".join(f"{k} = {v:.4g}" for k, v in self.result.values(cell).items())

    def _basins_changed(self) -> None:
        if self._showing:
            return
        if self.shown_cell is not None and self.basins.basin_map is not self._shown_map:
            self.shown_cell, self._shown_map = None, None  # the overlay shows something else now
            self.cellShown.emit(-1)


__all__ = ["AxisRequest", "DEFAULT_SWEEP_RESOLUTION", "MAX_DEFAULT_WORKERS", "SWEEP_JOB", "SWEEP_RESOLUTIONS",
           "SweepModel", "SweepRequest", "check_request", "default_sweep_workers", "sweepable_names"]
