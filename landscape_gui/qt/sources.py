"""Neural-network surfaces in the window, and the data they fit (issue 6).

:func:`install_sources` plugs these into a :class:`~landscape_gui.qt.main_window.MainWindow` through
its public parts only (``ctl``, ``surface_panel``, ``controls_dock``, ``add_dock``, ``statusBar()``,
``dialogs``, ``act_cancel``, ``open_session``); typed formulas are the window's own
(``install_formula_edit``):

* **Network** (issue 6). A *Network* section in the surface panel
  (:class:`~landscape_gui.qt.nn_panel.NetworkPanel`); *Build* runs a
  :class:`~landscape_gui.qt.nn_panel.SurfaceBuilder` off the GUI thread with a progress bar and a
  *Cancel* button in the status bar (Esc cancels too), then shows the built surface. Catalogue ``nn_*``
  surfaces picked in the surface combo, and sessions whose surface is a network, are built the same way
  (training a network takes a moment); afterwards the window resolves them as usual, from the trained
  weights cached by :mod:`landscape_gui.core.nn.slices`.
* **Data** dock: a :class:`~landscape_gui.qt.data_plot.DataPlot` of the network surface's dataset with
  the selected run's decision boundary or fitted curve *at the playback step*, and a caption with the
  run, step, weights and loss (for a run in full weight space also its distance from the plane and the
  true loss). On a surface without data it says so.
* **Full weight space**: a check box in the Network section. While it is on and the surface is a slice
  of a multi-layer perceptron, a click (or a grid/random start) on either view steps the whole network
  with the current optimizer (:func:`~landscape_gui.core.nn.fullspace.run_full_space`), drawn by its
  least-squares projection onto the plane; such runs are added like a CSV overlay (kept until the
  surface changes, not recomputed when a hyperparameter changes) and the Data dock gives the distance
  of the weights from the plane and the true loss at every step, so the picture never hides a path
  that leaves the plane.

Besides adding widgets it takes over three intents, each passing everything else straight through:
the surface combo's slot (``nn_*`` names are trained off the GUI thread first), ``window.open_session``
(a session on a network surface is built first) and ``ctl.start_many`` (starts in full weight space).
Closing the window cancels a build and waits for its thread.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Surface
from landscape_gui.qt.data_plot import DataPlot
from landscape_gui.qt.nn_panel import NetworkPanel, SurfaceBuilder

log = logging.getLogger(__name__)

REFRESH_MS = 40
"""Shortest interval between two redraws of the data dock while playback runs."""


def network_spec(name: str) -> str | None:
    """The ``nn:`` spec a surface name stands for: a catalogue ``nn_*`` name's spec, an ``nn:`` spec
    itself, else ``None`` (a textbook surface or a formula: nothing to train)."""
    from landscape_gui.core.nn.catalogue import CATALOGUE

    if name in CATALOGUE:
        return CATALOGUE[name][0]
    if name.strip().startswith("nn:"):
        return name.strip()
    return None


def is_mlp_slice(surface: Surface) -> bool:
    """True for a 2-D slice of a multi-layer perceptron (weights beyond the plane exist)."""
    return bool(getattr(surface, "is_slice", False)) and hasattr(surface, "full_value_and_grad")


MAX_KEPT_WEIGHTS = 20_000_000
"""Weights (float32) kept per batch of full-space runs for the data dock: 80 MB at most."""


def _recording_copy(surface: Any) -> Any:
    """A shallow copy of a network surface whose :meth:`project` also logs ``(ab, θ)`` rows:
    :func:`~landscape_gui.core.nn.fullspace.run_full_space` projects the weights of every recorded
    step, so the log holds each run's weights next to the point drawn for it."""
    base = type(surface)

    class Recording(base):  # type: ignore[misc, valid-type]
        def project(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ab, dist = base.project(self, theta)
            self.log.append((ab.copy(), np.asarray(theta, dtype=np.float32).copy()))
            return ab, dist

    rec = copy.copy(surface)
    rec.__class__ = Recording
    rec.log = []
    return rec


def _weights_of(rec: Any, run: Run) -> np.ndarray | None:
    """``(k + 1, P)`` weights of ``run`` at each step, matched through the logged projections
    (each drawn point is exactly the projection of that step's weights)."""
    table = {}
    for ab, theta in rec.log:
        for row_ab, row_theta in zip(ab, theta):
            table.setdefault(row_ab.tobytes(), row_theta)
    try:
        return np.stack([table[np.ascontiguousarray(p).tobytes()] for p in run.positions])
    except KeyError:
        return None


class _NetworkAtWeights:
    """Stands in for a network surface in the :class:`DataPlot`: predictions of the network with
    weights ``theta`` (set before each draw) instead of those at a point of the plane."""

    def __init__(self, surface: Any) -> None:
        self.surface = surface
        self.dataset = surface.dataset
        self.net = surface.net
        self.decision_threshold = surface.decision_threshold
        self.theta: np.ndarray | None = None

    def predict(self, point: Any, X: np.ndarray | None = None) -> np.ndarray:
        X = self.dataset.X if X is None else np.asarray(X, dtype=float)
        # an MLP slice's parameters are its network weights (NetSurface._weights is the identity map plus offset)
        w = self.surface._weights(np.asarray(self.theta, dtype=float)[None, :])
        return self.net.forward(w, X)[0]


class Sources(QObject):
    """The network and data parts of a window (made by :func:`install_sources`)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.ctl = ctl = window.ctl
        self._pending: Callable[[Surface], None] | None = None
        self._weights: dict[int, tuple[Run, np.ndarray]] = {}
        """Full-space runs' weights at every step, by run id (with the run, as ids can be reused)."""
        self._at_weights: _NetworkAtWeights | None = None

        # -- network section ---------------------------------------------------------------
        self.network_panel = NetworkPanel()
        self.full_space_box = QCheckBox("Step in full weight space (MLP slices)")
        self.full_space_box.setToolTip(
            "On a slice of a multi-layer perceptron, new runs step every weight of the network and are\n"
            "drawn by their projection onto the plane; the Data dock gives their distance from the plane\n"
            "and the true loss. Off: runs step in the plane (exactly the surface shown)."
        )
        # Mini-batch SGD for full-space runs: 0 = the full batch; the seed fixes which samples each
        # step sees, so the same seed gives the same path.
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 100_000)
        self.batch_spin.setSpecialValueText("full batch")
        self.batch_spin.setToolTip("Samples per step for full-space runs (mini-batch gradients); 0: the whole dataset")
        self.batch_seed_spin = QSpinBox()
        self.batch_seed_spin.setRange(0, 2**31 - 1)
        self.batch_seed_spin.setToolTip("Seed of the mini-batch sampler: the same seed draws the same batches")
        batch_row = QHBoxLayout()
        batch_row.setContentsMargins(18, 0, 0, 0)
        batch_row.addWidget(QLabel("Batch"))
        batch_row.addWidget(self.batch_spin, 1)
        batch_row.addWidget(QLabel("seed"))
        batch_row.addWidget(self.batch_seed_spin, 1)
        section = QWidget()
        sl = QVBoxLayout(section)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.network_panel)
        sl.addWidget(self.full_space_box)
        sl.addLayout(batch_row)
        # Combos sized by their longest item ("mean_absolute_percentage_error") would widen the controls
        # dock past its width; the full name is in the drop-down list and the tooltip.
        for combo in self.network_panel.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentTextChanged.connect(lambda text, c=combo: c.setToolTip(text))
            combo.setToolTip(combo.currentText())
        self.network_section = window.surface_panel.add_section("Network", section)
        self.network_section.setToolTip("A neural network's loss as a surface: a 2-D slice of its weights")
        # Folded (title check box) while the surface is not a network, so the optimizer panel stays in
        # view; it unfolds when the window turns to a network surface.
        self.network_section.setCheckable(True)
        self.network_section.toggled.connect(section.setVisible)
        folded_open = getattr(ctl.surface, "dataset", None) is not None
        self.network_section.setChecked(folded_open)
        section.setVisible(folded_open)
        # Sections other parts add later (the formula box arrives once sympy is imported) go above
        # this one: the formula belongs with the bounds, the long network form at the end.
        self._reorder = QTimer(self)  # owned here: it dies with the window, never fires after it
        self._reorder.setSingleShot(True)
        self._reorder.setInterval(0)
        self._reorder.timeout.connect(self._network_section_last)
        window.surface_panel.installEventFilter(self)
        self.builder = SurfaceBuilder(self)
        self.network_panel.surfaceRequested.connect(self.build_network)
        self.builder.progress.connect(self._build_progress)
        self.builder.built.connect(self._built)
        self.builder.failed.connect(self._build_failed)
        self.builder.cancelled.connect(self._build_cancelled)
        self.builder.finished.connect(self._build_finished)

        sb = window.statusBar()
        self.build_progress = QProgressBar()
        self.build_progress.setRange(0, 1000)
        self.build_progress.setMaximumWidth(220)
        self.build_progress.setFormat("Building network %p%")
        self.build_cancel = QPushButton("Cancel build")
        self.build_cancel.setToolTip("Stop building the network surface (Esc); the current surface stays")
        sb.addPermanentWidget(self.build_progress)
        sb.addPermanentWidget(self.build_cancel)
        self.build_progress.hide()
        self.build_cancel.hide()
        self.build_cancel.clicked.connect(self.cancel_build)
        act_cancel = getattr(window, "act_cancel", None)
        if act_cancel is not None:
            act_cancel.triggered.connect(self.cancel_build)

        # The Network section makes the controls taller than the dock: leave room for the scroll bar.
        dock = getattr(window, "controls_dock", None)
        if dock is not None:
            from PySide6.QtWidgets import QStyle

            bar = window.style().pixelMetric(QStyle.PM_ScrollBarExtent)
            need = window.surface_panel.parentWidget().minimumSizeHint().width() + bar + 8
            if dock.width() < need:
                window.resizeDocks([dock], [need], Qt.Horizontal)

        # catalogue nn_* surfaces from the combo: train off the GUI thread first
        combo = window.surface_panel.combo
        try:
            combo.currentIndexChanged.disconnect(window.surface_panel._combo_changed)
        except (RuntimeError, TypeError, AttributeError):
            log.warning("surface combo: could not take over its slot; nn surfaces build on the GUI thread")
        else:
            combo.currentIndexChanged.connect(self._combo_changed)

        # sessions whose surface is a network: build first, then open as usual
        self._open_session = window.open_session
        window.open_session = self.open_session

        # full weight space: clicks (start_at), grid and random starts all go through start_many
        self._start_many = ctl.start_many
        ctl.start_many = self.start_many
        ctl.surfaceChanged.connect(self._sync_full_space_box)
        self.full_space_box.toggled.connect(self._sync_full_space_box)
        ctl.surfaceChanged.connect(self._show_network_settings)
        ctl.surfaceChanged.connect(self._forget_weights)
        self._show_network_settings()
        self._sync_full_space_box()

        # -- data dock -----------------------------------------------------------------------
        self.data_plot = DataPlot()
        self.data_caption = QLabel()
        self.data_caption.setWordWrap(True)
        self.data_caption.setTextFormat(Qt.PlainText)
        self.data_caption.setStyleSheet("color: #333;")
        box = QWidget()
        bl = QVBoxLayout(box)
        bl.setContentsMargins(4, 4, 4, 4)
        bl.setSpacing(2)
        bl.addWidget(self.data_caption)
        bl.addWidget(self.data_plot, 1)
        self.data_plot.setMinimumSize(120, 120)  # the dock must not widen the window's minimum
        self.data_dock: QDockWidget = window.add_dock(box, "Data", Qt.RightDockWidgetArea, "dataDock")
        window.resizeDocks([self.data_dock], [320], Qt.Horizontal)
        # Shown when the window turns to a network surface; on others it only holds a note, so it
        # starts closed there (View ▸ Panels ▸ Data opens it; restored settings win).
        self._was_network = self._is_network()
        self.data_dock.setVisible(self._was_network)
        ctl.surfaceChanged.connect(self._auto_show_data)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh_data)
        for sig in (ctl.surfaceChanged, ctl.selectionChanged, ctl.runsChanged, ctl.playback.stepChanged):
            sig.connect(self._schedule_refresh)
        self.data_dock.visibilityChanged.connect(lambda on: on and self._schedule_refresh())
        self.refresh_data()

        window.installEventFilter(self)

    # ------------------------------------------------------------------ building networks
    def build_network(self, spec: str, on_built: Callable[[Surface], None] | None = None,
                      label: str = "Building network") -> None:
        """Build ``spec`` off the GUI thread, then hand the surface to ``on_built`` (default: show
        it). A build still running is cancelled (its result dropped)."""
        self._pending = on_built or (lambda s: self.ctl.set_surface_object(s))
        self.network_panel.error_label.setText("")
        self.build_progress.setFormat(f"{label} %p%")
        self.build_progress.setValue(0)
        self.build_progress.show()
        self.build_cancel.show()
        self.window.statusBar().showMessage(f"{label}…", 3000)
        self.builder.start(spec)

    @property
    def building(self) -> bool:
        """True while a network surface is being built."""
        return self.builder.is_running()

    def cancel_build(self) -> None:
        if self.builder.is_running():
            self.builder.cancel()

    def _build_progress(self, fraction: float) -> None:
        self.build_progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def _built(self, surface: Surface) -> None:
        then, self._pending = self._pending, None
        if then is None:
            return
        try:
            then(surface)
        except LandscapeError as exc:
            self.window.dialogs.error("landscape-gui", str(exc))
        else:
            self.window.statusBar().showMessage(f"Showing {surface.title or surface.name}", 5000)

    def _build_failed(self, message: str) -> None:
        self._pending = None
        self.network_panel.error_label.setText(message)
        self.window.dialogs.error("Build network surface", message)
        self.window.surface_panel.sync()

    def _build_cancelled(self) -> None:
        if not self.builder.is_running():
            self._pending = None
            self._hide_progress()
            self.window.surface_panel.sync()  # the combo shows the surface still in force
            self.window.statusBar().showMessage("Network build cancelled; the surface is unchanged", 5000)

    def _build_finished(self) -> None:
        if not self.builder.is_running():
            self._hide_progress()

    def _hide_progress(self) -> None:
        self.build_progress.hide()
        self.build_cancel.hide()

    def _combo_changed(self, i: int) -> None:
        panel = self.window.surface_panel
        name = panel.combo.itemData(i)
        if not name or name == self.ctl.surface.name:
            return
        spec = network_spec(name)
        if spec is None:
            self.cancel_build()
            panel._combo_changed(i)
            return
        from landscape_gui.core.nn.catalogue import CATALOGUE

        description = CATALOGUE[name][1] if name in CATALOGUE else ""

        def show(surface: Surface) -> None:
            if name in CATALOGUE:  # as the registry's factory names it: CSV and sessions store the short name
                surface.name = name
                surface.description = description
            self.ctl.set_surface_object(surface)

        self.build_network(spec, show, f"Building {name}")

    def open_session(self, path: str | None = None) -> bool:
        """Open a session; one on a network surface is built off the GUI thread first (the window
        then opens it as usual, from the cached trained weights). Returns False if nothing opens."""
        from landscape_gui.qt.main_window import SESSION_FILTER
        from landscape_gui.core.session import load_session

        path = path or self.window.dialogs.open_path("Open session", SESSION_FILTER)
        if not path:
            return False
        try:
            session = load_session(path)
        except (LandscapeError, OSError):
            return self._open_session(path)  # the window names the problem
        spec = network_spec(session.surface)
        if spec is None:
            return self._open_session(path)
        self.build_network(spec, lambda _s: self._open_session(path), "Preparing the session's network")
        return True

    def _show_network_settings(self) -> None:
        """Show the settings of the network surface in force (a catalogue pick, a session) in the panel."""
        spec = getattr(self.ctl.surface, "spec", None)
        canonical = getattr(spec, "canonical", None)
        if canonical is None:
            return
        try:
            self.network_panel.set_spec(canonical())
        except LandscapeError:  # a surface made outside the spec language: leave the panel as it is
            pass

    # ------------------------------------------------------------------ full weight space
    def _sync_full_space_box(self) -> None:
        on = is_mlp_slice(self.ctl.surface)
        self.full_space_box.setEnabled(on)
        batching = on and self.full_space_box.isChecked()
        self.batch_spin.setEnabled(batching)
        self.batch_seed_spin.setEnabled(batching)
        if on:
            self.batch_spin.setMaximum(self.ctl.surface.dataset.n_samples)

    @property
    def full_space(self) -> bool:
        """Whether new runs step in full weight space (the box is on and the surface is an MLP slice)."""
        return self.full_space_box.isChecked() and is_mlp_slice(self.ctl.surface)

    def start_many(self, points: Any, optimizers: Any = None) -> None:
        if not self.full_space:
            self._start_many(points, optimizers)
            return
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            self.ctl.errorOccurred.emit("starting points must be finite numbers")
            return
        ctl = self.ctl
        opts = list(optimizers) if optimizers else ctl.start_optimizers()
        surface, bounds, max_steps, tol = ctl.surface, ctl.bounds, ctl.max_steps, ctl.tol
        plan = [(o, ctl.hyperparameters(o)) for o in opts]
        batch_size = self.batch_spin.value() or None
        batch_seed = self.batch_seed_spin.value()

        # Keep the weights of every step when they fit in memory, so the data dock can draw the
        # network the run really has (not the one at its projection onto the plane).
        keep = len(pts) * len(plan) * (max_steps + 1) * surface.n_params <= MAX_KEPT_WEIGHTS

        def work(progress: Callable[[float], None], cancelled: Callable[[], bool]):
            from landscape_gui.core.nn.fullspace import run_full_space

            out: list[tuple[Run, np.ndarray | None]] = []
            for k, (name, hp) in enumerate(plan):
                rec = _recording_copy(surface) if keep else surface
                runs = run_full_space(rec, name, pts, hp, max_steps=max_steps, tol=tol, bounds=bounds,
                                      batch_size=batch_size, batch_seed=batch_seed,
                                      progress=lambda f, k=k: progress((k + f) / len(plan)),
                                      should_cancel=cancelled)
                for r in runs:
                    r.surface = surface.name
                out += [(r, _weights_of(rec, r) if keep else None) for r in runs]
            return out

        def done(result: list[tuple[Run, np.ndarray | None]]) -> None:
            if surface is not ctl.surface:
                return
            runs = [r for r, _ in result]
            text = "Add full-space run" if len(runs) == 1 else f"Add {len(runs)} full-space runs"
            ctl.add_runs(runs, text)  # gives them their ids
            for r, theta in result:
                if theta is not None:
                    self._weights[r.id] = (r, theta)
            if ctl.animate_new_runs:
                ctl.playback.restart()

        if ctl.force_sync:
            try:
                done(work(lambda f: None, lambda: False))
            except LandscapeError as exc:
                ctl.errorOccurred.emit(str(exc))
            return
        ctl.jobs.submit("fullspace", f"Stepping {len(pts) * len(plan)} network(s) in full weight space",
                        work, done, ctl._job_failed)

    def _forget_weights(self) -> None:
        self._weights = {i: v for i, v in self._weights.items() if self.ctl.run(i) is v[0]}

    # ------------------------------------------------------------------ data dock
    def _is_network(self) -> bool:
        return getattr(self.ctl.surface, "dataset", None) is not None

    def _auto_show_data(self) -> None:
        now = self._is_network()
        if now and not self._was_network:
            self.data_dock.show()
            # It shares the right column with other panels as a tab: bring it to the front once the
            # dock layout has taken the shown dock in.
            QTimer.singleShot(0, self.data_dock.raise_)
            self.network_section.setChecked(True)
        self._was_network = now

    def _schedule_refresh(self, *_: Any) -> None:
        """Redraw soon: at once when idle, at most ~25 times a second during playback (a network
        evaluation on the plot's grid per frame would slow the animation down)."""
        if not (self.data_dock.isVisible() or self.data_plot.surface is not self.ctl.surface):
            return
        if self._refresh_timer.isActive():
            return
        self._refresh_timer.start(REFRESH_MS if self.ctl.playback.playing else 0)

    def selected_run(self) -> Run | None:
        sel = self.ctl.selected
        return self.ctl.run(sel[0]) if sel else None

    def refresh_data(self) -> None:
        """Redraw the data dock for the current surface, selected run and playback step."""
        surface = self.ctl.surface
        plot = self.data_plot
        data = getattr(surface, "dataset", None)
        if data is None:
            if plot.surface is not surface:
                plot.set_surface(surface)
            self.data_caption.setText(
                "This surface is not a network loss, so there is no data to show. Pick an nn_… surface "
                "or build one in the Network section of the surface panel.")
            return
        run = self.selected_run()
        what = "fitted curve" if data.n_features == 1 and not data.is_classification else "decision boundary"
        if run is None or run.steps < 0 or len(run.positions) == 0:
            if plot.surface is not surface or plot.point is not None:
                plot.set_surface(surface)
            self.data_caption.setText(
                f"{data.name}: {data.n_samples} samples. Select a run to see the network's {what} at the "
                f"playback step.")
            return
        k = min(self.ctl.playback.step, run.steps)
        a, b = (float(v) for v in run.positions[k])
        if not (np.isfinite(a) and np.isfinite(b)):
            return
        kept = self._weights.get(run.id)
        if kept is not None and kept[0] is run and is_mlp_slice(surface):
            if self._at_weights is None or self._at_weights.surface is not surface:
                self._at_weights = _NetworkAtWeights(surface)
            self._at_weights.theta = kept[1][k]
            plot.show_point(self._at_weights, a, b)
            drawn = "drawn: the network with those weights"
        else:
            plot.show_point(surface, a, b)
            drawn = "drawn: the network at the projection"
        nb = "\u00a0"  # no line break inside "x = 1.5"
        text = (f"Run {run.id} ({run.optimizer}), step {k} of {run.steps}: the network at x{nb}={nb}{a:.4g}, "
                f"y{nb}={nb}{b:.4g}, loss{nb}{float(run.losses[k]):.5g}")
        extras = getattr(run, "extras", None) or {}
        if "distance" in extras and "true_loss" in extras:
            text += (f"\nfull weight space: the weights are {float(extras['distance'][k]):.4g} from the plane, "
                     f"true loss {float(extras['true_loss'][k]):.5g} ({drawn})")
        self.data_caption.setText(text)

    # ------------------------------------------------------------------ shutdown
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.window and event.type() == QEvent.Close:
            self.cancel_build()
            self.builder.wait(10000)
        elif obj is self.window.surface_panel and event.type() == QEvent.ChildAdded:
            self._reorder.start()  # once the new section is in the layout
        return False

    def _network_section_last(self) -> None:
        sections = getattr(self.window.surface_panel, "sections", None)
        box = self.network_section
        if sections is None or sections.indexOf(box) < 0 or sections.indexOf(box) == sections.count() - 1:
            return
        sections.removeWidget(box)
        sections.addWidget(box)


def install_sources(window: Any) -> Sources:
    """Add the Network section, the Data dock and full-weight-space runs to
    ``window`` (see the module docstring). Returns the :class:`Sources` holding them."""
    return Sources(window)


__all__ = ["Sources", "install_sources", "is_mlp_slice", "network_spec"]
