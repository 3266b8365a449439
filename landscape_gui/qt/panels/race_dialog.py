"""The Runs ▸ Race dialog: which optimizers, which objective, what budget and seed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)

from landscape_gui.core.optimizers import optimizers
from landscape_gui.core.race import MAX_BUDGET, OBJECTIVES
from landscape_gui.qt.model.lessons import RaceRequest
from landscape_gui.qt.panels.controls import NumberBox


class RaceDialog(QDialog):
    """Asks for a :class:`~landscape_gui.qt.model.lessons.RaceRequest` (defaults: the optimizers of
    Compare mode, or the current one and Adam)."""

    def __init__(self, parent: QWidget, controller) -> None:
        super().__init__(parent)
        self.setWindowTitle("Race")
        form = QFormLayout(self)
        intro = QLabel("Every optimizer gets the same number of tuning trials over its declared hyperparameter "
                       "ranges and the same starts; then they race side by side.")
        intro.setWordWrap(True)
        form.addRow(intro)
        chosen = set(controller.compare) if controller.compare else {controller.optimizer, "adam"}
        self.list = QListWidget()
        for name, opt in optimizers().items():
            it = QListWidgetItem(name)
            it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
            it.setCheckState(Qt.Checked if name in chosen else Qt.Unchecked)
            it.setToolTip(opt.description)
            self.list.addItem(it)
        self.list.setMaximumHeight(160)
        form.addRow("optimizers", self.list)
        self.objective = QComboBox()
        for name, text in OBJECTIVES.items():
            self.objective.addItem(name, name)
            self.objective.setItemData(self.objective.count() - 1, text, Qt.ToolTipRole)
        form.addRow("objective", self.objective)
        self.objective_help = QLabel()
        self.objective_help.setWordWrap(True)
        self.objective_help.setStyleSheet("color: #555;")
        form.addRow("", self.objective_help)
        self.budget = QSpinBox()
        self.budget.setRange(1, MAX_BUDGET)
        self.budget.setValue(20)
        self.budget.setSuffix(" trials per optimizer")
        form.addRow("budget", self.budget)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The search's seed: the same seed gives the same leaderboard")
        form.addRow("seed", self.seed)
        self.starts = QSpinBox()
        self.starts.setRange(1, 400)
        self.starts.setValue(9)
        self.starts.setToolTip("Starts shared by every optimizer: a grid when the number is a square, else "
                               "random points drawn from the seed")
        form.addRow("starts", self.starts)
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(200)
        form.addRow("steps per run", self.steps)
        self.tol = NumberBox()
        self.tol.setRange(0.0, 1e6)
        self.tol.setValue(1e-3)
        self.tol.setToolTip("steps_to_tol: the loss gap to the global minimum that counts as arrived")
        form.addRow("tolerance", self.tol)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Race")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        form.addRow(buttons)
        self.objective.currentIndexChanged.connect(self._update)
        self.list.itemChanged.connect(self._update)
        self._update()

    def _update(self, *_args) -> None:
        self.objective_help.setText(OBJECTIVES[self.objective.currentData()])
        self.tol.setEnabled(self.objective.currentData() == "steps_to_tol")
        self.ok.setEnabled(bool(self.chosen()))

    def chosen(self) -> tuple[str, ...]:
        return tuple(self.list.item(i).text() for i in range(self.list.count())
                     if self.list.item(i).checkState() == Qt.Checked)

    def request(self) -> RaceRequest:
        return RaceRequest(self.chosen(), self.objective.currentData(), self.budget.value(), self.seed.value(),
                           self.starts.value(), self.steps.value(), self.tol.value())

    def ask(self) -> RaceRequest | None:
        return self.request() if self.exec() == QDialog.Accepted else None


__all__ = ["RaceDialog"]
