"""File ▸ Export Figure: what to save (map, 3-D view, loss curves, window), the size and the format."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

FIGURES = (("map", "2-D map"), ("surface", "3-D view"), ("loss", "Loss curves"), ("window", "Whole window"))
SCALES = (1.0, 2.0, 4.0)
FORMATS = (("png", "PNG image"), ("svg", "SVG vector drawing"), ("pdf", "PDF vector drawing"))
VECTOR = ("map", "loss")


class ExportFigureDialog(QDialog):
    """Asks for a figure, a scale (1×, 2×, 4× the size on screen, pixel sizes shown) and a file."""

    def __init__(self, window, size_of, parent: QWidget | None = None) -> None:
        """``size_of(window, which, scale) -> QSize``: the pixel size of a figure at a scale."""
        super().__init__(parent or window)
        self.window = window
        self.size_of = size_of
        self.setWindowTitle("Export figure")
        form = QFormLayout(self)
        self.what = QComboBox()
        for key, label in FIGURES:
            self.what.addItem(label, key)
        self.format = QComboBox()
        self.scale = QComboBox()
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.note = QLabel()
        self.note.setWordWrap(True)
        form.addRow("Figure", self.what)
        form.addRow("Format", self.format)
        form.addRow("Size", self.scale)
        form.addRow("File", row)
        form.addRow(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.what.currentIndexChanged.connect(self._update)
        self.format.currentIndexChanged.connect(self._update_size)
        browse.clicked.connect(self._browse)
        self._update()

    def _update(self) -> None:
        which = self.what.currentData()
        self.format.blockSignals(True)
        self.format.clear()
        for key, label in FORMATS:
            if key == "png" or which in VECTOR:
                self.format.addItem(label, key)
        self.format.blockSignals(False)
        self._update_size()

    def _update_size(self) -> None:
        which, fmt = self.what.currentData(), self.format.currentData()
        self.scale.clear()
        if fmt == "png":
            for s in SCALES:
                size = self.size_of(self.window, which, s)
                self.scale.addItem(f"{s:g}× ({size.width()} × {size.height()} px)", s)
            self.scale.setCurrentIndex(1)
            self.scale.setEnabled(True)
            self.note.setText("PNG is drawn afresh at the chosen size (the 3-D view is rendered offscreen).")
        else:
            self.scale.addItem("vector (any size)", 1.0)
            self.scale.setEnabled(False)
            self.note.setText(f"{fmt.upper()} keeps lines and text as vectors.")
        stem = self.path.text().rsplit(".", 1)[0] if self.path.text() else which
        self.path.setText(f"{stem}.{fmt}")

    def _browse(self) -> None:
        fmt = self.format.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", self.path.text(), f"{fmt.upper()} (*.{fmt})")
        if path:
            self.path.setText(path)

    def ask(self) -> tuple[str, str, float] | None:
        if self.exec() != QDialog.Accepted or not self.path.text().strip():
            return None
        return self.what.currentData(), self.path.text().strip(), float(self.scale.currentData())


__all__ = ["ExportFigureDialog"]
