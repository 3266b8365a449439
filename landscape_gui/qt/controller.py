"""The controller: owns the session, turns intents into engine calls, drives playback.

Views and panels never call the engine. They emit intents (``startRequested(x, y)``, a spin box
changed) which land in :class:`Controller` methods; the controller computes (directly when the
prediction is under 50 ms, else on a worker thread with progress and cancel), updates its model and
announces the change with signals that every view listens to. One direction: intent -> controller ->
engine -> runs -> signals -> views.

Extension points (for panels plugged in later):

* signals ``surfaceChanged`` (surface, bounds, grid or log flag), ``runsChanged`` (the set of runs or
  their contents; ``run.minimum`` may be filled in by a listener), ``runsAdded(list)``,
  ``runsRemoved(list)``, ``selectionChanged``, ``colorsChanged``, ``optimizerChanged(str)``,
  ``hyperparametersChanged(str)``, ``engineSettingsChanged``, ``errorOccurred(str)``,
  ``statusMessage(str)``, ``sessionLoaded``; ``playback.stepChanged(int)`` for the current step;
* state: ``surface``, ``bounds``, ``resolution``, ``log_height``, ``grid`` (xs, ys, z), ``box``
  (the 3-D display map), ``runs``, ``run(id)``, ``selected``, ``optimizer`` and
  ``hyperparameters(name)``, ``max_steps``, ``tol``;
* actions: ``set_surface(spec)`` (registry name or formula), ``set_surface_object(surface)`` (any
  :class:`Surface`, e.g. a network slice), ``start_at(x, y)``, ``start_many(points)``,
  ``add_runs(runs)`` (finished runs from elsewhere, e.g. a CSV overlay), ``select(ids)``,
  ``set_color_function(fn)``, ``notify_runs_changed()`` (after changing ``run.minimum``);
* ``jobs`` (:class:`JobRunner`): run your own long work with the window's progress bar and cancel.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from landscape_gui.core import engine
from landscape_gui.core.engine import check_bounds
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer, optimizer_names
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Surface, get_surface, surface_from_spec
from landscape_gui.qt.pick import DisplayBox
from landscape_gui.qt.playback import Playback
from landscape_gui.core.session import Session
from landscape_gui.core.starts import grid_starts, random_starts
from landscape_gui.qt.workers import CostModel, JobRunner

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]

PALETTE: tuple[RGB, ...] = (
    (255, 69, 58),  # red
    (255, 255, 255),  # white
    (255, 159, 10),  # orange
    (0, 229, 255),  # cyan
    (255, 55, 200),  # magenta
    (140, 255, 60),  # lime
    (255, 214, 10),  # yellow
    (120, 140, 255),  # periwinkle
    (255, 150, 150),  # salmon
    (60, 255, 190),  # aquamarine
)
"""Trajectory colours: bright, mutually distinct, legible on the viridis map and the 3-D surface."""

SYNC_SECONDS = 0.05
"""Work predicted to take longer than this goes to a worker thread."""

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
        self.ctl._delete([r.id for r in self.runs])


class _RemoveRuns(_AddRuns):
    def redo(self) -> None:
        self.ctl._delete([r.id for r in self.runs])

    def undo(self) -> None:
        self.ctl._insert(self.runs)


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

    def __init__(self, parent: QObject | None = None, surface: str | Surface = "himmelblau") -> None:
        super().__init__(parent)
        self.jobs = JobRunner(self)
        self.playback = Playback(self)
        self.undo_stack = QUndoStack(self)
        self.cost = CostModel()
        self.force_sync = False
        """Compute everything on the GUI thread (screenshots, scripted use)."""
        self.animate_new_runs = True
        """New runs restart playback from step 0 and play."""
        self._surface: Surface = get_surface(surface) if isinstance(surface, str) else surface
        self._serial = 0
        self._bounds = check_bounds(self._surface.bounds)
        self._resolution = 200
        self._log = bool(self._surface.log_height)
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] = self._surface.grid(self._bounds, self._resolution)
        self._box = DisplayBox.from_grid(self._bounds, self._grid[2], self._log)
        self._runs: dict[int, Run] = {}
        self._overlays: set[int] = set()
        self._recipe: dict[int, tuple] = {}
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
        """True for runs loaded from a file (drawn, never recomputed)."""
        return run_id in self._overlays

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
        return PALETTE[(run.id - 1) % len(PALETTE)]

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

    def set_surface_object(self, surface: Surface, bounds: Sequence[float] | None = None) -> None:
        """Show ``surface``: bounds from it (or ``bounds``), log flag from it, grid recomputed; runs
        whose start lies inside the new bounds are recomputed on it, the others and overlays dropped.
        Undo history is cleared (it refers to the old surface)."""
        new_bounds = check_bounds(bounds if bounds is not None else surface.bounds)
        self._surface = surface
        self._serial += 1
        self._bounds = new_bounds
        self._log = bool(surface.log_height)
        xmin, xmax, ymin, ymax = new_bounds
        drop = [
            r.id
            for r in self._runs.values()
            if r.id in self._overlays or not (xmin <= r.start[0] <= xmax and ymin <= r.start[1] <= ymax)
        ]
        self.undo_stack.clear()
        if drop:
            self._delete(drop)
        self._recompute_grid()
        self._rerun_stale()

    def set_bounds(self, bounds: Sequence[float]) -> None:
        """New plotted domain (also the engine's divergence box): grid and runs recomputed."""
        try:
            b = check_bounds(bounds)
        except LandscapeError as exc:
            self.errorOccurred.emit(str(exc))
            return
        if b == self._bounds:
            return
        self._bounds = b
        self._recompute_grid()
        self._rerun_timer.start()

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
                    raise engine.Cancelled()
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

    # ------------------------------------------------------------------ computing runs
    def _recipe_for(self, optimizer: str) -> tuple:
        hp = self.hyperparameters(optimizer)
        return (self._serial, self._bounds, self._max_steps, self._tol, optimizer, tuple(hp.items()))

    def _compute(self, specs: list[Spec], on_done: Callable[[list[Run]], None], key: str, label: str) -> None:
        """Run the engine for ``specs`` (grouped by optimizer, one batched call each) and hand the
        runs (ids from the specs, in spec order) to ``on_done``; directly or on a worker thread."""
        if not specs:
            return
        surface, bounds, max_steps, tol = self._surface, self._bounds, self._max_steps, self._tol
        groups: dict[str, list[Spec]] = {}
        for s in specs:
            groups.setdefault(s[1], []).append(s)
        plan = [(name, self.hyperparameters(name), self._recipe_for(name), g) for name, g in groups.items()]
        n = len(specs)

        def work(progress: Callable[[float], None], cancelled: Callable[[], bool]):
            out: list[tuple[Run, tuple]] = []
            t0 = time.perf_counter()
            longest = 0
            for k, (name, hp, recipe, group) in enumerate(plan):
                starts = np.array([(s[2], s[3]) for s in group], dtype=float)
                result = engine.run(
                    surface, name, starts, hp, bounds=bounds, max_steps=max_steps, tol=tol,
                    progress=lambda f, k=k: progress((k + f) / len(plan)), should_cancel=cancelled,
                )
                assert result.runs is not None
                for s, r in zip(group, result.runs):
                    r.id = s[0]
                    out.append((r, recipe))
                longest = max(longest, int(result.steps.max()) if len(result.steps) else 0)
            return out, time.perf_counter() - t0, longest

        def done(result) -> None:
            pairs, seconds, longest = result
            self.cost.observe(n, max(longest, 1) * len(plan), seconds)
            for r, recipe in pairs:
                self._recipe[r.id] = recipe
            on_done([r for r, _ in pairs])

        if self.force_sync or self.cost.predict(n, max_steps) < SYNC_SECONDS:
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
        """Intent: start a run at (x, y) (one per checked optimizer in compare mode)."""
        self.start_many([(x, y)])

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
        text = f"Add run {specs[0][0]}" if len(specs) == 1 else f"Add {len(specs)} runs"
        self._compute(specs, lambda runs: self._push_add(runs, text), f"add{specs[0][0]}", f"Running {len(specs)} run(s)")

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
            self._overlays.add(r.id)
            added.append(r)
        if added:
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

    def _insert(self, runs: list[Run]) -> None:
        for r in runs:
            self._runs[r.id] = r
        self._runs = dict(sorted(self._runs.items()))
        self.runsAdded.emit(list(runs))
        self._runs_changed()
        stale = [r.id for r in runs if r.id not in self._overlays and self._recipe.get(r.id) != self._recipe_for(r.optimizer)]
        if stale:
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

    def _runs_changed(self) -> None:
        self.playback.set_max_step(max((r.steps for r in self._runs.values()), default=0))
        self.runsChanged.emit()

    def notify_runs_changed(self) -> None:
        """Tell the views that run contents changed outside the controller (e.g. ``run.minimum``)."""
        self.runsChanged.emit()

    def _rerun_stale(self) -> None:
        """Recompute every run whose recipe (surface, bounds, budget, hyperparameters) is out of date,
        keeping ids and updating the Run objects in place (the undo history holds the same objects)."""
        self._rerun_timer.stop()
        specs = [
            (r.id, r.optimizer, r.start[0], r.start[1])
            for r in self._runs.values()
            if r.id not in self._overlays and self._recipe.get(r.id) != self._recipe_for(r.optimizer)
        ]
        if not specs:
            return
        self._compute(specs, self._replace, "rerun", f"Re-running {len(specs)} run(s)")

    def _replace(self, fresh: list[Run]) -> None:
        changed = False
        for new in fresh:
            old = self._runs.get(new.id)
            if old is None:
                continue
            old.positions, old.losses, old.grads = new.positions, new.losses, new.grads
            old.status, old.params, old.surface = new.status, new.params, new.surface
            old.extras, old.minimum = new.extras, None
            changed = True
        if changed:
            self._runs_changed()

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
            runs=[(r.optimizer, *r.start) for r in self._runs.values() if r.id not in self._overlays],
        )

    def apply_session(self, session: Session) -> None:
        """Replace the whole state by ``session``; its runs are recomputed (``sessionLoaded`` when they
        are in). The surface is resolved first: a bad one raises :class:`LandscapeError` and nothing
        changes."""
        surface = surface_from_spec(session.surface)
        for name, values in session.hyperparameters.items():
            get_optimizer(name).resolve(values)
        self.cancel()
        self.undo_stack.clear()
        if self._runs:
            self._delete(list(self._runs))
        self._overlays.clear()
        self._recipe.clear()
        self._next_id = 1
        self._hp = {k: dict(v) for k, v in session.hyperparameters.items()}
        self._max_steps, self._tol = session.max_steps, session.tol
        self._resolution = session.resolution
        self._optimizer = session.optimizer
        self._compare = list(session.compare)
        self._compare_mode = bool(session.compare)
        self.set_surface_object(surface, session.bounds)
        if self._log != session.log_height:
            self.set_log_height(session.log_height)
        self.optimizerChanged.emit(self._optimizer)
        for name in self._hp:
            self.hyperparametersChanged.emit(name)
        self.compareChanged.emit()
        self.engineSettingsChanged.emit()
        specs: list[Spec] = []
        for o, x, y in session.runs:
            specs.append((self._next_id, o, x, y))
            self._next_id += 1

        def done(runs: list[Run]) -> None:
            self._insert(runs)
            self.playback.to_end()
            self.sessionLoaded.emit()

        if specs:
            self._compute(specs, done, "session", f"Recomputing {len(specs)} run(s)")
        else:
            self.sessionLoaded.emit()
