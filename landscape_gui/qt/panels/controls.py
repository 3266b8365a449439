"""The side panels: surface, optimizer (with the generated hyperparameter form) and starts.

:class:`HyperparameterForm` is generated from an optimizer's declared hyperparameters
(:class:`landscape_gui.core.optimizers.Hyperparameter`): a spin box with the declared range for
numbers (steps scale with the value's order of magnitude, so a learning rate moves 0.010 -> 0.011 and
0.001 -> 0.0011), a check box for flags, the help text as tooltip. A plugin optimizer gets its form for
free; the form is a :class:`DeclaredForm`, shown under a :class:`DeclaredChooser` (combo box,
description, form, refusals, *Defaults*), which the schedule panel uses too. Panels talk only to the
controller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Hyperparameter, Optimizer, get_optimizer, optimizers
from landscape_gui.core.surfaces import surface_entries
from landscape_gui.qt.panels.wheel_guard import guard_wheel

UNBOUNDED = 1e12


class NumberBox(QDoubleSpinBox):
    """A double spin box that shows numbers compactly (``%g``: 0.01, 1e-08, 0.9) and keeps full
    precision; steps adapt to the value's decade."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip().replace(self.suffix(), ""))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        t = text.strip()
        if t in ("", "-", "+", ".", "-.", "e", "E") or t.lower().endswith(("e", "e-", "e+")):
            return QValidator.Intermediate, text, pos
        try:
            v = float(t)
        except ValueError:
            return QValidator.Invalid, text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.Acceptable, text, pos
        return QValidator.Intermediate, text, pos


def _range(h: Hyperparameter) -> tuple[float, float]:
    lo = -UNBOUNDED if h.low is None else float(h.low)
    hi = UNBOUNDED if h.high is None else float(h.high)
    if h.low is not None and h.low_open:
        lo = lo + max(abs(lo) * 1e-9, 1e-12)
    if h.high is not None and h.high_open:
        hi = hi - max(abs(hi) * 1e-9, 1e-12)
    return lo, hi


SLIDER_STEPS = 1000
"""Positions of a hyperparameter slider."""


def slider_scale(h: Hyperparameter) -> tuple[str, float, float] | None:
    """How a slider spans hyperparameter ``h``: ``("log", lo, hi)`` for a positive float without an
    upper bound (the learning rate, ``eps``: from a thousandth to a hundred times the default, on a
    log scale, as one explores a learning rate), ``("linear", lo, hi)`` when the declaration gives
    both bounds, else ``None`` (flags, whole numbers, or nothing to span)."""
    if h.kind is not float:
        return None
    if h.low is not None and h.high is not None:
        return ("linear", float(h.low), float(h.high))
    if h.low is not None and h.high is None and float(h.default) > 0 and h.low >= 0:
        return ("log", max(float(h.default) / 1000.0, float(h.low)), float(h.default) * 100.0)
    return None


class HyperSlider(QSlider):
    """A slider over a hyperparameter's range (log or linear, see :func:`slider_scale`); emits
    ``valueMoved(float)`` while dragged (tracking on: the runs follow the slider)."""

    valueMoved = Signal(float)

    def __init__(self, scale: tuple[str, float, float], parent: QWidget | None = None) -> None:
        super().__init__(Qt.Horizontal, parent)
        self.kind, self.lo, self.hi = scale
        self.setRange(0, SLIDER_STEPS)
        self.setTracking(True)
        self.setMinimumWidth(60)
        self.valueChanged.connect(lambda pos: self.valueMoved.emit(self.to_value(pos)))

    def to_value(self, pos: int) -> float:
        t = pos / SLIDER_STEPS
        if self.kind == "log":
            v = 10 ** (math.log10(self.lo) + t * (math.log10(self.hi) - math.log10(self.lo)))
            return float(f"{v:.3g}")  # round numbers while dragging: 0.0123, not 0.012345678
        return float(f"{self.lo + t * (self.hi - self.lo):.4g}")

    def to_position(self, value: float) -> int:
        if self.kind == "log":
            if value <= 0:
                return 0
            t = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            t = (value - self.lo) / (self.hi - self.lo)
        return int(round(min(max(t, 0.0), 1.0) * SLIDER_STEPS))

    def show_value(self, value: float) -> None:
        """Move the knob to ``value`` without emitting."""
        self.blockSignals(True)
        self.setValue(self.to_position(value))
        self.blockSignals(False)


class DeclaredForm(QWidget):
    """A form generated from declarations (:class:`~landscape_gui.core.optimizers.Hyperparameter`):
    a field each (a check box for a flag, a spin box for a whole number, a :class:`NumberBox` for a
    real number, the help text and declared range as tooltip), and a slider beside every real number
    whose declaration gives a range (:func:`slider_scale`; log scale for the learning rate). The
    optimizer form and the schedule form are this form; a subclass adds field kinds by overriding
    :meth:`make_field` and :meth:`show_value`.

    Signals:
        edited(str, object): (name, value) a user changed one field.
    """

    edited = Signal(str, object)

    FIELD_PREFIX = "hp_"
    """Object name of a field: prefix + hyperparameter name."""
    SLIDER_PREFIX = "slider_"
    """Object name of a slider: prefix + hyperparameter name."""
    SLIDER_NOTE = ""
    """Appended to a slider's tooltip."""
    ROW_WRAP: QFormLayout.RowWrapPolicy | None = None
    """Row wrap policy of the form (``None``: the style's)."""

    def __init__(self, hyperparameters: Sequence[Hyperparameter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self.sliders: dict[str, HyperSlider] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        if self.ROW_WRAP is not None:
            form.setRowWrapPolicy(self.ROW_WRAP)
        for h in hyperparameters:
            tip = f"{h.help}\nrange {h.range_text()}, default {self.default_text(h.default)}"
            w = self.make_field(h)
            w.setToolTip(tip)
            w.setObjectName(f"{self.FIELD_PREFIX}{h.name}")
            label = QLabel(h.name)
            label.setToolTip(tip)
            scale = slider_scale(h) if isinstance(w, NumberBox) else None
            if scale is not None:
                slider = HyperSlider(scale)
                slider.setObjectName(f"{self.SLIDER_PREFIX}{h.name}")
                slider.setToolTip(f"Drag to explore {h.name} ({scale[0]} scale, {scale[1]:g} to {scale[2]:g})"
                                  + self.SLIDER_NOTE)
                slider.show_value(float(h.default))
                slider.valueMoved.connect(lambda v, box=w: box.setValue(v))
                w.valueChanged.connect(lambda v, sl=slider: sl.show_value(float(v)))
                w.setMinimumWidth(w.fontMetrics().horizontalAdvance("0.000001") + 30)
                row = QHBoxLayout()
                row.setContentsMargins(0, 0, 0, 0)
                row.addWidget(w)
                row.addWidget(slider, 1)
                form.addRow(label, row)
                self.sliders[h.name] = slider
            else:
                form.addRow(label, w)
            self.fields[h.name] = w
        guard_wheel(self)

    def default_text(self, value: Any) -> str:
        """A default as the tooltip shows it."""
        return f"{value}"

    def make_field(self, h: Hyperparameter) -> QWidget:
        """The field of ``h``, wired to emit ``edited``."""
        if h.kind is bool:
            w: QWidget = QCheckBox()
            w.setChecked(bool(h.default))
            w.toggled.connect(lambda v, n=h.name: self.edited.emit(n, bool(v)))
        elif h.kind is int:
            w = QSpinBox()
            lo, hi = _range(h)
            w.setRange(int(max(math.ceil(lo), -2**31 + 1)), int(min(math.floor(hi), 2**31 - 1)))
            w.setValue(int(h.default))
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=h.name: self.edited.emit(n, int(v)))
        else:
            w = NumberBox()
            w.setRange(*_range(h))
            w.setValue(float(h.default))
            w.valueChanged.connect(lambda v, n=h.name: self.edited.emit(n, float(v)))
        return w

    def show_value(self, w: QWidget, value: Any) -> None:
        """Put ``value`` in field ``w`` (signals are blocked by the caller)."""
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        else:
            w.setValue(value)

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` without emitting ``edited``."""
        for name, v in values.items():
            w = self.fields.get(name)
            if w is None:
                continue
            w.blockSignals(True)
            self.show_value(w, v)
            w.blockSignals(False)
            if name in self.sliders:
                self.sliders[name].show_value(float(v))


class HyperparameterForm(DeclaredForm):
    """A form for one optimizer's hyperparameters (see :class:`DeclaredForm`)."""

    SLIDER_NOTE = "; the runs follow"
    # A long name (decoupled_weight_decay) puts its field on the next line instead of widening the
    # column past a 1366-pixel screen's panel width.
    ROW_WRAP = QFormLayout.WrapLongRows

    def __init__(self, optimizer: Optimizer, parent: QWidget | None = None) -> None:
        self.optimizer = optimizer
        super().__init__(optimizer.hyperparameters, parent)


class DeclaredChooser(QWidget):
    """A chooser of declared things (optimizers, schedules): a combo box, the chosen one's
    description, its generated form (:class:`DeclaredForm`), a line for a refused value and a
    *Defaults* button. The panel owning it says what the choice and the edits mean.

    Signals:
        chosen(object): the user picked the item with this data.
        edited(str, object): (name, value) a user changed a field of the form shown.
    """

    chosen = Signal(object)
    edited = Signal(str, object)

    def __init__(self, combo_tip: str, defaults_tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setToolTip(combo_tip)
        lay.addWidget(self.combo)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #555;")
        lay.addWidget(self.description)
        self.form_box = QWidget()
        self.form_layout = QVBoxLayout(self.form_box)
        self.form_layout.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.form_box)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        lay.addWidget(self.error)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip(defaults_tip)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.defaults_button)
        lay.addLayout(row)
        self.form: DeclaredForm | None = None
        self.combo.currentIndexChanged.connect(lambda i: self.chosen.emit(self.combo.itemData(i)))

    def add_choice(self, text: str, data: Any, tip: str | None = None) -> None:
        """Offer ``text`` in the combo box; choosing it emits ``chosen(data)``."""
        self.combo.addItem(text, data)
        if tip is not None:
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ToolTipRole)

    def select(self, data: Any, fallback: int = -1) -> None:
        """Show the item with ``data`` (or the item at ``fallback`` when there is none) without
        emitting ``chosen``."""
        i = self.combo.findData(data)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(i if i >= 0 else fallback)
        self.combo.blockSignals(False)

    def describe(self, text: str, tip: str = "") -> None:
        """Say what the chosen item is (``tip``: its reference, as tooltip)."""
        self.description.setText(text)
        self.description.setToolTip(tip)

    def set_form(self, form: DeclaredForm | None) -> None:
        """Show ``form`` (``None``: no form) in place of the one shown, which is deleted."""
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
        self.form = form
        if form is not None:
            form.edited.connect(self.edited)
            self.form_layout.addWidget(form)

    def apply(self, change: Callable[[], Any]) -> None:
        """Run ``change`` (an edit handed on to the controller): a refusal (:class:`LandscapeError`)
        is shown under the form and the session kept; an accepted change clears it."""
        try:
            change()
        except LandscapeError as exc:
            self.error.setText(str(exc))
            self.error.show()
        else:
            self.error.hide()


class OptimizerPanel(QGroupBox):
    """Optimizer choice, its hyperparameter form, compare mode and the engine's stop rules."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Optimizer", parent)
        self.ctl = controller
        lay = QVBoxLayout(self)
        self.chooser = DeclaredChooser("The optimizer a click starts",
                                       "Reset this optimizer's hyperparameters to their declared defaults")
        for name, opt in optimizers().items():
            self.chooser.add_choice(name, name, f"{opt.description}\n{opt.reference}")
        lay.addWidget(self.chooser)
        self.combo, self.description = self.chooser.combo, self.chooser.description
        self.error, self.defaults_button = self.chooser.error, self.chooser.defaults_button

        self.compare_box = QCheckBox("Compare optimizers")
        self.compare_box.setToolTip("A click starts one run for every optimizer checked below, from the same point")
        lay.addWidget(self.compare_box)
        self.compare_list = QListWidget()
        self.compare_list.setToolTip("Optimizers started together in Compare mode (each with its own hyperparameters)")
        for name in optimizers():
            it = QListWidgetItem(name)
            it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
            it.setCheckState(Qt.Unchecked)
            self.compare_list.addItem(it)
        self.compare_list.setMaximumHeight(min(22 * self.compare_list.count() + 6, 120))
        self.compare_list.setEnabled(False)
        lay.addWidget(self.compare_list)

        stop = QFormLayout()
        self.max_steps = QSpinBox()
        self.max_steps.setRange(1, 1_000_000)
        self.max_steps.setValue(controller.max_steps)
        self.max_steps.setKeyboardTracking(False)
        self.max_steps.setToolTip("Update budget per run: a run still moving after this many steps ends as max_steps")
        self.tol = NumberBox()
        self.tol.setRange(0.0, 1e3)
        self.tol.setValue(controller.tol)
        self.tol.setToolTip("A run has converged when the gradient norm is at or below this (0: never)")
        stop.addRow("max steps", self.max_steps)
        stop.addRow("tolerance |∇f|", self.tol)
        lay.addLayout(stop)

        self.chooser.chosen.connect(controller.set_optimizer)
        self.chooser.edited.connect(self._edited)
        self.compare_box.toggled.connect(controller.set_compare_mode)
        self.compare_list.itemChanged.connect(self._compare_edited)
        self.defaults_button.clicked.connect(lambda: controller.reset_hyperparameters(controller.optimizer))
        self.max_steps.valueChanged.connect(controller.set_max_steps)
        self.tol.valueChanged.connect(controller.set_tol)
        controller.optimizerChanged.connect(self._sync_optimizer)
        controller.hyperparametersChanged.connect(self._sync_values)
        controller.compareChanged.connect(self._sync_compare)
        controller.engineSettingsChanged.connect(self._sync_engine)
        self._sync_optimizer(controller.optimizer)

    @property
    def form(self) -> HyperparameterForm | None:
        """The form of the optimizer shown."""
        return self.chooser.form  # type: ignore[return-value]

    def _sync_optimizer(self, name: str) -> None:
        self.chooser.select(name)
        opt = get_optimizer(name)
        self.chooser.describe(opt.description, opt.reference)
        form = HyperparameterForm(opt)
        form.set_values(self.ctl.hyperparameters(name))
        self.chooser.set_form(form)
        self.error.hide()

    def _edited(self, key: str, value: Any) -> None:
        self.chooser.apply(lambda: self.ctl.set_hyperparameter(self.ctl.optimizer, key, value))

    def _sync_values(self, name: str) -> None:
        if self.form is not None and name == self.ctl.optimizer:
            self.form.set_values(self.ctl.hyperparameters(name))
            self.error.hide()

    def _compare_edited(self, _item: QListWidgetItem) -> None:
        names = [self.compare_list.item(i).text() for i in range(self.compare_list.count())
                 if self.compare_list.item(i).checkState() == Qt.Checked]
        self.ctl.set_compare(names)

    def _sync_compare(self) -> None:
        self.compare_box.blockSignals(True)
        self.compare_box.setChecked(self.ctl.compare_mode)
        self.compare_box.blockSignals(False)
        self.compare_list.setEnabled(self.ctl.compare_mode)
        chosen = set(self.ctl.compare)
        self.compare_list.blockSignals(True)
        for i in range(self.compare_list.count()):
            it = self.compare_list.item(i)
            it.setCheckState(Qt.Checked if it.text() in chosen else Qt.Unchecked)
        self.compare_list.blockSignals(False)

    def _sync_engine(self) -> None:
        for w, v in ((self.max_steps, self.ctl.max_steps), (self.tol, self.ctl.tol)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)


class SurfacePanel(QGroupBox):
    """Catalogue surface, bounds, grid resolution, log height; sections (formula box, network
    settings) go below via :meth:`add_section`.

    Signals:
        surfaceRequested(str): the user picked a catalogue surface (a network one is built first).
    """

    surfaceRequested = Signal(str)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Surface", parent)
        self.ctl = controller
        self.lay = QVBoxLayout(self)
        self.combo = QComboBox()
        self.combo.setToolTip("A surface from the catalogue")
        for e in surface_entries():
            self.combo.addItem(e.name, e.name)
            self.combo.setItemData(self.combo.count() - 1, e.description, Qt.ToolTipRole)
        self.lay.addWidget(self.combo)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #555;")
        self.lay.addWidget(self.description)
        grid = QGridLayout()
        self.bounds_boxes: list[NumberBox] = []
        for k, (label, row, col) in enumerate((("x from", 0, 0), ("to", 0, 2), ("y from", 1, 0), ("to", 1, 2))):
            box = NumberBox()
            box.setRange(-1e9, 1e9)
            box.setToolTip("Plotted domain (also where a run counts as diverged: 10 widths outside)")
            box.editingFinished.connect(self._bounds_edited)
            grid.addWidget(QLabel(label), row, col)
            grid.addWidget(box, row, col + 1)
            self.bounds_boxes.append(box)
        self.reset_bounds = QPushButton("Reset")
        self.reset_bounds.setToolTip("The surface's own bounds")
        grid.addWidget(self.reset_bounds, 2, 3)
        self.resolution = QSpinBox()
        self.resolution.setRange(16, 1000)
        self.resolution.setKeyboardTracking(False)
        self.resolution.setToolTip("Grid points per axis for drawing the surface")
        grid.addWidget(QLabel("grid"), 2, 0)
        grid.addWidget(self.resolution, 2, 1)
        self.lay.addLayout(grid)
        self.log_box = QCheckBox("Log height (colour and 3-D)")
        self.log_box.setToolTip("Show log₁₀(loss − min): valleys of functions spanning decades stay visible")
        self.lay.addWidget(self.log_box)
        self.sections = QVBoxLayout()
        self.sections.setContentsMargins(0, 0, 0, 0)
        self.lay.addLayout(self.sections)

        self.combo.currentIndexChanged.connect(self._combo_changed)
        self.reset_bounds.clicked.connect(controller.reset_bounds)
        self.resolution.valueChanged.connect(controller.set_resolution)
        self.log_box.toggled.connect(controller.set_log_height)
        controller.surfaceChanged.connect(self.sync)
        self.sync()

    def add_section(self, title: str, widget: QWidget) -> QGroupBox:
        """Add a titled section (e.g. the formula box, network settings) below the surface settings."""
        box = QGroupBox(title)
        l = QVBoxLayout(box)
        l.setContentsMargins(4, 4, 4, 4)
        l.addWidget(widget)
        self.sections.addWidget(box)
        return box

    def _combo_changed(self, i: int) -> None:
        name = self.combo.itemData(i)
        if name and name != self.ctl.surface.name:
            self.surfaceRequested.emit(name)

    def _bounds_edited(self) -> None:
        b = [box.value() for box in self.bounds_boxes]
        if tuple(b) != tuple(self.ctl.bounds):
            self.ctl.set_bounds(b)
            if tuple(self.ctl.bounds) != tuple(b):  # refused: show what is in force
                self.sync()

    def sync(self) -> None:
        ctl = self.ctl
        s = ctl.surface
        for w in [self.combo, self.resolution, self.log_box, *self.bounds_boxes]:
            w.blockSignals(True)
        i = self.combo.findData(s.name)
        if i < 0:
            custom = self.combo.findData(None)
            if custom < 0:
                self.combo.insertItem(0, "", None)
                custom = 0
            self.combo.setItemText(custom, f"custom: {s.title or s.name}"[:60])
            self.combo.setCurrentIndex(custom)
        else:
            custom = self.combo.findData(None)
            if custom >= 0:
                self.combo.removeItem(custom)
            self.combo.setCurrentIndex(self.combo.findData(s.name))
        self.description.setText(s.description or s.title)
        for box, v in zip(self.bounds_boxes, ctl.bounds):
            box.setValue(v)
        self.resolution.setValue(ctl.resolution)
        self.log_box.setChecked(ctl.log_height)
        for w in [self.combo, self.resolution, self.log_box, *self.bounds_boxes]:
            w.blockSignals(False)


class StartsPanel(QGroupBox):
    """Many starts at once: an N x N grid or N random points in the bounds."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Starts", parent)
        self.ctl = controller
        grid = QGridLayout(self)
        self.grid_n = QSpinBox()
        self.grid_n.setRange(1, 100)
        self.grid_n.setValue(5)
        self.grid_n.setSuffix(" per side")
        self.grid_button = QPushButton("Add grid")
        self.grid_button.setToolTip("Start runs at the centres of an N × N grid over the bounds")
        self.random_n = QSpinBox()
        self.random_n.setRange(1, 10000)
        self.random_n.setValue(20)
        self.random_button = QPushButton("Add random")
        self.random_button.setToolTip("Start N runs at uniformly random points in the bounds")
        grid.addWidget(self.grid_n, 0, 0)
        grid.addWidget(self.grid_button, 0, 1)
        grid.addWidget(self.random_n, 1, 0)
        grid.addWidget(self.random_button, 1, 1)
        hint = QLabel("Or click the map or the surface.")
        hint.setStyleSheet("color: #555;")
        grid.addWidget(hint, 2, 0, 1, 2)
        self.grid_button.clicked.connect(lambda: controller.start_grid(self.grid_n.value()))
        self.random_button.clicked.connect(lambda: controller.start_random(self.random_n.value()))
