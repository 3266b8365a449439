"""Models of the teaching tools (issue 14): probability maps under gradient noise, and the race.

**Probability maps** (:class:`ProbabilityModel`). With gradient noise on, a start no longer decides
where a run ends, so the basin map the window shows becomes a *probability map*: per cell of an
``R × R`` grid, ``K`` seeded noisy runs from its centre; each cell is coloured by its most likely
minimum, saturated by that minimum's probability, or (the entropy view) grey by the Shannon entropy
of the outcome, ``H = −Σ p log₂ p`` (:func:`landscape_gui.core.stochastic.probability_map`). It is
computed on the controller's job runner (key ``"probability"``, with progress and Cancel) whenever
the basin map is switched on and the noise is active, and recomputed (debounced) when the noise, the
optimizer, its hyperparameters, the schedule, the stop rules, the surface or the bounds change. Its
minimum ids are those of the session's minima table, like the basin map's.

**The race** (:class:`RaceModel`): :func:`landscape_gui.core.race.race` on the job runner (key
``"race"``): every chosen optimizer tuned with the same budget of seeded Optuna trials over its
declared ranges and raced from the same starts; the result (a
:class:`~landscape_gui.core.race.RaceResult`) is what the race window shows, with its own
:class:`~landscape_gui.qt.model.playback.Playback` so the small multiples play in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.starts import grid_starts, random_starts
from landscape_gui.core.stochastic import ProbabilityMap, probability_map
from landscape_gui.core.surfaces import Surface
from landscape_gui.qt.model.controller import Controller
from landscape_gui.qt.model.minima import BasinModel, MinimaModel
from landscape_gui.qt.model.playback import Playback

PROBABILITY_RESOLUTIONS = (24, 32, 48, 64, 96, 128)
DEFAULT_PROBABILITY_RESOLUTION = 48
DEFAULT_SAMPLES = 16
PROBABILITY_JOB = "probability"
RACE_JOB = "race"


def sample_count(surface: Surface) -> int | None:
    """Samples of a network surface's data set (what a mini-batch is drawn from), else ``None``."""
    from landscape_gui.core.nn.slices import NetSurface

    return int(surface.dataset.n_samples) if isinstance(surface, NetSurface) else None


def rebase_probability_map(pmap: ProbabilityMap, table: MinimaTable) -> ProbabilityMap:
    """``pmap`` with its minimum ids translated to ``table``'s (which gains the points it lacked):
    maps are computed on a copy of the session's table in a worker thread, as basin maps are."""
    if pmap.table is table:
        return pmap
    mapping = table.absorb(pmap.table)
    ids = np.array([mapping.get(int(i), int(i)) for i in pmap.ids], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    return ProbabilityMap(pmap.probabilities[order], ids[order], pmap.nowhere, pmap.entropy, pmap.samples, table,
                          pmap.xs, pmap.ys, pmap.bounds, pmap.surface, pmap.optimizer, pmap.params, pmap.max_steps,
                          pmap.tol)


@dataclass(frozen=True)
class ProbabilitySpec:
    """Everything a probability map depends on (equal specs: the map can be reused)."""

    key: tuple
    optimizer: str
    hyperparameters: tuple
    schedule: tuple
    noise: Any
    max_steps: int
    tol: float
    resolution: int
    samples: int


class ProbabilityModel(QObject):
    """The probability map shown while the basin map is on and the noise is active (see the module
    docstring).

    Signals:
        mapChanged(): ``pmap`` changed (``None``: nothing shown).
        stateChanged(): samples, resolution or the entropy view changed.
        failed(str)
        cancelled(): the computation was cancelled; the basin map is switched off.
    """

    mapChanged = Signal()
    stateChanged = Signal()
    failed = Signal(str)
    cancelled = Signal()

    DEBOUNCE_MS = 300

    def __init__(self, controller: Controller, minima: MinimaModel, basins: BasinModel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl, self.minima, self.basins = controller, minima, basins
        self.samples = DEFAULT_SAMPLES
        self.resolution = DEFAULT_PROBABILITY_RESOLUTION
        self.show_entropy = False
        self.pmap: ProbabilityMap | None = None
        self._spec: ProbabilitySpec | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.compute(debounce=False))
        basins.stateChanged.connect(lambda: self.compute(debounce=False))
        for sig in (controller.noiseChanged, controller.scheduleChanged, controller.engineSettingsChanged,
                    controller.surfaceChanged, controller.compareChanged):
            sig.connect(self._changed)
        controller.optimizerChanged.connect(self._changed)
        controller.hyperparametersChanged.connect(
            lambda name: name == controller.optimizer and self._changed())

    @property
    def active(self) -> bool:
        """Whether a probability map replaces the basin map now."""
        return self.basins.visible and self.ctl.noise_active

    @property
    def busy(self) -> bool:
        return self.ctl.jobs.is_running(PROBABILITY_JOB) or self._timer.isActive()

    def spec(self) -> ProbabilitySpec:
        c = self.ctl
        return ProbabilitySpec(self.minima.key, c.optimizer, tuple(sorted(c.hyperparameters().items())),
                               (c.schedule_name, tuple(c.schedule_settings().items())), c.run_noise(),
                               c.max_steps, c.tol, self.resolution, self.samples)

    # ------------------------------------------------------------------ intents
    def set_samples(self, k: int) -> None:
        k = int(k)
        if k != self.samples:
            self.samples = k
            self.stateChanged.emit()
            self._changed()

    def set_resolution(self, r: int) -> None:
        r = int(r)
        if r not in PROBABILITY_RESOLUTIONS:
            raise ValueError(f"probability map resolution must be one of {PROBABILITY_RESOLUTIONS}, got {r}")
        if r != self.resolution:
            self.resolution = r
            self.stateChanged.emit()
            self._changed()

    def set_entropy(self, on: bool) -> None:
        """Show the entropy of the outcome instead of the most likely minimum."""
        if bool(on) != self.show_entropy:
            self.show_entropy = bool(on)
            self.stateChanged.emit()
            if self.pmap is not None:
                self.mapChanged.emit()

    def cancel(self) -> None:
        if self.ctl.jobs.is_running(PROBABILITY_JOB):
            self.ctl.jobs.cancel(PROBABILITY_JOB)

    # ------------------------------------------------------------------ computing
    def _changed(self, *_args: Any) -> None:
        if self.active:
            self.compute()
        elif self.pmap is not None or self._timer.isActive() or self.ctl.jobs.is_running(PROBABILITY_JOB):
            self.compute(debounce=False)

    def compute(self, debounce: bool = True) -> None:
        """(Re)compute the map for the current settings (nothing shown when not :attr:`active`)."""
        if not self.active:
            self._timer.stop()
            self.ctl.jobs.drop(PROBABILITY_JOB)
            self._set(None, None)
            return
        if debounce:
            self._timer.start()
            return
        self._timer.stop()
        spec = self.spec()
        if spec == self._spec and self.pmap is not None:
            return
        ctl = self.ctl
        surface, bounds, schedule, noise = ctl.surface, ctl.bounds, ctl.schedule, spec.noise
        table = self.minima.table.copy()

        def work(progress, cancelled):
            return probability_map(surface, spec.optimizer, noise, spec.samples, dict(spec.hyperparameters), bounds,
                                   spec.resolution, spec.max_steps, spec.tol, progress, cancelled, table=table,
                                   schedule=schedule)

        def done(pmap: ProbabilityMap) -> None:
            if spec != self.spec() or not self.active:
                return  # the settings moved on; their own request follows
            self._set(rebase_probability_map(pmap, self.minima.table), spec)

        def failed(exc: BaseException) -> None:
            self._set(None, None)
            self.basins.set_visible(False)
            self.failed.emit(str(exc) if isinstance(exc, LandscapeError) else f"probability map failed: {exc}")

        def on_cancel() -> None:
            self._timer.stop()
            self._set(None, None)
            self.basins.set_visible(False)
            self.cancelled.emit()

        label = (f"Probability map {spec.resolution}×{spec.resolution}, {spec.samples} noisy runs per cell "
                 f"({spec.optimizer})")
        ctl.jobs.submit(PROBABILITY_JOB, label, work, done, failed, on_cancel)

    def _set(self, pmap: ProbabilityMap | None, spec: ProbabilitySpec | None) -> None:
        if pmap is None and self.pmap is None:
            self._spec = None
            return
        self.pmap, self._spec = pmap, spec
        self.mapChanged.emit()


# --------------------------------------------------------------------------------------------------
# Animations


ANIMATION_TARGETS = {"map": "the 2-D map", "surface": "the 3-D view", "window": "the whole window"}


@dataclass(frozen=True)
class AnimationSpec:
    """What File ▸ Export Animation writes: playback steps ``first, first + every, ..., last`` of
    ``target`` (a key of :data:`ANIMATION_TARGETS`) at ``fps`` frames per second, ``width`` pixels
    wide (0: as on screen; the height follows the view's shape; both rounded down to even numbers,
    as MP4 needs), to ``path`` (``.gif`` or ``.mp4``). ``rotate``: the 3-D camera turns once around
    the surface over the animation (3-D view and window)."""

    path: str
    target: str = "map"
    first: int = 0
    last: int = 0
    every: int = 1
    fps: float = 30.0
    width: int = 0
    rotate: bool = False

    def steps(self) -> list[int]:
        """The playback steps, one per frame (``last`` always included)."""
        if self.every < 1:
            raise LandscapeError(f"every must be a whole number of steps >= 1, got {self.every}")
        if self.first < 0 or self.last < self.first:
            raise LandscapeError(f"the frame range must run forward from step 0 or later, got {self.first} to "
                                 f"{self.last}")
        out = list(range(self.first, self.last + 1, self.every))
        if out[-1] != self.last:
            out.append(self.last)
        return out


# --------------------------------------------------------------------------------------------------
# The race


@dataclass(frozen=True)
class RaceRequest:
    """What the race dialog asks for."""

    optimizers: tuple[str, ...]
    objective: str = "final_loss"
    budget: int = 20
    seed: int = 0
    starts: int = 8
    steps: int = 200
    tol: float = 1e-3


class RaceModel(QObject):
    """A fair race on the job runner and its result (see the module docstring).

    Signals:
        finished(): ``result`` holds a new leaderboard (``playback`` rewound).
        failed(str)
        cancelled()
    """

    finished = Signal()
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl = controller
        self.result: Any = None
        self.request: RaceRequest | None = None
        self.surface: Surface | None = None
        self.bounds: tuple[float, float, float, float] | None = None
        self.grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """The surface sampled for drawing (the controller's grid when the race started)."""
        self.log_height = False
        self.playback = Playback(self)

    @property
    def busy(self) -> bool:
        return self.ctl.jobs.is_running(RACE_JOB)

    def starts_for(self, request: RaceRequest) -> np.ndarray:
        """The starts every optimizer gets: an ``n × n`` grid when ``n`` is a square, else ``n``
        random starts drawn from the race's seed."""
        n = int(request.starts)
        side = int(round(n ** 0.5))
        if side * side == n:
            return grid_starts(self.ctl.bounds, side)
        return random_starts(self.ctl.bounds, n, request.seed)

    def start(self, request: RaceRequest) -> None:
        """Intent: tune and race ``request.optimizers`` on the current surface."""
        from landscape_gui.core.race import race

        if not request.optimizers:
            self.failed.emit("pick at least one optimizer for the race")
            return
        ctl = self.ctl
        surface, bounds, grid, log_height = ctl.surface, ctl.bounds, ctl.grid, ctl.log_height
        starts = self.starts_for(request)
        base = {name: ctl.hyperparameters(name) for name in request.optimizers}

        def work(progress, cancelled):
            return race(surface, list(request.optimizers), starts, objective=request.objective, steps=request.steps,
                        tol=request.tol, budget=request.budget, seed=request.seed, base=base, bounds=bounds,
                        progress=progress, should_cancel=cancelled)

        def done(result: Any) -> None:
            self.result, self.request, self.surface, self.bounds = result, request, surface, bounds
            self.grid, self.log_height = grid, log_height
            self.playback.set_max_step(max((r.steps for e in result.entries for r in e.runs), default=0))
            self.playback.restart()
            self.finished.emit()

        def failed(exc: BaseException) -> None:
            self.failed.emit(str(exc) if isinstance(exc, LandscapeError) else f"race failed: {exc}")

        label = (f"Race: tuning {len(request.optimizers)} optimizer(s), {request.budget} trial(s) each, "
                 f"{len(starts)} starts")
        ctl.jobs.submit(RACE_JOB, label, work, done, failed, self.cancelled.emit)

    def cancel(self) -> None:
        self.ctl.jobs.cancel(RACE_JOB)


__all__ = ["ANIMATION_TARGETS", "AnimationSpec", "DEFAULT_PROBABILITY_RESOLUTION", "DEFAULT_SAMPLES", "PROBABILITY_RESOLUTIONS", "ProbabilityModel",
           "ProbabilitySpec", "RaceModel", "RaceRequest", "rebase_probability_map", "sample_count"]
