"""Panels of the teaching tools: the learning-rate schedule and gradient noise.

:class:`ScheduleForm` is generated from a schedule's declaration
(:class:`landscape_gui.core.schedules.Schedule`) by the optimizer form's generator
(:class:`~landscape_gui.qt.panels.controls.DeclaredForm`): a number box per number
(with a slider where the declaration gives a range, on a log scale for a positive number without an
upper end), a check box per flag, a combo box per :class:`~landscape_gui.core.schedules.Choice` and a
validated text field per :class:`~landscape_gui.core.schedules.StepList` (``100,250``). A plugin
schedule gets its form for free. :class:`SchedulePanel` (inside the optimizer panel) chooses the
schedule with the optimizer panel's chooser (:class:`~landscape_gui.qt.panels.controls.DeclaredChooser`);
:class:`NoisePanel` sets the noise scale and seed (and the mini-batch size on network surfaces), fan
mode and the probability map's sampling. Panels only call the controller's and the
models' intents.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Hyperparameter
from landscape_gui.core.schedules import Choice, Schedule, StepList, get_schedule, schedules
from landscape_gui.qt.model.lessons import PROBABILITY_RESOLUTIONS, sample_count
from landscape_gui.qt.panels.controls import DeclaredChooser, DeclaredForm, HyperSlider, NumberBox
from landscape_gui.qt.panels.wheel_guard import guard_wheel

STEP_LIST_PATTERN = r"^\s*(\d+\s*(,\s*\d+\s*)*,?\s*)?$"
"""What a step-list field lets a person type: whole numbers separated by commas."""


def _step_text(value: Any) -> str:
    return ",".join(str(int(v)) for v in value) if isinstance(value, (list, tuple)) else str(value)


class ScheduleForm(DeclaredForm):
    """A form for one schedule's settings (see the module docstring): the optimizer form's fields
    plus a combo box per :class:`~landscape_gui.core.schedules.Choice` and a validated text field per
    :class:`~landscape_gui.core.schedules.StepList`.

    Signals:
        edited(str, object): (name, value) a user changed one field.
    """

    FIELD_PREFIX = "schedule_"
    SLIDER_PREFIX = "schedule_slider_"

    def __init__(self, schedule: Schedule, parent: QWidget | None = None) -> None:
        self.schedule = schedule
        super().__init__(schedule.hyperparameters, parent)

    def default_text(self, value: Any) -> str:
        return _step_text(value)

    def make_field(self, h: Hyperparameter) -> QWidget:
        if isinstance(h, Choice):
            w = QComboBox()
            w.addItems(list(h.choices))
            w.setCurrentText(str(h.default))
            w.currentTextChanged.connect(lambda v, n=h.name: self.edited.emit(n, v))
            return w
        if isinstance(h, StepList):
            box = QLineEdit(_step_text(h.default))
            box.setValidator(QRegularExpressionValidator(QRegularExpression(STEP_LIST_PATTERN), box))
            box.setPlaceholderText("e.g. 100,250")
            box.editingFinished.connect(lambda n=h.name, b=box: self.edited.emit(n, b.text()))
            return box
        return super().make_field(h)

    def show_value(self, w: QWidget, value: Any) -> None:
        if isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QLineEdit):
            w.setText(_step_text(value))
        else:
            super().show_value(w, value)


NO_SCHEDULE = "constant"


class SchedulePanel(QGroupBox):
    """The learning-rate schedule every run uses: a chooser and the chosen schedule's form."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Learning-rate schedule", parent)
        self.ctl = controller
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.chooser = DeclaredChooser("How the learning rate changes from step to step (torch.optim.lr_scheduler's "
                                       "schedules, stepped once per optimizer step)",
                                       "Reset this schedule's settings to their declared defaults")
        self.chooser.combo.setObjectName("scheduleCombo")
        self.chooser.add_choice(f"{NO_SCHEDULE} (no schedule)", None)
        for name, s in schedules().items():
            tip = s.description + (f"\ntorch: {s.torch_class}" if s.torch_class else "") + (
                f"\n{s.reference}" if s.reference else "")
            self.chooser.add_choice(name, name, tip)
        lay.addWidget(self.chooser)
        self.combo, self.description = self.chooser.combo, self.chooser.description
        self.error, self.defaults_button = self.chooser.error, self.chooser.defaults_button
        self.chooser.chosen.connect(controller.set_schedule)
        self.chooser.edited.connect(self._edited)
        self.defaults_button.clicked.connect(
            lambda: controller.schedule_name and controller.reset_schedule_settings(controller.schedule_name))
        controller.scheduleChanged.connect(self.sync)
        guard_wheel(self)
        self.sync()

    @property
    def form(self) -> ScheduleForm | None:
        """The form of the schedule shown (``None`` for a constant learning rate)."""
        return self.chooser.form  # type: ignore[return-value]

    def sync(self) -> None:
        """Show the controller's schedule and settings."""
        name = self.ctl.schedule_name
        self.chooser.select(name, fallback=0)
        self.defaults_button.setVisible(name is not None)
        if name is None:
            self.chooser.describe("The learning rate stays at the optimizer's lr.")
            self.chooser.set_form(None)
        else:
            s = get_schedule(name)
            self.chooser.describe(s.description, s.reference)
            if self.form is None or self.form.schedule is not s:
                self.chooser.set_form(ScheduleForm(s))
            self.form.set_values(self.ctl.schedule_settings(name))
        self.error.hide()

    def _edited(self, key: str, value: Any) -> None:
        name = self.ctl.schedule_name
        if name is not None:
            self.chooser.apply(lambda: self.ctl.set_schedule_settings(name, {key: value}))


class NoisePanel(QGroupBox):
    """Gradient noise (scale, seed, batch size on network surfaces), fan mode and the sampling of
    probability maps.

    Signals:
        entropyToggled(bool): the user asked for the entropy view of probability maps.
    """

    entropyToggled = Signal(bool)

    def __init__(self, controller, probability, parent: QWidget | None = None) -> None:
        super().__init__("Gradient noise", parent)
        self.ctl, self.probability = controller, probability
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.scale = NumberBox()
        self.scale.setObjectName("noiseScale")
        self.scale.setRange(0.0, 1e6)
        self.scale.setToolTip("σ of the Gaussian noise added to every gradient: g̃ = ∇f + σ·ξ, ξ ~ N(0, I) "
                              "(0: the exact gradient)")
        self.scale_slider = HyperSlider(("log", 1e-3, 1e2))
        self.scale_slider.setObjectName("noiseScaleSlider")
        self.scale_slider.setToolTip("Drag to explore the noise scale (log scale, 0.001 to 100); the runs follow")
        self.scale_slider.valueMoved.connect(self.scale.setValue)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.scale)
        row.addWidget(self.scale_slider, 1)
        form.addRow("scale σ", row)
        self.seed = QSpinBox()
        self.seed.setObjectName("noiseSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("The random numbers' key: the same seed gives the same noisy runs, every time")
        form.addRow("seed", self.seed)
        self.batch = QSpinBox()
        self.batch.setObjectName("noiseBatch")
        self.batch.setRange(0, 1_000_000)
        self.batch.setKeyboardTracking(False)
        self.batch.setSpecialValueText("full batch")
        self.batch.setToolTip("Network surfaces: each step uses the gradient of a random mini-batch of this "
                              "many samples (drawn from the seed)")
        self.batch_label = QLabel("batch size")
        form.addRow(self.batch_label, self.batch)
        self.fan_box = QCheckBox("Fan")
        self.fan_box.setObjectName("fanMode")
        self.fan_box.setToolTip("Each click starts N noisy runs from the same point, drawn as a bundle in one colour")
        self.fan_n = QSpinBox()
        self.fan_n.setObjectName("fanCount")
        self.fan_n.setRange(2, 1000)
        self.fan_n.setValue(12)
        self.fan_n.setSuffix(" runs per click")
        self.fan_n.setKeyboardTracking(False)
        form.addRow(self.fan_box, self.fan_n)
        self.samples = QSpinBox()
        self.samples.setObjectName("probabilitySamples")
        self.samples.setRange(2, 4096)
        self.samples.setValue(probability.samples)
        self.samples.setKeyboardTracking(False)
        self.samples.setToolTip("Basin maps under noise become probability maps: this many seeded runs per cell")
        self.resolution = QComboBox()
        self.resolution.setObjectName("probabilityResolution")
        for r in PROBABILITY_RESOLUTIONS:
            self.resolution.addItem(f"{r}×{r}", r)
        self.resolution.setCurrentIndex(PROBABILITY_RESOLUTIONS.index(probability.resolution))
        self.resolution.setToolTip("Cells per side of the probability map")
        self.samples.setSuffix(" runs per cell")
        form.addRow("probability map", self.samples)
        form.addRow("cells", self.resolution)
        self.entropy_box = QCheckBox("Entropy view")
        self.entropy_box.setObjectName("entropyView")
        self.entropy_box.setToolTip("Probability maps: grey by the outcome's entropy (white: certain, black: a toss-up)")
        form.addRow(self.entropy_box)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        form.addRow(self.error)

        self.scale.valueChanged.connect(lambda v: self._set(scale=float(v)))
        self.seed.valueChanged.connect(lambda v: self._set(seed=int(v)))
        self.batch.valueChanged.connect(lambda v: self._set(batch_size=int(v)))
        self.fan_box.toggled.connect(self._fan_changed)
        self.fan_n.valueChanged.connect(self._fan_changed)
        self.samples.valueChanged.connect(probability.set_samples)
        self.resolution.currentIndexChanged.connect(
            lambda i: probability.set_resolution(self.resolution.itemData(i)))
        self.entropy_box.toggled.connect(probability.set_entropy)
        controller.noiseChanged.connect(self.sync)
        controller.surfaceChanged.connect(self.sync)
        probability.stateChanged.connect(self.sync)
        guard_wheel(self)
        self.sync()

    def _set(self, **kw: Any) -> None:
        try:
            self.ctl.set_noise(**kw)
        except LandscapeError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.sync()
            self.error.show()
        else:
            self.error.hide()

    def _fan_changed(self, *_args: Any) -> None:
        self.ctl.set_fan(self.fan_n.value() if self.fan_box.isChecked() else 0)

    def sync(self) -> None:
        n, ctl, p = self.ctl.noise, self.ctl, self.probability
        widgets = (self.scale, self.seed, self.batch, self.fan_box, self.fan_n, self.samples, self.resolution,
                   self.entropy_box)
        for w in widgets:
            w.blockSignals(True)
        self.scale.setValue(n.scale)
        self.scale_slider.show_value(n.scale)
        self.seed.setValue(min(n.seed, self.seed.maximum()))
        samples = sample_count(ctl.surface)
        self.batch.setVisible(samples is not None)
        self.batch_label.setVisible(samples is not None)
        if samples is not None:
            self.batch.setMaximum(samples)
        self.batch.setValue(n.batch_size)
        self.fan_box.setChecked(ctl.fan > 0)
        if ctl.fan > 0:
            self.fan_n.setValue(ctl.fan)
        self.samples.setValue(p.samples)
        self.resolution.setCurrentIndex(PROBABILITY_RESOLUTIONS.index(p.resolution))
        self.entropy_box.setChecked(p.show_entropy)
        for w in widgets:
            w.blockSignals(False)
        self.error.hide()


__all__ = ["NoisePanel", "STEP_LIST_PATTERN", "ScheduleForm", "SchedulePanel"]
