"""The researchers' instruments in the window, as a widget-free model on the one job runner.

:class:`ResearchModel` turns the instruments of :mod:`landscape_gui.core` into intents and signals:

* **Slice planes** (:meth:`ResearchModel.choose_plane`): a network slice is shown on another plane of
  the same network: seeded filter-normalised random directions, the PCA of the runs made so far (the
  union of every run's visited weights, :func:`~landscape_gui.core.directions.pca_plane`), the top two
  Hessian eigenvectors at the centre, or the plane through three chosen points (run ends, minima, the
  initial weights; Garipov et al. 2018). A chosen plane is saved as a plane file and named
  ``…;directions=file;plane=FILE`` (so sessions and the CSV ``surface`` column rebuild it). The runs on
  screen are the same weight-space paths afterwards: each is projected onto the new plane
  (:func:`~landscape_gui.core.directions.path_run`) and carries its distance from the plane and its
  true loss beside the plane's loss. One Undo step brings back the old plane and runs.
* **Sharpness along the selected run** (:meth:`ResearchModel.set_sharpness_enabled`): λ_max of the
  Hessian at every step with the 2/lr line (and the preconditioned sharpness for Adam-family
  optimizers), :func:`~landscape_gui.core.sharpness.run_sharpness`; the full weight-space Hessian for
  a run that stepped every weight, the exact 2×2 Hessian of the surface otherwise.
* **Edge-of-stability overlay** (:meth:`ResearchModel.set_eos_visible`): where plain gradient descent
  at the current learning rate is unstable, λ_max > 2/lr (:func:`~landscape_gui.core.sharpness.eos_map`);
  λ_max over the grid is computed once per surface and bounds, the mask re-thresholded when only the
  learning rate moves.
* **1-D profiles** (:meth:`ResearchModel.profile_between`): the loss along the segment between two
  points (:func:`~landscape_gui.core.profile.segment_profile`); between two networks that left the
  plane, the linear interpolation in full weight space (:func:`~landscape_gui.core.profile.interpolate_networks`).
* **Minimum-energy paths** (:meth:`ResearchModel.path_between`): climbing-image NEB between two
  minima (:func:`~landscape_gui.core.neb.nudged_elastic_band`), saddles Newton-refined.
* **Hessian spectrum** (:meth:`ResearchModel.spectrum_at`): every eigenvalue of a network's full
  Hessian at a point (:func:`~landscape_gui.core.spectrum.hessian_spectrum`), trace, condition number.

Points are named by :class:`Anchor` keys (``("min", id)``, ``("end", run id)``, ``("start", run id)``,
``("init",)``, ``("centre",)``, ``("step",)``); :meth:`ResearchModel.anchors` lists those available now.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import Run
from landscape_gui.qt.model.controller import Controller
from landscape_gui.qt.model.minima import MinimaModel
from landscape_gui.qt.model.networks import NetworkModel
from landscape_gui.qt.model.strategy import is_mlp_slice

PLANE_KINDS = {
    "random": "Random (filter-normalised)",
    "pca": "PCA of the runs so far",
    "hessian": "Top-two Hessian eigenvectors",
    "points": "Through three points",
}
"""Ways of choosing a slice plane, as the window names them."""

EOS_RESOLUTION = 128
"""Cells per side of the edge-of-stability overlay."""
EOS_RESOLUTION_NETWORK = 64
"""... on a network slice, whose Hessians cost a pass over the data each (64² takes seconds)."""
MAX_RUN_ANCHORS = 200
"""Runs whose ends and starts are offered as points (the most recent ones; minima are always listed)."""


@dataclass(frozen=True)
class Anchor:
    """A point the instruments can start from or go to.

    Attributes:
        key: ``("min", id)``, ``("end", run id)``, ``("start", run id)``, ``("init",)``, ``("centre",)``,
            ``("step",)`` (the selected run at the playback step).
        label: what the window calls it.
        xy: the point on the map (a weight vector's projection for networks).
        weights: the full parameter vector for a network surface, else ``None``.
    """

    key: tuple
    label: str
    xy: tuple[float, float]
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class ProfileResult:
    """The loss between two points, as the Profile tab shows it.

    Attributes:
        start, end: the two anchors' labels; start_xy, end_xy: their map points.
        t: ``(n,)`` 0 at the start, 1 at the end (α beyond for an interpolation range).
        loss, accuracy: ``(n,)`` (accuracy ``None`` unless a classification network).
        peak_t, peak_loss: the highest point between the ends.
        barrier_from_start, barrier_from_end: peak minus each end's loss.
        linear_barrier: the largest excess over the straight line between the end losses.
        full_space: the segment joins two networks in full weight space (not a segment of the plane).
    """

    start: str
    end: str
    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    t: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray | None
    peak_t: float
    peak_loss: float
    barrier_from_start: float
    barrier_from_end: float
    linear_barrier: float
    full_space: bool


@dataclass(frozen=True)
class PathResult:
    """A minimum-energy path and the names of its ends."""

    start: str
    end: str
    path: Any  # landscape_gui.core.neb.MinimumEnergyPath


@dataclass(frozen=True)
class SpectrumResult:
    """A Hessian spectrum and where it was taken."""

    where: str
    spectrum: Any  # landscape_gui.core.spectrum.HessianSpectrum


def key_text(key: Sequence) -> str:
    """An anchor key as text (``("min", 3)`` -> ``"min:3"``), for widgets to store."""
    return ":".join(str(k) for k in key)


def parse_key(key: Sequence | str | None) -> tuple:
    """The anchor key of :func:`key_text`'s text (tuples pass through)."""
    if key is None:
        raise LandscapeError("choose a point first")
    if isinstance(key, str):
        head, *rest = key.split(":")
        return (head, *(int(v) for v in rest))
    return tuple(key)


def default_plane_dir() -> str:
    """Where chosen planes are saved: the application's data folder, ``planes/``."""
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or os.path.expanduser("~/.landscape-gui")
    return os.path.join(base, "planes")


class ResearchModel(QObject):
    """The instruments of the window (see the module docstring).

    Signals:
        planeChanged(str): a new plane is shown (its description).
        failed(str, str): (title, message) of a computation that could not be done.
        sharpnessChanged(): :attr:`sharpness` changed (``None``: nothing to show).
        eosChanged(): :attr:`eos` changed (``None``: no overlay).
        eosStateChanged(bool): the overlay was switched on or off.
        profileChanged(), pathChanged(), spectrumChanged(): the results below changed.
        anchorsChanged(): the points one can choose changed (runs, minima or surface).
    """

    planeChanged = Signal(str)
    failed = Signal(str, str)
    sharpnessChanged = Signal()
    eosChanged = Signal()
    eosStateChanged = Signal(bool)
    profileChanged = Signal()
    pathChanged = Signal()
    spectrumChanged = Signal()
    anchorsChanged = Signal()

    def __init__(self, controller: Controller, networks: NetworkModel, minima: MinimaModel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl, self.networks, self.minima = controller, networks, minima
        self.plane_dir = default_plane_dir()
        """Folder chosen planes are saved in (their files name the surface)."""
        self.sharpness_enabled = False
        self.sharpness: tuple[Run, Any] | None = None
        """``(run, SharpnessSeries)`` of the selected run, when enabled."""
        self.sharpness_problem: str | None = None
        """Why the selected run has no sharpness (shown beside the plot, not in a message box: it
        would pop up at every selection)."""
        self._sharpness_cache: weakref.WeakKeyDictionary[Run, Any] = weakref.WeakKeyDictionary()
        self.eos_visible = False
        self.eos: tuple[np.ndarray, tuple[float, float, float, float], float] | None = None
        """``(mask [x-cell, y-cell], bounds, lr)`` of the overlay shown."""
        self._eos_lam: tuple[tuple, np.ndarray] | None = None
        self.profile: ProfileResult | None = None
        self.path: PathResult | None = None
        self.spectrum: SpectrumResult | None = None
        controller.selectionChanged.connect(self._update_sharpness)
        controller.runsChanged.connect(self._update_sharpness)
        controller.surfaceChanged.connect(self._surface_changed)
        controller.hyperparametersChanged.connect(lambda _n: self._rethreshold())
        controller.optimizerChanged.connect(lambda _n: self._rethreshold())
        controller.runsChanged.connect(self.anchorsChanged)
        minima.changed.connect(self.anchorsChanged)
        self._surface_key = self._key()

    # ------------------------------------------------------------------ helpers
    def _key(self) -> tuple:
        return (id(self.ctl.surface), tuple(self.ctl.bounds))

    @property
    def is_network(self) -> bool:
        """The surface is a network slice (planes and spectra apply)."""
        return is_mlp_slice(self.ctl.surface)

    def _fail(self, title: str) -> Callable[[BaseException], None]:
        def report(exc: BaseException) -> None:
            msg = str(exc) if isinstance(exc, LandscapeError) else f"{type(exc).__name__}: {exc}"
            self.failed.emit(title, msg)
        return report

    def _submit(self, key: str, label: str, work, done, title: str,
                on_error: Callable[[BaseException], None] | None = None) -> None:
        fail = on_error or self._fail(title)
        if self.ctl.force_sync:
            try:
                result = work(lambda f: None, lambda: False)
            except LandscapeError as exc:
                fail(exc)
                return
            done(result)
            return
        self.ctl.jobs.submit(key, label, work, done, fail)

    def weights_of(self, run: Run) -> np.ndarray | None:
        """``(k + 1, P)`` the weights a run visited on the current network, or ``None``: recorded by a
        full-space run, kept by a projected run, or ``θ(a, b)`` of a run that stepped in this plane."""
        s = self.ctl.surface
        if not is_mlp_slice(s):
            return None
        w = self.networks.weights_of(run)
        if w is None and run.extras:
            w = run.extras.get("weights")
        if w is not None:
            w = np.asarray(w, dtype=float)
            return w if w.ndim == 2 and w.shape[1] == s.n_params else None
        if run.surface == s.name and "distance" not in (run.extras or {}):
            return s.theta(run.positions)
        return None

    def _init_weights(self) -> np.ndarray:
        from landscape_gui.core.directions import networks_from_tokens

        return networks_from_tokens(self.ctl.surface, "init")[0]

    def anchors(self, include_step: bool = False) -> list[Anchor]:
        """The points available now: minima of the table, run ends and starts, and for a network the
        initial weights and the plane's centre (``include_step``: the selected run at the playback step)."""
        s = self.ctl.surface
        net = is_mlp_slice(s)
        out: list[Anchor] = []
        if include_step:
            sel = self.ctl.selected
            run = self.ctl.run(sel[0]) if sel else None
            if run is not None:
                k = min(self.ctl.playback.step, run.steps)
                W = self.weights_of(run) if net else None
                out.append(Anchor(("step",), f"run {run.id} at step {k}", tuple(map(float, run.positions[k])),
                                  None if W is None else W[k]))
        if net:
            out.append(Anchor(("centre",), "centre of the plane", (0.0, 0.0), s.theta_c.copy()))
            try:
                w0 = self._init_weights()
                ab, _ = s.project(w0[None])
                out.append(Anchor(("init",), "initial weights", (float(ab[0, 0]), float(ab[0, 1])), w0))
            except LandscapeError:
                pass
        for c in self.minima.points():
            xy = (float(c.x), float(c.y))
            out.append(Anchor(("min", c.id), f"{'minimum' if c.kind == 'minimum' else c.kind} #{c.id} "
                              f"({c.x:.3g}, {c.y:.3g})", xy, s.theta(np.array([xy]))[0] if net else None))
        for r in self.ctl.runs[-MAX_RUN_ANCHORS:]:
            if r.surface != s.name or not len(r.positions):
                continue
            W = self.weights_of(r) if net else None
            for kind, row in (("end", -1), ("start", 0)):
                xy = tuple(map(float, r.positions[row]))
                if np.isfinite(xy).all():
                    out.append(Anchor((kind, r.id), f"{kind} of run {r.id} ({r.optimizer})", xy,
                                      None if W is None else W[row]))
        return out

    def anchor(self, key: Sequence | str) -> Anchor:
        """The anchor named ``key`` (a tuple, or its text ``"min:3"``, ``"end:2"``, ``"init"``)."""
        key = parse_key(key)
        for a in self.anchors(include_step=key == ("step",)):
            if a.key == key:
                return a
        raise LandscapeError(f"the point {key!r} is no longer available (its run or minimum is gone)")

    # ------------------------------------------------------------------ slice planes
    def choose_plane(self, kind: str, through: Sequence[Sequence] = ()) -> None:
        """Show the network on another plane (``kind`` in :data:`PLANE_KINDS`; ``through``: three
        anchor keys for ``points``). Runs on screen are projected onto it; one Undo step."""
        s = self.ctl.surface
        title = "Slice plane"
        if not is_mlp_slice(s):
            self.failed.emit(title, "chosen slice planes need a multi-layer-perceptron surface (an nn: spec with model=mlp)")
            return
        if kind not in PLANE_KINDS:
            self.failed.emit(title, f"unknown plane {kind!r}; choose one of {', '.join(PLANE_KINDS)}")
            return
        runs = [(r, w) for r in self.ctl.runs if (w := self.weights_of(r)) is not None]
        try:
            chosen = [self.anchor(k) for k in through] if kind == "points" else []
        except LandscapeError as exc:
            self.failed.emit(title, str(exc))
            return
        points = [a.weights for a in chosen]
        labels = [a.label for a in chosen]
        if kind == "points" and (len(points) != 3 or any(p is None for p in points)):
            self.failed.emit(title, "the plane through three points needs three network points")
            return
        if kind == "pca" and not runs:
            self.failed.emit(title, "PCA directions need runs on this network: click the map to start some first")
            return
        plane_dir = self.plane_dir

        def work(progress, cancelled):
            from landscape_gui.core import directions as D
            from landscape_gui.core.nn.slices import build_surface

            base = replace(s.spec, runs="", through="", plane="")
            if kind in ("random", "hessian"):
                new = build_surface(replace(base, directions=kind), progress, cancelled)
            else:
                if kind == "pca":
                    pca = D.pca_plane([w for _r, w in runs])
                    origin, dirs = pca.mean, pca.components
                    ratio = pca.explained_variance_ratio
                    bounds = D.square_bounds(pca.scores)
                    desc = (f"PCA plane of {len(runs)} run{'s' if len(runs) != 1 else ''} "
                            f"({100 * ratio[0]:.1f} % + {100 * ratio[1]:.1f} % of the variance), centred on their mean weights")
                else:
                    origin, dirs = D.three_point_plane(*points)
                    ab = (np.vstack(points) - origin) @ dirs.T
                    bounds = D.square_bounds(ab)
                    desc = f"plane through {', '.join(labels)} (Garipov et al. 2018)"
                digest = hashlib.sha1(np.ascontiguousarray(np.vstack([origin, dirs])).tobytes()).hexdigest()[:16]
                os.makedirs(plane_dir, exist_ok=True)
                path = os.path.join(plane_dir, f"plane-{digest}.npz")
                D.save_plane(path, origin, dirs, bounds, desc)
                new = build_surface(replace(base, directions="file", plane=path, span=1.0), progress, cancelled)
            moved = []
            for r, w in runs:
                p = D.path_run(new, w, r.id, r.optimizer, r.params, r.status)
                p.extras["weights"] = w
                moved.append(p)
            return new, moved

        def done(result) -> None:
            new, moved = result
            if self.ctl.surface is not s:
                return
            self.ctl.set_surface_object(new, runs=moved)
            self.planeChanged.emit(new.description)

        self._submit("plane", f"Choosing the slice plane ({PLANE_KINDS[kind].lower()})", work, done, title)

    # ------------------------------------------------------------------ sharpness
    def set_sharpness_enabled(self, on: bool) -> None:
        """Compute the sharpness of the selected run (now and whenever the selection changes)."""
        self.sharpness_enabled = bool(on)
        self._update_sharpness()

    def _update_sharpness(self) -> None:
        sel = self.ctl.selected
        run = self.ctl.run(sel[0]) if sel else None
        if not self.sharpness_enabled or run is None:
            self.ctl.jobs.drop("sharpness")
            if self.sharpness is not None or self.sharpness_problem is not None:
                self.sharpness = self.sharpness_problem = None
                self.sharpnessChanged.emit()
            return
        if self.sharpness is not None and self.sharpness[0] is run:
            return
        self.sharpness_problem = None
        cached = self._sharpness_cache.get(run)
        if cached is not None:
            self.sharpness = (run, cached)
            self.sharpnessChanged.emit()
            return
        s = self.ctl.surface
        self.sharpness = None
        if run.surface != s.name:
            self.sharpness_problem = f"run {run.id} was recorded on another surface ({run.surface})"
            self.sharpnessChanged.emit()
            return
        self.sharpnessChanged.emit()  # the old run's curve goes; this one's follows
        W = self.networks.weights_of(run)
        if W is None and run.extras and "weights" in run.extras and "distance" in run.extras:
            W = run.extras["weights"]
        target = run if W is None else replace(run, extras={**run.extras, "weights": np.asarray(W, dtype=float)})

        def work(progress, cancelled):
            from landscape_gui.core.sharpness import run_sharpness

            return run_sharpness(s, target, progress=progress, should_cancel=cancelled)

        def done(series) -> None:
            self._sharpness_cache[run] = series
            sel_now = self.ctl.selected
            if sel_now and self.ctl.run(sel_now[0]) is run:
                self.sharpness = (run, series)
                self.sharpnessChanged.emit()

        def failed(exc: BaseException) -> None:
            sel_now = self.ctl.selected
            if sel_now and self.ctl.run(sel_now[0]) is run:
                self.sharpness_problem = str(exc) if isinstance(exc, LandscapeError) else f"{type(exc).__name__}: {exc}"
                self.sharpnessChanged.emit()

        self._submit("sharpness", f"Sharpness along run {run.id}", work, done, "Sharpness", failed)

    def sharpness_at(self, step: int) -> tuple[float, float, float | None] | None:
        """``(λ_max, 2/lr, preconditioned λ_max or None)`` of the selected run at ``step``."""
        if self.sharpness is None:
            return None
        run, ser = self.sharpness
        k = min(max(int(step), 0), len(ser.sharpness) - 1)
        pre = None if ser.preconditioned is None else float(ser.preconditioned[k])
        return float(ser.sharpness[k]), float(ser.threshold[k]), pre

    # ------------------------------------------------------------------ edge of stability
    def set_eos_visible(self, on: bool) -> None:
        """Show (computing on the job runner) or hide the overlay of λ_max > 2/lr."""
        on = bool(on)
        if on == self.eos_visible:
            return
        self.eos_visible = on
        self.eosStateChanged.emit(on)
        if on:
            self._compute_eos()
        else:
            self.ctl.jobs.drop("eos")
            self.eos = None
            self.eosChanged.emit()

    def current_lr(self) -> float:
        return float(self.ctl.hyperparameters().get("lr", float("nan")))

    def _compute_eos(self) -> None:
        key = self._key()
        if self._eos_lam is not None and self._eos_lam[0] == key:
            self._rethreshold()
            return
        s, bounds = self.ctl.surface, self.ctl.bounds
        R = min(EOS_RESOLUTION_NETWORK if hasattr(s, "dataset") else EOS_RESOLUTION, self.ctl.resolution)

        def work(progress, cancelled):
            from landscape_gui.core.sharpness import sharpness_grid

            return sharpness_grid(s, bounds, R, progress, cancelled)

        def done(result) -> None:
            if self._key() != key or not self.eos_visible:
                return
            self._eos_lam = (key, result[2])
            self._rethreshold()

        def cancelled() -> None:
            self.eos_visible = False
            self.eos = None
            self.eosStateChanged.emit(False)
            self.eosChanged.emit()

        if self.ctl.force_sync:
            self._submit("eos", "", work, done, "Edge of stability")
            return
        self.ctl.jobs.submit("eos", f"Sharpness map {R}×{R} (edge of stability)", work, done,
                             self._fail("Edge of stability"), cancelled)

    def _rethreshold(self) -> None:
        if not self.eos_visible or self._eos_lam is None or self._eos_lam[0] != self._key():
            return
        from landscape_gui.core.sharpness import eos_mask

        lr = self.current_lr()
        try:
            mask = eos_mask(self._eos_lam[1], lr)
        except LandscapeError as exc:
            self.failed.emit("Edge of stability", str(exc))
            return
        self.eos = (mask, tuple(self.ctl.bounds), lr)
        self.eosChanged.emit()

    def _surface_changed(self) -> None:
        key = self._key()
        if key == self._surface_key:
            return
        self._surface_key = key
        self._sharpness_cache = weakref.WeakKeyDictionary()
        for name in ("profile", "path", "spectrum"):
            if getattr(self, name) is not None:
                setattr(self, name, None)
                getattr(self, f"{name}Changed").emit()
        if self.eos_visible:
            self.eos = None
            self.eosChanged.emit()
            self._compute_eos()
        self.anchorsChanged.emit()

    # ------------------------------------------------------------------ profiles and paths
    def profile_between(self, a: Sequence, b: Sequence, points: int = 201) -> None:
        """The loss along the segment between anchors ``a`` and ``b`` (see the module docstring)."""
        try:
            A, B = self.anchor(a), self.anchor(b)
        except LandscapeError as exc:
            self.failed.emit("Profile", str(exc))
            return
        s = self.ctl.surface
        off_plane = False
        if A.weights is not None and B.weights is not None:
            ends = np.vstack([A.weights, B.weights])
            off_plane = bool(np.max(s.project(ends)[1]) > 1e-9 * max(1.0, float(np.abs(ends).max())))

        def work(progress, cancelled):
            from landscape_gui.core.profile import interpolate_networks, segment_profile

            if off_plane:
                it = interpolate_networks(s, A.weights, B.weights, points)
                loss = it.loss
                k = int(np.nanargmax(loss))
                return ProfileResult(A.label, B.label, A.xy, B.xy, it.alpha, loss, it.accuracy, float(it.alpha[k]),
                                     float(loss[k]), float(loss[k] - loss[0]), float(loss[k] - loss[-1]),
                                     it.linear_barrier, True)
            p = segment_profile(s, A.xy, B.xy, points)
            return ProfileResult(A.label, B.label, A.xy, B.xy, p.t, p.loss, p.accuracy, p.peak_t, p.peak_loss,
                                 p.barrier_from_start, p.barrier_from_end, p.linear_barrier, False)

        def done(result: ProfileResult) -> None:
            if self.ctl.surface is s:
                self.profile = result
                self.profileChanged.emit()

        self._submit("profile", f"Profile from {A.label} to {B.label}", work, done, "Profile")

    def path_between(self, a: Sequence, b: Sequence, images: int = 21) -> None:
        """The minimum-energy path (climbing-image NEB) between the minima anchors ``a`` and ``b`` lie in."""
        try:
            A, B = self.anchor(a), self.anchor(b)
        except LandscapeError as exc:
            self.failed.emit("Minimum-energy path", str(exc))
            return
        s, bounds = self.ctl.surface, self.ctl.bounds

        def work(progress, cancelled):
            from landscape_gui.core.neb import nudged_elastic_band

            return nudged_elastic_band(s, A.xy, B.xy, images, bounds=bounds, progress=progress, should_cancel=cancelled)

        def done(path) -> None:
            if self.ctl.surface is s:
                self.path = PathResult(A.label, B.label, path)
                self.pathChanged.emit()

        self._submit("path", f"Minimum-energy path from {A.label} to {B.label}", work, done, "Minimum-energy path")

    def clear_path(self) -> None:
        if self.path is not None:
            self.path = None
            self.pathChanged.emit()

    def clear_profile(self) -> None:
        if self.profile is not None:
            self.profile = None
            self.profileChanged.emit()

    # ------------------------------------------------------------------ spectrum
    def spectrum_at(self, where: Sequence, top_k: int = 20) -> None:
        """The Hessian spectrum of the network at anchor ``where`` (every eigenvalue up to
        :data:`~landscape_gui.core.spectrum.EXACT_MAX` weights, the top ``top_k`` above)."""
        title = "Hessian spectrum"
        if not is_mlp_slice(self.ctl.surface):
            self.failed.emit(title, "the Hessian spectrum needs a multi-layer-perceptron surface (an nn: spec with model=mlp)")
            return
        try:
            A = self.anchor(where)
        except LandscapeError as exc:
            self.failed.emit(title, str(exc))
            return
        if A.weights is None:
            self.failed.emit(title, f"{A.label}: its weights are not known")
            return
        s = self.ctl.surface

        def work(progress, cancelled):
            from landscape_gui.core.spectrum import hessian_spectrum

            return hessian_spectrum(s, A.weights, top_k=top_k, progress=progress, should_cancel=cancelled)

        def done(spec) -> None:
            if self.ctl.surface is s:
                self.spectrum = SpectrumResult(A.label, spec)
                self.spectrumChanged.emit()

        self._submit("spectrum", f"Hessian spectrum at {A.label}", work, done, title)


__all__ = ["Anchor", "EOS_RESOLUTION", "key_text", "parse_key", "PLANE_KINDS", "PathResult", "ProfileResult", "ResearchModel",
           "SpectrumResult", "default_plane_dir"]
