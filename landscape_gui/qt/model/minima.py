"""Where runs settle: minimum ids for every run, and basin maps, as widget-free models.

**Minimum ids** (:class:`MinimaModel`). One :class:`~landscape_gui.core.minima.MinimaTable` per
(surface, bounds) lives for the whole session. The controller hands every batch of fresh runs to
:meth:`MinimaModel.label` *before* publishing them (``Controller.labeller``), so a run appears with the
id of the critical point it reached (:func:`~landscape_gui.core.minima.label_runs`: end point refined
by Newton's method, classified by the Hessian's eigenvalues). Points seen before keep their ids; new
ones are numbered after the largest id, so clicking one start at a time never renumbers anything.
Minima found together (a grid or random batch) are numbered by loss, as ``landscape-gui run`` numbers
them, so the window and the command line write the same bytes for the same batch. Coming back to a
surface and bounds seen before finds the same table again.

**Basin maps** (:class:`BasinModel`): the current optimizer started from every cell of an R × R grid
(:func:`~landscape_gui.core.basins.basin_map`), computed on the controller's job runner (key
``"basins"``) over a copy of the session's table and rebased onto it, so basin ids and run ids agree.
While shown, a change of the optimizer, a hyperparameter, the stop rules, the surface or the bounds
recomputes it (debounced). Comparing two optimizers computes both maps over the same table and the
cells where they end in different places (:func:`~landscape_gui.core.basins.compare_basins`).
Maps follow the learning-rate schedule in force; under gradient noise no basin map is computed: the
:class:`~landscape_gui.qt.model.lessons.ProbabilityModel` shows a probability map instead.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from landscape_gui.core.basins import BasinMap, basin_map, compare_basins
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import CriticalPoint, MinimaTable, label_runs
from landscape_gui.core.optimizers import optimizer_names
from landscape_gui.core.runs import Run
from landscape_gui.qt.model.controller import Controller

if TYPE_CHECKING:
    from landscape_gui.core.surfaces import Surface

RESOLUTIONS = (64, 128, 256, 512)
DEFAULT_RESOLUTION = 128
JOB_KEY = "basins"


class MinimaModel(QObject):
    """Minimum ids of the session's runs (see the module docstring).

    Signals:
        changed(): the points or the runs counted at them changed.
        colorByMinimumChanged(bool)
    """

    changed = Signal()
    colorByMinimumChanged = Signal(bool)

    KEEP_TABLES = 8
    """Tables kept for surfaces and bounds seen before (coming back to one keeps its ids)."""

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl = controller
        self._tables: dict[tuple, MinimaTable] = {}
        self._labelled: weakref.WeakKeyDictionary[Run, tuple] = weakref.WeakKeyDictionary()
        self.color_by_minimum = False
        controller.labeller = self.label
        controller.runsChanged.connect(self.changed)
        controller.surfaceChanged.connect(self.changed)
        controller.compareChanged.connect(self._compare_mode_changed)

    @property
    def key(self) -> tuple:
        """Identity of the current table: (surface object, bounds)."""
        return (id(self.ctl.surface), tuple(self.ctl.bounds))

    @property
    def table(self) -> MinimaTable:
        """The session's minima table for the current surface and bounds (made on first use)."""
        key = self.key
        table = self._tables.get(key)
        if table is None:  # the table holds the surface, so id(surface) is not reused while it lives
            table = self._tables[key] = MinimaTable(self.ctl.surface, self.ctl.bounds)
            for old in list(self._tables)[: -self.KEEP_TABLES]:
                del self._tables[old]
        return table

    def label(self, runs: Sequence[Run]) -> None:
        """Give each fresh run on the current surface the id of the point it settled in (sets
        ``run.minimum`` on runs nobody has seen yet)."""
        name, key = self.ctl.surface.name, self.key
        todo = [r for r in runs if r.surface == name]
        if not todo:
            return
        label_runs(todo, self.table, self.ctl.tol)
        for r in todo:
            self._labelled[r] = key

    def is_labelled(self, run: Run) -> bool:
        """The run's id refers to the current table."""
        return self._labelled.get(run) == self.key

    def runs_of(self, ident: int) -> list[Run]:
        """Runs on screen labelled ``ident`` in the current table."""
        return [r for r in self.ctl.runs if r.minimum == ident and self.is_labelled(r)]

    def run_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.ctl.runs:
            if r.minimum is not None and self.is_labelled(r):
                counts[r.minimum] = counts.get(r.minimum, 0) + 1
        return counts

    def points(self, fractions: dict[int, float] | None = None) -> list[CriticalPoint]:
        """The points worth listing: reached by a run on screen or holding a share of a basin map."""
        counts = self.run_counts()
        return [c for c in self.table.points if counts.get(c.id) or (fractions and c.id in fractions)]

    def select_minimum(self, ident: int) -> None:
        """Intent: select the runs that settled in ``ident``."""
        self.ctl.select([r.id for r in self.runs_of(ident)])

    def selected_minimum(self) -> int | None:
        """The point whose runs are exactly the selection, if any."""
        sel = set(self.ctl.selected)
        idents = {r.minimum for r in map(self.ctl.run, sel) if r is not None}
        ident = idents.pop() if len(idents) == 1 else None
        if ident is not None and sel != {r.id for r in self.runs_of(ident)}:
            return None
        return ident

    def set_color_by_minimum(self, on: bool) -> None:
        """Colour every run by the minimum it reached (grey: none) everywhere; off restores the run or
        optimizer colouring."""
        from landscape_gui.basin_image import minimum_rgb

        on = bool(on)
        if on == self.color_by_minimum:
            return
        self.color_by_minimum = on
        self.ctl.set_color_function((lambda run: minimum_rgb(run.minimum)) if on else None)
        self.colorByMinimumChanged.emit(on)

    def _compare_mode_changed(self) -> None:
        if self.ctl.compare_mode and self.color_by_minimum:  # compare mode is the optimizer picture
            self.set_color_by_minimum(False)


@dataclass(frozen=True)
class BasinSpec:
    """Everything a basin map depends on (equal specs: the map can be reused)."""

    key: tuple
    optimizer: str
    hyperparameters: tuple
    max_steps: int
    tol: float
    resolution: int
    schedule: tuple = ()


def _compile_due(surface: Surface, specs: list[BasinSpec]) -> bool:
    """Whether a map of one of ``specs`` must compile its kernel first (a few seconds, once): the
    window says so in the job's label, as the command line says "compiling (first run only)"."""
    from landscape_gui.core import fastpath
    from landscape_gui.core.optimizers import get_optimizer

    if not fastpath.AVAILABLE:
        return False
    try:
        return any(fastpath.needs_compile(surface, opt, opt.resolve(dict(s.hyperparameters)))
                   for s in specs for opt in [get_optimizer(s.optimizer)])
    except Exception:  # noqa: BLE001 - a surface or plugin the kernels do not cover: nothing to say
        return False


class BasinModel(QObject):
    """The basin map(s) shown (see the module docstring).

    Signals:
        mapsChanged(): ``basin_map``, ``other_map`` or ``difference`` changed (all ``None``: nothing shown).
        stateChanged(): visibility, resolution or the optimizer compared with changed.
        failed(str)
        cancelled(): the computation was cancelled; the map is off.
    """

    mapsChanged = Signal()
    stateChanged = Signal()
    failed = Signal(str)
    cancelled = Signal()

    DEBOUNCE_MS = 300

    def __init__(self, controller: Controller, minima: MinimaModel, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl, self.minima = controller, minima
        self.fused = True
        """Use the compiled basin kernels where they exist."""
        self.map_function = basin_map
        """``basin_map``-compatible function the maps are computed with (tests give one they control)."""
        self.visible = False
        self.resolution = DEFAULT_RESOLUTION
        self.compare_with: str | None = None
        self.basin_map: BasinMap | None = None
        """The shown map of the current optimizer (ids of the minima table), or ``None``."""
        self.other_map: BasinMap | None = None
        self.difference: tuple[np.ndarray, float] | None = None
        """``(mask, share)`` of the shown comparison."""
        self._maps: dict[BasinSpec, BasinMap] = {}
        self._shown_key = minima.key
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.compute(debounce=False))
        controller.surfaceChanged.connect(self._surface_changed)
        controller.optimizerChanged.connect(lambda _name: self._settings_changed())
        controller.hyperparametersChanged.connect(self._hyperparameters_changed)
        controller.engineSettingsChanged.connect(self._settings_changed)
        controller.scheduleChanged.connect(self._settings_changed)
        controller.noiseChanged.connect(self._settings_changed)

    @property
    def busy(self) -> bool:
        return self.ctl.jobs.is_running(JOB_KEY) or self._timer.isActive()

    def spec(self, optimizer: str) -> BasinSpec:
        ctl = self.ctl
        return BasinSpec(self.minima.key, optimizer, tuple(sorted(ctl.hyperparameters(optimizer).items())),
                         ctl.max_steps, ctl.tol, self.resolution,
                         (ctl.schedule_name, tuple(ctl.schedule_settings().items())))

    # ------------------------------------------------------------------ intents
    def set_visible(self, on: bool) -> None:
        """Show (computing if needed) or hide the basin map."""
        on = bool(on)
        if on == self.visible:
            return
        self.visible = on
        if on:
            self.stateChanged.emit()
            self.compute(debounce=False)
        else:
            self._timer.stop()
            self.compare_with = None
            self.ctl.jobs.drop(JOB_KEY)
            self._clear()
            self.stateChanged.emit()

    def set_resolution(self, resolution: int) -> None:
        resolution = int(resolution)
        if resolution not in RESOLUTIONS:
            raise ValueError(f"basin resolution must be one of {RESOLUTIONS}, got {resolution}")
        if resolution != self.resolution:
            self.resolution = resolution
            self.stateChanged.emit()
            if self.visible:
                self.compute(debounce=False)

    def compare(self, other: str | None) -> None:
        """Compare the current optimizer's basins with ``other``'s (shown at once); ``None`` ends it."""
        if other is not None and other not in optimizer_names():
            self.failed.emit(f"unknown optimizer {other!r}")
            return
        self.compare_with = other
        self.stateChanged.emit()
        if other is not None and not self.visible:
            self.set_visible(True)
        elif self.visible:
            self.compute(debounce=False)

    def cancel(self) -> None:
        """Stop computing: the map goes off (``cancelled`` follows)."""
        if self.ctl.jobs.is_running(JOB_KEY):
            self.ctl.jobs.cancel(JOB_KEY)
        elif self._timer.isActive():
            self._timer.stop()
            self._on_cancelled()

    def show_map(self, bmap: BasinMap) -> BasinMap:
        """Show a basin map computed elsewhere (a sweep's cell) as the basin overlay, with its ids
        rebased onto the session's table; returns the map shown. It stays until the map is hidden or a
        setting it depends on changes (the current settings' own map is then computed)."""
        if bmap.surface != self.ctl.surface.name or tuple(bmap.bounds) != tuple(self.ctl.bounds):
            raise LandscapeError("this basin map belongs to another surface or other bounds")
        self._timer.stop()
        self.ctl.jobs.drop(JOB_KEY)
        shown = bmap.rebased(self.minima.table)
        self.visible = True
        self.compare_with = None
        self.basin_map, self.other_map, self.difference = shown, None, None
        self._shown_key = self.minima.key
        self.stateChanged.emit()
        self.mapsChanged.emit()
        return shown

    # ------------------------------------------------------------------ computing
    def compute(self, debounce: bool = True) -> None:
        """(Re)compute what is shown for the current settings; maps already computed for exactly
        these settings are reused."""
        if not self.visible:
            return
        if debounce:
            self._timer.start()
            return
        self._timer.stop()
        if self.ctl.noise_active:  # a probability map stands for the basin map under noise
            self.ctl.jobs.drop(JOB_KEY)
            self._clear()
            return
        specs = [self.spec(self.ctl.optimizer)]
        if self.compare_with is not None:
            specs.append(self.spec(self.compare_with))
        self._maps = {s: m for s, m in self._maps.items() if s in specs}
        todo = [s for s in specs if s not in self._maps]
        if not todo:
            self.ctl.jobs.drop(JOB_KEY)
            self._show(specs)
            return
        ctl, fused, compute = self.ctl, self.fused, self.map_function
        surface, bounds = ctl.surface, ctl.bounds
        schedule = {"schedule": ctl.schedule} if ctl.schedule_name else {}
        table = self.minima.table.copy()  # the GUI thread keeps adding to its own table meanwhile

        def work(progress, cancelled):
            out = []
            for k, s in enumerate(todo):
                out.append(compute(surface, s.optimizer, dict(s.hyperparameters), bounds, s.resolution,
                                     s.max_steps, s.tol, progress=lambda f, k=k: progress((k + f) / len(todo)),
                                     should_cancel=cancelled, table=table, fused=fused, **schedule))
            return out

        def done(maps: list[BasinMap]) -> None:
            if todo[0].key != self.minima.key or any(s != self.spec(s.optimizer) for s in todo):
                return  # the settings moved on; their own request follows
            for s, m in zip(todo, maps):
                self._maps[s] = m.rebased(self.minima.table)
            self._show(specs)

        def failed(exc: BaseException) -> None:
            self.visible = False
            self.compare_with = None
            self._clear()
            self.stateChanged.emit()
            self.failed.emit(str(exc) if isinstance(exc, LandscapeError) else f"basin map failed: {exc}")

        what = " and ".join(s.optimizer for s in todo)
        label = f"Basin map {self.resolution}×{self.resolution} ({what})"
        if fused and _compile_due(surface, todo):
            label += ", compiling its kernel (first run only)"
        ctl.jobs.submit(JOB_KEY, label, work, done, failed, self._on_cancelled)

    def _on_cancelled(self) -> None:
        self.visible = False
        self.compare_with = None
        self._clear()
        self.stateChanged.emit()
        self.cancelled.emit()

    def _show(self, specs: list[BasinSpec]) -> None:
        if not self.visible:
            return
        maps = [self._maps[s] for s in specs]
        self.basin_map = maps[0]
        self.other_map = maps[1] if len(maps) > 1 else None
        self.difference = compare_basins(self.basin_map, self.other_map) if self.other_map is not None else None
        self._shown_key = self.minima.key
        self.mapsChanged.emit()

    def _clear(self) -> None:
        if self.basin_map is None and self.other_map is None and self.difference is None:
            return
        self.basin_map = self.other_map = None
        self.difference = None
        self.mapsChanged.emit()

    # ------------------------------------------------------------------ reactions
    def _surface_changed(self) -> None:
        if self.minima.key != self._shown_key:  # a new surface or domain: the map no longer applies
            self._shown_key = self.minima.key
            self._maps.clear()
            self._clear()
            if self.visible:
                self.compute()
        else:
            self.mapsChanged.emit()  # same map, new grid or colouring: views repaint it

    def _settings_changed(self) -> None:
        if self.visible:
            self.compute()

    def _hyperparameters_changed(self, name: str) -> None:
        if name in (self.ctl.optimizer, self.compare_with):
            self._settings_changed()


__all__ = ["BasinMap", "BasinModel", "BasinSpec", "CriticalPoint", "DEFAULT_RESOLUTION", "MinimaModel", "RESOLUTIONS"]
