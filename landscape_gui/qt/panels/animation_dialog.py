"""The File ▸ Export Animation dialog: what to animate, which steps, how fast, how large, where."""

from __future__ import annotations

import os
from typing import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.qt.model.lessons import ANIMATION_TARGETS, AnimationSpec

ANIMATION_FILTER = "GIF animation (*.gif);;MP4 video (*.mp4)"


class AnimationDialog(QDialog):
    """Asks for an :class:`~landscape_gui.qt.model.lessons.AnimationSpec`; ``size_of(target, width)``
    gives the frame size the window would render (shown next to the width)."""

    def __init__(self, parent: QWidget, defaults: AnimationSpec, max_step: int,
                 size_of: Callable[[str, int], tuple[int, int]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Animation")
        self.size_of = size_of
        form = QFormLayout(self)
        self.target = QComboBox()
        for key, text in ANIMATION_TARGETS.items():
            self.target.addItem(text, key)
        self.target.setCurrentIndex(self.target.findData(defaults.target))
        form.addRow("animate", self.target)
        self.rotate = QCheckBox("Turn the 3-D view once around the surface")
        self.rotate.setChecked(defaults.rotate)
        form.addRow("", self.rotate)
        self.first = QSpinBox()
        self.last = QSpinBox()
        self.every = QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, max(max_step, 0))
        self.every.setRange(1, max(max_step, 1))
        self.first.setValue(defaults.first)
        self.last.setValue(defaults.last)
        self.every.setValue(defaults.every)
        rng = QHBoxLayout()
        rng.addWidget(self.first)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.last)
        rng.addWidget(QLabel("every"))
        rng.addWidget(self.every)
        form.addRow("steps", rng)
        self.frames = QLabel()
        form.addRow("", self.frames)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setDecimals(1)
        self.fps.setValue(defaults.fps)
        form.addRow("frames per second", self.fps)
        self.width = QSpinBox()
        self.width.setRange(0, 8192)
        self.width.setSpecialValueText("as on screen")
        self.width.setSingleStep(16)
        self.width.setSuffix(" px wide")
        self.width.setValue(defaults.width)
        self.size_label = QLabel()
        size_row = QHBoxLayout()
        size_row.addWidget(self.width)
        size_row.addWidget(self.size_label, 1)
        form.addRow("size", size_row)
        self.path = QLineEdit(defaults.path)
        self.path.setPlaceholderText("runs.gif or runs.mp4")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form.addRow("file", path_row)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        for sig in (self.target.currentIndexChanged, self.first.valueChanged, self.last.valueChanged,
                    self.every.valueChanged, self.width.valueChanged):
            sig.connect(self._update)
        self._update()

    def spec(self) -> AnimationSpec:
        return AnimationSpec(path=self.path.text().strip(), target=self.target.currentData(), first=self.first.value(),
                             last=self.last.value(), every=self.every.value(), fps=self.fps.value(),
                             width=self.width.value(), rotate=self.rotate.isChecked() and self.target.currentData() != "map")

    def _update(self, *_args) -> None:
        self.rotate.setEnabled(self.target.currentData() != "map")
        try:
            spec = self.spec()
            n = len(spec.steps())
            w, h = self.size_of(spec.target, spec.width)
        except LandscapeError as exc:
            self.frames.setText(str(exc))
            self.size_label.setText("")
            return
        self.frames.setText(f"{n} frame{'s' if n != 1 else ''}")
        self.size_label.setText(f"{w} × {h} pixels")

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export animation", self.path.text() or "runs.gif",
                                              ANIMATION_FILTER)
        if path:
            self.path.setText(path)

    def _accept(self) -> None:
        spec = self.spec()
        try:
            spec.steps()
            self.size_of(spec.target, spec.width)
            if os.path.splitext(spec.path)[1].lower() not in (".gif", ".mp4"):
                raise LandscapeError("choose a file ending in .gif or .mp4")
        except LandscapeError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()

    def ask(self) -> AnimationSpec | None:
        return self.spec() if self.exec() == QDialog.Accepted else None


__all__ = ["ANIMATION_FILTER", "AnimationDialog"]
