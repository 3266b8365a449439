"""Forms of the researchers' instruments: they list the points the model offers and emit intents.

* :class:`PlanePanel` (in the Network section): the slice plane of a network landscape: random,
  PCA of the runs so far, top-two Hessian eigenvectors, or through three chosen points;
  ``planeRequested(kind, keys)``.
* :class:`TwoPointPanel` (the *Profile & path* tab): two points (minima, run ends and starts, the
  initial weights), ``profileRequested(a, b)`` for the loss along the segment and
  ``pathRequested(a, b, images)`` for the minimum-energy path between the minima they lie in; a
  result line with the barriers.
* :class:`SpectrumPanel` (the *Hessian spectrum* tab): where, ``spectrumRequested(key)``, and the
  trace, condition number and extreme eigenvalues.

Points are the model's anchor keys (tuples); the panels show the labels they are given with
``set_anchors([(key, label), ...])`` and keep the choice when the list changes.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.qt.model.research import PLANE_KINDS

AnchorItems = Sequence[tuple[str, str]]
"""``(key text, label)`` of each point (keys as ``"min:3"``, ``"end:2"``, ``"init"``)."""


def _fill(combo: QComboBox, items: AnchorItems, default: int = 0) -> None:
    """Refill ``combo`` with (key, label) items, keeping the current key if it is still there."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for key, label in items:
        combo.addItem(label, key)
    idx = combo.findData(current) if current is not None else -1
    combo.setCurrentIndex(idx if idx >= 0 else min(default, combo.count() - 1))
    combo.blockSignals(False)


def _compact(combo: QComboBox) -> QComboBox:
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    combo.currentTextChanged.connect(combo.setToolTip)
    return combo


def _result_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


class PlanePanel(QGroupBox):
    """The slice plane of a network landscape (see the module docstring)."""

    planeRequested = Signal(str, list)
    """(kind, three point keys for ``points``, else empty)"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Slice plane", parent)
        self.setToolTip("Which plane of the network's weights the map shows; runs on screen are drawn on the new\n"
                        "plane by their projection, with their distance from it and their true loss")
        self.kind = _compact(QComboBox())
        for key, label in PLANE_KINDS.items():
            self.kind.addItem(label, key)
        self.points = [_compact(QComboBox()) for _ in range(3)]
        for combo in self.points:
            combo.activated.connect(lambda _i, c=combo: c.setProperty("chosen", True))
        self.apply_button = QPushButton("Show plane")
        self.apply_button.setToolTip("Rebuild the map on the chosen plane (one Undo step)")
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.PlainText)
        self.info.setStyleSheet("color: #333;")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Directions", self.kind)
        for i, combo in enumerate(self.points):
            form.addRow(f"Point {i + 1}", combo)
        self._form = form
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(form)
        lay.addWidget(self.apply_button)
        lay.addWidget(self.info)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.apply_button.clicked.connect(self.request)
        self._kind_changed()

    def set_anchors(self, items: AnchorItems) -> None:
        """Points the plane may pass through (network points only)."""
        # default: two run ends and the initial weights (Garipov et al.'s picture)
        ends = [i for i, (k, _l) in enumerate(items) if k.startswith("end:")]
        init = [i for i, (k, _l) in enumerate(items) if k == "init"]
        defaults = (ends + [0, 0])[:2] + (init or [0])
        for combo, d in zip(self.points, defaults):
            if not combo.property("chosen"):  # not chosen by hand: follow the defaults
                combo.setCurrentIndex(-1)
            _fill(combo, items, d)

    def set_available(self, on: bool) -> None:
        self.setEnabled(on)

    def set_description(self, text: str) -> None:
        self.info.setText(text)

    def _kind_changed(self) -> None:
        points = self.kind.currentData() == "points"
        for combo in self.points:
            combo.setVisible(points)
            label = self._form.labelForField(combo)
            if label is not None:
                label.setVisible(points)

    def request(self) -> None:
        kind = self.kind.currentData()
        keys = [c.currentData() for c in self.points] if kind == "points" else []
        self.planeRequested.emit(kind, keys)


class TwoPointPanel(QWidget):
    """Two points, a profile between them and a minimum-energy path (see the module docstring)."""

    profileRequested = Signal(object, object)
    pathRequested = Signal(object, object, int)
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start = _compact(QComboBox())
        self.end = _compact(QComboBox())
        self.images = QSpinBox()
        self.images.setRange(5, 201)
        self.images.setValue(21)
        self.images.setToolTip("Images of the elastic band, the two ends included")
        self.profile_button = QPushButton("Profile")
        self.profile_button.setToolTip("The loss along the straight segment between the two points, and its barrier")
        self.path_button = QPushButton("Minimum-energy path")
        self.path_button.setToolTip("Climbing-image nudged elastic band between the minima the two points lie in:\n"
                                    "the lowest path over the ridge, its saddle and the barrier from each side")
        self.clear_button = QToolButton()
        self.clear_button.setText("✕")
        self.clear_button.setToolTip("Clear: take the profile and the path off the views")
        self.images.setPrefix("images ")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.profile_button)
        row.addWidget(self.path_button)
        row.addWidget(self.images)
        row.addWidget(self.clear_button)
        self.path_button.setText("Path")
        self.path_button.setToolTip("Minimum-energy path: " + self.path_button.toolTip())
        self.result = _result_label()
        self.hint = QLabel("Points come from the minima runs settled in and from the runs' ends and starts: "
                           "start some runs first.")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        lay.addWidget(self.result)
        self.profile_button.clicked.connect(lambda: self.profileRequested.emit(self.start.currentData(), self.end.currentData()))
        self.path_button.clicked.connect(
            lambda: self.pathRequested.emit(self.start.currentData(), self.end.currentData(), self.images.value()))
        self.clear_button.clicked.connect(self.clearRequested)
        self.set_anchors([])

    def set_anchors(self, items: AnchorItems) -> None:
        _fill(self.start, items, 0)
        _fill(self.end, items, 1)
        ok = len(items) >= 2
        for w in (self.profile_button, self.path_button):
            w.setEnabled(ok)
        self.hint.setVisible(not ok)

    def choose(self, a: str, b: str) -> None:
        """Set the two points (e.g. from the minima table's context menu)."""
        for combo, key in ((self.start, a), (self.end, b)):
            idx = combo.findData(key)
            if idx >= 0:
                combo.setCurrentIndex(idx)

    def show_results(self, profile: Any, path: Any) -> None:
        """Barriers of the profile and the path shown."""
        parts = []
        if profile is not None:
            what = "Interpolation in full weight space" if profile.full_space else "Straight line"
            parts.append(f"<b>{what}</b> from {profile.start} to {profile.end}: highest loss "
                         f"{profile.peak_loss:.6g} at {100 * profile.peak_t:.1f} % of the way; barrier "
                         f"{profile.barrier_from_start:.6g} from the start, {profile.barrier_from_end:.6g} from "
                         f"the end; {profile.linear_barrier:.4g} above the straight line between the end losses.")
        if path is not None:
            p = path.path
            s = p.saddle
            saddles = "; ".join(f"({sd.x:.6g}, {sd.y:.6g}), loss {sd.loss:.6g}, Hessian eigenvalues "
                                f"{sd.eigenvalues[0]:.4g}, {sd.eigenvalues[1]:.4g}" for sd in p.saddles)
            note = "" if p.converged else " (the band did not fully converge; the saddle is Newton-refined)"
            parts.append(f"<b>Minimum-energy path</b> from {path.start} to {path.end}: "
                         f"{len(p.saddles)} saddle{'s' if len(p.saddles) != 1 else ''}: {saddles}. "
                         f"Barrier <b>{p.barrier_forward:.6g}</b> from the start ({p.start_loss:.6g}), "
                         f"<b>{p.barrier_backward:.6g}</b> from the end ({p.end_loss:.6g}); highest saddle "
                         f"({s.x:.6g}, {s.y:.6g}){note}.")
        self.result.setText("<br><br>".join(parts))


class SpectrumPanel(QWidget):
    """Where to take the Hessian spectrum, and what it says (see the module docstring)."""

    spectrumRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.where = _compact(QComboBox())
        self.top_k = QSpinBox()
        self.top_k.setRange(2, 200)
        self.top_k.setValue(20)
        self.top_k.setToolTip("Eigenvalues computed by Lanczos for networks too large for the full decomposition")
        self.button = QPushButton("Compute spectrum")
        self.button.setToolTip("Every eigenvalue of the network's Hessian in full weight space (the top ones by\n"
                               "Lanczos for large networks), the trace and the condition number")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("At", self.where)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addStretch(1)
        row.addWidget(QLabel("top k"))
        row.addWidget(self.top_k)
        self.result = _result_label()
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        lay.addWidget(self.result)
        self.button.clicked.connect(lambda: self.spectrumRequested.emit(self.where.currentData()))
        self.set_available(False)

    def set_available(self, on: bool) -> None:
        self.button.setEnabled(on)
        self.where.setEnabled(on)
        self.hint.setText("" if on else "The Hessian spectrum is for network landscapes: build a multi-layer "
                          "perceptron in the Network section of the Controls.")
        self.hint.setVisible(not on)

    def set_anchors(self, items: AnchorItems) -> None:
        _fill(self.where, items, 0)

    def show_result(self, result: Any) -> None:
        if result is None:
            self.result.setText("")
            return
        s = result.spectrum
        ev = s.eigenvalues
        if s.exact:
            cond = "∞ (singular)" if s.condition_number == float("inf") else f"{s.condition_number:.4g}"
            text = (f"<b>{s.n_params}</b> eigenvalues at {result.where}: λ_max {ev[-1]:.6g}, λ_min {ev[0]:.6g}; "
                    f"trace {s.trace:.6g}; condition number max|λ|/min|λ| {cond}; "
                    f"{s.n_negative} negative.")
        else:
            text = (f"Top <b>{len(ev)}</b> of {s.n_params} eigenvalues at {result.where} (Lanczos): "
                    f"λ_max {ev[-1]:.6g}, the {len(ev)}th {ev[0]:.6g}; trace ≈ {s.trace:.6g} ± {s.trace_stderr:.2g} "
                    f"(Hutchinson).")
        self.result.setText(text)


__all__ = ["PlanePanel", "SpectrumPanel", "TwoPointPanel"]
