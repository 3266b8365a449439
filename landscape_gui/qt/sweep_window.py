"""Runs ▸ Sweep… in the window: the dialog, the sweep on the job runner, and the phase-diagram window.

:class:`SweepTools` is made by the main window once its models exist; it adds Runs ▸ **Sweep…** and
**Show Last Sweep**, runs the request on :class:`~landscape_gui.qt.model.sweeps.SweepModel` (one
progress bar and Cancel with the window's other jobs) and opens :class:`SweepWindow` when the sweep is
done. Clicking a cell there shows that cell's basin map on the landscape as the basin overlay.
Modal questions go through :attr:`SweepTools.dialogs`, which tests replace.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget

from landscape_gui.qt.model.sweeps import SweepModel
from landscape_gui.qt.views.phase_view import PhaseView


def _menu(window: QMainWindow, title: str) -> QMenu:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and menu.title() == title:
            return menu
    raise LookupError(f"the window has no menu {title!r}")


class SweepWindow(QWidget):
    """The phase diagram of the last sweep; clicking a cell shows its basin map on the landscape."""

    def __init__(self, model: SweepModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle("Sweep: phase diagram")
        layout = QVBoxLayout(self)
        self.title = QLabel("")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.view = PhaseView(self)
        layout.addWidget(self.view, 1)
        self.shown = QLabel("")
        self.shown.setWordWrap(True)
        layout.addWidget(self.shown)
        self.view.cellClicked.connect(model.show_cell)
        model.cellShown.connect(self._cell_shown)
        self.resize(620, 560)

    def refresh(self) -> None:
        r = self.model.result
        if r is None:
            return
        dominant, share = self.model.phase()
        axes = r.axes
        self.view.set_phase(dominant, share, [a.name for a in axes], [a.values for a in axes], [a.log for a in axes])
        spec = r.spec
        shape = " × ".join(str(len(a)) for a in axes)
        self.title.setText(
            f"<b>{spec.optimizer}</b> on {r.table.surface.name}: {shape} cells, each a "
            f"{spec.resolution}×{spec.resolution} basin map ({spec.max_steps} steps, tol {spec.tol:g}). "
            "Each cell has the colour of the minimum most of its starts reach, paler the smaller its share.")
        self._cell_shown(-1 if self.model.shown_cell is None else self.model.shown_cell)

    def _cell_shown(self, cell: int) -> None:
        self.view.mark(cell if cell >= 0 else None)
        if cell >= 0:
            self.shown.setText(f"Shown on the landscape: the basin map for <b>{self.model.describe(cell)}</b> "
                               f"(cell {cell + 1} of {self.view.n_cells}).")
        else:
            self.shown.setText("Click a cell to show its basin map on the landscape.")


class SweepDialogs:
    """The sweep's modal dialog (tests replace the instance or its method)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window

    def sweep(self):
        """Ask what to sweep: a :class:`~landscape_gui.qt.model.sweeps.SweepRequest` or ``None``."""
        from landscape_gui.qt.panels.sweep_dialog import SweepDialog

        return SweepDialog(self.window, self.window.ctl).ask()


class SweepTools(QObject):
    """Runs ▸ Sweep… and the phase-diagram window, on one main window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = w = window
        self.dialogs = SweepDialogs(w)
        self.model = SweepModel(w.ctl, w.basins, self)
        self.sweep_window: SweepWindow | None = None
        self.act_sweep = QAction("S&weep…", w)
        self.act_sweep.setToolTip("Basin maps over a grid of the current optimizer's hyperparameters, on a local "
                                  "Dask cluster; the phase diagram shows where runs settle as they change")
        self.act_sweep.setStatusTip(self.act_sweep.toolTip())
        self.act_sweep.triggered.connect(lambda: self.start_sweep())
        self.act_sweep_show = QAction("Show Last Sweep", w)
        self.act_sweep_show.setToolTip("Open the phase diagram of the last sweep again")
        self.act_sweep_show.setEnabled(False)
        self.act_sweep_show.triggered.connect(self.show_sweep)
        runs = _menu(w, "&Runs")
        runs.insertAction(w.act_cancel, self.act_sweep)
        runs.insertAction(w.act_cancel, self.act_sweep_show)
        runs.insertSeparator(w.act_cancel)
        self.model.failed.connect(lambda msg: w.dialogs.error("Sweep", msg))
        self.model.cancelled.connect(lambda: w.statusBar().showMessage("Sweep cancelled", 8000))
        self.model.finished.connect(self.show_sweep)
        self.model.finished.connect(lambda: self.act_sweep_show.setEnabled(True))
        self.model.cellShown.connect(self._cell_shown)

    def start_sweep(self, request=None) -> bool:
        """Start a sweep (``request``: a :class:`~landscape_gui.qt.model.sweeps.SweepRequest`;
        without it the dialog asks). Returns whether one started."""
        if request is None:
            request = self.dialogs.sweep()
            if request is None:
                return False
        return self.model.start(request)

    def show_sweep(self) -> None:
        if self.model.result is None:
            return
        if self.sweep_window is None:
            self.sweep_window = SweepWindow(self.model, self.window)
            self.sweep_window.setWindowFlag(Qt.Window, True)
        self.sweep_window.refresh()
        self.sweep_window.show()
        self.sweep_window.raise_()

    def _cell_shown(self, cell: int) -> None:
        if cell >= 0:
            self.window.statusBar().showMessage(f"Basin map of the sweep's cell {self.model.describe(cell)}", 8000)


__all__ = ["SweepDialogs", "SweepTools", "SweepWindow"]
