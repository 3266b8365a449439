"""The network section of the surface panel.

:class:`NetworkPanel` collects dataset, model, loss and slice settings and, on *Build*, emits
``surfaceRequested(spec)`` with the canonical ``nn:`` spec (its keys are listed in the README);
it never builds anything itself (:class:`~landscape_gui.qt.model.networks.NetworkModel` does, on the
job runner). :class:`NetworkSection` adds the full-weight-space check box and the mini-batch settings,
and emits ``fullSpaceChanged(on, batch_size, seed)``.
"""

from __future__ import annotations


from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.datasets import BUILTIN_DATASETS, DEFAULT_NOISE
from landscape_gui.core.nn.losses import LOSSES
from landscape_gui.qt.model.networks import MODELS, NetSpec, parse_spec
from landscape_gui.core.optimizers import optimizer_names
_DEFAULT_LOSS = {"moons": "binary_crossentropy", "circles": "binary_crossentropy", "xor": "binary_crossentropy",
                 "blobs": "categorical_crossentropy", "sine": "mean_squared_error", "line": "mean_squared_error"}


class NetworkPanel(QWidget):
    """Dataset, model, loss and slice settings for a network landscape, and a *Build* button.

    Signals:
        surfaceRequested(str): the canonical ``nn:`` spec to build, emitted by *Build* when the
            settings are valid (otherwise ``error_label`` says what is wrong and nothing is emitted).

    Methods: :meth:`spec` (the settings as a spec string), :meth:`set_spec` (show a spec's settings,
    e.g. when a session is restored), :meth:`request` (what *Build* does).
    """

    surfaceRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)

        self.dataset = QComboBox()
        for name, desc in BUILTIN_DATASETS.items():
            self.dataset.addItem(name, name)
            self.dataset.setItemData(self.dataset.count() - 1, desc, Qt.ToolTipRole)
        self.dataset.addItem("CSV file…", "csv")
        form.addRow("Dataset", self.dataset)

        self.csv_path = QLineEdit()
        self.csv_path.setPlaceholderText("path to a CSV file")
        self.browse = QPushButton("Browse…")
        row = QHBoxLayout()
        row.addWidget(self.csv_path, 1)
        row.addWidget(self.browse)
        self.csv_row = QWidget()
        self.csv_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("File", self.csv_row)
        self.target = QLineEdit()
        self.target.setPlaceholderText("target column (name or number; last if empty)")
        form.addRow("Target", self.target)

        self.samples = QSpinBox()
        self.samples.setRange(4, 100_000)
        self.samples.setValue(200)
        form.addRow("Samples", self.samples)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 10.0)
        self.noise.setDecimals(3)
        self.noise.setSingleStep(0.05)
        form.addRow("Noise", self.noise)
        self.data_seed = QSpinBox()
        self.data_seed.setRange(0, 2**31 - 1)
        form.addRow("Data seed", self.data_seed)

        self.model = QComboBox()
        for name, desc in MODELS.items():
            self.model.addItem(name, name)
            self.model.setItemData(self.model.count() - 1, desc, Qt.ToolTipRole)
        form.addRow("Model", self.model)
        self.loss = QComboBox()
        for name in LOSSES:
            self.loss.addItem(name, name)
        form.addRow("Loss", self.loss)

        self.hidden = QLineEdit("16,16")
        self.hidden.setToolTip("hidden layer sizes, comma-separated")
        form.addRow("Hidden", self.hidden)
        self.activation = QComboBox()
        self.activation.addItems(["tanh", "relu", "sigmoid"])
        form.addRow("Activation", self.activation)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("seed of the initial weights and of the two slice directions")
        form.addRow("Seed", self.seed)
        self.centre = QComboBox()
        self.centre.addItem("trained weights", "trained")
        self.centre.addItem("initial weights", "initial")
        form.addRow("Centre", self.centre)
        self.optimizer = QComboBox()
        self.optimizer.addItems(optimizer_names())
        self.optimizer.setCurrentText("momentum")
        form.addRow("Train with", self.optimizer)
        self.lr = QDoubleSpinBox()
        self.lr.setRange(1e-5, 10.0)
        self.lr.setDecimals(5)
        self.lr.setValue(0.1)
        form.addRow("Learning rate", self.lr)
        self.steps = QSpinBox()
        self.steps.setRange(0, 100_000)
        self.steps.setValue(300)
        form.addRow("Training steps", self.steps)
        self.span = QDoubleSpinBox()
        self.span.setRange(0.01, 100.0)
        self.span.setValue(1.0)
        self.span.setToolTip("the slice shows a, b in [-span, span]")
        form.addRow("Span", self.span)

        self.build_button = QPushButton("Build")
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.build_button)
        layout.addWidget(self.error_label)
        self._form = form

        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.model.currentIndexChanged.connect(self._update_enabled)
        self.centre.currentIndexChanged.connect(self._update_enabled)
        self.browse.clicked.connect(self._browse)
        self.build_button.clicked.connect(self.request)
        self._dataset_changed()

    # ------------------------------------------------------------------------------------------
    def spec(self) -> str:
        """The current settings as an ``nn:`` spec (not yet validated)."""
        ds = self.dataset.currentData()
        parts = [f"dataset={ds}"]
        if ds == "csv":
            parts.append(f"path={self.csv_path.text().strip()}")
            if self.target.text().strip():
                parts.append(f"target={self.target.text().strip()}")
        else:
            parts += [f"n={self.samples.value()}", f"noise={self.noise.value():g}", f"data_seed={self.data_seed.value()}"]
        model = self.model.currentData()
        parts += [f"model={model}", f"loss={self.loss.currentData()}"]
        if model == "mlp":
            parts += [f"hidden={self.hidden.text().strip()}", f"activation={self.activation.currentText()}",
                      f"seed={self.seed.value()}", f"centre={self.centre.currentData()}"]
            if self.centre.currentData() == "trained":
                parts += [f"optimizer={self.optimizer.currentText()}", f"lr={self.lr.value():g}",
                          f"steps={self.steps.value()}"]
            parts.append(f"span={self.span.value():g}")
        return "nn:" + ";".join(parts)

    def set_spec(self, spec: str) -> None:
        """Show the settings of ``spec`` (raises :class:`LandscapeError` for an invalid spec)."""
        s: NetSpec = parse_spec(spec)
        self.dataset.setCurrentIndex(self.dataset.findData(s.dataset))
        self.csv_path.setText(s.path)
        self.target.setText(s.target)
        self.samples.setValue(s.n)
        if s.noise is not None:
            self.noise.setValue(s.noise)
        self.data_seed.setValue(s.data_seed)
        self.model.setCurrentIndex(self.model.findData(s.model))
        if s.loss:
            self.loss.setCurrentIndex(self.loss.findData(s.loss))
        self.hidden.setText(",".join(str(h) for h in s.hidden))
        self.activation.setCurrentText(s.activation)
        self.seed.setValue(s.seed)
        self.centre.setCurrentIndex(self.centre.findData(s.centre))
        if self.optimizer.findText(s.optimizer) < 0:
            self.optimizer.addItem(s.optimizer)
        self.optimizer.setCurrentText(s.optimizer)
        self.lr.setValue(s.lr)
        self.steps.setValue(s.steps)
        self.span.setValue(s.span)
        self._update_enabled()

    @Slot()
    def request(self) -> None:
        """Validate the settings; emit ``surfaceRequested`` with the canonical spec, or show the error."""
        try:
            canonical = parse_spec(self.spec()).canonical()
        except LandscapeError as exc:
            self.error_label.setText(str(exc))
            return
        self.error_label.setText("")
        self.surfaceRequested.emit(canonical)

    # ------------------------------------------------------------------------------------------
    def _dataset_changed(self) -> None:
        ds = self.dataset.currentData()
        if ds in DEFAULT_NOISE:
            self.noise.setValue(DEFAULT_NOISE[ds])
            self.loss.setCurrentIndex(self.loss.findData(_DEFAULT_LOSS[ds]))
            if ds in ("sine", "line") and self.model.currentData() in ("linear", "rotation"):
                self.model.setCurrentIndex(self.model.findData("mlp"))
        self._update_enabled()

    def _update_enabled(self) -> None:
        csv = self.dataset.currentData() == "csv"
        for w in (self.csv_row, self.target):
            self._set_row_visible(w, csv)
        for w in (self.samples, self.noise, self.data_seed):
            self._set_row_visible(w, not csv)
        mlp = self.model.currentData() == "mlp"
        trained = self.centre.currentData() == "trained"
        for w in (self.hidden, self.activation, self.seed, self.centre, self.span):
            self._set_row_visible(w, mlp)
        for w in (self.optimizer, self.lr, self.steps):
            self._set_row_visible(w, mlp and trained)

    def _set_row_visible(self, field: QWidget, visible: bool) -> None:
        field.setVisible(visible)
        label = self._form.labelForField(field)
        if label is not None:
            label.setVisible(visible)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.csv_path.setText(path)


class NetworkSection(QWidget):
    """The *Network* section: :class:`NetworkPanel`, *Step in full weight space* and its mini-batch
    size and seed.

    Signals:
        fullSpaceChanged(bool, int, int): (on, batch size (0: the full batch), seed).
    """

    fullSpaceChanged = Signal(bool, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network_panel = NetworkPanel()
        self.full_space_box = QCheckBox("Step in full weight space (MLP slices)")
        self.full_space_box.setToolTip(
            "On a slice of a multi-layer perceptron, new runs step every weight of the network and are\n"
            "drawn by their projection onto the plane; the Data tab gives their distance from the plane\n"
            "and the true loss. Off: runs step in the plane (exactly the surface shown)."
        )
        # Mini-batch SGD for full-space runs: 0 = the full batch; the seed fixes which samples each
        # step sees, so the same seed gives the same path.
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 100_000)
        self.batch_spin.setSpecialValueText("full batch")
        self.batch_spin.setToolTip("Samples per step for full-space runs (mini-batch gradients); 0: the whole dataset")
        self.batch_seed_spin = QSpinBox()
        self.batch_seed_spin.setRange(0, 2**31 - 1)
        self.batch_seed_spin.setToolTip("Seed of the mini-batch sampler: the same seed draws the same batches")
        batch_row = QHBoxLayout()
        batch_row.setContentsMargins(18, 0, 0, 0)
        batch_row.addWidget(QLabel("Batch"))
        batch_row.addWidget(self.batch_spin, 1)
        batch_row.addWidget(QLabel("seed"))
        batch_row.addWidget(self.batch_seed_spin, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.network_panel)
        lay.addWidget(self.full_space_box)
        lay.addLayout(batch_row)
        # Combos sized by their longest item ("mean_absolute_percentage_error") would widen the
        # controls past their width; the full name is in the drop-down list and the tooltip.
        for combo in self.network_panel.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentTextChanged.connect(lambda text, c=combo: c.setToolTip(text))
            combo.setToolTip(combo.currentText())
        for w in (self.full_space_box,):
            w.toggled.connect(self._emit)
        self.batch_spin.valueChanged.connect(self._emit)
        self.batch_seed_spin.valueChanged.connect(self._emit)
        self.set_slice_available(False, 0)

    def set_slice_available(self, on: bool, samples: int) -> None:
        """The surface shown is (or is not) an MLP slice with ``samples`` data points."""
        self.full_space_box.setEnabled(on)
        batching = on and self.full_space_box.isChecked()
        self.batch_spin.setEnabled(batching)
        self.batch_seed_spin.setEnabled(batching)
        if on and samples > 0:
            self.batch_spin.setMaximum(samples)

    def _emit(self, *_args) -> None:
        on = self.full_space_box.isChecked()
        self.batch_spin.setEnabled(on and self.full_space_box.isEnabled())
        self.batch_seed_spin.setEnabled(on and self.full_space_box.isEnabled())
        self.fullSpaceChanged.emit(on, self.batch_spin.value(), self.batch_seed_spin.value())


__all__ = ["NetworkPanel", "NetworkSection"]
