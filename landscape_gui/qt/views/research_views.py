"""Plots and overlays of the researchers' instruments; they draw results the model computed.

* :class:`SharpnessView`: λ_max of the selected run against step, beside the 2/lr line (and, for
  Adam-family optimizers, the preconditioned sharpness and its own threshold), with the playback
  cursor; a check box turns it on (``enabledChanged``).
* :class:`ProfilePlot`: the loss along a straight segment (with its highest point) and along a
  minimum-energy path (saddles marked), both against the share of the way from start to end.
* :class:`SpectrumPlot`: a histogram of Hessian eigenvalues.
* :class:`MapInstruments`, :class:`SurfaceInstruments`: the profile's segment and the
  minimum-energy path with its saddles, on the 2-D map and on the 3-D surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from landscape_gui.qt.theme import AXIS, PLOT_BACKGROUND, TEXT
from landscape_gui.qt.views.ticks import TEXT_FILL_LIMITS, LogAxis

PROFILE_RGB = (20, 20, 20)
"""The straight-line profile: black, dashed on the map."""
PATH_RGB = (255, 110, 0)
"""The minimum-energy path: orange."""
SADDLE_RGB = (230, 0, 60)
"""Saddle markers."""
EOS_RGB = (235, 40, 40)
"""Cells where plain gradient descent is unstable."""


def _style(plot_item: pg.PlotItem, bottom: str, left: str) -> None:
    plot_item.setLabel("bottom", bottom)
    plot_item.setLabel("left", left)
    plot_item.showGrid(x=True, y=True, alpha=0.25)
    plot_item.hideButtons()
    for ax in ("left", "bottom"):
        a = plot_item.getAxis(ax)
        a.enableAutoSIPrefix(False)
        a.setTextPen(TEXT)
        a.setPen(AXIS)
        a.setStyle(textFillLimits=TEXT_FILL_LIMITS)


class SharpnessView(QWidget):
    """λ_max against step for the selected run (see the module docstring).

    Signals:
        enabledChanged(bool): the user switched the plot on or off.
    """

    enabledChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Sharpness λ_max vs 2/lr")
        self.check.setToolTip("The largest Hessian eigenvalue at every step of the selected run, beside the\n"
                              "2/lr line above which plain gradient descent is unstable (Cohen et al. 2021);\n"
                              "for Adam, RMSprop and Adagrad also the preconditioned sharpness (Cohen et al. 2022)")
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.PlainText)
        self.caption.setStyleSheet("color: #333;")
        self.log_box = QCheckBox("Log")
        self.log_box.setToolTip("Logarithmic λ axis (negative λ_max, at non-convex points, are left out)")
        self.plot = pg.PlotWidget(background=PLOT_BACKGROUND, axisItems={"left": LogAxis("left")})
        self.plot_item = self.plot.getPlotItem()
        _style(self.plot_item, "step", "λ_max")
        self.plot.setMinimumHeight(90)
        self.curve = pg.PlotCurveItem(name="λ_max(H)")
        self.pre_curve = pg.PlotCurveItem(name="λ_max(P⁻¹H)")
        self.limit = pg.PlotCurveItem(pen=pg.mkPen(90, 90, 90, width=1.5, style=Qt.DashLine), name="2/lr")
        self.opt_limit = pg.PlotCurveItem(pen=pg.mkPen(90, 90, 90, width=1.2, style=Qt.DotLine), name="optimizer's limit")
        for item in (self.limit, self.opt_limit, self.curve, self.pre_curve):
            self.plot_item.addItem(item)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(90, 90, 90, width=1, style=Qt.DashLine))
        self.plot_item.addItem(self.cursor, ignoreBounds=True)
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(self.check)
        row.addStretch(1)
        row.addWidget(self.log_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        self.series: Any = None
        self._shown: tuple = (None, None, None, "")
        self.check.toggled.connect(self._toggled)
        self.log_box.toggled.connect(lambda _on: self.set_series(*self._shown))
        self._toggled(False)

    def _toggled(self, on: bool) -> None:
        self.plot.setVisible(on)
        self.caption.setVisible(on)
        self.log_box.setVisible(on)
        self.enabledChanged.emit(on)

    def _y(self, values: np.ndarray) -> np.ndarray:
        """Values as drawn: decades on a log axis (non-positive ones left out)."""
        v = np.asarray(values, dtype=float)
        if not self.log_box.isChecked():
            return v
        with np.errstate(all="ignore"):
            return np.log10(np.where(v > 0, v, np.nan))

    def set_message(self, text: str) -> None:
        self.caption.setText(text)

    def set_series(self, run_id: int | None, color: tuple[int, int, int] | None, series: Any, optimizer: str = "") -> None:
        """Show ``series`` (a :class:`~landscape_gui.core.sharpness.SharpnessSeries`) of run ``run_id``
        drawn in ``color``; ``None`` clears the plot."""
        self.series = series
        self._shown = (run_id, color, series, optimizer)
        self.plot_item.setLogMode(x=False, y=self.log_box.isChecked())
        if series is None:
            for c in (self.curve, self.pre_curve, self.limit, self.opt_limit):
                c.setData([], [])
            self.plot_item.setTitle(None)
            self.caption.setText("Select a run to see its sharpness at every step." if run_id is None
                                 else f"Computing the sharpness of run {run_id}…")
            return
        steps = np.asarray(series.steps, dtype=float)
        color = QColor(*(color or (0, 0, 0)))
        y = self._y
        self.curve.setData(steps, y(series.sharpness), pen=pg.mkPen(color, width=2), connect="finite")
        self.limit.setData(steps, y(series.threshold))
        rgb = (color.red(), color.green(), color.blue())
        key = [f"<span style='color: rgb{rgb}'>━</span> λ_max", "<span style='color: #5a5a5a'>╍</span> 2/lr"]
        if series.preconditioned is not None:
            self.pre_curve.setData(steps, y(series.preconditioned), pen=pg.mkPen(color, width=2, style=Qt.DashLine),
                                   connect="finite")
            self.opt_limit.setData(steps, y(series.optimizer_threshold))
            key += [f"<span style='color: rgb{rgb}'>╍</span> λ_max(P⁻¹H)",
                    f"<span style='color: #5a5a5a'>┄</span> {optimizer} limit"]
        else:
            self.pre_curve.setData([], [])
            differs = not np.allclose(series.optimizer_threshold, series.threshold)
            self.opt_limit.setData(steps if differs else [], y(series.optimizer_threshold) if differs else [])
            if differs:
                key.append(f"<span style='color: #5a5a5a'>┄</span> {optimizer} limit")
        self.plot_item.setTitle(f"<span style='color: #222'>{'&nbsp; '.join(key)}</span>", size="8pt")
        label = self.plot_item.titleLabel  # the key must not widen the plot past its dock
        label.setMinimumWidth(0)
        hint = getattr(label, "_sizeHint", None)
        if isinstance(hint, dict):
            for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
                if which in hint:
                    hint[which] = (0, hint[which][1])
        label.updateGeometry()
        above = int(np.count_nonzero(series.unstable()))
        where = "full weight-space" if series.full_space else "2×2 surface"
        self.caption.setText(f"Run {run_id} ({optimizer}), {where} Hessian: λ_max above 2/lr at {above} of "
                             f"{len(steps)} steps, largest {float(np.nanmax(series.sharpness)):.4g}")
        self.caption.setToolTip("λ_max(H): the largest Hessian eigenvalue; 2/lr: plain gradient descent's "
                                "stability limit; λ_max(P⁻¹H): the preconditioned sharpness of adaptive "
                                "optimizers, against their own limit (Cohen et al. 2021, 2022)")
        self.plot_item.enableAutoRange()

    def set_step(self, step: int) -> None:
        self.cursor.setValue(step)


class ProfilePlot(pg.PlotWidget):
    """Loss along a straight segment and along a minimum-energy path (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=PLOT_BACKGROUND)
        self.plot_item = self.getPlotItem()
        _style(self.plot_item, "share of the way from start to end", "loss")
        self.profile_curve = pg.PlotCurveItem(pen=pg.mkPen(*PROFILE_RGB, width=2))
        self.peak = pg.ScatterPlotItem(size=10, symbol="t", pen=pg.mkPen("k"), brush=pg.mkBrush(*PROFILE_RGB))
        self.path_curve = pg.PlotCurveItem(pen=pg.mkPen(*PATH_RGB, width=2))
        self.images = pg.ScatterPlotItem(size=6, pen=pg.mkPen(*PATH_RGB), brush=pg.mkBrush(255, 255, 255))
        self.saddles = pg.ScatterPlotItem(size=14, symbol="star", pen=pg.mkPen("k"), brush=pg.mkBrush(*SADDLE_RGB))
        for item in (self.profile_curve, self.peak, self.path_curve, self.images, self.saddles):
            self.plot_item.addItem(item)
        self.setMinimumHeight(120)
        self._profile = self._path = None

    def set_profile(self, result: Any) -> None:
        self._profile = result
        if result is None:
            self.profile_curve.setData([], [])
            self.peak.setData([], [])
        else:
            self.profile_curve.setData(result.t, result.loss)
            self.peak.setData([result.peak_t], [result.peak_loss])
        self._legend()

    def set_path(self, result: Any) -> None:
        self._path = result
        if result is None:
            for item in (self.path_curve, self.images, self.saddles):
                item.setData([], [])
        else:
            p = result.path
            s = path_coordinate(p.points)
            self.path_curve.setData(s, p.losses)
            self.images.setData(s, p.losses)
            idx = [sd.image for sd in p.saddles]
            self.saddles.setData(s[idx], p.losses[idx])
        self._legend()

    def _legend(self) -> None:
        """A one-line key as the title (a legend box would cover the curves of a small plot)."""
        parts = []

        def swatch(rgb, mark="━") -> str:
            return f"<span style='color: rgb{tuple(rgb)}'>{mark}</span>"

        if self._profile is not None:
            what = "weight space" if self._profile.full_space else "straight"
            parts.append(f"{swatch(PROFILE_RGB)} {what} {swatch(PROFILE_RGB, '▼')} peak")
        if self._path is not None:
            parts.append(f"{swatch(PATH_RGB)} path {swatch(SADDLE_RGB, '★')} saddle")
        self.plot_item.setTitle(f"<span style='color: #222'>{'&nbsp;&nbsp; '.join(parts)}</span>" if parts else None,
                                size="8pt")
        label = self.plot_item.titleLabel  # the title must not widen the plot past its dock
        label.setMinimumWidth(0)
        hint = getattr(label, "_sizeHint", None)
        if isinstance(hint, dict):
            for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
                if which in hint:
                    hint[which] = (0, hint[which][1])
        label.updateGeometry()
        self.plot_item.enableAutoRange()


def path_coordinate(points: np.ndarray) -> np.ndarray:
    """Cumulative arc length along ``points (N, 2)``, as a share of the whole (0 .. 1)."""
    d = np.r_[0.0, np.cumsum(np.hypot(*np.diff(np.asarray(points, dtype=float), axis=0).T))]
    return d / d[-1] if d[-1] > 0 else d


class SpectrumPlot(pg.PlotWidget):
    """Histogram of Hessian eigenvalues."""

    BINS = 40

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=PLOT_BACKGROUND)
        self.plot_item = self.getPlotItem()
        _style(self.plot_item, "eigenvalue", "count")
        self.bars: pg.BarGraphItem | None = None
        self.setMinimumHeight(120)

    def set_spectrum(self, result: Any) -> None:
        if self.bars is not None:
            self.plot_item.removeItem(self.bars)
            self.bars = None
        if result is None:
            return
        spec = result.spectrum
        counts, edges = spec.histogram(self.BINS if spec.exact else max(5, len(spec.eigenvalues)))
        self.bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=pg.mkBrush(0, 120, 220, 200),
                                    pen=pg.mkPen(0, 60, 140))
        self.plot_item.addItem(self.bars)
        self.plot_item.setLabel("left", "count" if spec.exact else f"count (top {len(spec.eigenvalues)})")
        self.plot_item.enableAutoRange()


class MapInstruments:
    """The profile's segment and the minimum-energy path on the 2-D map (add :attr:`items` to it)."""

    def __init__(self) -> None:
        # white dashes on a dark halo: visible on the dark and the light end of the colour map
        self.segment_halo = pg.PlotCurveItem(pen=pg.mkPen(0, 0, 0, 200, width=4))
        self.segment = pg.PlotCurveItem(pen=pg.mkPen(255, 255, 255, width=2, style=Qt.DashLine))
        self.segment_ends = pg.ScatterPlotItem(size=8, symbol="s", pen=pg.mkPen("w"), brush=pg.mkBrush(*PROFILE_RGB))
        self.path = pg.PlotCurveItem(pen=pg.mkPen(*PATH_RGB, width=3))
        self.images = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k"), brush=pg.mkBrush(*PATH_RGB))
        self.saddles = pg.ScatterPlotItem(size=16, symbol="star", pen=pg.mkPen("k"), brush=pg.mkBrush(*SADDLE_RGB))
        self.items = [self.segment_halo, self.segment, self.segment_ends, self.path, self.images, self.saddles]
        for item in self.items:  # hidden while empty: the map paints every visible item in every frame
            item.setVisible(False)

    def set_profile(self, result: Any) -> None:
        if result is None or result.full_space:  # two networks off the plane: no segment of the map
            for item in (self.segment, self.segment_halo, self.segment_ends):
                item.setData([], [])
                item.setVisible(False)
            return
        xy = np.array([result.start_xy, result.end_xy], dtype=float)
        self.segment.setData(xy[:, 0], xy[:, 1])
        self.segment_halo.setData(xy[:, 0], xy[:, 1])
        self.segment_ends.setData(pos=xy)
        for item in (self.segment, self.segment_halo, self.segment_ends):
            item.setVisible(True)

    def set_path(self, result: Any) -> None:
        if result is None:
            for item in (self.path, self.images, self.saddles):
                item.setData([], [])
                item.setVisible(False)
            return
        p = result.path
        saddles = np.array([(s.x, s.y) for s in p.saddles], dtype=float).reshape(-1, 2)
        self.path.setData(p.points[:, 0], p.points[:, 1])
        self.images.setData(pos=p.points)
        self.saddles.setData(pos=saddles)
        self.path.setVisible(True)
        self.images.setVisible(True)
        self.saddles.setVisible(len(saddles) > 0)


class SurfaceInstruments:
    """The minimum-energy path and its saddles on the 3-D surface (display coordinates from the
    controller's box)."""

    LIFT = 0.01

    def __init__(self) -> None:
        self.line = gl.GLLinePlotItem(pos=np.zeros((0, 3), np.float32), color=tuple(c / 255 for c in PATH_RGB) + (1.0,),
                                      width=4, antialias=True, mode="line_strip")
        self.markers = gl.GLScatterPlotItem(pos=np.zeros((0, 3), np.float32), size=14,
                                            color=tuple(c / 255 for c in SADDLE_RGB) + (1.0,), pxMode=True)
        self.items = [self.line, self.markers]
        self._result: Any = None

    def set_path(self, result: Any, box: Any) -> None:
        self._result = result
        if result is None:
            self.line.setData(pos=np.zeros((0, 3), np.float32))
            self.markers.setData(pos=np.zeros((0, 3), np.float32))
            return
        p = result.path
        pts = np.asarray(box.points(p.points, p.losses, self.LIFT), dtype=np.float32)
        self.line.setData(pos=pts)
        sxy = np.array([(s.x, s.y) for s in p.saddles], dtype=float).reshape(-1, 2)
        sl = np.array([s.loss for s in p.saddles], dtype=float)
        self.markers.setData(pos=np.asarray(box.points(sxy, sl, self.LIFT), dtype=np.float32))

    def redraw(self, box: Any) -> None:
        """The height scale changed: place the path again."""
        self.set_path(self._result, box)


__all__ = ["EOS_RGB", "MapInstruments", "PATH_RGB", "ProfilePlot", "SharpnessView", "SpectrumPlot",
           "SurfaceInstruments", "path_coordinate"]
