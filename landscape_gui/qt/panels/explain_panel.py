"""The explain panel: why the selected run's step went where it went.

For the selected run at the current playback step the panel shows

* a **legend** of the vectors that make up the update (one check box per kind, with its colour; the
  tooltip says what the vector is), a *true length / normalised* choice for the arrows, and the
  components of each vector;
* a **readout**: step, x, y, loss, gradient norm, the length of the step about to be taken, the
  optimizer and every hyperparameter in force;
* a **step-by-step mode** that walks the update one stage at a time ("compute the gradient", "decay
  the momentum", ..., "take the step") with the optimizer's narration and the numbers of that stage.

Everything comes from the recorded run: :class:`landscape_gui.core.explain.RunExplainer` replays the
optimizer over the recorded gradients and asks the optimizer to explain each update; optimizers
without an explanation (and runs that cannot be replayed) show the gradient and the step only. The
panel draws nothing itself: it emits the :class:`~landscape_gui.qt.views.arrows.StepPicture` to draw
(``explanationChanged``) and the user's choices, which :class:`~landscape_gui.qt.views.arrows.MapArrows`
and :class:`~landscape_gui.qt.views.arrows.SurfaceArrows` follow (:meth:`ExplainPanel.connect_arrows`).

The main window puts the panel in a tab and wires it to the explanation model
and both views.

Playback step ``k`` explains update ``k + 1``: the run stands at recorded row ``k`` and the arrows show
how the optimizer gets from there to row ``k + 1``. At a run's last row there is no update; the
gradient there is shown.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core import explain as core_explain
from landscape_gui.core.explain import RunExplainer, StepExplanation, format_number, format_vector
from landscape_gui.core.runs import Run
from landscape_gui.qt.views.arrows import SHORT_NAMES, MapArrows, Stage, StepPicture, SurfaceArrows, Vector, kind_colour

_CHAINED = tuple(k for k in core_explain.COMPONENT_KINDS if k != "step")
"""Component kinds drawn head to tail (their sum is the step)."""


# --------------------------------------------------------------------------------------------------
# The one place that knows the core's explanation objects.


def _picture(run: Run, step: int, explanation: StepExplanation | None) -> StepPicture:
    """Convert the core's explanation of update ``step + 1`` of ``run`` (``None`` at the run's last
    row) into what the views draw.

    Arrows start at the position; the components of the step are chained head to tail from it, so
    they visibly add up to the step. A component of kind ``step`` (the generic fallback's only one)
    duplicates the step arrow and is left out.
    """
    labels = dict(core_explain.VECTOR_KINDS)
    if explanation is None:
        pos = np.asarray(run.positions[step], dtype=float)
        g = np.asarray(run.grads[step], dtype=float)
        vectors = (
            Vector("gradient", "∇f (gradient)", g, pos, "the gradient: the direction in which the loss rises fastest"),
            Vector("neg_gradient", "−∇f", -g, pos, "the negative gradient: steepest descent"),
        )
        return StepPicture(run.id, step, 0, vectors, (), labels)
    pos = np.asarray(run.positions[step], dtype=float)

    def convert(arrows: Iterable[core_explain.Arrow]) -> tuple[Vector, ...]:
        out: list[Vector] = []
        tail = pos
        seen_step = False
        for a in arrows:
            value = np.asarray(a.value, dtype=float)
            if a.kind == "step":
                if seen_step:
                    continue
                seen_step = True
            group = "step" if a.kind in core_explain.COMPONENT_KINDS else "gradient"
            if a.kind in _CHAINED:
                out.append(Vector(a.kind, a.label, value, tail, a.text, group))
                tail = tail + value
            else:
                out.append(Vector(a.kind, a.label, value, pos, a.text, group))
        return tuple(out)

    vectors = convert((*explanation.arrows, *explanation.components))
    stages = tuple(
        Stage(s.title, s.narration, convert(s.arrows), tuple((k, float(v)) for k, v in s.numbers.items()))
        for s in explanation.stages
    )
    return StepPicture(run.id, step, explanation.step, vectors, stages, labels)


# --------------------------------------------------------------------------------------------------


def swatch(kind: str, size: int = 14) -> QPixmap:
    """A square of the kind's colour with a dark border (white arrows stay visible on a light panel)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setPen(QColor(40, 40, 40))
    p.setBrush(QColor(*kind_colour(kind)))
    p.drawRect(1, 1, size - 3, size - 3)
    p.end()
    return pm


def _shortcuts(*keys: str | QKeySequence.StandardKey) -> list[QKeySequence]:
    return [QKeySequence(k) for k in keys]


class ExplainPanel(QWidget):
    """Legend, length mode, readout and step-by-step narration for the selected run.

    Feed it with :meth:`set_run` (the selected run, or ``None``) and :meth:`set_step` (the playback
    step). Signals:

    * ``explanationChanged(object)``: the :class:`StepPicture` to draw now (``None``: nothing);
    * ``stepRequested(int)``: the panel asks playback to move to this step (it does not move itself:
      connect to the playback clock, which calls :meth:`set_step` back);
    * ``kindsChanged(object)``: the ``set[str]`` of vector kinds checked in the legend;
    * ``normalisedChanged(bool)``: arrow lengths normalised (True) or true (False);
    * ``stageChanged(int)``: the stage shown in step-by-step mode, ``-1`` when the mode is off (all
      vectors are drawn).

    The keyboard actions (``next_stage_action`` ``>`` / Alt+Right, ``prev_stage_action`` ``<`` /
    Alt+Left, ``next_step_action`` ``]`` / Ctrl+Right, ``prev_step_action`` ``[`` / Ctrl+Left, and the
    checkable ``step_mode_action`` F6) are ``QAction``\\ s with window-wide shortcuts (``,`` and ``.``
    stay with the playback bar's single steps); :meth:`menu_actions` lists them for a menu.
    """

    explanationChanged = Signal(object)
    stepRequested = Signal(int)
    kindsChanged = Signal(object)
    normalisedChanged = Signal(bool)
    stageChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run: Run | None = None
        self._signature: tuple = ()
        self._explainer: RunExplainer | None = None
        self._problem: str | None = None
        self._step = 0
        self._stage: int | None = None
        self._arrive_at_last_stage = False
        self._emitted_stage = -1
        self._picture: StepPicture | None = None
        self._checked: dict[str, bool] = {}
        self._rows: dict[str, tuple[QCheckBox, QLabel]] = {}
        self._kinds_order: tuple[str, ...] = ()
        self._build()
        self._refresh()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.setObjectName("explainPanel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(8)

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.PlainText)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        outer.addWidget(self.title)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #8a4b00;")
        self.note.setVisible(False)
        outer.addWidget(self.note)

        # readout
        self.readout_box = QGroupBox("At this step")
        form = QFormLayout(self.readout_box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(2)
        form.setLabelAlignment(Qt.AlignRight)
        self.readout: dict[str, QLabel] = {}
        for key, label, tip in (
            ("step", "step", "playback step: the run stands at this recorded step"),
            ("x", "x", ""),
            ("y", "y", ""),
            ("loss", "loss", "f(x, y)"),
            ("grad_norm", "|∇f|", "length of the gradient here"),
            ("step_length", "next |Δ|", "length of the step taken from here to the next recorded point"),
            ("optimizer", "optimizer", ""),
            ("hyperparameters", "settings", "every hyperparameter in force for this run"),
        ):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            value.setWordWrap(key == "hyperparameters")
            name = QLabel(label)
            if tip:
                name.setToolTip(tip)
                value.setToolTip(tip)
            form.addRow(name, value)
            self.readout[key] = value
        outer.addWidget(self.readout_box)

        # legend
        self.legend_box = QGroupBox("Vectors")
        lv = QVBoxLayout(self.legend_box)
        lv.setContentsMargins(6, 4, 6, 4)
        lv.setSpacing(3)
        self.legend_grid = QGridLayout()
        self.legend_grid.setHorizontalSpacing(8)
        self.legend_grid.setVerticalSpacing(1)
        self.legend_grid.setColumnStretch(1, 1)
        lv.addLayout(self.legend_grid)
        lengths = QHBoxLayout()
        lengths.addWidget(QLabel("Arrow lengths:"))
        self.true_length = QRadioButton("true")
        self.true_length.setToolTip("Each vector drawn at its own length, in the plot's units")
        self.normalised = QRadioButton("normalised")
        self.normalised.setToolTip(
            "Directions exact; lengths compressed (log scale) so every arrow is visible and none hides the view"
        )
        self.normalised.setChecked(True)
        self.normalised.toggled.connect(lambda on: self.normalisedChanged.emit(bool(on)))
        lengths.addWidget(self.true_length)
        lengths.addWidget(self.normalised)
        lengths.addStretch(1)
        lv.addLayout(lengths)
        outer.addWidget(self.legend_box)

        # actions
        self.step_mode_action = QAction("Step by step", self)
        self.step_mode_action.setCheckable(True)
        self.step_mode_action.setShortcut(QKeySequence(Qt.Key_F6))
        self.step_mode_action.setToolTip("Walk through the update one stage at a time (F6)")
        self.step_mode_action.toggled.connect(self.set_step_mode)
        self.prev_stage_action = QAction("◀ Stage", self)
        self.prev_stage_action.setShortcuts(_shortcuts("<", "Alt+Left"))
        self.prev_stage_action.setToolTip("Previous stage of the update (< or Alt+Left)")
        self.prev_stage_action.triggered.connect(self.prev_stage)
        self.next_stage_action = QAction("Stage ▶", self)
        self.next_stage_action.setShortcuts(_shortcuts(">", "Alt+Right"))
        self.next_stage_action.setToolTip("Next stage of the update (> or Alt+Right)")
        self.next_stage_action.triggered.connect(self.next_stage)
        self.prev_step_action = QAction("◀◀ Step", self)
        self.prev_step_action.setShortcuts(_shortcuts("[", "Ctrl+Left"))
        self.prev_step_action.setToolTip("Previous step of the run ([ or Ctrl+Left)")
        self.prev_step_action.triggered.connect(self.prev_step)
        self.next_step_action = QAction("Step ▶▶", self)
        self.next_step_action.setShortcuts(_shortcuts("]", "Ctrl+Right"))
        self.next_step_action.setToolTip("Next step of the run (] or Ctrl+Right)")
        self.next_step_action.triggered.connect(self.next_step)
        for a in self.menu_actions():
            a.setShortcutContext(Qt.WindowShortcut)
            self.addAction(a)

        # step by step
        self.stage_box = QGroupBox("Step by step")
        self.stage_box.setCheckable(True)
        self.stage_box.setChecked(False)
        self.stage_box.setToolTip(self.step_mode_action.toolTip())
        self.stage_box.toggled.connect(self.step_mode_action.setChecked)
        sv = QVBoxLayout(self.stage_box)
        sv.setContentsMargins(6, 4, 6, 4)
        sv.setSpacing(4)
        self.stage_title = QLabel()
        self.stage_title.setWordWrap(True)
        self.stage_title.setFont(f)
        sv.addWidget(self.stage_title)
        self.narration = QLabel()
        self.narration.setWordWrap(True)
        self.narration.setTextFormat(Qt.PlainText)
        self.narration.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.narration.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.MinimumExpanding)
        sv.addWidget(self.narration)
        self.numbers_grid = QGridLayout()
        self.numbers_grid.setHorizontalSpacing(6)
        self.numbers_grid.setVerticalSpacing(1)
        self.numbers_grid.setColumnStretch(1, 1)
        sv.addLayout(self.numbers_grid)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for a in (self.prev_step_action, self.prev_stage_action, self.next_stage_action, self.next_step_action):
            b = QToolButton()
            b.setDefaultAction(a)
            b.setToolButtonStyle(Qt.ToolButtonTextOnly)
            buttons.addWidget(b)
        buttons.addStretch(1)
        sv.addLayout(buttons)
        self._stage_body = (self.stage_title, self.narration)
        outer.addWidget(self.stage_box)
        outer.addStretch(1)

    # ------------------------------------------------------------------ public API
    def menu_actions(self) -> list[QAction]:
        """The panel's actions, in menu order (the main window may add them to its menus)."""
        return [self.step_mode_action, self.prev_stage_action, self.next_stage_action, self.prev_step_action,
                self.next_step_action]

    @property
    def run(self) -> Run | None:
        return self._run

    @property
    def step(self) -> int:
        return self._step

    @property
    def stage(self) -> int | None:
        """The stage shown in step-by-step mode, or ``None`` when the mode is off."""
        return self._stage

    @property
    def picture(self) -> StepPicture | None:
        return self._picture

    @property
    def explainer(self) -> RunExplainer | None:
        return self._explainer

    def visible_kinds(self) -> set[str]:
        """Kinds checked in the legend (kinds never shown count as checked)."""
        kinds = set(self._kinds_order) | set(self._checked)
        return {k for k in kinds if self._checked.get(k, True)}

    def is_normalised(self) -> bool:
        return self.normalised.isChecked()

    def set_normalised(self, on: bool) -> None:
        (self.normalised if on else self.true_length).setChecked(True)

    def set_kind_visible(self, kind: str, on: bool) -> None:
        """Check or uncheck ``kind`` in the legend (emits ``kindsChanged``)."""
        if kind in self._rows:
            self._rows[kind][0].setChecked(bool(on))
        elif self._checked.get(kind, True) != bool(on):
            self._checked[kind] = bool(on)
            self.kindsChanged.emit(self.visible_kinds())

    def set_run(self, run: Run | None, explainer: RunExplainer | None = None, problem: str | None = None) -> None:
        """Explain ``run`` (the selection) with ``explainer`` (made by
        :class:`~landscape_gui.qt.model.explain.ExplainModel`; without one, the gradient and the step
        are drawn from the record); ``None`` clears."""
        signature = _signature(run)
        same = run is self._run and _same_signature(signature, self._signature)
        if same and explainer is self._explainer and problem == self._problem:
            return
        self._run = run
        self._signature = signature
        self._explainer, self._problem = explainer, problem
        if self._stage is not None and not same:
            self._stage = 0
        self._refresh()

    def set_step(self, step: int) -> None:
        """The playback step changed. In step-by-step mode the new step starts at its first stage
        (or its last when the walk went backwards into it)."""
        step = max(int(step), 0)
        changed = step != self._step
        self._step = step
        if self._stage is not None and changed:
            self._stage = -1 if self._arrive_at_last_stage else 0
        self._arrive_at_last_stage = False
        self._refresh()

    def set_step_mode(self, on: bool) -> None:
        """Turn the step-by-step mode on (at the first stage) or off (all vectors)."""
        on = bool(on)
        if on == (self._stage is not None):
            return
        self._stage = 0 if on else None
        for w in (self.step_mode_action, self.stage_box):
            w.blockSignals(True)
            w.setChecked(on)
            w.blockSignals(False)
        self._refresh()

    def set_stage(self, stage: int) -> None:
        """Show stage ``stage`` of the current step (negative: counted from the last); turns the
        step-by-step mode on."""
        if self._stage is None:
            self.set_step_mode(True)
        self._stage = stage
        self._refresh()

    def last_step(self) -> int:
        """The selected run's last recorded step (0 without a run)."""
        return self._run.steps if self._run is not None else 0

    def next_stage(self) -> None:
        """Next stage; after the last stage, the first stage of the next step."""
        if self._run is None:
            return
        if self._stage is None:
            self.set_step_mode(True)
            return
        n = len(self._picture.stages) if self._picture else 0
        if self._stage + 1 < n:
            self.set_stage(self._stage + 1)
        elif self._step < self.last_step():
            self.stepRequested.emit(self._step + 1)

    def prev_stage(self) -> None:
        """Previous stage; before the first, the last stage of the previous step."""
        if self._run is None:
            return
        if self._stage is None:
            self.set_step_mode(True)
            return
        if self._stage > 0:
            self.set_stage(self._stage - 1)
        elif self._step > 0:
            self._arrive_at_last_stage = True  # read by set_step, called back during the emit
            self.stepRequested.emit(min(self._step, self.last_step()) - 1)
            self._arrive_at_last_stage = False

    def next_step(self) -> None:
        if self._run is not None and self._step < self.last_step():
            self.stepRequested.emit(self._step + 1)

    def prev_step(self) -> None:
        if self._run is not None and self._step > 0:
            self.stepRequested.emit(min(self._step, self.last_step()) - 1)

    def connect_arrows(self, *drawers) -> None:
        """Make ``drawers`` (:class:`MapArrows`, :class:`SurfaceArrows`) follow this panel, starting
        from its current state."""
        for d in drawers:
            self.explanationChanged.connect(d.set_explanation)
            self.kindsChanged.connect(d.set_visible_kinds)
            self.normalisedChanged.connect(d.set_normalised)
            self.stageChanged.connect(lambda s, d=d: d.set_stage(None if s < 0 else s))
            d.normalised = self.is_normalised()
            d.stage = self._stage
            d.hidden_kinds = {k for k, on in self._checked.items() if not on}
            d.set_explanation(self._picture)

    # ------------------------------------------------------------------ refresh
    def _current_explanation(self) -> StepExplanation | None:
        """The optimizer's explanation of the update from the current step; the gradient-and-step
        fallback from the record if the optimizer's own explanation fails; None at the last point."""
        run = self._run
        if run is None or self._step >= run.steps:
            return None
        if self._explainer is not None:
            try:
                return self._explainer.explain(self._step)
            except Exception as exc:  # a plugin's explain() failing must not take the panel down
                self._problem = f"{type(exc).__name__}: {exc}"
        k = self._step
        lr = run.params.get("lr")
        lr = float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None
        return core_explain.basic_explanation(run.positions[k], run.grads[k], run.positions[k + 1], k + 1, lr)

    def _refresh(self) -> None:
        run = self._run
        if run is None:
            self._picture = None
        else:
            k = min(self._step, run.steps)
            self._picture = _picture(run, k, self._current_explanation())
        n_stages = len(self._picture.stages) if self._picture else 0
        if self._stage is not None:
            if self._stage < 0:  # counted from the end, as Python indexes
                self._stage = max(n_stages + self._stage, 0)
            self._stage = min(self._stage, max(n_stages - 1, 0))
        self._update_title()
        self._update_readout()
        self._update_legend()
        self._update_stage()
        self._update_actions()
        stage = -1 if self._stage is None else self._stage
        if stage != self._emitted_stage:
            self._emitted_stage = stage
            self.stageChanged.emit(stage)
        self.explanationChanged.emit(self._picture)

    def _update_title(self) -> None:
        run = self._run
        if run is None:
            self.title.setText("No run selected: click a run's start or end marker to explain its steps.")
            self.note.setVisible(False)
            return
        k = min(self._step, run.steps)
        if k < run.steps:
            self.title.setText(f"Run {run.id}, update {k + 1} of {run.steps}: from step {k} to step {k + 1}")
        else:
            self.title.setText(f"Run {run.id}, step {k}: the last point ({run.status})")
        self.note.setVisible(self._problem is not None)
        if self._problem:
            self.note.setText(f"Showing the gradient and the step only: {self._problem}")

    def _update_readout(self) -> None:
        run = self._run
        r = self.readout
        if run is None:
            for v in r.values():
                v.setText("–")
            return
        k = min(self._step, run.steps)
        x, y = (float(c) for c in run.positions[k])
        g = np.asarray(run.grads[k], dtype=float)
        r["step"].setText(f"{k} of {run.steps}")
        r["x"].setText(format_number(x))
        r["y"].setText(format_number(y))
        r["loss"].setText(format_number(float(run.losses[k])))
        r["grad_norm"].setText(format_number(float(np.hypot(g[0], g[1]))))
        if k < run.steps:
            d = np.asarray(run.positions[k + 1], dtype=float) - np.asarray(run.positions[k], dtype=float)
            r["step_length"].setText(format_number(float(np.hypot(d[0], d[1]))))
        else:
            r["step_length"].setText("– (last point)")
        r["optimizer"].setText(run.optimizer)
        params = self._explainer.hp if (self._explainer is not None and self._explainer.hp) else run.params
        r["hyperparameters"].setText(", ".join(f"{name} = {_value_text(v)}" for name, v in params.items()))

    def _update_legend(self) -> None:
        p = self._picture
        kinds = p.kinds if p is not None else ()
        if kinds != self._kinds_order:
            self._kinds_order = kinds
            _clear_layout(self.legend_grid)
            self._rows = {}
            for row, kind in enumerate(kinds):
                box = QCheckBox(SHORT_NAMES.get(kind, p.label_of(kind)))
                box.setIcon(QIcon(swatch(kind)))
                box.setIconSize(QSize(14, 14))
                box.setChecked(self._checked.get(kind, True))
                box.toggled.connect(lambda on, k=kind: self._kind_toggled(k, on))
                value = QLabel()
                value.setTextInteractionFlags(Qt.TextSelectableByMouse)
                value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
                value.setWordWrap(True)  # "(x, y)" breaks after the comma in a narrow dock
                self.legend_grid.addWidget(box, row, 0)
                self.legend_grid.addWidget(value, row, 1)
                self._rows[kind] = (box, value)
            if not kinds:
                empty = QLabel("–")
                self.legend_grid.addWidget(empty, 0, 0)
        if p is None:
            return
        shown = p.vectors_at(self._stage)
        for kind, (box, value) in self._rows.items():
            vs = [v for v in shown if v.kind == kind]
            value.setText("  ".join(format_vector(v.value) for v in vs))
            tip = p.label_of(kind)
            if p.explanation_of(kind):
                tip += f"\n{vs[0].label if vs else ''}: {p.explanation_of(kind)}" if vs else f"\n{p.explanation_of(kind)}"
            box.setToolTip(tip)
            value.setToolTip(tip)

    def _kind_toggled(self, kind: str, on: bool) -> None:
        self._checked[kind] = bool(on)
        self.kindsChanged.emit(self.visible_kinds())

    def _update_stage(self) -> None:
        _clear_layout(self.numbers_grid)
        p = self._picture
        on = self._stage is not None
        for w in self._stage_body:
            w.setVisible(on)
        if not on:
            return
        if p is None or not p.stages:
            self.stage_title.setText("No update here" if p is not None else "")
            self.narration.setText(
                "This is the run's last point: there is no step to explain. Go back with [ or <."
                if p is not None else "Select a run to walk through its steps."
            )
            return
        s = p.stages[self._stage]
        self.stage_title.setText(f"Stage {self._stage + 1} of {len(p.stages)}: {s.title}")
        self.narration.setText(s.narration)
        row = 0
        for v in s.vectors:
            sw = QLabel()
            sw.setPixmap(swatch(v.kind, 12))
            sw.setToolTip(v.explanation)
            text = QLabel(f"{v.label} = {format_vector(v.value)}")
            text.setToolTip(v.explanation)
            text.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.numbers_grid.addWidget(sw, row, 0)
            self.numbers_grid.addWidget(text, row, 1)
            row += 1
        if s.numbers:
            nums = QLabel("   ".join(f"{name} = {format_number(val)}" for name, val in s.numbers))
            nums.setWordWrap(True)
            nums.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.numbers_grid.addWidget(nums, row, 0, 1, 2)

    def _update_actions(self) -> None:
        has = self._run is not None
        last = self.last_step()
        n = len(self._picture.stages) if self._picture else 0
        self.prev_step_action.setEnabled(has and self._step > 0)
        self.next_step_action.setEnabled(has and self._step < last)
        stage = self._stage if self._stage is not None else 0
        self.prev_stage_action.setEnabled(has and (self._stage is None or stage > 0 or self._step > 0))
        self.next_stage_action.setEnabled(has and (self._stage is None or stage + 1 < n or self._step < last))

    # ------------------------------------------------------------------ queries (tests, tools)
    def stage_numbers_text(self) -> list[str]:
        """The texts of the numbers shown for the current stage (vectors, then scalars)."""
        out = []
        for i in range(self.numbers_grid.count()):
            w = self.numbers_grid.itemAt(i).widget()
            if isinstance(w, QLabel) and w.text():
                out.append(w.text())
        return out

    def legend_checkbox(self, kind: str) -> QCheckBox | None:
        row = self._rows.get(kind)
        return row[0] if row else None


def _signature(run: Run | None) -> tuple:
    """What identifies a run's record: the arrays (replaced, not edited, on a re-run) and settings."""
    if run is None:
        return ()
    return (run, run.positions, run.grads, run.optimizer, tuple(run.params.items()))


def _same_signature(a: tuple, b: tuple) -> bool:
    """Same objects (``is``: the signature holds them, so an id cannot be reused) and same settings."""
    if len(a) != len(b):
        return False
    return all(x is y for x, y in zip(a[:3], b[:3])) and a[3:] == b[3:]


def _clear_layout(layout) -> None:
    """Remove and delete every widget of ``layout`` (hidden at once: deletion waits for the event loop)."""
    while layout.count():
        w = layout.takeAt(0).widget()
        if w is not None:
            w.hide()
            w.deleteLater()


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(v)
    return str(v)


__all__ = ["ExplainPanel", "swatch"]
