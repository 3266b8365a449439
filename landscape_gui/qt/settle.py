"""Where runs settle, in the window: minimum ids for every run, the "Where runs settled" dock,
colouring by minimum, basin maps and the comparison of two optimizers.

:func:`install_settle` adds all of it to a :class:`~landscape_gui.qt.main_window.MainWindow` through
its public parts (``ctl``, ``map_view.add_overlay``, ``surface_view.set_surface_colors``,
``add_dock``, ``main_toolbar``, the View menu, ``act_color_run``/``act_color_opt``, ``act_cancel``,
``statusBar()``, ``dialogs.error``) and returns the :class:`Settle` object that runs it.

**Minimum ids.** One :class:`~landscape_gui.core.minima.MinimaTable` per (surface, bounds) lives here
for the whole session. Whenever runs are added or re-run, the runs on the current surface that have no
label for their current trajectory are labelled with :func:`~landscape_gui.core.minima.label_runs`
against that table: points seen before keep their ids, new ones are numbered after the largest id
(clicking one start at a time never renumbers anything). Switching back to a surface and bounds seen
before finds the same table again.

**Files.** A trajectory CSV written from the window carries the ids the runs table shows. Minima
found together (a grid or random batch) are numbered by loss, as ``landscape-gui run`` numbers them,
so the window and the command line write the same bytes for the same batch of runs; minima found one
click at a time are numbered in the order they were found.

**Basin maps** (View ▸ Basins of Attraction) are computed by
:class:`~landscape_gui.qt.basin_overlay.BasinWorker` off the GUI thread on a copy of the session's
table and rebased onto it, so basin ids and run ids agree. While the overlay is on, a change of the
optimizer, one of its hyperparameters, the stop rules, the surface or the bounds recomputes it
(debounced). **Compare** computes the maps of two optimizers over the same table and shows the cells
where they end in different places (``compare_basins``) and their share.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.basin_image import minimum_rgb
from landscape_gui.core.basins import BasinMap, compare_basins
from landscape_gui.core.minima import MinimaTable, label_runs, label_runs_on_surface
from landscape_gui.core.optimizers import optimizer_names
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Bounds
from landscape_gui.qt.basin_overlay import (
    BasinLegend,
    BasinOverlay,
    BasinRequest,
    BasinWorker,
    basin_rgba,
    basin_vertex_colors,
)
from landscape_gui.qt.minima_panel import MinimaPanel, share_text


RESOLUTIONS = (64, 128, 256, 512)
DEFAULT_RESOLUTION = 128
DIFFERENCE_RGB = (230, 20, 230)
"""Cells where two optimizers end in different places (2-D mask and 3-D colour): magenta, a colour
no minimum among the first ten has."""

TINT = 0.45
"""Share of white mixed into basin colours on the 2-D map, so that a trajectory drawn in its
minimum's full colour stays visible over its own basin."""


class TintedBasinOverlay(BasinOverlay):
    """:class:`BasinOverlay` with each basin's colour lightened towards white by :data:`TINT`."""

    def set_map(self, bmap: BasinMap | None) -> None:
        super().set_map(bmap)
        if bmap is not None:
            rgba = basin_rgba(bmap)
            rgba[..., :3] = np.round(rgba[..., :3] * (1 - TINT) + 255 * TINT).astype(np.uint8)
            self.setImage(rgba, autoLevels=False, levels=(0, 255))


def ask_other_optimizer(parent: QWidget, current: str, names: Sequence[str]) -> str | None:
    """Ask which optimizer to compare ``current`` with (a combo box in a small dialog)."""
    choices = [n for n in names if n != current]
    if not choices:
        return None
    name, ok = QInputDialog.getItem(
        parent, "Compare basins", f"Compare the basins of {current} with:", choices, 0, False
    )
    return name if ok and name else None


@dataclass(frozen=True)
class _Spec:
    """Everything a basin map depends on (equal specs: the map can be reused)."""

    key: tuple
    optimizer: str
    hyperparameters: tuple
    max_steps: int
    tol: float
    resolution: int


def _mask_vertex_colors(mask: np.ndarray, bounds: Bounds, xs: np.ndarray, ys: np.ndarray,
                        base: np.ndarray | None, rgb: tuple[int, int, int] = DIFFERENCE_RGB) -> np.ndarray:
    """Per-vertex RGBA (``(len(xs), len(ys), 4)``, 0..1): ``rgb`` where the cell under the vertex is
    set in ``mask`` (``[x-cell, y-cell]``), ``base`` (mid grey if ``None``) elsewhere."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if base is None:
        base = np.full((len(xs), len(ys), 4), 0.6)
        base[..., 3] = 1.0
    xmin, xmax, ymin, ymax = bounds
    r = mask.shape[0]
    i = np.clip(np.floor((xs - xmin) / (xmax - xmin) * r).astype(np.int64), 0, r - 1)
    j = np.clip(np.floor((ys - ymin) / (ymax - ymin) * r).astype(np.int64), 0, r - 1)
    on = mask[np.ix_(i, j)] & ((xs >= xmin) & (xs <= xmax))[:, None] & ((ys >= ymin) & (ys <= ymax))[None, :]
    out = np.array(base, dtype=float, copy=True)
    out[..., :3] = np.where(on[..., None], np.array(rgb, dtype=float) / 255.0, out[..., :3])
    return out


class SettleWidget(QWidget):
    """The dock's contents: the minima table, basin controls, legend and the comparison result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panel = MinimaPanel()
        self.basin_button = QToolButton()
        self.compare_button = QToolButton()
        self.resolution_box = QComboBox()
        for r in RESOLUTIONS:
            self.resolution_box.addItem(f"{r} × {r}", r)
        self.resolution_box.setToolTip("Starts per side of the basin map (one run from every cell centre)")
        self.legend = BasinLegend()
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        self.compare_label.hide()
        box = QGroupBox("Basins of attraction")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.basin_button)
        row.addWidget(self.resolution_box)
        row.addWidget(self.compare_button)
        row.addStretch(1)
        bl = QVBoxLayout(box)
        bl.setContentsMargins(6, 4, 6, 4)
        bl.addLayout(row)
        bl.addWidget(self.compare_label)
        bl.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.panel, 1)
        lay.addWidget(box)


class Settle(QObject):
    """Minimum ids, the settled dock, colour by minimum and basin maps for one window (see module)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.ctl = ctl = window.ctl
        self.ask_optimizer: Callable[[QWidget, str, Sequence[str]], str | None] = ask_other_optimizer
        """Asks for the second optimizer of a comparison; tests replace it."""
        self.fused = True
        """Use the compiled basin-map kernels where they exist."""
        self._tables: dict[tuple, MinimaTable] = {}
        self._stamps: dict[int, tuple] = {}
        self._notifying = False
        self.color_by_minimum = False
        self.resolution = DEFAULT_RESOLUTION
        self.compare_with: str | None = None
        self.basin_map: BasinMap | None = None
        """The shown map of the current optimizer (ids of :attr:`table`), or ``None``."""
        self.other_map: BasinMap | None = None
        self.difference: tuple[np.ndarray, float] | None = None
        """``(mask, share)`` of the shown comparison."""
        self._maps: dict[_Spec, BasinMap] = {}
        self._stages: list[_Spec] = []
        self._stage = 0

        pool = QThreadPool(self)
        pool.setMaxThreadCount(1)  # a replaced map's last chunk finishes before the next one starts
        self.worker = BasinWorker(self, debounce_ms=300, pool=pool)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)

        self.overlay = TintedBasinOverlay(opacity=0.6)
        self.overlay.setVisible(False)
        window.map_view.add_overlay(self.overlay, -20)
        self.difference_overlay = BasinOverlay(opacity=0.8)
        self.difference_overlay.setVisible(False)
        window.map_view.add_overlay(self.difference_overlay, -19)

        self._build_actions()
        self.widget = SettleWidget()
        w = self.widget
        w.basin_button.setDefaultAction(self.act_basins)
        w.compare_button.setDefaultAction(self.act_compare)
        w.resolution_box.setCurrentIndex(RESOLUTIONS.index(self.resolution))
        w.resolution_box.currentIndexChanged.connect(lambda i: self.set_resolution(RESOLUTIONS[i]))
        w.panel.minimumSelected.connect(self.select_minimum)
        w.panel.title.hide()  # the dock's title says it
        scroll = QScrollArea()  # the dock may be narrow (small windows): scroll rather than widen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(w)
        scroll.setMinimumWidth(120)
        self.dock = window.add_dock(scroll, "Where runs settled", Qt.RightDockWidgetArea, "settledDock")
        # a quarter of the window, within reason: the two views keep most of the width
        window.resizeDocks([self.dock], [max(260, min(390, window.width() // 4))], Qt.Horizontal)

        sb = window.statusBar()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("Basins %p%")
        self.cancel_button = QPushButton("Cancel basins")
        self.cancel_button.setToolTip("Stop computing the basin map (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()

        ctl.runsAdded.connect(lambda _runs: self.label())
        ctl.runsChanged.connect(self._runs_changed)
        ctl.surfaceChanged.connect(self._surface_changed)
        ctl.selectionChanged.connect(self._selection_changed)
        ctl.colorsChanged.connect(self._sync_color_action)
        ctl.optimizerChanged.connect(lambda _name: self._settings_changed())
        ctl.hyperparametersChanged.connect(self._hyperparameters_changed)
        ctl.engineSettingsChanged.connect(self._settings_changed)
        ctl.compareChanged.connect(self._compare_mode_changed)
        window.map_view.hovered.connect(self._hovered)
        window.installEventFilter(self)
        self._shown_key = self.key
        self.label()
        self._refresh_panel()

    # ------------------------------------------------------------------ actions
    def _build_actions(self) -> None:
        win = self.window
        self.act_color = QAction("Colour by &Minimum Reached", win)
        self.act_color.setCheckable(True)
        self.act_color.setShortcut("Ctrl+Shift+M")
        self.act_color.setIconText("By minimum")
        self.act_color.setToolTip("Colour each run by the minimum it settled in (grey: none), in every view")
        self.act_color.setStatusTip(self.act_color.toolTip())
        # triggered (not toggled): only a user's choice, never the exclusive group's programmatic unchecking
        self.act_color.triggered.connect(self.set_color_by_minimum)
        for a in (getattr(win, "act_color_run", None), getattr(win, "act_color_opt", None)):
            if a is not None:
                a.triggered.connect(lambda _on=False: self.set_color_by_minimum(False))
        group = getattr(win, "color_group", None)
        if isinstance(group, QActionGroup):
            group.addAction(self.act_color)

        self.act_basins = QAction("&Basins of Attraction", win)
        self.act_basins.setCheckable(True)
        self.act_basins.setShortcut("Ctrl+B")
        self.act_basins.setIconText("Basins")
        self.act_basins.setToolTip("Colour every start by the minimum the current optimizer reaches from it "
                                   "(recomputed when a hyperparameter changes)")
        self.act_basins.setStatusTip(self.act_basins.toolTip())
        self.act_basins.toggled.connect(self.set_basins_visible)

        self.act_compare = QAction("&Compare Basins of Two Optimizers…", win)
        self.act_compare.setCheckable(True)
        self.act_compare.setShortcut("Ctrl+Shift+B")
        self.act_compare.setIconText("Compare basins")
        self.act_compare.setToolTip("Show where the current optimizer and another one end in different minima")
        self.act_compare.setStatusTip(self.act_compare.toolTip())
        self.act_compare.triggered.connect(self._compare_triggered)

        self.resolution_group = QActionGroup(win)
        self.resolution_menu = QMenu("Basin &Resolution", win)
        self.resolution_actions: dict[int, QAction] = {}
        for r in RESOLUTIONS:
            a = QAction(f"{r} × {r} starts", win)
            a.setCheckable(True)
            a.setChecked(r == self.resolution)
            a.triggered.connect(lambda _on=False, r=r: self.set_resolution(r))
            self.resolution_group.addAction(a)
            self.resolution_menu.addAction(a)
            self.resolution_actions[r] = a

        view = self._view_menu()
        if view is not None:
            before = win.panels_menu.menuAction() if hasattr(win, "panels_menu") else None
            items: list[QAction | None] = [self.act_basins, self.resolution_menu.menuAction(), self.act_compare, None]
            acts = view.actions()
            opt = getattr(win, "act_color_opt", None)
            if opt in acts and acts.index(opt) + 1 < len(acts):  # with the other colour choices
                view.insertAction(acts[acts.index(opt) + 1], self.act_color)
            else:
                items[:0] = [self.act_color, None]
            for item in items:
                if item is None:
                    view.insertSeparator(before) if before is not None else view.addSeparator()
                elif before is not None:
                    view.insertAction(before, item)
                else:
                    view.addAction(item)
        tb = getattr(win, "main_toolbar", None)
        if tb is not None:
            tb.addSeparator()
            tb.addAction(self.act_color)
            tb.addAction(self.act_basins)
            res_button = QToolButton()
            res_button.setText("Resolution")
            res_button.setToolTip("Starts per side of the basin map")
            res_button.setMenu(self.resolution_menu)
            res_button.setPopupMode(QToolButton.InstantPopup)
            self.resolution_button = res_button
            tb.addWidget(res_button)
            tb.addAction(self.act_compare)
        cancel = getattr(win, "act_cancel", None)
        if cancel is not None:
            cancel.triggered.connect(self.cancel)

    def _view_menu(self) -> QMenu | None:
        for a in self.window.menuBar().actions():
            if a.menu() is not None and a.text().replace("&", "") == "View":
                return a.menu()
        return self.window.menuBar().addMenu("&Basins")

    # ------------------------------------------------------------------ minimum ids
    KEEP_TABLES = 8
    """Tables kept for surfaces and bounds seen before (coming back to one keeps its ids)."""

    @property
    def key(self) -> tuple:
        """Identity of the current minima table: (surface object, bounds)."""
        return (id(self.ctl.surface), tuple(self.ctl.bounds))

    @property
    def table(self) -> MinimaTable:
        """The session's minima table for the current surface and bounds (made on first use)."""
        key = self.key
        table = self._tables.get(key)
        if table is None:  # the table holds the surface, so id(surface) is not reused while it lives
            table = self._tables[key] = MinimaTable(self.ctl.surface, self.ctl.bounds)
            for old in list(self._tables)[: -self.KEEP_TABLES]:  # forget the oldest (and their surfaces)
                del self._tables[old]
        return table

    def _labelled(self, r: Run, key: tuple) -> bool:
        s = self._stamps.get(r.id)
        return s is not None and s[0] == key and s[1] is r.positions

    def label(self) -> bool:
        """Label the runs on the current surface whose trajectory has no label yet; True if any was."""
        ctl, key = self.ctl, self.key
        name = ctl.surface.name
        todo = [r for r in ctl.runs if r.surface == name and not self._labelled(r, key)]
        if not todo:
            return False
        label_runs(todo, self.table, ctl.tol)
        for r in todo:
            self._stamps[r.id] = (key, r.positions)
        return True

    def runs_of(self, ident: int) -> list[Run]:
        """Runs on screen labelled ``ident`` in the current table."""
        key = self.key
        return [r for r in self.ctl.runs if r.minimum == ident and self._labelled(r, key)]

    def run_counts(self) -> dict[int, int]:
        key = self.key
        counts: dict[int, int] = {}
        for r in self.ctl.runs:
            if r.minimum is not None and self._labelled(r, key):
                counts[r.minimum] = counts.get(r.minimum, 0) + 1
        return counts

    def _runs_changed(self) -> None:
        if self._notifying:
            return
        if self.label():  # re-run trajectories: tell the views their labels changed
            self._notifying = True
            try:
                self.ctl.notify_runs_changed()
            finally:
                self._notifying = False
        alive = {r.id for r in self.ctl.runs}
        for rid in [i for i in self._stamps if i not in alive]:
            del self._stamps[rid]
        self._refresh_panel()

    def _refresh_panel(self) -> None:
        counts = self.run_counts()
        fractions = self.basin_map.fractions() if self.basin_map is not None else None
        shown = [c for c in self.table.points if counts.get(c.id) or (fractions and c.id in fractions)]
        self.widget.panel.set_points(shown, counts, None)
        self.widget.panel.set_basin_fractions(fractions)
        self._selection_changed()

    def select_minimum(self, ident: int) -> None:
        """Select the runs that settled in ``ident`` (table and both views follow the controller)."""
        self.ctl.select([r.id for r in self.runs_of(ident)])

    def _selection_changed(self) -> None:
        sel = set(self.ctl.selected)
        idents = {r.minimum for r in map(self.ctl.run, sel) if r is not None}
        ident = idents.pop() if len(idents) == 1 else None
        if ident is not None and sel != {r.id for r in self.runs_of(ident)}:
            ident = None
        self.widget.panel.select_minimum(ident)

    # ------------------------------------------------------------------ colour by minimum
    @staticmethod
    def minimum_color(run: Run) -> tuple[int, int, int]:
        return minimum_rgb(run.minimum)

    def set_color_by_minimum(self, on: bool) -> None:
        """Colour every run by the minimum it reached (grey: none) in both views, the loss curves and
        the table; off restores the window's run/optimizer colouring."""
        on = bool(on)
        if on == self.color_by_minimum:
            self._sync_color_action()
            return
        self.color_by_minimum = on
        self.ctl.set_color_function(self.minimum_color if on else None)

    def _sync_color_action(self) -> None:
        # Runs after the window's own sync (connected later). Not blocking signals, so the exclusive
        # colour group unchecks "by run"/"by optimizer"; their slots ignore being unchecked and ours
        # listens to ``triggered`` only.
        if self.act_color.isChecked() != self.color_by_minimum:
            self.act_color.setChecked(self.color_by_minimum)
        if self.color_by_minimum:  # the window's sync checks its mode's action with signals blocked
            for a in (getattr(self.window, "act_color_run", None), getattr(self.window, "act_color_opt", None)):
                if a is not None and a.isChecked():
                    a.blockSignals(True)
                    a.setChecked(False)
                    a.blockSignals(False)

    def _compare_mode_changed(self) -> None:
        if self.ctl.compare_mode and self.color_by_minimum:  # compare mode is the optimizer picture
            self.set_color_by_minimum(False)

    # ------------------------------------------------------------------ basin maps
    def _spec(self, optimizer: str) -> _Spec:
        ctl = self.ctl
        return _Spec(self.key, optimizer, tuple(sorted(ctl.hyperparameters(optimizer).items())), ctl.max_steps,
                     ctl.tol, self.resolution)

    def _request(self, spec: _Spec) -> BasinRequest:
        ctl = self.ctl
        table = self.table.copy()  # on the GUI thread, which keeps adding to its table meanwhile
        return BasinRequest(ctl.surface, spec.optimizer, dict(spec.hyperparameters), ctl.bounds, spec.resolution,
                            spec.max_steps, spec.tol, table, self.fused)

    @property
    def busy(self) -> bool:
        return self.worker.busy

    def set_basins_visible(self, on: bool) -> None:
        """Show (computing if needed) or hide the basin map."""
        if self.act_basins.isChecked() != bool(on):
            self.act_basins.setChecked(bool(on))  # re-enters through toggled
            return
        if on:
            self.compute(debounce=False)
        else:
            self.worker.cancel()
            self._stages = []
            self._busy(False)
            if self.compare_with is not None:
                self.compare_with = None
                self.act_compare.setChecked(False)
            self._hide()

    def set_resolution(self, resolution: int) -> None:
        resolution = int(resolution)
        if resolution not in RESOLUTIONS:
            raise ValueError(f"basin resolution must be one of {RESOLUTIONS}, got {resolution}")
        self.resolution_actions[resolution].setChecked(True)
        box = self.widget.resolution_box
        if box.currentData() != resolution:
            box.blockSignals(True)
            box.setCurrentIndex(RESOLUTIONS.index(resolution))
            box.blockSignals(False)
        if resolution != self.resolution:
            self.resolution = resolution
            if self.act_basins.isChecked():
                self.compute(debounce=False)

    def _compare_triggered(self, on: bool) -> None:
        if on:
            name = self.ask_optimizer(self.window, self.ctl.optimizer, optimizer_names())
            if not name or name == self.ctl.optimizer:
                self.act_compare.setChecked(False)
                return
            self.compare(name)
        else:
            self.compare_with = None
            if self.act_basins.isChecked():
                self.compute(debounce=False)

    def compare(self, other: str) -> None:
        """Compare the current optimizer's basins with ``other``'s (overlay on, mask shown)."""
        if other not in optimizer_names():
            self.window.dialogs.error("Compare basins", f"unknown optimizer {other!r}")
            return
        self.compare_with = other
        self.act_compare.setChecked(True)
        if self.act_basins.isChecked():
            self.compute(debounce=False)
        else:
            self.act_basins.setChecked(True)

    def compute(self, debounce: bool = True) -> None:
        """(Re)compute what the overlay shows for the current settings; maps already computed for
        exactly these settings are reused."""
        specs = [self._spec(self.ctl.optimizer)]
        if self.compare_with is not None:
            specs.append(self._spec(self.compare_with))
        todo = [s for s in specs if s not in self._maps]
        self._maps = {s: m for s, m in self._maps.items() if s in specs}  # drop stale maps
        self._stages, self._stage = specs, 0
        if not todo:
            self.worker.cancel()
            self._busy(False)
            self._show()
            return
        self._stage = specs.index(todo[0])
        req = self._request(todo[0])
        self._busy(True)
        if debounce:
            self.worker.request(req)
        else:
            self.worker.start(req)

    def cancel(self) -> None:
        """Stop the basin computation now: the overlay goes off and the status bar says so. A result
        that was already on its way is ignored (no stage is pending any more)."""
        if not self.worker.busy:
            return
        self.worker.cancel()
        self._stages = []
        self._busy(False)
        self.act_basins.blockSignals(True)
        self.act_basins.setChecked(False)
        self.act_basins.blockSignals(False)
        self.compare_with = None
        self.act_compare.setChecked(False)
        self._hide()
        self.window.statusBar().showMessage("Basin map cancelled", 8000)

    def _busy(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        if on:
            n = max(len(self._stages), 1)
            self.progress.setValue(int(1000 * self._stage / n))

    def _on_progress(self, fraction: float) -> None:
        n = max(len(self._stages), 1)
        self.progress.setValue(int(1000 * (self._stage + fraction) / n))

    def _on_finished(self, bmap: BasinMap) -> None:
        if not self._stages or self._stage >= len(self._stages):
            return
        spec = self._stages[self._stage]
        if spec.key != self.key or spec != self._spec(spec.optimizer):
            return  # settings moved on; their own request is on its way
        self._maps[spec] = bmap.rebased(self.table)
        rest = [i for i, s in enumerate(self._stages) if s not in self._maps]
        if rest:
            self._stage = rest[0]
            self._busy(True)
            self.worker.start(self._request(self._stages[self._stage]))
            return
        self._busy(False)
        self._show()

    def _on_failed(self, message: str) -> None:
        self._busy(False)
        self._stages = []
        self.act_basins.setChecked(False)
        self.window.dialogs.error("Basins of attraction", message)

    def _on_cancelled(self) -> None:
        """A job stopped: replaced by a newer request, or by :meth:`cancel`, which already updated
        the window."""
        if not self.worker.busy and not self._stages:
            self._busy(False)

    def _show(self) -> None:
        if not self.act_basins.isChecked() or not self._stages:
            return
        maps = [self._maps[s] for s in self._stages]
        self.basin_map = maps[0]
        self.other_map = maps[1] if len(maps) > 1 else None
        self._shown_key = self.key
        w = self.widget
        w.legend.set_map(self.basin_map)
        if self.other_map is not None:
            mask, share = compare_basins(self.basin_map, self.other_map)
            self.difference = (mask, share)
            self.overlay.set_map(self.basin_map)
            self.difference_overlay.set_difference(mask, self.basin_map.bounds, DIFFERENCE_RGB)
            a, o = self.basin_map.optimizer, self.other_map.optimizer
            text = f"{a} vs {o}: {100 * share:.1f} % of starts end in different minima"
            w.compare_label.setText(
                f"<span style='color: rgb{DIFFERENCE_RGB}; font-size: large'>■</span> <b>{100 * share:.1f} %</b> "
                f"of starts end in a different place with {o} than with {a}. Colours: basins of {a}.")
            w.compare_label.show()
            self.window.statusBar().showMessage(text, 10000)
        else:
            self.difference = None
            self.overlay.set_map(self.basin_map)
            self.difference_overlay.set_map(None)
            w.compare_label.hide()
            b = self.basin_map
            self.window.statusBar().showMessage(
                f"Basins of {b.optimizer}: {b.resolution}×{b.resolution} starts, "
                f"{100 * b.labelled_share():.1f} % settled in {len(b.counts())} place(s)", 8000)
        self._fill_map_legend()
        self._color_surface()
        self._refresh_panel()

    MAP_LEGEND_ENTRIES = 6

    def _fill_map_legend(self) -> None:
        """A one-line legend above the 2-D map (colour square and share per basin, largest first), so
        that File ▸ Save Map as PNG explains its colours; it covers no data."""
        plot = self.window.map_view.plot_item
        bmap = self.basin_map
        if bmap is None:
            plot.setTitle(None)
            return

        def square(rgb: tuple[int, int, int]) -> str:
            return f"<span style='color: rgb{tuple(rgb)}'>■</span>"

        fr = bmap.fractions()
        order = sorted(fr, key=lambda i: (-fr[i], i))
        parts = [f"{square(minimum_rgb(i))}&nbsp;#{i}&nbsp;{share_text(fr[i], '')}"
                 for i in order[: self.MAP_LEGEND_ENTRIES]]
        if len(order) > self.MAP_LEGEND_ENTRIES:
            parts.append(f"+{len(order) - self.MAP_LEGEND_ENTRIES} more")
        none = 1.0 - bmap.labelled_share()
        if none > 0:
            parts.append(f"{square(minimum_rgb(None))}&nbsp;none&nbsp;{share_text(none, '')}")
        if self.difference is not None and self.other_map is not None:
            parts.append(f"{square(DIFFERENCE_RGB)}&nbsp;≠&nbsp;{self.other_map.optimizer}&nbsp;"
                         f"{share_text(self.difference[1], '')}")
        lines = ["&nbsp;&nbsp; ".join(parts[k : k + 3]) for k in range(0, len(parts), 3)]
        plot.setTitle(f"<span style='color: #222'>{'<br>'.join(lines)}</span>", size="8pt")
        # A long title must not widen the plot's column (that pushes the colour bar out of sight):
        # claim no width, keep the height; the text is drawn centred over the plot.
        label = plot.titleLabel
        label.setMinimumWidth(0)
        hint = getattr(label, "_sizeHint", None)
        if isinstance(hint, dict):
            for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
                if which in hint:
                    hint[which] = (0, hint[which][1])
        label.updateGeometry()

    def _color_surface(self) -> None:
        sv = self.window.surface_view
        if self.basin_map is None or not self.act_basins.isChecked():
            sv.set_surface_colors(None)
            return
        xs, ys, _ = self.ctl.grid
        base = sv.base_colors
        if base is not None and len(base) == len(xs) * len(ys):
            base = np.asarray(base, dtype=float).reshape(len(xs), len(ys), 4)
        else:
            base = None
        rgba = basin_vertex_colors(self.basin_map, xs, ys, base, mix=0.75)
        if self.difference is not None:
            rgba = _mask_vertex_colors(self.difference[0], self.basin_map.bounds, xs, ys, rgba)
        sv.set_surface_colors(rgba)

    def _hide(self) -> None:
        self._clear_maps()
        self._refresh_panel()

    def _clear_maps(self) -> None:
        """Forget the shown basin maps and take them off both views and the legends."""
        self.basin_map = self.other_map = None
        self.difference = None
        self.overlay.set_map(None)
        self.difference_overlay.set_map(None)
        self.widget.legend.set_map(None)
        self.widget.compare_label.hide()
        self._fill_map_legend()
        self.window.surface_view.set_surface_colors(None)

    # ------------------------------------------------------------------ reactions
    def _surface_changed(self) -> None:
        if self.key != self._shown_key:  # a new surface or domain: the shown map no longer applies
            self._shown_key = self.key
            self.label()
            if self.basin_map is not None:
                self._clear_maps()
            self._refresh_panel()
            if self.act_basins.isChecked():
                self.compute()
        else:
            self._color_surface()  # the grid or colouring changed: repaint the basins on it

    def _settings_changed(self) -> None:
        if self.act_basins.isChecked():
            self.compute()

    def _hyperparameters_changed(self, name: str) -> None:
        if name in (self.ctl.optimizer, self.compare_with):
            self._settings_changed()

    def _hovered(self, x: float, y: float) -> None:
        """Append the basin under the cursor to the window's hover read-out (connected after it)."""
        label = getattr(self.window, "hover_label", None)
        if label is None or self.basin_map is None or not self.overlay.isVisible() or x != x or y != y:
            return
        ident = self.overlay.label_at(x, y)
        if ident is None:
            return
        text = "no minimum" if ident < 0 else f"basin #{ident}"
        label.setText(f"{label.text()}   {text}")

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if obj is self.window and ev.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop and wait for the worker (the window is closing)."""
        self.worker.cancel()
        self.worker.wait(10000)


def install_settle(window) -> Settle:
    """Add minimum labelling, the "Where runs settled" dock, colour by minimum and basin maps to
    ``window`` (see the module docstring); returns the :class:`Settle` that runs them."""
    return Settle(window)


__all__ = ["RESOLUTIONS", "Settle", "SettleWidget", "ask_other_optimizer", "install_settle"]
