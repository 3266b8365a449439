"""Runs ▸ Sweep… in the window: the dialog, the sweep on the job runner, and the phase-diagram window.

:class:`SweepTools` is made by the main window once its models exist; it adds Runs ▸ **Sweep…** and
**Show Last Sweep**, runs the request on :class:`~landscape_gui.qt.model.sweeps.SweepModel` (one
progress bar and Cancel with the window's other jobs) and opens :class:`SweepWindow` when the sweep is
done. Clicking a cell there shows that cell's basin map on the landscape as the basin overlay.
Modal questions go through :attr:`SweepTools.dialogs`, which tests replace.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from landscape_gui.qt.model.sweeps import SweepModel
from landscape_gui.qt.result_window import ResultActions, ResultWindow
from landscape_gui.qt.views.phase_view import PhaseView


class SweepWindow(ResultWindow):
    """The phase diagram of the last sweep; clicking a cell shows its basin map on the landscape."""

    def __init__(self, model: SweepModel, parent: QWidget | None = None) -> None:
        super().__init__("Sweep: phase diagram", (620, 560), parent)
        self.model = model
        self.view = PhaseView(self)
        self.body.addWidget(self.view, 1)
        self.shown = QLabel("")
        self.shown.setWordWrap(True)
        self.body.addWidget(self.shown)
        self.view.cellClicked.connect(model.show_cell)
        model.cellShown.connect(self._cell_shown)

    def refresh(self) -> None:
        r = self.model.result
        if r is None:
            return
        dominant, share = self.model.phase()
        axes = r.axes
        self.view.set_phase(dominant, share, [a.name for a in axes], [a.values for a in axes], [a.log for a in axes])
        spec = r.spec
        shape = " × ".join(str(len(a)) for a in axes)
        self.header.setText(
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
        self.result_actions = ResultActions(
            w, self.model, "Sweep", start_text="S&weep…",
            start_tip="Basin maps over a grid of the current optimizer's hyperparameters, on a local Dask "
                      "cluster; the phase diagram shows where runs settle as they change",
            show_tip="Open the phase diagram of the last sweep again",
            start=self.start_sweep, make_window=lambda: SweepWindow(self.model, w))
        self.act_sweep, self.act_sweep_show = self.result_actions.act_start, self.result_actions.act_show
        self.model.cellShown.connect(self._cell_shown)

    @property
    def sweep_window(self) -> SweepWindow | None:
        """The phase-diagram window (``None`` until the first sweep is done)."""
        return self.result_actions.result_window  # type: ignore[return-value]

    def start_sweep(self, request=None) -> bool:
        """Start a sweep (``request``: a :class:`~landscape_gui.qt.model.sweeps.SweepRequest`;
        without it the dialog asks). Returns whether one started."""
        if request is None:
            request = self.dialogs.sweep()
            if request is None:
                return False
        return self.model.start(request)

    def show_sweep(self) -> None:
        """Open the phase diagram of the last sweep (nothing before the first)."""
        self.result_actions.show()

    def _cell_shown(self, cell: int) -> None:
        if cell >= 0:
            self.window.statusBar().showMessage(f"Basin map of the sweep's cell {self.model.describe(cell)}", 8000)


__all__ = ["SweepDialogs", "SweepTools", "SweepWindow"]
