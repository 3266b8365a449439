"""The explorer window: both views, the panels as docks, menus, files, settings.

Layout: the 3-D surface and the 2-D map side by side in the centre; docks for the controls (left), the
runs table and the loss curves (bottom); the playback bar on top. Every modal dialog goes through
:class:`Dialogs` (``window.dialogs``), which tests replace.

Extension points:

* ``add_dock(widget, title, area, name) -> QDockWidget``: a new dock, listed in the View menu, its
  geometry saved with the window's;
* ``surface_panel.add_section(title, widget)``: a section in the surface panel (network settings);
* ``install_formula_edit(widget)``: a formula editor with a ``formulaAccepted(str)`` signal; one from
  ``landscape_gui.qt.formula_edit.FormulaEdit`` is installed automatically when that module exists;
* ``map_view.add_overlay(item)``, ``surface_view.add_item(item)``, ``surface_view.set_surface_colors``;
* ``controller``: see :mod:`landscape_gui.qt.controller`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import landscape_gui
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_bytes
from landscape_gui.core.optimizers import optimizer_names, plugin_errors
from landscape_gui.core.surfaces import surface_names
from landscape_gui.qt.controller import Controller
from landscape_gui.qt.controls import OptimizerPanel, StartsPanel, SurfacePanel
from landscape_gui.qt.loss_view import LossView
from landscape_gui.qt.map_view import MapView
from landscape_gui.qt.playback import PlaybackBar
from landscape_gui.qt.runs_table import RunsTable
from landscape_gui.core.session import load_session, save_session
from landscape_gui.qt.surface_view import SurfaceView

log = logging.getLogger(__name__)

MAX_RECENT = 8
SESSION_FILTER = "landscape-gui session (*.json);;All files (*)"
CSV_FILTER = "Trajectory CSV (*.csv);;All files (*)"
PNG_FILTER = "PNG image (*.png)"


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


class MainWindow(QMainWindow):
    """The landscape explorer."""

    def __init__(self, controller: Controller | None = None, restore_settings: bool = True) -> None:
        super().__init__()
        self.setObjectName("landscapeMainWindow")
        self.ctl = controller or Controller(self)
        self.dialogs = Dialogs(self)
        self.session_path: str | None = None
        self.setWindowTitle("landscape-gui")
        self.resize(1400, 900)
        self.setDockNestingEnabled(True)

        self.surface_view = SurfaceView(self.ctl)
        self.map_view = MapView(self.ctl)
        split = QSplitter(Qt.Horizontal)
        split.setObjectName("viewsSplitter")
        split.addWidget(self.surface_view)
        split.addWidget(self.map_view)
        split.setChildrenCollapsible(False)
        self.surface_view.setMinimumSize(280, 240)
        self.map_view.setMinimumSize(280, 240)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self.splitter = split
        self.setCentralWidget(split)

        self.surface_panel = SurfacePanel(self.ctl)
        self.optimizer_panel = OptimizerPanel(self.ctl)
        self.starts_panel = StartsPanel(self.ctl)
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.surface_panel)
        cl.addWidget(self.optimizer_panel)
        cl.addWidget(self.starts_panel)
        cl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(290)
        self.controls = controls

        self.runs_table = RunsTable(self.ctl)
        runs_box = QWidget()
        rl = QVBoxLayout(runs_box)
        rl.setContentsMargins(2, 2, 2, 2)
        rl.setSpacing(2)
        rl.addWidget(self.runs_table)
        self.loss_view = LossView(self.ctl)

        self.view_menu_docks: list[QAction] = []
        self._build_actions()
        self._build_menus()
        self.playback_bar = PlaybackBar(self.ctl.playback, self)
        self.addToolBar(Qt.TopToolBarArea, self.main_toolbar)
        self.addToolBarBreak(Qt.TopToolBarArea)
        self.addToolBar(Qt.TopToolBarArea, self.playback_bar)
        self.playback_menu.addActions([self.playback_bar.act_play, self.playback_bar.act_back, self.playback_bar.act_fwd,
                                       self.playback_bar.act_restart, self.playback_bar.act_end])
        self.controls_dock = self.add_dock(scroll, "Controls", Qt.LeftDockWidgetArea, "controlsDock")
        self.runs_dock = self.add_dock(runs_box, "Runs", Qt.BottomDockWidgetArea, "runsDock")
        self.loss_dock = self.add_dock(self.loss_view, "Loss curves", Qt.BottomDockWidgetArea, "lossDock")
        self.splitDockWidget(self.runs_dock, self.loss_dock, Qt.Horizontal)
        self.resizeDocks([self.runs_dock], [230], Qt.Vertical)
        self.resizeDocks([self.runs_dock, self.loss_dock], [700, 500], Qt.Horizontal)
        self._build_status_bar()

        c = self.ctl
        self.map_view.startRequested.connect(c.start_at)
        self.surface_view.startRequested.connect(c.start_at)
        self.map_view.runClicked.connect(self._run_clicked)
        self.surface_view.runClicked.connect(self._run_clicked)
        self.map_view.hovered.connect(self._hovered)
        self.surface_view.hovered.connect(self._hovered)
        c.errorOccurred.connect(lambda msg: self.dialogs.error("landscape-gui", msg))
        c.statusMessage.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        c.runsChanged.connect(self._update_counts)
        c.selectionChanged.connect(self._update_counts)
        c.surfaceChanged.connect(self._update_title)
        self._camera_for = (id(c.surface), c.bounds)
        c.surfaceChanged.connect(self._fit_camera_on_new_surface)
        c.compareChanged.connect(lambda: self.act_compare.setChecked(c.compare_mode))
        c.surfaceChanged.connect(lambda: self.act_log.setChecked(c.log_height))
        c.jobs.busyChanged.connect(self._busy)
        c.jobs.progressChanged.connect(self._progress)
        self._update_title()
        self._update_counts()
        self.hover_label.setText("Click the map or the surface to start a run; drag the 3-D view to rotate it.")
        self.formula_edit = None
        self._auto_install_formula_edit()
        from landscape_gui.qt.explain_panel import install_explain
        from landscape_gui.qt.settle import install_settle
        from landscape_gui.qt.sources import install_sources

        self.sources = install_sources(self)  # issues 5, 6: network section, Data dock
        self.settle = install_settle(self)  # issue 4: minima ids, "Where runs settled", basin maps
        self.explain = install_explain(self)  # issue 7: update arrows and the step-by-step panel
        # One column of docks on the right: the panels share it as tabs, "Where runs settled" first.
        self.tabifyDockWidget(self.settle.dock, self.explain.dock)
        self.tabifyDockWidget(self.settle.dock, self.sources.data_dock)
        if getattr(c.surface, "dataset", None) is not None:  # a network: its data is the first thing to see
            self.sources.data_dock.raise_()
        else:
            self.settle.dock.raise_()
        for msg in plugin_errors():
            QTimer.singleShot(0, lambda m=msg: self.statusBar().showMessage(m, 10000))
        if restore_settings:
            self.restore_settings()

    # ------------------------------------------------------------------ extension points
    def add_dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea = Qt.RightDockWidgetArea,
                 name: str | None = None) -> QDockWidget:
        """Put ``widget`` in a dock (listed in View ▸ Panels; its geometry is saved with the window)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name or f"dock_{title.replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        act = dock.toggleViewAction()
        self.panels_menu.addAction(act)
        return dock

    def install_formula_edit(self, widget: QWidget) -> None:
        """Add a formula editor to the surface panel; its ``formulaAccepted(str)`` switches to that
        formula over the current bounds. Optional methods used when present: ``set_formula(text)``
        (shows the formula in force, e.g. from a session), ``set_bounds(bounds)``, ``set_recent(list)``
        and ``recent()`` (persisted in QSettings)."""
        self.formula_edit = widget
        self.surface_panel.add_section("Formula", widget)
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
        is_formula = name not in surface_names() and not name.startswith("nn:")  # nn: a network spec
        if hasattr(w, "set_formula") and is_formula and hasattr(w, "text") and w.text() != name:
            w.set_formula(name)

    def _auto_install_formula_edit(self) -> None:
        """Install ``landscape_gui.qt.formula_edit.FormulaEdit`` when that module exists.

        Its import pulls in sympy (about a second), so it is imported on a background thread and the
        widget is created on the GUI thread when the import is done: the window shows at once."""
        if importlib.util.find_spec("landscape_gui.qt.formula_edit") is None:
            return
        self._formula_module = None
        self._formula_thread = threading.Thread(target=self._import_formula_edit, name="import-formula-edit",
                                                daemon=True)
        self._formula_thread.start()
        self._formula_poll = QTimer(self)
        self._formula_poll.setInterval(50)
        self._formula_poll.timeout.connect(self._poll_formula_edit)
        self._formula_poll.start()

    def _import_formula_edit(self) -> None:  # worker thread: import only, no widgets
        try:
            self._formula_module = importlib.import_module("landscape_gui.qt.formula_edit")
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
            except Exception:  # a broken plugin widget must not take the window down
                log.exception("could not install the formula editor")

    def wait_for_formula_edit(self, timeout: float = 30.0) -> None:
        """Block until the formula editor is installed (screenshots, tests)."""
        thread = getattr(self, "_formula_thread", None)
        if thread is not None:
            thread.join(timeout)
            self._poll_formula_edit()

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
        self.act_png_map = self._action("Save &Map as PNG…", lambda: self.save_png("map"), None, "Save the 2-D map as a PNG image")
        self.act_png_3d = self._action("Save 3-D &View as PNG…", lambda: self.save_png("surface"), None, "Save the 3-D view as a PNG image")
        self.act_png_win = self._action("Save &Window as PNG…", lambda: self.save_png("window"), "Ctrl+Shift+P", "Save the whole window as a PNG image")
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Quit landscape-gui")
        self.act_undo = self._action("&Undo", c.undo_stack.undo, K.Undo)
        self.act_redo = self._action("&Redo", c.undo_stack.redo, K.Redo)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        c.undo_stack.canUndoChanged.connect(self.act_undo.setEnabled)
        c.undo_stack.canRedoChanged.connect(self.act_redo.setEnabled)
        c.undo_stack.undoTextChanged.connect(lambda t: self.act_undo.setToolTip(f"Undo: {t}" if t else "Undo"))
        c.undo_stack.redoTextChanged.connect(lambda t: self.act_redo.setToolTip(f"Redo: {t}" if t else "Redo"))
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
        self.color_group = QActionGroup(self)
        self.act_color_run = self._action("Colour by &Run", lambda on: on and c.set_color_mode("run"), None,
                                          "A colour per run", checkable=True)
        self.act_color_opt = self._action("Colour by &Optimizer", lambda on: on and c.set_color_mode("optimizer"), None,
                                          "A colour per optimizer: the comparison picture", checkable=True)
        for a in (self.act_color_run, self.act_color_opt):
            self.color_group.addAction(a)
        self.act_color_run.setChecked(True)
        c.colorsChanged.connect(self._sync_color_actions)
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
        f.addActions([self.act_png_map, self.act_png_3d, self.act_png_win])
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
        v.addActions([self.act_fit, self.act_log])
        v.addSeparator()
        v.addActions([self.act_color_run, self.act_color_opt])
        v.addSeparator()
        self.panels_menu = v.addMenu("&Panels")
        self.playback_menu = mb.addMenu("&Playback")
        h = mb.addMenu("&Help")
        h.addAction(self.act_about)
        self._rebuild_recent_menu()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.hover_label = QLabel("")
        self.hover_label.setMinimumWidth(360)
        self.count_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
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

    def _hovered(self, x: float, y: float) -> None:
        if x != x or y != y:
            self.hover_label.setText("")
            return
        loss = self.ctl.loss_at(x, y)
        self.hover_label.setText(f"x = {x:.5g}   y = {y:.5g}   loss = {loss:.6g}")

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
            self.progress.setValue(0)

    def _progress(self, label: str, fraction: float) -> None:
        self.progress.setFormat(f"{label} %p%")
        self.progress.setValue(int(fraction * 1000))

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not getattr(self, "_split_done", False):
            self._split_done = True
            half = max(self.splitter.width() // 2, 320)
            self.splitter.setSizes([half, half])

    def _fit_camera_on_new_surface(self) -> None:
        key = (id(self.ctl.surface), self.ctl.bounds)
        if key != self._camera_for:  # keep the user's camera when only the colouring or grid changed
            self._camera_for = key
            self.surface_view.fit_camera()

    def _sync_color_actions(self) -> None:
        mode = self.ctl.color_mode
        for a, m in ((self.act_color_run, "run"), (self.act_color_opt, "optimizer")):
            a.blockSignals(True)
            a.setChecked(mode == m)
            a.blockSignals(False)

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
        """Draw the runs of a trajectory CSV on top of the current ones (undoable, not recomputed)."""
        path = path or self.dialogs.open_path("Overlay trajectory CSV", CSV_FILTER)
        if not path:
            return False
        try:
            from landscape_gui.core.export import read_csv

            runs = read_csv(path)
        except (LandscapeError, OSError) as exc:
            self._fail("Overlay trajectory CSV", exc)
            return False
        self.ctl.add_runs(runs, f"Overlay {Path(path).name}")
        self.ctl.playback.to_end()
        self._add_recent("csv", path)
        others = {r.surface for r in runs} - {self.ctl.surface.name}
        note = f" (recorded on {', '.join(sorted(others))})" if others else ""
        self.statusBar().showMessage(f"Overlaid {len(runs)} runs from {Path(path).name}{note}", 8000)
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
        """Open a session; a malformed file is named in a message and changes nothing."""
        path = path or self.dialogs.open_path("Open session", SESSION_FILTER)
        if not path:
            return False
        try:
            session = load_session(path)
            self.ctl.apply_session(session)
        except (LandscapeError, OSError) as exc:
            self._fail("Open session", exc)
            return False
        self.session_path = path
        self._add_recent("session", path)
        self._update_title()
        return True

    def save_png(self, which: str, path: str | None = None) -> bool:
        """Save the ``"map"``, the 3-D ``"surface"`` view or the whole ``"window"`` as PNG."""
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

    def grab_image(self, which: str = "window") -> QImage:
        if which == "map":
            return self.map_view.grab().toImage()
        gl_image = self.surface_view.gl.grabFramebuffer()
        if which == "surface":
            return gl_image
        # QWidget.grab does not include the native 3-D window: paint its framebuffer over its place.
        image = self.grab().toImage()
        if self.surface_view.gl_widget.isVisible():
            from PySide6.QtCore import QPoint, QRect
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
        s = QSettings()
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        surface = s.value("last/surface")
        if isinstance(surface, str) and surface in surface_names() and surface != self.ctl.surface.name:
            self.ctl.set_surface(surface)
        opt = s.value("last/optimizer")
        if isinstance(opt, str) and opt in optimizer_names():
            self.ctl.set_optimizer(opt)

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
        self.ctl.jobs.wait(5000)
        self.surface_view.gl.release_gl()
        super().closeEvent(ev)
