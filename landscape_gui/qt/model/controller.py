"""The controller: owns the session, turns intents into engine calls, drives playback.

Views and panels never call the engine. They emit intents (``startRequested(x, y)``, a spin box
changed, a start dragged) which land in :class:`Controller` methods; the controller computes (directly
when the prediction is under 50 ms, else on the one :class:`~landscape_gui.qt.model.jobs.JobRunner`
with progress and cancel), replaces its runs and announces the change with signals every view listens
to. One direction: intent -> controller -> strategy/engine -> new runs -> signals -> views.

* Runs are replaced, never mutated: a re-run makes new :class:`Run` objects with the same ids (the
  undo history may hold the old ones). Fresh runs are labelled (``labeller``, e.g. the minimum each
  settled in) before anyone sees them.
* How new runs are computed is a :class:`~landscape_gui.qt.model.strategy.RunStrategy` given with
  :meth:`Controller.set_strategy` (in the plane, or in a network's full weight space).
* Every change of the runs, the surface or the bounds is one step of a bounded undo history
  (:data:`UNDO_LIMIT`): changing the surface never loses runs silently.

Signals: ``surfaceChanged`` (surface, bounds, grid or log flag), ``runsChanged``, ``runsAdded(list)``,
``runsRemoved(list)``, ``selectionChanged``, ``colorsChanged``, ``optimizerChanged(str)``,
``hyperparametersChanged(str)``, ``compareChanged``, ``engineSettingsChanged``, ``errorOccurred(str)``,
``statusMessage(str)``, ``sessionLoaded``, ``scheduleChanged``, ``noiseChanged``;
``playback.stepChanged(int)`` for the current step.

**Schedules and noise** (issue 14). A learning-rate schedule
(:func:`~landscape_gui.core.schedules.make_schedule`) and gradient noise
(:class:`~landscape_gui.core.noise.GradientNoise`) apply to every run the window computes; both are
part of a run's recipe (changing them re-runs the runs) and of the session. Noise is keyed by the
run id, so a re-run of run 7 sees exactly the draws it saw before. A *fan* (:meth:`start_fan`) starts
``N`` noisy runs per point; the runs of one fan form a bundle drawn in one colour.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from landscape_gui.core.engine import Cancelled, check_bounds
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.noise import GradientNoise
from landscape_gui.core.optimizers import get_optimizer, optimizer_names
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Surface, get_surface, surface_from_spec
from landscape_gui.qt.model.pick import DisplayBox
from landscape_gui.qt.model.playback import Playback
from landscape_gui.core.schedules import ScheduleSetting, get_schedule, make_schedule
from landscape_gui.core.session import Session
from landscape_gui.core.starts import grid_starts, random_starts
from landscape_gui.qt.model.jobs import CostModel, JobRunner
from landscape_gui.qt.model.strategy import PlaneStrategy, RunStrategy
from landscape_gui.qt.theme import PALETTE

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]

UNDO_LIMIT = 200
"""Undo steps kept: the history (and the runs it holds) stays bounded however long a session runs."""

SYNC_SECONDS = 0.05
"""Work predicted to take longer than this goes to a worker thread."""

SYNC_RUN_SECONDS = 0.1
"""Runs predicted to take at most this long are computed at once on the GUI thread: a clicked run (or
a dragged start) then appears in one step, within the ~100 ms a response still feels immediate
(Card, Moran & Newell 1983; Nielsen 1993), instead of waiting for a worker thread to be scheduled on
a busy machine and hand the result back through the event loop."""

MAX_RESOLUTION = 1000

Spec = tuple[int, str, float, float]
"""(run id, optimizer name, x, y) of a run to compute."""


class _AddRuns(QUndoCommand):
    def __init__(self, ctl: "Controller", runs: list[Run], text: str) -> None:
        super().__init__(text)
        self.ctl, self.runs = ctl, runs

    def redo(self) -> None:
        self.ctl._insert(self.runs)

    def undo(self) -> None:
        self.runs = [self.ctl._runs.get(r.id, r) for r in self.runs]  # the versions on screen now
        self.ctl._delete([r.id for r in self.runs])


class _RemoveRuns(QUndoCommand):
    def __init__(self, ctl: "Controller", runs: list[Run], text: str) -> None:
        super().__init__(text)
        self.ctl, self.runs = ctl, runs

    def redo(self) -> None:
        self.runs = [self.ctl._runs.get(r.id, r) for r in self.runs]
        self.ctl._delete([r.id for r in self.runs])

    def undo(self) -> None:
        self.ctl._insert(self.runs)


@dataclass
class _Place:
    """Everything a surface or bounds change replaces, and the runs that were on screen with it."""

    surface: Surface
    bounds: tuple[float, float, float, float]
    log_height: bool
    serial: int
    runs: list[Run] | None = None
    """``None`` for a change not applied yet: keep the runs that can be re-run, drop the others."""


class _ChangePlace(QUndoCommand):
    """A new surface or new bounds: one Undo step that brings back the old picture and every run."""

    def __init__(self, ctl: "Controller", before: _Place, after: _Place, text: str) -> None:
        super().__init__(text)
        self.ctl, self.before, self.after = ctl, before, after

    def redo(self) -> None:
        self.before.runs = self.ctl.runs
        self.ctl._apply_place(self.after)

    def undo(self) -> None:
        self.after.runs = self.ctl.runs
        self.ctl._apply_place(self.before)


class _MoveStart(QUndoCommand):
    """A start dragged to a new place (the drag has already happened when this is pushed)."""

    def __init__(self, ctl: "Controller", old: Run, new: Run) -> None:
        super().__init__(f"Move run {old.id}")
        self.ctl, self.old, self.new = ctl, old, new
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self.old = self.ctl._runs.get(self.old.id, self.old)
        self.ctl._swap([self.new])

    def undo(self) -> None:
        self.new = self.ctl._runs.get(self.new.id, self.new)
        self.ctl._swap([self.old])


class Controller(QObject):
    """The session model and the only caller of the engine (see the module docstring)."""

    surfaceChanged = Signal()
    runsChanged = Signal()
    runsAdded = Signal(list)
    runsRemoved = Signal(list)
    selectionChanged = Signal()
    colorsChanged = Signal()
    optimizerChanged = Signal(str)
    hyperparametersChanged = Signal(str)
    compareChanged = Signal()
    engineSettingsChanged = Signal()
    errorOccurred = Signal(str)
    statusMessage = Signal(str)
    sessionLoaded = Signal()
    scheduleChanged = Signal()
    noiseChanged = Signal()

    def __init__(self, parent: QObject | None = None, surface: str | Surface = "himmelblau") -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self)
        self.playback = Playback(self)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.cost = CostModel()
        self.force_sync = False
        """Compute everything on the GUI thread (screenshots, scripted use)."""
        self.animate_new_runs = False
        """New runs restart playback from step 0 and play (off: a new run appears whole at once)."""
        self.plane = PlaneStrategy()
        self._strategy: RunStrategy = self.plane
        self.labeller: Callable[[list[Run]], None] | None = None
        """Called with fresh runs (ids set) before they are published, e.g. to give each the id of the
        minimum it settled in (:class:`~landscape_gui.qt.model.minima.MinimaModel`)."""
        self._surface: Surface = get_surface(surface) if isinstance(surface, str) else surface
        self._serial = 0
        self._serial_of_place = 0
        self._bounds = check_bounds(self._surface.bounds)
        self._resolution = 200
        self._log = bool(self._surface.log_height)
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] = self._surface.grid(self._bounds, self._resolution)
        self._box = DisplayBox.from_grid(self._bounds, self._grid[2], self._log)
        self._runs: dict[int, Run] = {}
        self._fixed: weakref.WeakSet[Run] = weakref.WeakSet()
        """Runs never recomputed: loaded from a file or made by a non-recomputable strategy."""
        self._recipe: weakref.WeakKeyDictionary[Run, tuple] = weakref.WeakKeyDictionary()
        self._next_id = 1
        self._selected: tuple[int, ...] = ()
        self._optimizer = "sgd" if "sgd" in optimizer_names() else optimizer_names()[0]
        self._compare_mode = False
        self._compare: list[str] = []
        self._hp: dict[str, dict[str, Any]] = {}
        self._max_steps = 1000
        self._tol = 1e-6
        self._color_fn: Callable[[Run], RGB] | None = None
        self._color_mode = "run"
        self._rerun_timer = QTimer(self)
        self._rerun_timer.setSingleShot(True)
        self._rerun_timer.setInterval(60)
        self._rerun_timer.timeout.connect(self._rerun_stale)
        self._drag: Run | None = None
        self._schedule_name: str | None = None
        self._schedule_settings: dict[str, dict[str, Any]] = {}
        self._noise = GradientNoise()
        self._bundle: dict[int, int] = {}
        """Run id -> bundle number (the runs of one fan share a number and a colour)."""
        self._next_bundle = 1
        self._fan = 0

    # ------------------------------------------------------------------ state
    @property
    def surface(self) -> Surface:
        return self._surface

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self._bounds

    @property
    def resolution(self) -> int:
        return self._resolution

    @property
    def log_height(self) -> bool:
        return self._log

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``xs (R,), ys (R,), z (R, R)`` with ``z[i, j] = f(xs[i], ys[j])``; NaN where undefined."""
        return self._grid

    @property
    def box(self) -> DisplayBox:
        """The map from data to the 3-D view's display coordinates."""
        return self._box

    @property
    def runs(self) -> list[Run]:
        """Runs on screen, in id order."""
        return list(self._runs.values())

    def run(self, run_id: int) -> Run | None:
        return self._runs.get(run_id)

    def is_overlay(self, run_id: int) -> bool:
        """True for runs drawn but never recomputed (loaded from a file, or stepped in full weight
        space)."""
        r = self._runs.get(run_id)
        return r is not None and r in self._fixed

    # ------------------------------------------------------------------ strategy
    @property
    def strategy(self) -> RunStrategy:
        """How new runs are computed (see :mod:`landscape_gui.qt.model.strategy`)."""
        return self._strategy

    def set_strategy(self, strategy: RunStrategy | None) -> None:
        """Compute new runs with ``strategy`` where it applies (``None``: in the plane)."""
        self._strategy = strategy or self.plane

    def active_strategy(self) -> RunStrategy:
        """The strategy new runs on the current surface use."""
        return self._strategy if self._strategy.applies_to(self._surface) else self.plane

    def set_animate_new_runs(self, on: bool) -> None:
        self.animate_new_runs = bool(on)

    @property
    def selected(self) -> tuple[int, ...]:
        return self._selected

    @property
    def optimizer(self) -> str:
        return self._optimizer

    @property
    def compare_mode(self) -> bool:
        return self._compare_mode

    @property
    def compare(self) -> list[str]:
        return list(self._compare)

    @property
    def max_steps(self) -> int:
        return self._max_steps

    @property
    def tol(self) -> float:
        return self._tol

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def hyperparameters(self, name: str | None = None) -> dict[str, Any]:
        """Every hyperparameter in force for optimizer ``name`` (default: the current one)."""
        name = name or self._optimizer
        if name not in self._hp:
            self._hp[name] = get_optimizer(name).resolve()
        return dict(self._hp[name])

    def loss_at(self, x: float, y: float) -> float:
        with np.errstate(all="ignore"):
            return float(self._surface.value(np.array([[x, y]], dtype=float))[0])

    COLOR_MODES = ("run", "optimizer")

    @property
    def color_mode(self) -> str:
        """``"run"`` (a colour per run id) or ``"optimizer"`` (a colour per optimizer: the
        comparison picture); a colour function set by :meth:`set_color_function` overrides both."""
        return self._color_mode

    def set_color_mode(self, mode: str) -> None:
        if mode not in self.COLOR_MODES:
            raise ValueError(f"colour mode must be one of {self.COLOR_MODES}, got {mode!r}")
        if mode != self._color_mode:
            self._color_mode = mode
            self.colorsChanged.emit()

    def optimizer_color(self, name: str) -> RGB:
        """The colour of an optimizer in ``"optimizer"`` colour mode (stable: registry order)."""
        names = optimizer_names()
        k = names.index(name) if name in names else len(names) + sum(map(ord, name))
        return PALETTE[k % len(PALETTE)]

    def color_legend(self) -> list[tuple[str, RGB]]:
        """(label, colour) pairs worth a legend: the optimizers on screen in optimizer mode."""
        if self._color_fn is not None or self._color_mode != "optimizer":
            return []
        names = list(dict.fromkeys(r.optimizer for r in self._runs.values()))
        return [(n, self.optimizer_color(n)) for n in names]

    def color_of(self, run: Run) -> RGB:
        """The run's colour in every view and the table."""
        if self._color_fn is not None:
            return self._color_fn(run)
        if self._color_mode == "optimizer":
            return self.optimizer_color(run.optimizer)
        bundle = self._bundle.get(run.id)
        if bundle is not None:  # a fan: one colour per start, the palette walked backwards from the end
            return PALETTE[-1 - (bundle - 1) % len(PALETTE)]
        return PALETTE[(run.id - 1) % len(PALETTE)]

    def bundle_of(self, run_id: int) -> int | None:
        """The fan (bundle number) run ``run_id`` belongs to, or ``None`` for a single run."""
        return self._bundle.get(run_id)

    def set_color_function(self, fn: Callable[[Run], RGB] | None) -> None:
        """Colour runs by ``fn(run) -> (r, g, b)`` (e.g. by the minimum reached); None restores ids."""
        self._color_fn = fn
        self.colorsChanged.emit()

    # ------------------------------------------------------------------ surface
    def set_surface(self, spec: str) -> bool:
        """Switch to a registry surface or a formula; a bad spec emits ``errorOccurred`` and keeps
        the current surface. Returns whether it switched."""
        try:
            surface = surface_from_spec(spec)
        except LandscapeError as exc:
            self.errorOccurred.emit(str(exc))
            return False
        self.set_surface_object(surface)
        return True

    def set_formula(self, text: str) -> bool:
        """Slot for a formula editor's ``formulaAccepted(str)``: the formula over the *current*
        bounds (a user typing a formula is looking at this domain). A bad formula emits
        ``errorOccurred`` and keeps the surface."""
        try:
            surface = surface_from_spec(text)
        except LandscapeError as exc:
            self.errorOccurred.emit(str(exc))
            return False
        self.set_surface_object(surface, self._bounds)
        return True

    def set_surface_object(self, surface: Surface, bounds: Sequence[float] | None = None,
                           runs: Sequence[Run] | None = None) -> None:
        """Show ``surface`` (bounds from it, or ``bounds``; log flag from it). Runs that can be re-run
        are kept and recomputed on it; runs from files and full-space runs are taken off. ``runs``
        (finished runs drawn on the new surface, never recomputed, e.g. the same weight-space paths
        projected onto a new slice plane) replace the runs on screen instead. The change is one Undo
        step, which brings back the old surface and every run."""
        new_bounds = check_bounds(bounds if bounds is not None else surface.bounds)
        self._serial += 1
        after = _Place(surface, new_bounds, bool(surface.log_height), self._serial)
        if runs is not None:
            for r in runs:
                self._fixed.add(r)
            after.runs = list(runs)
        title = surface.title or surface.name
        self.undo_stack.push(_ChangePlace(self, self._place(), after, f"Show {title}"))

    def _place(self) -> _Place:
        return _Place(self._surface, self._bounds, self._log, self._serial_of_place)

    def _apply_place(self, place: _Place) -> None:
        self._surface, self._bounds, self._log = place.surface, place.bounds, place.log_height
        self._serial_of_place = place.serial
        if place.runs is None:
            self._set_runs([r for r in self._runs.values() if r not in self._fixed])
        else:
            self._set_runs(place.runs)
        self._recompute_grid()
        self._rerun_stale()

    def set_bounds(self, bounds: Sequence[float]) -> None:
        """New plotted domain (also the engine's divergence box): grid and runs recomputed; one
        Undo step."""
        try:
            b = check_bounds(bounds)
        except LandscapeError as exc:
            self.errorOccurred.emit(str(exc))
            return
        if b == self._bounds:
            return
        after = _Place(self._surface, b, self._log, self._serial_of_place)
        after.runs = self.runs
        self.undo_stack.push(_ChangePlace(self, self._place(), after, "Change bounds"))

    def reset_bounds(self) -> None:
        self.set_bounds(self._surface.bounds)

    def set_resolution(self, resolution: int) -> None:
        resolution = int(resolution)
        if not 8 <= resolution <= MAX_RESOLUTION:
            self.errorOccurred.emit(f"grid resolution must be from 8 to {MAX_RESOLUTION}, got {resolution}")
            return
        if resolution != self._resolution:
            self._resolution = resolution
            self._recompute_grid()

    def set_log_height(self, on: bool) -> None:
        if bool(on) != self._log:
            self._log = bool(on)
            self._box = DisplayBox.from_grid(self._bounds, self._grid[2], self._log)
            self.surfaceChanged.emit()

    def _recompute_grid(self) -> None:
        surface, bounds, R, log_flag = self._surface, self._bounds, self._resolution, self._log

        def done(grid: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
            if surface is not self._surface:
                return
            self._grid = grid
            self._box = DisplayBox.from_grid(self._bounds, grid[2], self._log)
            self.surfaceChanged.emit()

        # time a small sample to decide whether the whole grid may block the GUI thread
        probe = np.column_stack([np.linspace(bounds[0], bounds[1], 64), np.linspace(bounds[2], bounds[3], 64)])
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            surface.value(probe)
        predicted = (time.perf_counter() - t0) * R * R / 64
        if self.force_sync or predicted < SYNC_SECONDS:
            done(surface.grid(bounds, R))
            return

        def work(progress: Callable[[float], None], cancelled: Callable[[], bool]):
            xs = np.linspace(bounds[0], bounds[1], R)
            ys = np.linspace(bounds[2], bounds[3], R)
            z = np.empty((R, R))
            chunk = max(1, R // 20)
            for i0 in range(0, R, chunk):  # row blocks, each one batched call
                if cancelled():
                    raise Cancelled()
                gx, gy = np.meshgrid(xs[i0 : i0 + chunk], ys, indexing="ij")
                with np.errstate(all="ignore"):
                    z[i0 : i0 + chunk] = surface.value(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
                progress(min(1.0, (i0 + chunk) / R))
            return xs, ys, np.where(np.isfinite(z), z, np.nan)

        self.jobs.submit("grid", f"Sampling {surface.title or surface.name}", work, done, self._job_failed)

    # ------------------------------------------------------------------ optimizers
    def set_optimizer(self, name: str) -> None:
        if name not in optimizer_names():
            self.errorOccurred.emit(f"unknown optimizer {name!r}; known: {', '.join(optimizer_names())}")
            return
        if name != self._optimizer:
            self._optimizer = name
            self.optimizerChanged.emit(name)

    def set_compare_mode(self, on: bool) -> None:
        """Compare mode: a click starts one run per checked optimizer; switching it on also colours
        runs by optimizer (the user may switch back)."""
        if bool(on) != self._compare_mode:
            self._compare_mode = bool(on)
            self.compareChanged.emit()
            self.set_color_mode("optimizer" if on else "run")

    def set_compare(self, names: Iterable[str]) -> None:
        names = [n for n in names if n in optimizer_names()]
        if names != self._compare:
            self._compare = names
            self.compareChanged.emit()

    def start_optimizers(self) -> list[str]:
        """The optimizers a click starts: every checked one in compare mode, else the current one."""
        if self._compare_mode and self._compare:
            return list(self._compare)
        return [self._optimizer]

    def set_hyperparameters(self, name: str, values: dict[str, Any]) -> None:
        """Change some hyperparameters of optimizer ``name``; raises :class:`LandscapeError` for a bad
        value (nothing changes). Runs of that optimizer are re-run (debounced)."""
        resolved = get_optimizer(name).resolve({**self.hyperparameters(name), **values})
        if resolved == self._hp.get(name):
            return
        self._hp[name] = resolved
        self.hyperparametersChanged.emit(name)
        self._rerun_timer.start()

    def set_hyperparameter(self, name: str, key: str, value: Any) -> None:
        self.set_hyperparameters(name, {key: value})

    def reset_hyperparameters(self, name: str) -> None:
        self._hp[name] = get_optimizer(name).resolve()
        self.hyperparametersChanged.emit(name)
        self._rerun_timer.start()

    def set_max_steps(self, n: int) -> None:
        if int(n) != self._max_steps and n >= 0:
            self._max_steps = int(n)
            self.engineSettingsChanged.emit()
            self._rerun_timer.start()

    def set_tol(self, tol: float) -> None:
        if float(tol) != self._tol and tol >= 0:
            self._tol = float(tol)
            self.engineSettingsChanged.emit()
            self._rerun_timer.start()

    # ------------------------------------------------------------------ schedules and noise
    @property
    def schedule_name(self) -> str | None:
        """The learning-rate schedule runs use (``None``: a constant learning rate)."""
        return self._schedule_name

    def schedule_settings(self, name: str | None = None) -> dict[str, Any]:
        """Every setting in force for schedule ``name`` (default: the current one; ``{}`` for none)."""
        name = name or self._schedule_name
        if name is None:
            return {}
        if name not in self._schedule_settings:
            self._schedule_settings[name] = get_schedule(name).resolve()
        return dict(self._schedule_settings[name])

    @property
    def schedule(self) -> ScheduleSetting | None:
        """What ``engine.run(..., schedule=)`` gets, or ``None``."""
        if self._schedule_name is None:
            return None
        return make_schedule(self._schedule_name, self.schedule_settings())

    def set_schedule(self, name: str | None) -> None:
        """Intent: use schedule ``name`` (``None`` or ``""``: none); runs are re-run. An unknown name
        emits ``errorOccurred`` and changes nothing."""
        name = name or None
        if name is not None:
            try:
                get_schedule(name)
            except LandscapeError as exc:
                self.errorOccurred.emit(str(exc))
                return
        if name != self._schedule_name:
            self._schedule_name = name
            self.scheduleChanged.emit()
            self._rerun_timer.start()

    def set_schedule_settings(self, name: str, values: dict[str, Any]) -> None:
        """Change settings of schedule ``name``; raises :class:`LandscapeError` for a bad value
        (nothing changes). Runs are re-run when it is the schedule in use."""
        resolved = get_schedule(name).resolve({**self.schedule_settings(name), **values})
        if resolved == self._schedule_settings.get(name):
            return
        self._schedule_settings[name] = resolved
        self.scheduleChanged.emit()
        if name == self._schedule_name:
            self._rerun_timer.start()

    def reset_schedule_settings(self, name: str) -> None:
        self._schedule_settings[name] = get_schedule(name).resolve()
        self.scheduleChanged.emit()
        if name == self._schedule_name:
            self._rerun_timer.start()

    def learning_rates(self, optimizer: str, steps: int) -> np.ndarray:
        """``(steps,)`` learning rate of optimizer steps ``1..steps`` under the current schedule and
        hyperparameters (constant without a schedule): what the loss curves draw."""
        hp = self.hyperparameters(optimizer)
        steps = max(int(steps), 1)
        setting = self.schedule
        if setting is None:
            return np.full(steps, float(hp.get("lr", np.nan)))
        return setting.table(get_optimizer(optimizer), hp, steps)["lr"]

    @property
    def noise(self) -> GradientNoise:
        """The gradient noise runs use (scale 0 and no batch size: none)."""
        return self._noise

    @property
    def noise_active(self) -> bool:
        """Whether runs on the current surface see noise (a batch size alone counts on networks only)."""
        return self.run_noise() is not None

    def set_noise(self, scale: float | None = None, seed: int | None = None, batch_size: int | None = None) -> None:
        """Change the gradient noise (arguments left ``None`` keep their value); raises
        :class:`LandscapeError` for a bad value (nothing changes). Runs are re-run."""
        n = self._noise
        new = GradientNoise(n.scale if scale is None else scale, n.seed if seed is None else seed,
                            n.batch_size if batch_size is None else batch_size)
        if new.batch_size:
            new.check(self._surface)
        if new != n:
            self._noise = new
            self.noiseChanged.emit()
            self._rerun_timer.start()

    def run_noise(self) -> GradientNoise | None:
        """The noise for a run on the current surface (a batch size only applies to network surfaces)."""
        n = self._noise
        if n.batch_size:
            try:
                n.check(self._surface)
            except LandscapeError:
                n = GradientNoise(n.scale, n.seed)
        return n if n.active else None

    # ------------------------------------------------------------------ computing runs
    def _recipe_for(self, optimizer: str) -> tuple:
        hp = self.hyperparameters(optimizer)
        noise = self.run_noise()
        return (self._serial_of_place, self._bounds, self._max_steps, self._tol, optimizer, tuple(hp.items()),
                self._schedule_name, tuple(self.schedule_settings().items()), noise)

    def _compute(self, specs: list[Spec], on_done: Callable[[list[Run]], None], key: str, label: str | None = None,
                 strategy: RunStrategy | None = None) -> None:
        """Compute ``specs`` with ``strategy`` (default: the plane), grouped by optimizer, and hand the
        runs (ids from the specs, in spec order, labelled by :attr:`labeller`) to ``on_done``; directly
        when predicted under :data:`SYNC_RUN_SECONDS`, else on the job runner."""
        if not specs:
            return
        strategy = strategy or self.plane
        surface, bounds, max_steps, tol = self._surface, self._bounds, self._max_steps, self._tol
        schedule, noise = self.schedule, self.run_noise()
        groups: dict[str, list[Spec]] = {}
        for s in specs:
            groups.setdefault(s[1], []).append(s)
        plan = [(name, self.hyperparameters(name), self._recipe_for(name), g) for name, g in groups.items()]
        n = len(specs)
        label = label or strategy.describe(n)

        def work(progress: Callable[[float], None], cancelled: Callable[[], bool]):
            out: list[tuple[Run, tuple]] = []
            timings: list[tuple[int, int, float]] = []  # (runs, longest run, seconds) of each engine call
            for k, (name, hp, recipe, group) in enumerate(plan):
                t0 = time.perf_counter()
                starts = np.array([(s[2], s[3]) for s in group], dtype=float)
                ids = np.array([s[0] for s in group], dtype=np.int64)
                extra = {} if schedule is None and noise is None else {"schedule": schedule, "noise": noise, "ids": ids}
                runs = strategy.compute(surface, [(name, hp)], starts, bounds, max_steps, tol,
                                        lambda f, k=k: progress((k + f) / len(plan)), cancelled, **extra)
                for s, r in zip(group, runs):
                    r.id = s[0]
                    out.append((r, recipe))
                timings.append((len(group), max([1] + [r.steps for r in runs]), time.perf_counter() - t0))
            return out, timings

        def done(result) -> None:
            pairs, timings = result
            if surface is not self._surface:
                return  # computed for a surface no longer shown; the runs there are re-run anyway
            if strategy.recomputable:
                for n_runs, longest, seconds in timings:
                    self.cost.observe(n_runs, longest, seconds)
            runs = [r for r, _ in pairs]
            for r, recipe in pairs:
                if strategy.recomputable:
                    self._recipe[r] = recipe
                else:
                    self._fixed.add(r)
            if self.labeller is not None:
                self.labeller(runs)
            on_done(runs)

        predicted = sum(self.cost.predict(len(g), max_steps) for g in groups.values())
        if self.force_sync or (strategy.recomputable and predicted < SYNC_RUN_SECONDS):
            try:
                result = work(lambda f: None, lambda: False)
            except LandscapeError as exc:
                self.errorOccurred.emit(str(exc))
                return
            done(result)
        else:
            self.jobs.submit(key, label, work, done, self._job_failed)

    def _job_failed(self, exc: BaseException) -> None:
        if isinstance(exc, LandscapeError):
            self.errorOccurred.emit(str(exc))
        else:
            log.error("computation failed:\n%s", getattr(exc, "__traceback_text__", repr(exc)))
            self.errorOccurred.emit(f"computation failed: {type(exc).__name__}: {exc}")

    def start_at(self, x: float, y: float) -> None:
        """Intent: start a run at (x, y) (one per checked optimizer in compare mode); in fan mode
        (:meth:`set_fan`) a fan of noisy runs."""
        if self._fan > 0:
            self.start_fan([(x, y)], self._fan)
        else:
            self.start_many([(x, y)])

    @property
    def fan(self) -> int:
        """Runs per click in fan mode (0: fan mode off, a click starts one run)."""
        return self._fan

    def set_fan(self, count: int) -> None:
        """Fan mode: each click starts ``count`` noisy runs (0: off)."""
        count = max(int(count), 0)
        if count != self._fan:
            self._fan = count
            self.noiseChanged.emit()

    def start_many(self, points: Sequence[tuple[float, float]], optimizers: Sequence[str] | None = None) -> None:
        """Start one run per point and optimizer (default: :meth:`start_optimizers`)."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            self.errorOccurred.emit("starting points must be finite numbers")
            return
        opts = list(optimizers) if optimizers else self.start_optimizers()
        specs: list[Spec] = []
        for x, y in pts:
            for o in opts:
                specs.append((self._next_id, o, float(x), float(y)))
                self._next_id += 1
        if not specs:
            return
        strategy = self.active_strategy()
        kind = "" if strategy.recomputable else " full-space"
        text = f"Add{kind} run {specs[0][0]}" if len(specs) == 1 else f"Add {len(specs)}{kind} runs"
        self._compute(specs, lambda runs: self._push_add(runs, text), f"add{specs[0][0]}", strategy=strategy)

    def start_fan(self, points: Sequence[tuple[float, float]], count: int) -> None:
        """Intent: a fan of ``count`` noisy runs from each point (per optimizer of
        :meth:`start_optimizers`); the runs of one point and optimizer form a bundle drawn in one colour.
        Their ids are consecutive, so the noise they see is :func:`landscape_gui.core.stochastic.fan`'s."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            self.errorOccurred.emit("starting points must be finite numbers")
            return
        if not self.noise_active:
            self.errorOccurred.emit("a fan needs gradient noise: set a noise scale above 0 (or a batch size on a "
                                    "network surface), otherwise every run of the fan is the same run")
            return
        count = int(count)
        if not 1 <= count <= 1000:
            self.errorOccurred.emit(f"runs per start must be from 1 to 1000, got {count}")
            return
        specs: list[Spec] = []
        for x, y in pts:
            for o in self.start_optimizers():
                bundle = self._next_bundle
                self._next_bundle += 1
                for _ in range(count):
                    self._bundle[self._next_id] = bundle
                    specs.append((self._next_id, o, float(x), float(y)))
                    self._next_id += 1
        text = f"Add a fan of {len(specs)} runs"
        self._compute(specs, lambda runs: self._push_add(runs, text), f"fan{specs[0][0]}",
                      f"Running a fan of {len(specs)} noisy runs", strategy=self.active_strategy())

    def start_grid(self, n: int) -> None:
        """An ``n x n`` grid of starts at cell centres of the bounds (as ``run --grid n``)."""
        self.start_many(grid_starts(self._bounds, int(n)))

    def start_random(self, n: int, seed: int | None = None) -> None:
        """``n`` starts uniform in the bounds (as ``run --random n --seed seed``)."""
        self.start_many(random_starts(self._bounds, int(n), seed))

    def add_runs(self, runs: Sequence[Run], text: str = "Overlay runs") -> list[Run]:
        """Add finished runs from elsewhere (a CSV overlay): renumbered after the current ids,
        never recomputed, undoable. Returns them."""
        added = []
        for r in runs:
            r.id = self._next_id
            self._next_id += 1
            self._fixed.add(r)
            added.append(r)
        if added:
            if self.labeller is not None:
                self.labeller([r for r in added if r.surface == self._surface.name])
            self._push_add(added, text, animate=False)
        return added

    def _push_add(self, runs: list[Run], text: str, animate: bool | None = None) -> None:
        self.undo_stack.push(_AddRuns(self, runs, text))
        if animate if animate is not None else self.animate_new_runs:
            self.playback.restart()

    def remove_runs(self, ids: Iterable[int]) -> None:
        runs = [self._runs[i] for i in ids if i in self._runs]
        if runs:
            text = f"Delete run {runs[0].id}" if len(runs) == 1 else f"Delete {len(runs)} runs"
            self.undo_stack.push(_RemoveRuns(self, runs, text))

    def remove_selected(self) -> None:
        self.remove_runs(self._selected)

    def clear_runs(self) -> None:
        if self._runs:
            self.undo_stack.push(_RemoveRuns(self, self.runs, "Clear all runs"))

    def _stale(self, r: Run) -> bool:
        return r not in self._fixed and self._recipe.get(r) != self._recipe_for(r.optimizer)

    def _insert(self, runs: list[Run]) -> None:
        for r in runs:
            self._runs[r.id] = r
        self._runs = dict(sorted(self._runs.items()))
        self.runsAdded.emit(list(runs))
        self._runs_changed()
        if any(self._stale(r) for r in runs):
            self._rerun_stale()

    def _delete(self, ids: list[int]) -> None:
        gone = [self._runs.pop(i) for i in ids if i in self._runs]
        if not gone:
            return
        if any(i in self._selected for i in ids):
            self._selected = tuple(i for i in self._selected if i in self._runs)
            self.selectionChanged.emit()
        self.runsRemoved.emit(gone)
        self._runs_changed()

    def _set_runs(self, runs: list[Run]) -> None:
        """Make ``runs`` the session's runs (one announcement)."""
        new = {r.id: r for r in runs}
        gone = [r for i, r in self._runs.items() if new.get(i) is not r]
        came = [r for i, r in new.items() if self._runs.get(i) is not r]
        if not gone and not came:
            return
        self._runs = dict(sorted(new.items()))
        if any(i not in self._runs for i in self._selected):
            self._selected = tuple(i for i in self._selected if i in self._runs)
            self.selectionChanged.emit()
        if gone:
            self.runsRemoved.emit(gone)
        if came:
            self.runsAdded.emit(came)
        self._runs_changed()

    def _swap(self, fresh: list[Run]) -> None:
        """Replace runs by new versions with the same ids (never mutating the old objects, which the
        undo history may hold); one ``runsChanged``."""
        changed = False
        for new in fresh:
            if new.id in self._runs and self._runs[new.id] is not new:
                self._runs[new.id] = new
                changed = True
        if changed:
            self._runs_changed()
            if any(self._stale(r) for r in fresh):
                self._rerun_timer.start()

    def _runs_changed(self) -> None:
        self.playback.set_max_step(max((r.steps for r in self._runs.values()), default=0))
        self.runsChanged.emit()

    def _rerun_stale(self) -> None:
        """Recompute every run whose recipe (surface, bounds, budget, hyperparameters) is out of date,
        keeping ids; the new runs replace the old ones."""
        self._rerun_timer.stop()
        specs = [(r.id, r.optimizer, r.start[0], r.start[1]) for r in self._runs.values() if self._stale(r)]
        if not specs:
            return
        self._compute(specs, self._swap, "rerun", f"Re-running {len(specs)} run{'s' if len(specs) != 1 else ''}")

    # ------------------------------------------------------------------ dragging a start
    def drag_start(self, run_id: int, x: float, y: float) -> None:
        """Intent while a start marker is dragged: re-run ``run_id`` from (x, y) now (the path follows
        the mouse). :meth:`finish_drag` makes the move one Undo step."""
        r = self._runs.get(run_id)
        if r is None or r in self._fixed or not (np.isfinite(x) and np.isfinite(y)):
            return
        if self._drag is None or self._drag.id != run_id:
            self._drag = r
        self._compute([(run_id, r.optimizer, float(x), float(y))], self._swap, f"drag{run_id}",
                      f"Moving run {run_id}")

    def finish_drag(self, run_id: int) -> None:
        """The drag ended: the move becomes one Undo step (``Move run N``)."""
        old, self._drag = self._drag, None
        new = self._runs.get(run_id)
        if old is None or new is None or old is new or old.id != run_id:
            return
        self.undo_stack.push(_MoveStart(self, old, new))

    def cancel(self) -> None:
        """Cancel every computation in flight."""
        self.jobs.cancel()

    # ------------------------------------------------------------------ selection
    def select(self, ids: Iterable[int]) -> None:
        sel = tuple(dict.fromkeys(i for i in ids if i in self._runs))
        if sel != self._selected:
            self._selected = sel
            self.selectionChanged.emit()

    def run_near(self, x: float, y: float, rx: float, ry: float, ends_only: bool = False) -> int | None:
        """Id of the run whose visible path (or, with ``ends_only``, start/end marker) passes nearest
        to (x, y) within the ellipse of radii ``rx, ry`` (data units), or None."""
        best, best_d = None, 1.0
        step = self.playback.step
        for r in self._runs.values():
            k = min(step, r.steps)
            pts = r.positions[[0, k]] if ends_only else r.positions[: k + 1]
            d = ((pts[:, 0] - x) / rx) ** 2 + ((pts[:, 1] - y) / ry) ** 2
            m = float(np.min(d))
            if m <= best_d:
                best, best_d = r.id, m
        return best

    # ------------------------------------------------------------------ sessions and files
    def to_session(self) -> Session:
        used = {r.optimizer for r in self._runs.values()} | set(self._compare) | {self._optimizer} | set(self._hp)
        used &= set(optimizer_names())
        return Session(
            surface=self._surface.name,
            bounds=self._bounds,
            resolution=self._resolution,
            log_height=self._log,
            optimizer=self._optimizer,
            compare=list(self._compare),
            hyperparameters={name: self.hyperparameters(name) for name in sorted(used)},
            max_steps=self._max_steps,
            tol=self._tol,
            runs=[(r.optimizer, *r.start) for r in self._runs.values() if r not in self._fixed],
            compare_mode=self._compare_mode,
            schedule=self.schedule.record() if self._schedule_name else None,
            noise=self._noise.record() if self._noise.active else None,
        )

    def apply_session(self, session: Session) -> None:
        """Replace the whole state by ``session``; its runs are recomputed (``sessionLoaded`` when they
        are in). The surface is resolved first: a bad one raises :class:`LandscapeError` and nothing
        changes."""
        surface = surface_from_spec(session.surface)
        for name, values in session.hyperparameters.items():
            get_optimizer(name).resolve(values)
        schedule = None
        if session.schedule:
            settings = {k: v for k, v in session.schedule.items() if k != "name"}
            schedule = make_schedule(str(session.schedule.get("name")), settings)
        noise = GradientNoise(**session.noise) if session.noise else GradientNoise()
        self.cancel()
        self.undo_stack.clear()
        self._set_runs([])
        self._recipe.clear()
        self._next_id = 1
        self._hp = {k: dict(v) for k, v in session.hyperparameters.items()}
        self._max_steps, self._tol = session.max_steps, session.tol
        self._resolution = session.resolution
        self._optimizer = session.optimizer
        self._compare = list(session.compare)
        self._compare_mode = bool(session.compare_mode)
        self._schedule_name = schedule.name if schedule is not None else None
        if schedule is not None:
            self._schedule_settings[schedule.name] = dict(schedule.settings)
        self._noise = noise
        self._bundle.clear()
        self._serial += 1
        self._apply_place(_Place(surface, check_bounds(session.bounds), bool(session.log_height), self._serial, []))
        self.colorsChanged.emit()
        self.optimizerChanged.emit(self._optimizer)
        for name in self._hp:
            self.hyperparametersChanged.emit(name)
        self.compareChanged.emit()
        self.engineSettingsChanged.emit()
        self.scheduleChanged.emit()
        self.noiseChanged.emit()
        specs: list[Spec] = []
        for o, x, y in session.runs:
            specs.append((self._next_id, o, x, y))
            self._next_id += 1

        def done(runs: list[Run]) -> None:
            self._insert(runs)
            self.playback.to_end()
            self.sessionLoaded.emit()

        if self._color_mode != ("optimizer" if self._compare_mode else "run"):
            self._color_mode = "optimizer" if self._compare_mode else "run"
            self.colorsChanged.emit()

        if specs:
            self._compute(specs, done, "session", f"Recomputing {len(specs)} run(s)")
        else:
            self.sessionLoaded.emit()
