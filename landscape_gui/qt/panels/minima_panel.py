"""The "Where runs settled" panel: minima table, basin controls, legend and comparison result.

One row per critical point the runs revealed: its colour, id, kind, location, loss, how many runs
ended there and, when a basin map exists, the share of the domain whose starts end there. Clicking a
row emits :attr:`MinimaPanel.minimumSelected` with the id; the controller selects that minimum's runs.
The panel only displays what it is given (``set_points``, ``set_run_counts``, ``set_basin_fractions``);
it never computes.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QToolButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.qt.model.minima import RESOLUTIONS, BasinMap, CriticalPoint
from landscape_gui.qt.theme import minimum_color, share_text


def _num(v: float, digits: int = 6) -> str:
    return f"{v:.{digits}g}"


class MinimaPanel(QWidget):
    """Table of the critical points runs settled in; emits ``minimumSelected(id)`` on a click."""

    minimumSelected = Signal(int)

    COLUMNS = ("", "#", "kind", "x", "y", "loss", "runs", "share")
    TIPS = ("", "Id of the critical point (the runs table's minimum column)",
            "minimum, saddle, maximum or degenerate (Hessian test); global: the lowest minimum",
            "Location (refined by Newton steps)", "Location (refined by Newton steps)", "Loss at the point",
            "Runs on screen that ended here", "Share of the basin map's starts that end here")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[CriticalPoint] = []
        self._counts: dict[int, int] = {}
        self._fractions: dict[int, float] | None = None
        self.title = QLabel("Where runs settled")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.empty = QLabel("No run has settled yet: converged runs and basin maps fill this table.")
        self.empty.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        for col, tip in enumerate(self.TIPS):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(12)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 14)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setToolTip("Click a row to select the runs that settled there")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.empty)
        layout.addWidget(self.table)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._refresh()

    # -- model --------------------------------------------------------------------------------------
    def set_points(
        self,
        points: Sequence[CriticalPoint],
        run_counts: Mapping[int, int] | None = None,
        basin_fractions: Mapping[int, float] | None = None,
    ) -> None:
        """Show ``points`` (by id) with the runs that ended at each and, optionally, basin shares."""
        self._points = sorted(points, key=lambda c: c.id)
        if run_counts is not None:
            self._counts = dict(run_counts)
        if basin_fractions is not None:
            self._fractions = dict(basin_fractions)
        self._refresh()

    def set_run_counts(self, run_counts: Mapping[int, int]) -> None:
        self._counts = dict(run_counts)
        self._refresh()

    def set_basin_fractions(self, fractions: Mapping[int, float] | None) -> None:
        """Basin share per id (``None``: no basin map; the column shows a dash)."""
        self._fractions = None if fractions is None else dict(fractions)
        self._refresh()

    def select_minimum(self, ident: int | None) -> None:
        """Highlight the row of ``ident`` (no signal: the caller already knows)."""
        self.table.blockSignals(True)
        try:
            self.table.clearSelection()
            for row, c in enumerate(self._points):
                if c.id == ident:
                    self.table.selectRow(row)
        finally:
            self.table.blockSignals(False)

    def row_of(self, ident: int) -> int:
        for row, c in enumerate(self._points):
            if c.id == ident:
                return row
        raise KeyError(ident)

    # -- view ---------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(self._points))
            for row, c in enumerate(self._points):
                swatch = QTableWidgetItem("")
                swatch.setBackground(minimum_color(c.id))
                kind = "global min" if c.is_global else c.kind
                share = "–" if self._fractions is None else share_text(self._fractions.get(c.id, 0.0))
                cells = [swatch, QTableWidgetItem(str(c.id)), QTableWidgetItem(kind), QTableWidgetItem(_num(c.x, 4)),
                         QTableWidgetItem(_num(c.y, 4)), QTableWidgetItem(_num(c.loss, 3)),
                         QTableWidgetItem(str(self._counts.get(c.id, 0))), QTableWidgetItem(share)]
                tip = (f"#{c.id} {c.kind}{' (global)' if c.is_global else ''} at ({c.x:.10g}, {c.y:.10g}), "
                       f"loss {c.loss:.10g}: click to select its runs")
                for col, item in enumerate(cells):
                    item.setToolTip(tip)
                    if col >= 3:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.setData(Qt.ItemDataRole.UserRole, c.id)
                    self.table.setItem(row, col, item)
        finally:
            self.table.blockSignals(False)
        self.empty.setVisible(not self._points)

    def _selection_changed(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) == 1:
            self.minimumSelected.emit(self._points[rows.pop()].id)


class BasinLegend(QWidget):
    """Colour, id, kind and share of each basin of the current map; a line for "no minimum"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self.rows: list[tuple[int | None, str, str]] = []
        self.set_map(None)

    def set_map(self, bmap: BasinMap | None) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.rows = []
        if bmap is None:
            self._grid.addWidget(QLabel("No basin map yet."), 0, 0, 1, 3)
            return
        fr = bmap.fractions()
        for c in bmap.points():
            self.rows.append((c.id, f"#{c.id} {c.kind} ({c.x:.4g}, {c.y:.4g})", share_text(fr[c.id])))
        none = 1.0 - bmap.labelled_share()
        if none > 0:
            self.rows.append((None, "no minimum", share_text(none)))
        for row, (ident, text, share) in enumerate(self.rows):
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background-color: {minimum_color(ident).name()}; border: 1px solid #555;")
            self._grid.addWidget(swatch, row, 0)
            self._grid.addWidget(QLabel(text), row, 1)
            self._grid.addWidget(QLabel(share), row, 2)


class SettleWidget(QWidget):
    """The dock's contents: the minima table, basin controls, legend and the comparison result."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panel = MinimaPanel()
        self.basin_button = QToolButton()
        self.compare_button = QToolButton()
        self.resolution_box = QComboBox()
        for r in RESOLUTIONS:
            self.resolution_box.addItem(f"{r} × {r}", r)
        self.resolution_box.setToolTip("Starts per side of the basin map (one run from every cell centre)")
        self.legend = BasinLegend()
        self.compare_label = QLabel("")
        self.compare_label.setWordWrap(True)
        self.compare_label.hide()
        box = QGroupBox("Basins of attraction")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.basin_button)
        row.addWidget(self.resolution_box)
        row.addWidget(self.compare_button)
        row.addStretch(1)
        bl = QVBoxLayout(box)
        bl.setContentsMargins(6, 4, 6, 4)
        bl.addLayout(row)
        bl.addWidget(self.compare_label)
        bl.addWidget(self.legend)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.panel, 1)
        lay.addWidget(box)


__all__ = ["BasinLegend", "MinimaPanel", "RESOLUTIONS", "SettleWidget", "minimum_color", "share_text"]
