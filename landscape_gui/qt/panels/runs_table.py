"""The runs table: a Qt model over the controller's runs and its view.

Columns: id (with the run's colour), optimizer, start, end, final loss, steps, status, minimum (the
id of the minimum the run settled in, ``run.minimum``, filled by the minima analysis). Sorting is by
the underlying number, not the text. Selecting rows selects runs everywhere; Delete removes them
(undoable).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from landscape_gui.core.runs import CONVERGED, DIVERGED, Run

_SWATCHES: dict[tuple[int, int, int], QIcon] = {}


def _swatch(rgb: tuple[int, int, int]) -> QIcon:
    """A run's colour as a small square with a dark border (white and yellow paths stay visible)."""
    rgb = tuple(int(v) for v in rgb[:3])
    icon = _SWATCHES.get(rgb)
    if icon is None:
        pm = QPixmap(14, 14)
        pm.fill(Qt.transparent)
        p = QPainter(pm)
        p.setPen(QColor(60, 60, 60))
        p.setBrush(QColor(*rgb))
        p.drawRect(1, 1, 11, 11)
        p.end()
        icon = _SWATCHES[rgb] = QIcon(pm)
    return icon

COLUMNS = ("id", "optimizer", "start", "end", "final loss", "steps", "status", "minimum")
SORT_ROLE = Qt.UserRole + 1


def _xy(p: tuple[float, float]) -> str:
    return f"({p[0]:.4g}, {p[1]:.4g})"


_ROLES = frozenset({Qt.DisplayRole, SORT_ROLE, Qt.DecorationRole, Qt.ForegroundRole, Qt.TextAlignmentRole,
                    Qt.ToolTipRole})
"""The roles :meth:`RunsModel.data` answers."""


class RunsModel(QAbstractTableModel):
    """Table model of ``controller.runs`` (rows in id order)."""

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.ctl = controller
        self._runs: list[Run] = controller.runs
        self._text: dict[int, tuple[str, ...]] = {}
        controller.runsChanged.connect(self.refresh)
        controller.colorsChanged.connect(self.refresh)

    def refresh(self) -> None:
        self.beginResetModel()
        self._runs = self.ctl.runs
        self._text.clear()
        self.endResetModel()

    def _texts(self, row: int) -> tuple[str, ...]:
        """The row's cell texts, formatted once per reset (a repaint asks for each of them)."""
        texts = self._text.get(row)
        if texts is None:
            r = self._runs[row]
            texts = (
                f"{r.id}{'  (file)' if self.ctl.is_overlay(r.id) else ''}", r.optimizer, _xy(r.start), _xy(r.end),
                f"{r.final_loss:.6g}", str(r.steps), r.status, "" if r.minimum is None else str(r.minimum),
            )
            self._text[row] = texts
        return texts

    def run_at(self, row: int) -> Run:
        return self._runs[row]

    def row_of(self, run_id: int) -> int:
        for i, r in enumerate(self._runs):
            if r.id == run_id:
                return i
        return -1

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return {
                "minimum": "Id of the minimum the run settled in (from the minima analysis)",
                "steps": "Steps taken (the start is step 0)",
                "status": "converged: |∇f| ≤ tolerance; diverged: non-finite or far outside; max_steps: still moving",
            }.get(COLUMNS[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if role not in _ROLES or not index.isValid():  # a painted cell asks for ~8 roles
            return None
        if role == Qt.DisplayRole:
            return self._texts(index.row())[index.column()]
        r = self._runs[index.row()]
        col = COLUMNS[index.column()]
        if role == SORT_ROLE:
            return {
                "id": r.id, "optimizer": r.optimizer, "start": r.start, "end": r.end,
                "final loss": r.final_loss if r.final_loss == r.final_loss else float("inf"),
                "steps": r.steps, "status": r.status, "minimum": -1 if r.minimum is None else r.minimum,
            }[col]
        if role == Qt.DecorationRole and col == "id":
            return _swatch(self.ctl.color_of(r))
        if role == Qt.ForegroundRole and col == "status":
            return QBrush(QColor(176, 0, 32) if r.status == DIVERGED else QColor(0, 110, 0) if r.status == CONVERGED else QColor(150, 90, 0))
        if role == Qt.TextAlignmentRole and col in ("id", "final loss", "steps", "minimum"):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ToolTipRole:
            params = ", ".join(f"{k}={v}" for k, v in r.params.items())
            return f"run {r.id}: {r.optimizer}({params}) on {r.surface}"
        return None


class RunsTable(QTableView):
    """The runs table; selection is two-way synchronised with the controller."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = controller
        self.model_ = RunsModel(controller, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model_)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.horizontalHeader().setStretchLastSection(True)
        for col, w in zip(range(len(COLUMNS)), (56, 84, 136, 136, 92, 48, 80, 64)):
            self.setColumnWidth(col, w)
        self.setToolTip("Select runs to highlight them in every view; Delete removes them (Undo brings them back)")
        self._syncing = False
        self.selectionModel().selectionChanged.connect(self._selection_edited)
        controller.selectionChanged.connect(self._sync_selection)
        self.model_.modelReset.connect(self._sync_selection)
        self.model_.modelReset.connect(self.fit_columns)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Widen the id, start and end columns to their longest text (ids past 1000, file runs,
        far-away ends), never narrower than their titles; the user may still drag them."""
        fm = self.fontMetrics()
        runs = self.model_._runs
        pad = 2 * self.style().pixelMetric(QStyle.PM_FocusFrameHMargin) + 14
        ids = [f"{r.id}{'  (file)' if self.ctl.is_overlay(r.id) else ''}" for r in runs[-200:]] or ["1"]
        icon = self.iconSize().width() if self.iconSize().width() > 0 else 16
        self.setColumnWidth(0, max(56, max(fm.horizontalAdvance(t) for t in ids) + icon + pad + 18))
        for col, pick in ((2, lambda r: r.start), (3, lambda r: r.end)):
            texts = [_xy(pick(r)) for r in runs[-200:]] or ["(0, 0)"]
            self.setColumnWidth(col, max(fm.horizontalAdvance(COLUMNS[col]) + pad,
                                         max(fm.horizontalAdvance(t) for t in texts) + pad))

    def selected_ids(self) -> list[int]:
        rows = {self.proxy.mapToSource(i).row() for i in self.selectionModel().selectedRows()}
        return [self.model_.run_at(r).id for r in sorted(rows)]

    def _selection_edited(self, *_args) -> None:
        if not self._syncing:
            self.ctl.select(self.selected_ids())

    def _sync_selection(self) -> None:
        self._syncing = True
        try:
            sel = QItemSelection()
            for rid in self.ctl.selected:
                row = self.model_.row_of(rid)
                if row >= 0:
                    a = self.proxy.mapFromSource(self.model_.index(row, 0))
                    b = self.proxy.mapFromSource(self.model_.index(row, len(COLUMNS) - 1))
                    sel.select(a, b)
            self.selectionModel().select(sel, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
            if self.ctl.selected:
                row = self.model_.row_of(self.ctl.selected[0])
                if row >= 0:
                    self.scrollTo(self.proxy.mapFromSource(self.model_.index(row, 0)))
        finally:
            self._syncing = False

    def keyPressEvent(self, ev) -> None:
        if ev.matches(QKeySequence.Delete) or ev.key() == Qt.Key_Backspace:
            self.ctl.remove_runs(self.selected_ids())
            return
        super().keyPressEvent(ev)
