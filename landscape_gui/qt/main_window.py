"""The explorer window: composes the model, the views and the panels, explicitly.

::

    model/   Controller (runs, surface, undo, the one JobRunner), MinimaModel, BasinModel,
             NetworkModel (builds, full-weight-space strategy), ExplainModel, Playback
    views/   SurfaceView (3-D), MapView (2-D), LossView, DataPlot, basin overlays, update arrows
    panels/  controls, runs table, "Where runs settled", explain, network section, playback bar

Views and panels draw the model and emit intents; this module connects each intent to the model
method that serves it and each model signal to the views that show it. No object replaces another's
method at run time.

Layout: the 3-D surface and the 2-D map side by side take the centre (at least 60 % of the window at
1366×768 and above); every other panel lives as a tab in one column on the left: Controls, Where runs
settled, Explain step and Data above, Runs and Loss curves below. View ▸ Reset Layout brings this
back; a saved layout that no longer fits the screen is reset on start. Every modal dialog goes
through :class:`Dialogs` (``window.dialogs``), which tests replace.

Launch: the tabs that start behind others (Loss curves, Data, and the instruments' Profile and
Spectrum) are :class:`~landscape_gui.qt.panels.lazy_dock.LazyDock` s, made when first shown or first
asked for (``window.loss_view``, ``window.data_plot`` build them); each brings itself up to date with
the session when made. Work that may wait (the formula editor's sympy import, the kernel warm-up)
starts once both views are drawn (:meth:`MainWindow.after_first_frame`).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import landscape_gui
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_bytes
from landscape_gui.core.optimizers import optimizer_names, plugin_errors
from landscape_gui.core.session import load_session, save_session
from landscape_gui.core.surfaces import surface_names
from landscape_gui.qt.model.controller import Controller
from landscape_gui.qt.model.explain import ExplainModel
from landscape_gui.qt.model.minima import RESOLUTIONS, BasinModel, MinimaModel
from landscape_gui.qt.model.networks import NetworkModel
from landscape_gui.qt.model.strategy import is_mlp_slice
from landscape_gui.qt.panels.controls import OptimizerPanel, StartsPanel, SurfacePanel
from landscape_gui.qt.panels.lazy_dock import LazyDock
from landscape_gui.qt.panels.minima_panel import SettleWidget
from landscape_gui.qt.panels.nn_panel import NetworkSection
from landscape_gui.qt.panels.playback_bar import PlaybackBar
from landscape_gui.qt.panels.runs_table import RunsTable
from landscape_gui.qt.panels.wheel_guard import guard_wheel
from landscape_gui.qt.theme import share_text
from landscape_gui.qt.views.basin_overlay import (
    DIFFERENCE_RGB,
    BasinOverlay,
    TintedBasinOverlay,
    basin_vertex_colors,
    mask_vertex_colors,
)
from landscape_gui.qt.views.loss_view import LossView
from landscape_gui.qt.views.map_view import MapView
from landscape_gui.qt.views.surface_view import SurfaceView

log = logging.getLogger(__name__)

MAX_RECENT = 8
SESSION_FILTER = "landscape-gui session (*.json);;All files (*)"
CSV_FILTER = "Trajectory CSV (*.csv);;All files (*)"
PNG_FILTER = "PNG image (*.png)"
DEFAULT_SIZE = (1400, 900)
MIN_VIEWS_SHARE = 0.45
"""A restored layout leaving the two views less than this share of the window is reset."""
REFRESH_MS = 40
"""Shortest interval between two redraws of the data plot while playback runs."""


class Dialogs:
    """Every modal dialog of the window. Tests replace the instance (or its methods)."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def save_path(self, title: str, filters: str, suggested: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filters)
        return path or None

    def open_path(self, title: str, filters: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, "", filters)
        return path or None

    def error(self, title: str, text: str) -> None:
        QMessageBox.critical(self.parent, title, text)

    def about(self, title: str, text: str) -> None:
        QMessageBox.about(self.parent, title, text)

    def choose_optimizer(self, title: str, text: str, choices: Sequence[str]) -> str | None:
        if not choices:
            return None
        name, ok = QInputDialog.getItem(self.parent, title, text, list(choices), 0, False)
        return name if ok and name else None

    def export_figure(self, window: "MainWindow") -> tuple[str, str, float] | None:
        """Ask what to export: ``(which, path, scale)`` or ``None`` (see :mod:`landscape_gui.qt.figures`)."""
        from landscape_gui.qt.figures import figure_size
        from landscape_gui.qt.panels.export_dialog import ExportFigureDialog

        dialog = ExportFigureDialog(window, figure_size)
        return dialog.ask()


def _save_image_atomically(image: QImage, path: str) -> None:
    """Encode ``image`` as PNG in memory, then write it atomically (core.fileio)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    if image.isNull() or not image.save(buf, "PNG"):
        raise LandscapeError(f"cannot encode the image for {path!r}")
    buf.close()
    atomic_write_bytes(path, bytes(data.data()))


def _scroll(widget: QWidget, min_width: int = 120) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setWidget(widget)
    scroll.setMinimumWidth(min_width)
    return scroll


class FirstFrame(QObject):
    """Knows when both views have been drawn once -- the map's viewport painted and the 3-D view's
    first frame presented -- and then runs the callbacks handed to :meth:`call_after`, each on a
    later turn of the event loop (so the frame is on screen before they start), unless the window is
    deleted first."""

    def __init__(self, map_viewport: QWidget, gl_window, parent: QObject) -> None:
        super().__init__(parent)
        self.done = False
        self._waiting = {"map", "gl"}
        self._callbacks: list = []
        self._viewport = map_viewport
        map_viewport.installEventFilter(self)
        self._gl = gl_window
        gl_window.frameSwapped.connect(self._gl_frame)

    def call_after(self, callback) -> None:
        if self.done:
            QTimer.singleShot(0, self, callback)  # dropped if the window is deleted first
        else:
            self._callbacks.append(callback)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self._viewport and ev.type() == QEvent.Type.Paint:
            self._viewport.removeEventFilter(self)
            QTimer.singleShot(0, self, lambda: self._drawn("map"))  # once the paint event has finished
        return False

    def _gl_frame(self) -> None:
        self._gl.frameSwapped.disconnect(self._gl_frame)
        self._drawn("gl")

    def _drawn(self, which: str) -> None:
        self._waiting.discard(which)
        if self._waiting or self.done:
            return
        self.done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            QTimer.singleShot(0, self, callback)


class MainWindow(QMainWindow):
    """The landscape explorer (see the module docstring)."""

    def __init__(self, controller: Controller | None = None, restore_settings: bool = True) -> None:
        super().__init__()
        self.setObjectName("landscapeMainWindow")
        self.ctl = ctl = controller or Controller(self)
        self.dialogs = Dialogs(self)
        self.session_path: str | None = None
        self.setWindowTitle("landscape-gui")
        self.setDockNestingEnabled(True)
        self._fit_to_screen()

        # ---- model ------------------------------------------------------------------------
        self.minima = MinimaModel(ctl, self)
        self.basins = BasinModel(ctl, self.minima, self)
        self.networks = NetworkModel(ctl, self)
        self.explainer = ExplainModel(ctl, self)

        # ---- views ------------------------------------------------------------------------
        self.surface_view = SurfaceView(ctl)
        self.map_view = MapView(ctl)
        self._first_frame = FirstFrame(self.map_view.viewport(), self.surface_view.gl, self)
        split = QSplitter(Qt.Horizontal)
        split.setObjectName("viewsSplitter")
        split.addWidget(self.surface_view)
        split.addWidget(self.map_view)
        split.setChildrenCollapsible(False)
        self.surface_view.setMinimumSize(240, 200)
        self.map_view.setMinimumSize(240, 200)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self.splitter = split
        self.setCentralWidget(split)
        self.basin_overlay = TintedBasinOverlay(opacity=0.6)
        self.basin_overlay.setVisible(False)
        self.map_view.add_overlay(self.basin_overlay, -20)
        self.difference_overlay = BasinOverlay(opacity=0.8)
        self.difference_overlay.setVisible(False)
        self.map_view.add_overlay(self.difference_overlay, -19)

        # ---- panels -----------------------------------------------------------------------
        self.surface_panel = SurfacePanel(ctl)
        self.optimizer_panel = OptimizerPanel(ctl)
        self.starts_panel = StartsPanel(ctl)
        self.formula_edit = None
        self.formula_section = self.surface_panel.add_section("Formula", QWidget())
        self.network_section = NetworkSection()
        self.network_panel = self.network_section.network_panel
        self.network_box = self.surface_panel.add_section("Network", self.network_section)
        self.network_box.setToolTip("A neural network's loss as a surface: a 2-D slice of its weights")
        self.network_box.setCheckable(True)  # folded while the surface is not a network
        self.network_box.toggled.connect(self.network_section.setVisible)
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.surface_panel)
        cl.addWidget(self.optimizer_panel)
        cl.addWidget(self.starts_panel)
        cl.addStretch(1)
        self.controls = controls
        self.runs_table = RunsTable(ctl)
        self.settle_widget = SettleWidget()
        self.settle_widget.panel.title.hide()  # the tab says it
        from landscape_gui.qt.panels.explain_panel import ExplainPanel
        from landscape_gui.qt.views.arrows import MapArrows, SurfaceArrows

        self.explain_panel = ExplainPanel()
        # Above the selected path (z 5-6) and under the markers (7+): the arrows start at the run's
        # marker, and the gradient often points back along the path, which would hide it.
        self.map_arrows = MapArrows(self.map_view.plot_item, z=6.5)
        self.surface_arrows = SurfaceArrows(self.surface_view.gl, ctl.surface.value, self._scene_points, ctl.bounds)
        self.explain_panel.connect_arrows(self.map_arrows, self.surface_arrows)

        # ---- actions, menus, tool bars, status bar, docks --------------------------------------
        self.docks: list[QDockWidget] = []
        self._build_actions()
        self._build_menus()
        self.playback_bar = PlaybackBar(ctl.playback, self)
        self.addToolBar(Qt.TopToolBarArea, self.main_toolbar)
        self.addToolBarBreak(Qt.TopToolBarArea)
        self.addToolBar(Qt.TopToolBarArea, self.playback_bar)
        self.playback_menu.addActions([self.playback_bar.act_play, self.playback_bar.act_back, self.playback_bar.act_fwd,
                                       self.playback_bar.act_restart, self.playback_bar.act_end])
        self.playback_menu.addSeparator()
        self.playback_menu.addAction(self.act_animate)
        self.playback_menu.addSeparator()
        self.playback_menu.addActions(self.explain_panel.menu_actions())
        self.controls_dock = self._dock(_scroll(controls, 240), "Controls", "controlsDock")
        self.settled_dock = self._dock(_scroll(self.settle_widget), "Where runs settled", "settledDock")
        self.explain_dock = self._dock(_scroll(self.explain_panel, 200), "Explain step", "explainDock")
        self.data_dock = self._dock(self._make_data_tab, "Data", "dataDock")
        self.data_dock.built.connect(lambda _w: self.refresh_data())
        self.runs_dock = self._dock(self.runs_table, "Runs", "runsDock")
        self.loss_dock = self._dock(self._make_loss_view, "Loss curves", "lossDock", stretch=3)
        self._build_status_bar()
        from landscape_gui.qt.instruments import Instruments

        self.instruments = Instruments(self)
        self.reset_layout()
        guard_wheel(self)

        self._wire()
        self._update_title()
        self._update_counts()
        self.hover_label.setText("Click the map or the surface to start a run; drag the 3-D view to rotate it.")
        self._auto_install_formula_edit()
        for msg in plugin_errors():
            QTimer.singleShot(0, lambda m=msg: self.statusBar().showMessage(m, 10000))
        from landscape_gui.qt.lessons import Lessons

        self.lessons = Lessons(self)
        """Schedules, noise and probability maps, animation export, the race (issue 14)."""
        from landscape_gui.qt.sweep_window import SweepTools

        self.sweeps = SweepTools(self)
        """Runs ▸ Sweep… and the phase diagram (issue 15)."""
        if restore_settings:
            self.restore_settings()

    # ------------------------------------------------------------------ composition
    def _scene_points(self, xy: np.ndarray, loss: np.ndarray) -> np.ndarray:
        return self.ctl.box.points(xy, loss)

    def _dock(self, widget: QWidget | Callable[[], QWidget], title: str, name: str, stretch: int = 1) -> QDockWidget:
        """A dock holding ``widget``; given a function making the widget instead, a :class:`LazyDock`
        that makes it when first shown or asked for (more parts: ``dock.add_part``)."""
        if isinstance(widget, QWidget):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
        else:
            dock = LazyDock(title, self)
            dock.setObjectName(name)
            dock.add_part(widget, stretch)
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        self.panels_menu.addAction(dock.toggleViewAction())
        self.docks.append(dock)
        return dock

    def add_dock(self, widget: QWidget | Callable[[], QWidget], title: str,
                 area: Qt.DockWidgetArea = Qt.LeftDockWidgetArea, name: str | None = None,
                 below: bool = False) -> QDockWidget:
        """Put ``widget`` in a dock tabbed with the Controls (``below``: with the Runs and Loss curves)
        (listed in View ▸ Panels; saved with the window's layout; Reset Layout puts it back there).
        Given a function making the widget, the dock is a :class:`LazyDock` that makes it when first
        shown or asked for."""
        dock = self._dock(widget, title, name or f"dock_{title.replace(' ', '_')}")
        if below:
            self._docks_below = getattr(self, "_docks_below", []) + [dock]
        if getattr(self, "_layout_done", False):  # before that, reset_layout places it
            self.tabifyDockWidget(self.runs_dock if below else self.controls_dock, dock)
        return dock

    # ------------------------------------------------------------------ tabs made when first shown
    def _make_loss_view(self) -> QWidget:
        self._loss_view = LossView(self.ctl)
        return self._loss_view

    @property
    def loss_view(self) -> LossView:
        """The loss curves (made with their tab, on first show or here)."""
        self.loss_dock.content()
        return self._loss_view

    def _make_data_tab(self) -> QWidget:
        from landscape_gui.qt.views.data_plot import DataPlot

        self._data_plot = DataPlot()
        self._data_caption = QLabel()
        self._data_caption.setWordWrap(True)
        self._data_caption.setTextFormat(Qt.PlainText)
        self._data_caption.setStyleSheet("color: #333;")
        data_box = QWidget()
        dl = QVBoxLayout(data_box)
        dl.setContentsMargins(4, 4, 4, 4)
        dl.setSpacing(2)
        dl.addWidget(self._data_caption)
        dl.addWidget(self._data_plot, 1)
        self._data_plot.setMinimumSize(120, 120)
        return data_box

    @property
    def data_plot(self):
        """The Data tab's plot of the network's data (made with the tab, on first show or here)."""
        self.data_dock.content()
        return self._data_plot

    @property
    def data_caption(self) -> QLabel:
        self.data_dock.content()
        return self._data_caption

    def _wire(self) -> None:
        c = self.ctl
        # intents from the views
        for view in (self.map_view, self.surface_view):
            view.startRequested.connect(c.start_at)
            view.runClicked.connect(self._run_clicked)
            view.hovered.connect(self._hovered)
        self.map_view.startDragged.connect(c.drag_start)
        self.map_view.dragFinished.connect(c.finish_drag)
        # intents from the panels
        self.surface_panel.surfaceRequested.connect(self.networks.show_surface)
        self.network_panel.surfaceRequested.connect(lambda spec: self.networks.build(spec))
        self.network_section.fullSpaceChanged.connect(self.networks.set_full_space)
        self.settle_widget.panel.minimumSelected.connect(self.minima.select_minimum)
        self.settle_widget.basin_button.setDefaultAction(self.act_basins)
        self.settle_widget.compare_button.setDefaultAction(self.act_compare_basins)
        box = self.settle_widget.resolution_box
        box.setCurrentIndex(RESOLUTIONS.index(self.basins.resolution))
        box.currentIndexChanged.connect(lambda i: self.basins.set_resolution(RESOLUTIONS[i]))
        self.explain_panel.stepRequested.connect(self._go_to_step)
        # model -> window
        c.errorOccurred.connect(lambda msg: self.dialogs.error("landscape-gui", msg))
        c.statusMessage.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        c.runsChanged.connect(self._update_counts)
        c.selectionChanged.connect(self._update_counts)
        c.surfaceChanged.connect(self._update_title)
        self._camera_for = (id(c.surface), c.bounds)
        c.surfaceChanged.connect(self._fit_camera_on_new_surface)
        c.surfaceChanged.connect(self._surface_changed)
        c.compareChanged.connect(lambda: self.act_compare.setChecked(c.compare_mode))
        c.surfaceChanged.connect(lambda: self.act_log.setChecked(c.log_height))
        c.colorsChanged.connect(self._sync_color_actions)
        c.jobs.busyChanged.connect(self._busy)
        c.jobs.progressChanged.connect(self._progress)
        self.minima.changed.connect(self._refresh_settled)
        self.minima.colorByMinimumChanged.connect(lambda _on: self._sync_color_actions())
        c.selectionChanged.connect(self._sync_minimum_selection)
        self.basins.mapsChanged.connect(self._show_basins)
        self.basins.stateChanged.connect(self._sync_basin_actions)
        self.basins.failed.connect(lambda msg: self.dialogs.error("Basins of attraction", msg))
        self.basins.cancelled.connect(lambda: self.statusBar().showMessage("Basin map cancelled", 8000))
        self.networks.failed.connect(self._build_failed)
        self.networks.cancelled.connect(self._build_cancelled)
        self.networks.built.connect(
            lambda s: self.statusBar().showMessage(f"Showing {s.title or s.name}", 5000))
        self.networks.buildingChanged.connect(lambda on: on and self.network_panel.error_label.setText(""))
        self.explainer.explainerChanged.connect(self.explain_panel.set_run)
        c.playback.stepChanged.connect(self.explain_panel.set_step)
        self.explain_panel.set_step(c.playback.step)
        c.surfaceChanged.connect(
            lambda: self.surface_arrows.set_geometry(c.surface.value, self._scene_points, c.bounds))
        self.explain_dock.visibilityChanged.connect(self._explain_shown)
        self.map_view.hovered.connect(self._hover_basin)
        # data tab
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh_data)
        for sig in (c.surfaceChanged, c.selectionChanged, c.runsChanged, c.playback.stepChanged):
            sig.connect(self._schedule_refresh)
        self.data_dock.visibilityChanged.connect(lambda on: on and self._schedule_refresh())
        self._was_network = self._is_network()
        self._surface_changed()
        self._refresh_settled()
        self.refresh_data()

    # ------------------------------------------------------------------ layout
    def _fit_to_screen(self) -> None:
        """Open at the default size, or smaller, inside the screen's available area."""
        screen = QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else QRect(0, 0, *DEFAULT_SIZE)
        w = min(DEFAULT_SIZE[0], avail.width())
        h = min(DEFAULT_SIZE[1], avail.height())
        self.resize(w, h)
        self.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)

    def column_width(self) -> int:
        """Width of the panel column for the window's current width."""
        return int(min(max(0.22 * self.width(), 310), 420))

    def reset_layout(self) -> None:
        """View ▸ Reset Layout: every panel back in its place (see the module docstring), the two
        views sharing the centre equally."""
        top = [self.controls_dock, self.settled_dock, self.explain_dock, self.data_dock]
        bottom = [self.runs_dock, self.loss_dock]
        data_visible = self._is_network() if hasattr(self, "_was_network") else False
        extra = [d for d in self.docks if d not in top + bottom]  # added with add_dock
        for d in top + bottom + extra:
            d.setFloating(False)
            self.removeDockWidget(d)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.controls_dock)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.runs_dock)
        self.splitDockWidget(self.controls_dock, self.runs_dock, Qt.Vertical)
        for d in top + bottom:
            d.show()
        for d in top[1:]:
            self.tabifyDockWidget(self.controls_dock, d)
        self.tabifyDockWidget(self.runs_dock, self.loss_dock)
        for d in extra:  # tabbed with the Controls, or with the Runs
            d.show()
            self.tabifyDockWidget(self.runs_dock if d in getattr(self, "_docks_below", []) else self.controls_dock, d)
        self.data_dock.setVisible(data_visible)
        self.controls_dock.raise_()
        self.runs_dock.raise_()
        height = max(self.height() - 120, 300)
        self.resizeDocks([self.controls_dock, self.runs_dock], [int(height * 0.62), int(height * 0.38)], Qt.Vertical)
        self.resizeDocks([self.controls_dock], [self.column_width()], Qt.Horizontal)
        half = max((self.width() - self.column_width()) // 2, 240)
        self.splitter.setSizes([half, half])
        self._layout_done = True
        QTimer.singleShot(0, self.surface_view.fit_camera)  # once the 3-D view has its new shape

    def views_share(self) -> float:
        """Share of the window's area the 3-D view and the map hold together."""
        area = max(self.width() * self.height(), 1)
        views = sum(v.width() * v.height() for v in (self.surface_view, self.map_view) if v.isVisible())
        return views / area

    def layout_fits(self) -> bool:
        """The window lies inside the available screen and the views keep their share."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None and not screen.availableGeometry().adjusted(-8, -8, 8, 8).contains(self.frameGeometry()):
            return False
        return self.views_share() >= MIN_VIEWS_SHARE

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not getattr(self, "_split_done", False):
            self._split_done = True
            half = max(self.splitter.width() // 2, 240)
            self.splitter.setSizes([half, half])
            QTimer.singleShot(0, self.surface_view.fit_camera)

    # ------------------------------------------------------------------ actions and menus
    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.setCheckable(checkable)
        (a.toggled if checkable else a.triggered).connect(slot)
        return a

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        c = self.ctl
        self.act_open = self._action("&Open Session…", lambda: self.open_session(), K.Open, "Open a saved session (runs are recomputed)")
        self.act_save = self._action("&Save Session", lambda: self.save_session(self.session_path), K.Save, "Save surface, optimizers, hyperparameters and starts")
        self.act_save_as = self._action("Save Session &As…", lambda: self.save_session(None), K.SaveAs, "Save the session under a new name")
        self.act_overlay = self._action("Overlay Trajectory &CSV…", lambda: self.overlay_csv(), "Ctrl+Shift+O", "Draw the runs of a trajectory CSV on top (not recomputed)")
        self.act_export = self._action("&Export Trajectories CSV…", lambda: self.export_csv(), "Ctrl+E", "Write every run, step by step, as CSV (same format as the command line)")
        self.act_figure = self._action("Export &Figure…", lambda: self.export_figure(), "Ctrl+Shift+E", "Save the map, the 3-D view, the loss curves or the window as PNG (at 1×, 2× or 4×), SVG or PDF")
        self.act_png_map = self._action("Save &Map as PNG…", lambda: self.save_png("map"), None, "Save the 2-D map as a PNG image")
        self.act_png_3d = self._action("Save 3-D &View as PNG…", lambda: self.save_png("surface"), None, "Save the 3-D view as a PNG image")
        self.act_png_win = self._action("Save &Window as PNG…", lambda: self.save_png("window"), "Ctrl+Shift+P", "Save the whole window as a PNG image")
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Close the window")
        self.act_undo = c.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(K.Undo)
        self.act_redo = c.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(K.Redo)
        # the tool bar shows a fixed word (the menu and the tooltip say what would be undone): a text
        # that changed with every new run made the whole tool bar lay out and repaint on every click
        self.act_undo.setIconText("Undo")
        self.act_redo.setIconText("Redo")
        self.act_delete = self._action("&Delete Selected Runs", c.remove_selected, K.Delete, "Remove the selected runs (undoable)")
        self.act_clear = self._action("C&lear All Runs", c.clear_runs, "Ctrl+Shift+Del", "Remove every run (undoable)")
        self.act_select_all = self._action("Select &All Runs", lambda: c.select([r.id for r in c.runs]), K.SelectAll, "Select every run")
        self.act_grid = self._action("Start &Grid of Runs", lambda: c.start_grid(self.starts_panel.grid_n.value()), "Ctrl+G", "Start runs on an N × N grid (N from the Starts panel)")
        self.act_random = self._action("Start &Random Runs", lambda: c.start_random(self.starts_panel.random_n.value()), "Ctrl+R", "Start N random runs (N from the Starts panel)")
        self.act_compare = self._action("&Compare Mode", c.set_compare_mode, "Ctrl+M", "One run per checked optimizer from each click", checkable=True)
        self.act_cancel = self._action("Cancel &Computation", c.cancel, Qt.Key_Escape, "Stop the computation in progress")
        self.act_fit = self._action("&Fit Views", self.fit_views, "Ctrl+0", "Show the whole surface in both views")
        self.act_log = self._action("&Log Height", c.set_log_height, "Ctrl+L", "Colour and height by log₁₀(loss − min)", checkable=True)
        self.act_log.setChecked(c.log_height)
        self.act_reset_layout = self._action("Reset &Layout", self.reset_layout, None, "Put every panel back in its place")
        self.act_animate = self._action("&Animate New Runs", c.set_animate_new_runs, None,
                                        "Play new runs from step 0 (off: a new run appears whole at once)", checkable=True)
        self.act_animate.setChecked(c.animate_new_runs)
        self.color_group = QActionGroup(self)
        self.act_color_run = self._action("Colour by &Run", lambda on: on and self._color_mode("run"), None,
                                          "A colour per run", checkable=True)
        self.act_color_opt = self._action("Colour by &Optimizer", lambda on: on and self._color_mode("optimizer"), None,
                                          "A colour per optimizer: the comparison picture", checkable=True)
        self.act_color_minimum = QAction("Colour by &Minimum Reached", self)
        self.act_color_minimum.setCheckable(True)
        self.act_color_minimum.setShortcut("Ctrl+Shift+M")
        self.act_color_minimum.setIconText("By minimum")
        self.act_color_minimum.setToolTip("Colour each run by the minimum it settled in (grey: none), in every view")
        self.act_color_minimum.setStatusTip(self.act_color_minimum.toolTip())
        self.act_color_minimum.triggered.connect(self.minima.set_color_by_minimum)
        for a in (self.act_color_run, self.act_color_opt, self.act_color_minimum):
            self.color_group.addAction(a)
        self.act_color_run.setChecked(True)
        self.act_basins = QAction("&Basins of Attraction", self)
        self.act_basins.setCheckable(True)
        self.act_basins.setShortcut("Ctrl+B")
        self.act_basins.setIconText("Basins")
        self.act_basins.setToolTip("Colour every start by the minimum the current optimizer reaches from it "
                                   "(recomputed when a hyperparameter changes)")
        self.act_basins.setStatusTip(self.act_basins.toolTip())
        self.act_basins.triggered.connect(self.basins.set_visible)
        self.act_compare_basins = QAction("&Compare Basins of Two Optimizers…", self)
        self.act_compare_basins.setCheckable(True)
        self.act_compare_basins.setShortcut("Ctrl+Shift+B")
        self.act_compare_basins.setIconText("Compare basins")
        self.act_compare_basins.setToolTip("Show where the current optimizer and another one end in different minima")
        self.act_compare_basins.setStatusTip(self.act_compare_basins.toolTip())
        self.act_compare_basins.triggered.connect(self._compare_basins_triggered)
        self.resolution_group = QActionGroup(self)
        self.resolution_menu = QMenu("Basin &Resolution", self)
        self.resolution_actions: dict[int, QAction] = {}
        for r in RESOLUTIONS:
            a = QAction(f"{r} × {r} starts", self)
            a.setCheckable(True)
            a.setChecked(r == self.basins.resolution)
            a.triggered.connect(lambda _on=False, r=r: self.basins.set_resolution(r))
            self.resolution_group.addAction(a)
            self.resolution_menu.addAction(a)
            self.resolution_actions[r] = a
        self.act_about = self._action("&About landscape-gui", self.about, None, "Version and credits")

        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolbar")
        for a in (self.act_open, self.act_save, self.act_export):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_undo)
        tb.addAction(self.act_redo)
        tb.addSeparator()
        for a in (self.act_grid, self.act_random, self.act_compare, self.act_clear, self.act_fit):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_color_minimum)
        tb.addAction(self.act_basins)
        res_button = QToolButton()
        res_button.setText("Resolution")
        res_button.setToolTip("Starts per side of the basin map")
        res_button.setMenu(self.resolution_menu)
        res_button.setPopupMode(QToolButton.InstantPopup)
        self.resolution_button = res_button
        tb.addWidget(res_button)
        tb.addAction(self.act_compare_basins)
        self.act_grid.setIconText("Grid")
        self.act_random.setIconText("Random")
        self.act_compare.setIconText("Compare")
        self.act_clear.setIconText("Clear")
        self.act_fit.setIconText("Fit")
        self.act_export.setIconText("Export CSV")
        self.main_toolbar = tb

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addActions([self.act_open, self.act_save, self.act_save_as])
        self.recent_menu = f.addMenu("Open &Recent")
        f.addSeparator()
        f.addActions([self.act_overlay, self.act_export])
        f.addSeparator()
        f.addActions([self.act_figure, self.act_png_map, self.act_png_3d, self.act_png_win])
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_delete, self.act_clear, self.act_select_all])
        r = mb.addMenu("&Runs")
        r.addActions([self.act_grid, self.act_random, self.act_compare])
        r.addSeparator()
        r.addAction(self.act_cancel)
        v = mb.addMenu("&View")
        self.view_menu = v
        v.addActions([self.act_fit, self.act_log])
        v.addSeparator()
        v.addActions([self.act_color_run, self.act_color_opt, self.act_color_minimum])
        v.addSeparator()
        v.addActions([self.act_basins, self.resolution_menu.menuAction(), self.act_compare_basins])
        v.addSeparator()
        self.panels_menu = v.addMenu("&Panels")
        v.addAction(self.act_reset_layout)
        self.playback_menu = mb.addMenu("&Playback")
        h = mb.addMenu("&Help")
        h.addAction(self.act_about)
        self._rebuild_recent_menu()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.hover_label = QLabel("")
        self.hover_label.setMinimumWidth(120)
        self.count_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMinimumWidth(220)
        self.progress.setMaximumWidth(380)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the computation in progress (Esc)")
        self.cancel_button.clicked.connect(self.ctl.cancel)
        sb.addWidget(self.hover_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.count_label)
        self.progress.hide()
        self.cancel_button.hide()

    # ------------------------------------------------------------------ reactions
    def _run_clicked(self, rid: int) -> None:
        self.ctl.select([] if rid < 0 else [rid])

    def _go_to_step(self, step: int) -> None:
        self.ctl.playback.pause()
        self.ctl.playback.set_step(step)

    def _hovered(self, x: float, y: float) -> None:
        if x != x or y != y:
            self.hover_label.setText("")
            return
        loss = self.ctl.loss_at(x, y)
        self.hover_label.setText(f"x = {x:.5g}   y = {y:.5g}   loss = {loss:.6g}")

    def _hover_basin(self, x: float, y: float) -> None:
        """Append the basin under the cursor to the hover read-out (connected after it)."""
        if self.basins.basin_map is None or not self.basin_overlay.isVisible() or x != x or y != y:
            return
        ident = self.basin_overlay.label_at(x, y)
        if ident is None:
            return
        text = "no minimum" if ident < 0 else f"basin #{ident}"
        self.hover_label.setText(f"{self.hover_label.text()}   {text}")

    def _update_counts(self) -> None:
        runs = self.ctl.runs
        sel = len(self.ctl.selected)
        text = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
        if sel:
            text += f", {sel} selected"
        self.count_label.setText(text)

    def _update_title(self) -> None:
        s = self.ctl.surface
        name = s.title or s.name
        doc = f" — {Path(self.session_path).name}" if self.session_path else ""
        self.setWindowTitle(f"landscape-gui — {name}{doc}")

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not busy:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)

    def _progress(self, label: str, fraction: float) -> None:
        """The one progress bar: ``fraction`` in 0..1, or negative when the job cannot tell (a busy
        bar with the label, never a bar stuck at 0 %)."""
        self.progress.setToolTip(label)
        if fraction < 0:
            self.progress.setRange(0, 0)
            self.progress.setFormat(label)
            return
        self.progress.setRange(0, 1000)
        self.progress.setFormat(f"{label}: %p%")
        self.progress.setValue(int(fraction * 1000))

    def _fit_camera_on_new_surface(self) -> None:
        key = (id(self.ctl.surface), self.ctl.bounds)
        if key != self._camera_for:  # keep the user's camera when only the colouring or grid changed
            self._camera_for = key
            self.surface_view.fit_camera()

    def _color_mode(self, mode: str) -> None:
        self.minima.set_color_by_minimum(False)
        self.ctl.set_color_mode(mode)

    def _sync_color_actions(self) -> None:
        if self.minima.color_by_minimum:
            self.act_color_minimum.setChecked(True)
            return
        mode = self.ctl.color_mode
        for a, m in ((self.act_color_run, "run"), (self.act_color_opt, "optimizer")):
            a.blockSignals(True)
            a.setChecked(mode == m)
            a.blockSignals(False)
        if self.act_color_minimum.isChecked():
            self.act_color_minimum.setChecked(False)

    def _surface_changed(self) -> None:
        """Network settings, the full-space box and the Data tab follow the surface shown."""
        surface = self.ctl.surface
        spec = getattr(surface, "spec", None)
        canonical = getattr(spec, "canonical", None)
        if canonical is not None:
            try:
                self.network_panel.set_spec(canonical())
            except LandscapeError:  # a surface made outside the spec language: leave the panel as it is
                pass
        dataset = getattr(surface, "dataset", None)
        self.network_section.set_slice_available(is_mlp_slice(surface),
                                                 int(getattr(dataset, "n_samples", 0) or 0))
        now = self._is_network()
        if now and not self._was_network:
            self.data_dock.show()
            QTimer.singleShot(0, self.data_dock.raise_)
            self.network_box.setChecked(True)
        elif not getattr(self, "_network_box_init", False):
            self.network_box.setChecked(now)
            self.network_section.setVisible(now)
        self._network_box_init = True
        self._was_network = now
        self._color_surface()

    # ------------------------------------------------------------------ where runs settled, basins
    def _refresh_settled(self) -> None:
        fractions = self.basins.basin_map.fractions() if self.basins.basin_map is not None else None
        panel = self.settle_widget.panel
        panel.set_points(self.minima.points(fractions), self.minima.run_counts(), None)
        panel.set_basin_fractions(fractions)
        self._sync_minimum_selection()

    def _sync_minimum_selection(self) -> None:
        self.settle_widget.panel.select_minimum(self.minima.selected_minimum())

    def _sync_basin_actions(self) -> None:
        b = self.basins
        for act, on in ((self.act_basins, b.visible), (self.act_compare_basins, b.compare_with is not None)):
            if act.isChecked() != on:
                act.blockSignals(True)
                act.setChecked(on)
                act.blockSignals(False)
        self.resolution_actions[b.resolution].setChecked(True)
        box = self.settle_widget.resolution_box
        if box.currentData() != b.resolution:
            box.blockSignals(True)
            box.setCurrentIndex(RESOLUTIONS.index(b.resolution))
            box.blockSignals(False)

    def _compare_basins_triggered(self, on: bool) -> None:
        if on:
            current = self.ctl.optimizer
            name = self.dialogs.choose_optimizer("Compare basins", f"Compare the basins of {current} with:",
                                                 [n for n in optimizer_names() if n != current])
            if not name or name == current:
                self.act_compare_basins.setChecked(False)
                return
            self.basins.compare(name)
        else:
            self.basins.compare(None)

    def _show_basins(self) -> None:
        b = self.basins
        w = self.settle_widget
        bmap = b.basin_map
        self.basin_overlay.setVisible(bmap is not None)
        self.basin_overlay.set_map(bmap)
        w.legend.set_map(bmap)
        if bmap is not None and b.difference is not None and b.other_map is not None:
            mask, share = b.difference
            self.difference_overlay.set_difference(mask, bmap.bounds, DIFFERENCE_RGB)
            self.difference_overlay.setVisible(True)
            a, o = bmap.optimizer, b.other_map.optimizer
            w.compare_label.setText(
                f"<span style='color: rgb{DIFFERENCE_RGB}; font-size: large'>■</span> <b>{100 * share:.1f} %</b> "
                f"of starts end in a different place with {o} than with {a}. Colours: basins of {a}.")
            w.compare_label.show()
            self.statusBar().showMessage(f"{a} vs {o}: {100 * share:.1f} % of starts end in different minima", 10000)
        else:
            self.difference_overlay.set_map(None)
            self.difference_overlay.setVisible(False)
            w.compare_label.hide()
            if bmap is not None:
                self.statusBar().showMessage(
                    f"Basins of {bmap.optimizer}: {bmap.resolution}×{bmap.resolution} starts, "
                    f"{100 * bmap.labelled_share():.1f} % settled in {len(bmap.counts())} place(s)", 8000)
        self._fill_map_legend()
        self._color_surface()
        self._refresh_settled()

    MAP_LEGEND_ENTRIES = 6

    def _fill_map_legend(self) -> None:
        """A short legend above the 2-D map (colour square and share per basin, largest first), so a
        saved map explains its colours; it covers no data."""
        from landscape_gui.basin_image import minimum_rgb

        plot = self.map_view.plot_item
        bmap = self.basins.basin_map
        if bmap is None:
            plot.setTitle(None)
            return

        def square(rgb) -> str:
            return f"<span style='color: rgb{tuple(rgb)}'>■</span>"

        fr = bmap.fractions()
        order = sorted(fr, key=lambda i: (-fr[i], i))
        parts = [f"{square(minimum_rgb(i))}&nbsp;#{i}&nbsp;{share_text(fr[i], '')}" for i in order[: self.MAP_LEGEND_ENTRIES]]
        if len(order) > self.MAP_LEGEND_ENTRIES:
            parts.append(f"+{len(order) - self.MAP_LEGEND_ENTRIES} more")
        none = 1.0 - bmap.labelled_share()
        if none > 0:
            parts.append(f"{square(minimum_rgb(None))}&nbsp;none&nbsp;{share_text(none, '')}")
        diff, other = self.basins.difference, self.basins.other_map
        if diff is not None and other is not None:
            parts.append(f"{square(DIFFERENCE_RGB)}&nbsp;≠&nbsp;{other.optimizer}&nbsp;{share_text(diff[1], '')}")
        lines = ["&nbsp;&nbsp; ".join(parts[k : k + 3]) for k in range(0, len(parts), 3)]
        plot.setTitle(f"<span style='color: #222'>{'<br>'.join(lines)}</span>", size="8pt")
        label = plot.titleLabel  # a long title must not widen the plot's column
        label.setMinimumWidth(0)
        hint = getattr(label, "_sizeHint", None)
        if isinstance(hint, dict):
            for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
                if which in hint:
                    hint[which] = (0, hint[which][1])
        label.updateGeometry()

    def _color_surface(self) -> None:
        sv = self.surface_view
        bmap = self.basins.basin_map
        if bmap is None:
            sv.set_surface_colors(None)
            return
        xs, ys, _ = self.ctl.grid
        base = sv.base_colors
        if base is not None and len(base) == len(xs) * len(ys):
            base = np.asarray(base, dtype=float).reshape(len(xs), len(ys), 4)
        else:
            base = None
        rgba = basin_vertex_colors(bmap, xs, ys, base, mix=0.75)
        if self.basins.difference is not None:
            rgba = mask_vertex_colors(self.basins.difference[0], bmap.bounds, xs, ys, rgba)
        sv.set_surface_colors(rgba)

    # ------------------------------------------------------------------ explain
    def _explain_shown(self, on: bool) -> None:
        self.map_arrows.set_enabled(on)
        self.surface_arrows.set_enabled(on)

    # ------------------------------------------------------------------ networks and data
    def _is_network(self) -> bool:
        return getattr(self.ctl.surface, "dataset", None) is not None

    def _build_failed(self, message: str) -> None:
        self.network_panel.error_label.setText(message)
        self.dialogs.error("Build network surface", message)
        self.surface_panel.sync()

    def _build_cancelled(self) -> None:
        self.surface_panel.sync()  # the combo shows the surface still in force
        self.statusBar().showMessage("Network build cancelled; the surface is unchanged", 5000)

    def _schedule_refresh(self, *_args) -> None:
        """Redraw the data plot soon: at once when idle, at most ~25 times a second during playback
        (not before the Data tab is made: it is drawn when made)."""
        if not self.data_dock.is_built():
            return
        if not (self.data_dock.isVisible() or self._data_plot.surface is not self.ctl.surface):
            return
        if self._refresh_timer.isActive():
            return
        self._refresh_timer.start(REFRESH_MS if self.ctl.playback.playing else 0)

    def selected_run(self):
        sel = self.ctl.selected
        return self.ctl.run(sel[0]) if sel else None

    def refresh_data(self) -> None:
        """Redraw the Data tab for the current surface, selected run and playback step (once the tab
        is made)."""
        if not self.data_dock.is_built():
            return
        from landscape_gui.qt.views.data_plot import NetworkAtWeights

        surface = self.ctl.surface
        plot = self._data_plot
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
        theta = self.networks.weights_of(run)
        if theta is None and "distance" in (run.extras or {}):
            theta = run.extras.get("weights")  # a weight-space path projected onto this plane
        if theta is not None and is_mlp_slice(surface):
            at = getattr(self, "_at_weights", None)
            if at is None or at.surface is not surface:
                at = self._at_weights = NetworkAtWeights(surface)
            at.theta = theta[k]
            plot.show_point(at, a, b)
            drawn = "drawn: the network with those weights"
        else:
            plot.show_point(surface, a, b)
            drawn = "drawn: the network at the projection"
        nb = "\u00a0"  # no line break inside "x = 1.5"
        text = (f"Run {run.id} ({run.optimizer}), step {k} of {run.steps}: the network at x{nb}={nb}{a:.4g}, "
                f"y{nb}={nb}{b:.4g}, loss{nb}{float(run.losses[k]):.5g}")
        extras = getattr(run, "extras", None) or {}
        if "distance" in extras and "true_loss" in extras:
            text += (f"\nin full weight space: the weights are {float(extras['distance'][k]):.4g} from the plane, "
                     f"true loss {float(extras['true_loss'][k]):.5g} beside the plane's {float(run.losses[k]):.5g} "
                     f"({drawn})")
        self.data_caption.setText(text)

    # ------------------------------------------------------------------ formula editor
    def install_formula_edit(self, widget: QWidget) -> None:
        """Put a formula editor in the surface panel's Formula section; its ``formulaAccepted(str)``
        switches to that formula over the current bounds."""
        self.formula_edit = widget
        box = self.formula_section
        old = box.layout().itemAt(0).widget() if box.layout().count() else None
        if old is not None:
            box.layout().removeWidget(old)
            old.deleteLater()
        box.layout().addWidget(widget)
        guard_wheel(widget)
        widget.formulaAccepted.connect(self._formula_accepted)
        if hasattr(widget, "set_recent"):
            recent = QSettings().value("recent/formulas", []) or []
            widget.set_recent([recent] if isinstance(recent, str) else list(recent))
        self.ctl.surfaceChanged.connect(self._sync_formula_edit)
        self._sync_formula_edit()

    def _formula_accepted(self, text: str) -> None:
        self.ctl.set_formula(text)
        if hasattr(self.formula_edit, "recent"):
            QSettings().setValue("recent/formulas", list(self.formula_edit.recent())[:12])

    def _sync_formula_edit(self) -> None:
        w = self.formula_edit
        if w is None:
            return
        if hasattr(w, "set_bounds"):
            w.set_bounds(self.ctl.bounds)
        name = self.ctl.surface.name
        is_formula = name not in surface_names() and not name.startswith("nn:")
        if hasattr(w, "set_formula") and is_formula and hasattr(w, "text") and w.text() != name:
            w.set_formula(name)

    def _auto_install_formula_edit(self) -> None:
        """The formula editor pulls in sympy (about a second): imported on a background thread once
        the window is on screen (a thread importing holds the interpreter's lock most of the time,
        which would delay the first frame), the widget made on the GUI thread when the import is
        done."""
        self._formula_module = None
        self._formula_thread: threading.Thread | None = None
        self._formula_poll = QTimer(self)
        self._formula_poll.setInterval(50)
        self._formula_poll.timeout.connect(self._poll_formula_edit)
        self.after_first_frame(self._start_formula_import)

    def _start_formula_import(self) -> None:
        if self._formula_thread is not None or self.formula_edit is not None:
            return
        self._formula_thread = threading.Thread(target=self._import_formula_edit, name="import-formula-edit",
                                                daemon=True)
        self._formula_thread.start()
        self._formula_poll.start()

    def after_first_frame(self, callback) -> None:
        """Call ``callback`` once the window is on screen: the map painted and the 3-D view's first
        frame presented. Work started at launch (the formula editor's import, the kernel warm-up)
        waits for it, so it never competes with the first frame."""
        self._first_frame.call_after(callback)

    def first_frame_done(self) -> bool:
        """Whether both views have been drawn once (see :meth:`after_first_frame`)."""
        return self._first_frame.done

    def _import_formula_edit(self) -> None:  # worker thread: import only, no widgets
        try:
            self._formula_module = importlib.import_module("landscape_gui.qt.panels.formula_edit")
        except Exception:
            log.exception("could not import the formula editor")

    def _poll_formula_edit(self) -> None:
        thread = getattr(self, "_formula_thread", None)
        if thread is None or thread.is_alive():
            return
        self._formula_poll.stop()
        if self._formula_module is not None and self.formula_edit is None:
            try:
                self.install_formula_edit(self._formula_module.FormulaEdit())
            except Exception:
                log.exception("could not install the formula editor")

    def wait_for_formula_edit(self, timeout: float = 30.0) -> None:
        """Block until the formula editor is installed (screenshots, tests), starting its import if
        the window has not been drawn yet."""
        self._start_formula_import()
        thread = self._formula_thread
        if thread is not None:
            thread.join(timeout)
            self._poll_formula_edit()

    def fit_views(self) -> None:
        self.map_view.fit()
        self.surface_view.fit_camera()

    def about(self) -> None:
        self.dialogs.about(
            "About landscape-gui",
            f"<h3>landscape-gui {landscape_gui.__version__}</h3>"
            "<p>A desktop explorer of loss landscapes: watch gradient descent run, see where it settles.</p>"
            "<p>Optimizers follow torch.optim's documented update rules. Built with PySide6, pyqtgraph and numpy.</p>"
            "<p>License: MIT</p>",
        )

    # ------------------------------------------------------------------ files
    def _fail(self, title: str, exc: Exception) -> None:
        text = str(exc) if isinstance(exc, LandscapeError) else f"{type(exc).__name__}: {exc}"
        self.dialogs.error(title, text)

    def export_csv(self, path: str | None = None) -> bool:
        """Write every run as trajectory CSV (``landscape_gui.core.export.write_csv``)."""
        if not self.ctl.runs:
            self.dialogs.error("Export trajectories", "There are no runs to export: click the map to start one.")
            return False
        path = path or self.dialogs.save_path("Export trajectories", CSV_FILTER, "trajectories.csv")
        if not path:
            return False
        try:
            from landscape_gui.core.export import write_csv

            write_csv(path, self.ctl.runs)
        except (LandscapeError, OSError) as exc:
            self._fail("Export trajectories", exc)
            return False
        self.statusBar().showMessage(f"Exported {len(self.ctl.runs)} runs to {path}", 5000)
        return True

    def overlay_csv(self, path: str | None = None) -> bool:
        """Draw the runs of a trajectory CSV on top of the current ones (undoable, not recomputed).
        The file is read on the job runner (progress and Cancel); a bad file is named in a message
        and nothing changes. Returns whether reading started."""
        path = path or self.dialogs.open_path("Overlay trajectory CSV", CSV_FILTER)
        if not path:
            return False

        def work(progress, cancelled):
            from landscape_gui.core.export import read_csv

            return read_csv(path, progress=progress, should_cancel=cancelled)

        def done(runs) -> None:
            self.ctl.add_runs(runs, f"Overlay {Path(path).name}")
            self.ctl.playback.to_end()
            self._add_recent("csv", path)
            others = {r.surface for r in runs} - {self.ctl.surface.name}
            note = f" (recorded on {', '.join(sorted(others))})" if others else ""
            self.statusBar().showMessage(f"Overlaid {len(runs)} runs from {Path(path).name}{note}", 8000)

        def failed(exc: BaseException) -> None:
            self._fail("Overlay trajectory CSV", exc if isinstance(exc, Exception) else Exception(str(exc)))

        if self.ctl.force_sync:
            try:
                runs = work(None, None)
            except (LandscapeError, OSError) as exc:
                self._fail("Overlay trajectory CSV", exc)
                return False
            done(runs)
            return True
        self.ctl.jobs.submit("csv", f"Reading {Path(path).name}", work, done, failed)
        return True

    def save_session(self, path: str | None = None) -> bool:
        path = path or self.dialogs.save_path("Save session", SESSION_FILTER, "session.json")
        if not path:
            return False
        try:
            save_session(path, self.ctl.to_session())
        except (LandscapeError, OSError) as exc:
            self._fail("Save session", exc)
            return False
        self.session_path = path
        self._add_recent("session", path)
        self._update_title()
        self.statusBar().showMessage(f"Saved session {path}", 5000)
        return True

    def open_session(self, path: str | None = None) -> bool:
        """Open a session; a malformed file is named in a message and changes nothing. A session on a
        network surface builds the network on the job runner first. Returns False if nothing opens."""
        path = path or self.dialogs.open_path("Open session", SESSION_FILTER)
        if not path:
            return False
        try:
            session = load_session(path)
        except (LandscapeError, OSError) as exc:
            self._fail("Open session", exc)
            return False

        opened: list[bool] = []

        def apply() -> None:
            try:
                self.ctl.apply_session(session)
            except (LandscapeError, OSError) as exc:
                self._fail("Open session", exc)
                opened.append(False)
                return
            self.session_path = path
            self._add_recent("session", path)
            self._update_title()
            opened.append(True)

        if self.networks.prepare(session.surface, apply):
            return True  # the network builds first; a failure is reported then
        return opened == [True]

    def save_png(self, which: str, path: str | None = None) -> bool:
        """Save the ``"map"``, the 3-D ``"surface"`` view or the whole ``"window"`` as PNG (screen size)."""
        path = path or self.dialogs.save_path("Save image", PNG_FILTER, f"{which}.png")
        if not path:
            return False
        try:
            _save_image_atomically(self.grab_image(which), path)
        except (LandscapeError, OSError) as exc:
            self._fail("Save image", exc)
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def export_figure(self, which: str | None = None, path: str | None = None, scale: float = 2.0) -> bool:
        """Save a figure at ``scale`` times its size on screen: ``which`` is ``"map"``, ``"surface"``,
        ``"loss"`` or ``"window"``; the format follows the file name (``.png``, ``.svg``, ``.pdf``;
        SVG and PDF for the map and the loss curves). Without arguments a dialog asks."""
        if which is None or path is None:
            answer = self.dialogs.export_figure(self)
            if answer is None:
                return False
            which, path, scale = answer
        from landscape_gui.qt import figures

        try:
            figures.export(self, which, path, scale)
        except (LandscapeError, OSError) as exc:
            self._fail("Export figure", exc)
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def grab_image(self, which: str = "window") -> QImage:
        if which == "map":
            return self.map_view.grab().toImage()
        gl_image = self.surface_view.gl.grabFramebuffer()
        if which == "surface":
            return gl_image
        # QWidget.grab does not include the native 3-D window: paint its framebuffer over its place.
        image = self.grab().toImage()
        if self.surface_view.gl_widget.isVisible():
            from PySide6.QtGui import QPainter

            gl_widget = self.surface_view.gl_widget
            top_left = gl_widget.mapTo(self, QPoint(0, 0))
            painter = QPainter(image)
            painter.drawImage(QRect(top_left, gl_widget.size()), gl_image)
            painter.end()
        return image

    # ------------------------------------------------------------------ recent files and settings
    def _add_recent(self, kind: str, path: str) -> None:
        s = QSettings()
        entry = f"{kind}:{os.path.abspath(path)}"
        items = [e for e in (s.value("recent", []) or []) if e != entry]
        s.setValue("recent", [entry] + items[: MAX_RECENT - 1])
        self._rebuild_recent_menu()

    def recent_files(self) -> list[tuple[str, str]]:
        items = QSettings().value("recent", []) or []
        if isinstance(items, str):
            items = [items]
        return [tuple(e.split(":", 1)) for e in items if ":" in e]  # type: ignore[misc]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.recent_files()
        for kind, path in entries:
            label = f"{Path(path).name}  ({'session' if kind == 'session' else 'overlay CSV'})"
            a = self.recent_menu.addAction(label)
            a.setToolTip(path)
            a.triggered.connect(lambda _=False, k=kind, p=path: self.open_session(p) if k == "session" else self.overlay_csv(p))
        self.recent_menu.setEnabled(bool(entries))

    def restore_settings(self) -> None:
        """Geometry, layout, last surface and optimizer; a layout that no longer fits the screen (or
        leaves the views too little room) is reset once the window is laid out."""
        s = QSettings()
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        self._check_layout_pending = geo is not None or state is not None  # else the fresh layout stands
        surface = s.value("last/surface")
        if isinstance(surface, str) and surface in surface_names() and surface != self.ctl.surface.name:
            self.ctl.set_surface(surface)
            self.ctl.undo_stack.clear()  # the start-up state is not a step to undo
        opt = s.value("last/optimizer")
        if isinstance(opt, str) and opt in optimizer_names():
            self.ctl.set_optimizer(opt)

    def check_restored_layout(self) -> bool:
        """Reset a restored layout that does not fit (called once the window is shown); True if it
        was reset."""
        self._check_layout_pending = False
        if self.layout_fits():
            return False
        self._fit_to_screen()
        self.reset_layout()
        return True

    def event(self, ev) -> bool:
        result = super().event(ev)
        if getattr(self, "_check_layout_pending", False) and ev.type() == ev.Type.Show:
            QTimer.singleShot(0, self.check_restored_layout)
        return result

    def save_settings(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        if self.ctl.surface.name in surface_names():
            s.setValue("last/surface", self.ctl.surface.name)
        s.setValue("last/optimizer", self.ctl.optimizer)
        s.sync()

    def closeEvent(self, ev) -> None:
        self.save_settings()
        self.ctl.cancel()
        self.ctl.playback.pause()
        self.ctl.jobs.wait(10000)
        self.surface_view.gl.release_gl()
        super().closeEvent(ev)
