"""Loss curves: loss (and optionally gradient norm) against step for the runs on screen.

The picture people compare optimizers by. Same colours as the paths, log scale on request, a
vertical cursor at the playback step. Curves are grouped by colour (one item per colour, NaN
separated) and thinned to at most ~400 points per run, so 1,000 runs stay cheap. With "Learning
rate" checked, the learning rate the schedule gives each optimizer step (the controller's
``learning_rates``) is drawn against step on a right-hand axis, one dash-dotted curve per optimizer
on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QVBoxLayout, QWidget

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import Run
from landscape_gui.qt.theme import AXIS, PLOT_BACKGROUND, TEXT
from landscape_gui.qt.views.paths import build_paths
from landscape_gui.qt.views.ticks import TEXT_FILL_LIMITS, LogAxis

MAX_POINTS = 400


class LossView(QWidget):
    """Loss / gradient-norm against step, with a playback cursor."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = controller
        # Light, like the map and the 3-D view: one theme, whose run palette reads on it.
        self.plot = pg.PlotWidget(background=PLOT_BACKGROUND, axisItems={"left": LogAxis("left")})
        self.plot_item = self.plot.getPlotItem()
        self.plot_item.setLabel("bottom", "step")
        self.plot_item.setLabel("left", "loss")
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.plot_item.hideButtons()
        for ax in ("left", "bottom"):
            # Plain numbers: an SI prefix on a log axis reads as "loss (x0.001)" next to 10^2 ticks.
            self.plot_item.getAxis(ax).enableAutoSIPrefix(False)
            self.plot_item.getAxis(ax).setTextPen(TEXT)
            self.plot_item.getAxis(ax).setPen(AXIS)
            self.plot_item.getAxis(ax).setStyle(textFillLimits=TEXT_FILL_LIMITS)
            # the axes draw the grid across the plot: repaint them from a pixmap as the cursor moves
            self.plot_item.getAxis(ax).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(90, 90, 90, width=1, style=Qt.DashLine))
        self.plot_item.addItem(self.cursor, ignoreBounds=True)
        self.log_box = QCheckBox("Log scale")
        self.log_box.setToolTip("Logarithmic loss axis (non-positive losses are left out)")
        self.log_box.setChecked(True)
        self.grad_box = QCheckBox("Gradient norm")
        self.grad_box.setToolTip("Also plot |∇f| against step (dashed)")
        self.lr_box = QCheckBox("Learning rate")
        self.lr_box.setObjectName("showLearningRate")
        self.lr_box.setToolTip("Also plot the learning rate of each step (right axis, dash-dotted): the "
                               "schedule in force")
        self.lr_view = pg.ViewBox()
        self.lr_view.setMouseEnabled(x=False, y=False)
        self.plot_item.scene().addItem(self.lr_view)
        right = self.plot_item.getAxis("right")
        right.linkToView(self.lr_view)
        right.setLabel("learning rate")
        right.setTextPen(TEXT)
        right.setPen(AXIS)
        right.enableAutoSIPrefix(False)
        self.lr_view.setXLink(self.plot_item)
        self.plot_item.vb.sigResized.connect(lambda: self.lr_view.setGeometry(self.plot_item.vb.sceneBoundingRect()))
        self.lr_curves: list[pg.PlotCurveItem] = []
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.log_box)
        bar.addWidget(self.grad_box)
        bar.addWidget(self.lr_box)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot)
        self._items: list[pg.PlotCurveItem] = []
        self._spare: list[pg.PlotCurveItem] = []
        self._label = ""
        self._legend_entries: list | None = None
        self.legend = self.plot_item.addLegend(offset=(-10, 10), labelTextColor=(230, 230, 230), brush=pg.mkBrush(30, 32, 38, 210))
        self.log_box.toggled.connect(self.rebuild)
        self.grad_box.toggled.connect(self.rebuild)
        self.lr_box.toggled.connect(self.rebuild)
        controller.scheduleChanged.connect(self.rebuild)
        controller.hyperparametersChanged.connect(lambda _name: self.lr_box.isChecked() and self.rebuild())
        controller.runsChanged.connect(self.rebuild)
        controller.colorsChanged.connect(self.rebuild)
        controller.selectionChanged.connect(self.rebuild)
        controller.surfaceChanged.connect(self.rebuild)
        # the cursor follows playback at up to ~20 Hz: plenty for the eye, and the plot is not
        # repainted for every one of the clock's frames
        self._cursor_step = 0
        self._cursor_timer = QTimer(self)
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.setInterval(50)
        self._cursor_timer.timeout.connect(lambda: self.cursor.setValue(self._cursor_step))
        controller.playback.stepChanged.connect(self._step_changed)
        self.cursor.setValue(controller.playback.step)  # made mid-session (on first show): where playback is
        self.rebuild()

    def _step_changed(self, step: int) -> None:
        self._cursor_step = step
        if not self.ctl.playback.playing:
            self._cursor_timer.stop()
            self.cursor.setValue(step)
        elif not self._cursor_timer.isActive():
            self._cursor_timer.start()

    def curves(self) -> list[pg.PlotCurveItem]:
        return list(self._items)

    def rebuild(self) -> None:
        # curve items are reused (new data, pen and z) rather than made anew: creating, adding and
        # removing pyqtgraph items was most of a rebuild's cost, paid on every click
        self._spare = self._items[::-1]
        self._items = []
        runs = self.ctl.runs
        log = self.log_box.isChecked()
        self.plot_item.setLogMode(x=False, y=log)
        self.plot_item.getAxis("right").setLogMode(False, False)  # the learning rate keeps a linear axis
        # a log axis needs positive values: when losses reach zero or below (peaks, Styblinski-Tang),
        # plot the distance to the lowest loss seen (the grid's or a run's), as the map does
        offset = 0.0
        if log and runs:
            lowest = min(float(np.nanmin(r.losses)) if np.isfinite(r.losses).any() else np.inf for r in runs)
            z = self.ctl.grid[2]
            grid_low = float(np.nanmin(z)) if np.isfinite(z).any() else lowest
            if lowest <= 0:
                low = min(lowest, grid_low)
                span = float(np.nanmax(z)) - low if np.isfinite(z).any() else 1.0
                offset = low - 1e-9 * max(span, 1e-300)
        loss_label = "loss" if offset == 0.0 else "loss − min"
        # runs off the plane (full weight space, or re-projected onto a new plane): their true loss too
        off_plane = [r for r in runs if "true_loss" in (r.extras or {})]
        tip = ("Dotted: the true loss of runs off the plane (at their own weights), beside the plane's loss at "
               "their projection" if off_plane else "")
        if tip != self.plot.toolTip():
            self.plot.setToolTip(tip)
        label = f"{loss_label}, |∇f|" if self.grad_box.isChecked() else loss_label
        if label != self._label:
            self._label = label
            self.plot_item.setLabel("left", label)
        if runs:
            self._add_series(runs, lambda r: r.losses - offset, Qt.SolidLine, log)
        if off_plane:
            self._add_series(off_plane, lambda r: np.asarray(r.extras["true_loss"], dtype=float) - offset, Qt.DotLine, log)
            if self.grad_box.isChecked():
                self._add_series(runs, lambda r: r.grad_norms(), Qt.DashLine, log)
        for it in self._spare:
            self.plot_item.removeItem(it)
        self._spare = []
        self._draw_learning_rates(runs)
        entries = self.ctl.color_legend()
        if entries != self._legend_entries:  # laying out the legend anew costs milliseconds
            self._legend_entries = entries
            self.legend.clear()
            for name, color in entries:
                sample = pg.PlotDataItem(pen=pg.mkPen(QColor(*color), width=2))
                self.legend.addItem(sample, name)
            self.legend.setVisible(bool(entries))
        self.cursor.setValue(self.ctl.playback.step)
        if runs:
            self.plot_item.enableAutoRange()
        else:  # an empty plot still shows a sensible frame: the step budget, a few decades of loss
            self.plot_item.disableAutoRange()
            self.plot_item.setXRange(0, max(self.ctl.max_steps, 1), padding=0.02)
            self.plot_item.setYRange(*((-3, 3) if log else (0, 1)), padding=0.02)

    def _draw_learning_rates(self, runs: list[Run]) -> None:
        for it in self.lr_curves:
            self.lr_view.removeItem(it)
        self.lr_curves = []
        on = self.lr_box.isChecked()
        self.plot_item.showAxis("right", on)
        if not on:
            return
        names = list(dict.fromkeys(r.optimizer for r in runs)) or [self.ctl.optimizer]
        steps = max([r.steps for r in runs if r.optimizer in names] + [1]) if runs else self.ctl.max_steps
        many = len(names) > 1
        for name in names:
            try:
                lr = self.ctl.learning_rates(name, steps)
            except LandscapeError:
                continue
            color = self.ctl.optimizer_color(name) if many else (60, 60, 60)
            item = pg.PlotCurveItem(np.arange(1, len(lr) + 1), lr,
                                    pen=pg.mkPen(QColor(*color), width=1.6, style=Qt.DashDotLine))
            self.lr_view.addItem(item)
            self.lr_curves.append(item)
        self.lr_view.enableAutoRange(axis=pg.ViewBox.YAxis)
        self.lr_view.setGeometry(self.plot_item.vb.sceneBoundingRect())

    def learning_rate_curves(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(steps, learning rates)`` of each learning-rate curve drawn."""
        return [(np.asarray(it.xData), np.asarray(it.yData)) for it in self.lr_curves]

    def _add_series(self, runs: list[Run], value, style, log: bool) -> None:
        tmp = [Run(r.id, np.column_stack([np.arange(len(r.losses)), value(r)]), value(r), r.grads, r.status, r.optimizer) for r in runs]
        paths = build_paths(tmp, 1, 1, max_points=MAX_POINTS)
        sel = set(self.ctl.selected)
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(runs):
            groups.setdefault((tuple(self.ctl.color_of(r)), r.id in sel), []).append(i)
        for (color, selected), members in groups.items():
            mask = np.zeros(len(runs), dtype=bool)
            mask[members] = True
            xy, _, _ = paths.separated(mask)
            y = xy[:, 1]
            if log:
                with np.errstate(all="ignore"):
                    y = np.log10(np.where(y > 0, y, np.nan))  # the axis is in log mode: data in decades
            pen = pg.mkPen(QColor(*color), width=3 if selected else 1.4, style=style)
            if self._spare:
                item = self._spare.pop()
                item.setData(xy[:, 0], y, pen=pen, connect="finite")
            else:
                item = pg.PlotCurveItem(xy[:, 0], y, pen=pen, connect="finite")
                # the playback cursor moves every frame: repaint curves from a pixmap, not path by path
                item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
                self.plot_item.addItem(item)
            item.setZValue(2 if selected else 1)
            self._items.append(item)
