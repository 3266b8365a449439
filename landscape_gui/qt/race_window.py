"""The race, shown: small multiples that play in step beside the leaderboard.

One small map per optimizer (best first), each the surface as the main map draws it with that
optimizer's tuned runs from the shared starts; one playback clock
(:attr:`~landscape_gui.qt.model.lessons.RaceModel.playback`, with its own playback bar) moves every
map to the same step, so a fast starter and a slow finisher can be watched side by side. Beside them
the leaderboard: rank, score with the tuned setting and with the defaults, the setting found, what
was searched over which ranges, and how (the sampler, its seed, the budget, the shared starts).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.qt.model.lessons import RaceModel
from landscape_gui.qt.panels.playback_bar import PlaybackBar
from landscape_gui.qt.result_window import ResultWindow
from landscape_gui.qt.views.map_view import COLORMAP

LEADERBOARD_HEADERS = ("rank", "optimizer", "score", "untuned", "tuned setting", "searched")


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class SmallMap(pg.PlotWidget):
    """One optimizer's runs over the surface, drawn up to the shared playback step."""

    def __init__(self, title: str, color: tuple[int, int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        self.plot_item.setTitle(f"<span style='color: #222'>{title}</span>", size="9pt")
        self.plot_item.setAspectLocked(True)
        self.plot_item.hideButtons()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.setMouseEnabled(False, False)
        for ax in ("left", "bottom"):
            self.plot_item.getAxis(ax).setTextPen("k")
            self.plot_item.getAxis(ax).setPen("k")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-100)
        self.plot_item.addItem(self.image)
        self.paths = pg.PlotCurveItem(pen=pg.mkPen(QColor(*color), width=2), connect="finite")
        self.plot_item.addItem(self.paths)
        self.starts = pg.ScatterPlotItem(size=6, symbol="o", pen=pg.mkPen("k"), brush=pg.mkBrush(255, 255, 255))
        self.plot_item.addItem(self.starts)
        self.heads = pg.ScatterPlotItem(size=8, symbol="o", pen=pg.mkPen("k"), brush=pg.mkBrush(QColor(*color)))
        self.plot_item.addItem(self.heads)
        self.runs: list = []
        self.setMinimumSize(160, 160)

    def set_background(self, grid, bounds, log: bool) -> None:
        xs, ys, z = grid
        z = np.asarray(z, dtype=float)
        if log:
            with np.errstate(all="ignore"):
                z = np.log10(z - np.nanmin(z) + 1e-12 * max(np.nanmax(z) - np.nanmin(z), 1e-300))
        finite = z[np.isfinite(z)]
        lo, hi = (np.percentile(finite, 1), np.percentile(finite, 99)) if finite.size else (0.0, 1.0)
        cmap = pg.colormap.get(COLORMAP)
        self.image.setLookupTable(cmap.getLookupTable(nPts=256))
        self.image.setImage(np.nan_to_num(z, nan=hi), levels=(lo, hi if hi > lo else lo + 1))
        xmin, xmax, ymin, ymax = bounds
        self.image.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.plot_item.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0)

    def set_runs(self, runs: list) -> None:
        self.runs = list(runs)
        self.starts.setData(pos=np.array([r.positions[0] for r in runs]) if runs else np.zeros((0, 2)))

    def draw_step(self, step: int) -> None:
        pieces, heads = [], []
        for r in self.runs:
            k = min(step, r.steps)
            pieces.append(r.positions[: k + 1])
            pieces.append(np.full((1, 2), np.nan))
            heads.append(r.positions[k])
        if pieces:
            xy = np.concatenate(pieces)
            self.paths.setData(xy[:, 0], xy[:, 1])
            self.heads.setData(pos=np.array(heads))
        else:
            self.paths.setData([], [])
            self.heads.setData(pos=np.zeros((0, 2)))

    def head_positions(self) -> np.ndarray:
        """Where each run's marker is now (``(n, 2)``)."""
        x, y = self.heads.getData()
        return np.column_stack([x, y])


class RaceWindow(ResultWindow):
    """Small multiples with synchronised playback beside the leaderboard (see the module docstring).

    Signals:
        saveRequested(): the user asked to save the leaderboard as CSV.
    """

    saveRequested = Signal()

    def __init__(self, race: RaceModel, parent: QWidget | None = None) -> None:
        super().__init__("Race", (1280, 680), parent)
        self.race = race
        self.ctl = race.ctl
        lay = self.body
        lay.setContentsMargins(6, 6, 6, 6)
        self.header.setTextFormat(Qt.PlainText)
        self.playback_bar = PlaybackBar(race.playback, self)
        lay.addWidget(self.playback_bar)
        split = QSplitter(Qt.Horizontal)
        self.maps_box = QWidget()
        self.maps_layout = QGridLayout(self.maps_box)
        self.maps_layout.setContentsMargins(0, 0, 0, 0)
        self.maps_layout.setSpacing(4)
        split.addWidget(self.maps_box)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(LEADERBOARD_HEADERS))
        self.table.setHorizontalHeaderLabels(list(LEADERBOARD_HEADERS))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeToContents)
        for col in (4, 5):  # the long texts wrap in the width left over
            hh.setSectionResizeMode(col, QHeaderView.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        hh.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())  # wrapped text stays whole
        rl.addWidget(self.table, 1)
        self.method = QLabel()
        self.method.setWordWrap(True)
        self.method.setTextFormat(Qt.PlainText)
        self.method.setStyleSheet("color: #444;")
        rl.addWidget(self.method)
        self.save_button = QPushButton("Save Leaderboard CSV…")
        self.save_button.setToolTip("The leaderboard as the command line's race writes it: rank, optimizer, "
                                    "objective, score, default score, best setting, ranges searched, trials, method")
        self.save_button.clicked.connect(self.saveRequested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        rl.addLayout(row)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([620, 560])
        self.splitter = split
        lay.addWidget(split, 1)
        self.maps: list[SmallMap] = []
        race.playback.stepChanged.connect(self.draw_step)
        race.finished.connect(self.refresh)

    def refresh(self) -> None:
        """Show the race model's result."""
        from landscape_gui.core.race import OBJECTIVES

        result = self.race.result
        for m in self.maps:
            m.setParent(None)
            m.deleteLater()
        self.maps = []
        self.table.setRowCount(0)
        if result is None:
            self.header.setText("No race yet: Runs ▸ Race…")
            return
        surface = self.race.surface
        self.header.setText(
            f"{surface.title or surface.name}: objective {result.objective} ({OBJECTIVES[result.objective]}), "
            f"{result.steps} steps, {len(result.starts)} starts; best first.")
        n = len(result.entries)
        cols = math.ceil(math.sqrt(n))
        for k, e in enumerate(result.entries):
            m = SmallMap(f"{e.rank}. {e.optimizer}: {e.score:.4g}", self.ctl.optimizer_color(e.optimizer))
            m.set_background(self.race.grid, self.race.bounds, self.race.log_height)
            m.set_runs(e.runs)
            self.maps_layout.addWidget(m, k // cols, k % cols)
            self.maps.append(m)
        self.table.setRowCount(n)
        for row, e in enumerate(result.entries):
            setting = ", ".join(f"{r.name}={_fmt(e.best[r.name])}" for r in e.tuned) or "defaults (nothing to tune)"
            searched = "; ".join(r.text() for r in e.tuned) or "nothing"
            cells = (str(e.rank), e.optimizer, f"{e.score:.6g}", f"{e.default_score:.6g}", setting,
                     f"{searched}; {e.trials} trials")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 1:
                    item.setForeground(QColor(*self.ctl.optimizer_color(e.optimizer)))
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()
        self.method.setText(f"How: {result.method}. Each optimizer's score is the objective with its best "
                            f"setting; 'untuned' is trial 1, the setting the window had when the race started.")
        self.draw_step(self.race.playback.step)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.table.resizeRowsToContents()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        QTimer.singleShot(0, self.table.resizeRowsToContents)  # once the columns have their widths

    def draw_step(self, step: int) -> None:
        for m in self.maps:
            m.draw_step(step)


__all__ = ["LEADERBOARD_HEADERS", "RaceWindow", "SmallMap"]
