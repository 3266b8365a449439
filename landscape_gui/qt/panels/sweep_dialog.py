"""The Runs ▸ Sweep dialog: which hyperparameters of the current optimizer to vary, over what values,
at what map resolution, on how many local worker processes."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.qt.model.sweeps import (
    DEFAULT_SWEEP_RESOLUTION,
    SWEEP_RESOLUTIONS,
    AxisRequest,
    SweepRequest,
    check_request,
    default_sweep_workers,
    sweepable_names,
)
from landscape_gui.qt.panels.controls import NumberBox


class AxisBox(QGroupBox):
    """One varied hyperparameter: name, start, stop, count, log scale."""

    def __init__(self, title: str, names: list[str], current: dict, choose: int) -> None:
        super().__init__(title)
        self.current = current
        form = QFormLayout(self)
        self.name = QComboBox()
        self.name.addItems(names)
        self.name.setCurrentIndex(min(choose, len(names) - 1))
        form.addRow("hyperparameter", self.name)
        row = QHBoxLayout()
        self.start, self.stop = NumberBox(), NumberBox()
        for box in (self.start, self.stop):
            box.setRange(-1e12, 1e12)
        row.addWidget(self.start)
        row.addWidget(QLabel("to"))
        row.addWidget(self.stop)
        form.addRow("from", row)
        self.count = QSpinBox()
        self.count.setRange(1, 200)
        self.count.setValue(8)
        self.count.setSuffix(" values")
        form.addRow("count", self.count)
        self.log = QCheckBox("log scale (values evenly spaced in log)")
        form.addRow("", self.log)
        self.name.currentTextChanged.connect(self._defaults)
        self._defaults(self.name.currentText())

    def _defaults(self, name: str) -> None:
        """A range around the value in force: ×/÷ 10 on a log scale for the learning rate (and
        other positive rates), a linear range inside [0, 1) for momentum-like ones."""
        v = float(self.current.get(name, 1.0))
        if name == "lr" or name.endswith("lr") or (v > 0 and name in ("eps", "weight_decay")):
            self.log.setChecked(True)
            self.start.setValue(v / 10 if v > 0 else 1e-4)
            self.stop.setValue(v * 10 if v > 0 else 1e-1)
        elif 0 <= v < 1:
            self.log.setChecked(False)
            self.start.setValue(0.0)
            self.stop.setValue(0.99 if v > 0.9 else 0.95)
        else:
            self.log.setChecked(False)
            self.start.setValue(v / 2)
            self.stop.setValue(v * 2)

    def request(self) -> AxisRequest:
        return AxisRequest(self.name.currentText(), self.start.value(), self.stop.value(), self.count.value(),
                           self.log.isChecked())


class SweepDialog(QDialog):
    """Asks for a :class:`~landscape_gui.qt.model.sweeps.SweepRequest` for the current optimizer;
    OK stays open with the reason shown while the input is not valid."""

    def __init__(self, parent: QWidget, controller) -> None:
        super().__init__(parent)
        self.ctl = controller
        self.optimizer = controller.optimizer
        self.setWindowTitle(f"Sweep {self.optimizer}")
        form = QFormLayout(self)
        intro = QLabel(f"A basin map of <b>{self.optimizer}</b> for every combination of the values below, on "
                       f"{controller.surface.name} over the current bounds, with the other hyperparameters, the "
                       "step limit and the tolerance as set in the window. The phase diagram opens when it is done.")
        intro.setWordWrap(True)
        form.addRow(intro)
        names = sweepable_names(self.optimizer)
        current = controller.hyperparameters(self.optimizer)
        self.first = AxisBox("vary", names, current, 0)
        form.addRow(self.first)
        self.two = QCheckBox("vary a second hyperparameter")
        self.two.setEnabled(len(names) > 1)
        form.addRow(self.two)
        self.second = AxisBox("and", names, current, 1)
        self.second.setVisible(False)
        form.addRow(self.second)
        self.two.toggled.connect(self.second.setVisible)
        self.two.toggled.connect(lambda _on: self.adjustSize())
        self.resolution = QComboBox()
        for r in SWEEP_RESOLUTIONS:
            self.resolution.addItem(f"{r} × {r} starts per cell", r)
        self.resolution.setCurrentIndex(SWEEP_RESOLUTIONS.index(DEFAULT_SWEEP_RESOLUTION))
        form.addRow("map resolution", self.resolution)
        self.workers = QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setValue(default_sweep_workers())
        self.workers.setToolTip("Worker processes of the local Dask cluster started for this sweep")
        form.addRow("local workers", self.workers)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setVisible(False)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Sweep")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> SweepRequest:
        axes = (self.first.request(),) + ((self.second.request(),) if self.two.isChecked() else ())
        return SweepRequest(axes, int(self.resolution.currentData()), self.workers.value())

    def accept(self) -> None:
        try:
            check_request(self.optimizer, self.request())
        except LandscapeError as exc:
            self.message.setText(str(exc))
            self.message.setVisible(True)
            return
        self.message.setVisible(False)
        super().accept()

    def ask(self) -> SweepRequest | None:
        return self.request() if self.exec() == QDialog.Accepted else None


__all__ = ["AxisBox", "SweepDialog"]
