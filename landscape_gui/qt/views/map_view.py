"""The 2-D map: a heat map of the loss with contour lines, the trajectories on top.

Draws the controller's model and emits intents; it never calls the engine.

* ``startRequested(x, y)``: a plain left click (not a drag) in the plot;
* ``runClicked(id)``: a click on a run's start or end marker, or Ctrl+click near its path
  (``-1``: Ctrl+click on nothing, i.e. clear the selection);
* ``hovered(x, y)``: the mouse position in data units (NaN, NaN when it leaves the plot);
* ``startDragged(id, x, y)`` while a run's start marker is dragged, ``dragFinished(id)`` on release
  (the controller re-runs the run from the new start: the path follows the mouse).

The axes keep equal data units per pixel (``ViewBox.setAspectLocked``): a square domain is square and
gradients stay perpendicular to the contours; the colour bar sits beside the plot.

Overlays (basin maps, arrows) are ordinary pyqtgraph items in data coordinates:
``add_overlay(item, z)`` / ``remove_overlay(item)``; ``plot_item`` is the underlying ``PlotItem``.
Z order: heat map -100, contours -50, overlays (default) -20, trajectories 0..10.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QGraphicsItem, QWidget

from landscape_gui.core.runs import DIVERGED
from landscape_gui.qt.views.contours import contour_segments, nice_levels
from landscape_gui.qt.views.paths import PathSet, build_paths, thinning_unit
from landscape_gui.qt.views.ticks import TEXT_FILL_LIMITS, log_ticks

COLORMAP = "viridis"
MARKER_PX = 7.0
"""Click radius (pixels) around start/end markers."""
PATH_PX = 10.0
"""Ctrl+click radius (pixels) around a path."""


def height_label(ctl) -> str:
    """Axis label of the colour scale for the controller's current height mode."""
    return "loss − min (log scale)" if ctl.log_height else "loss"


class _MapViewBox(pg.ViewBox):
    """A view box whose left-button drag moves a run's start when it begins on a start marker, and
    pans otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.map: "MapView | None" = None
        self._dragging: int | None = None

    def mouseDragEvent(self, ev, axis=None) -> None:
        m = self.map
        if m is None or ev.button() != Qt.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            x, y = m._view_xy(ev.buttonDownScenePos())
            px, py = self.viewPixelSize()
            self._dragging = m.start_near(x, y, MARKER_PX * px, MARKER_PX * py)
        if self._dragging is None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        x, y = m._view_xy(ev.scenePos())
        m.startDragged.emit(self._dragging, x, y)
        if ev.isFinish():
            rid, self._dragging = self._dragging, None
            m.dragFinished.emit(rid)


class MapView(pg.PlotWidget):
    """Heat map + contours + trajectories of the controller's surface and runs."""

    startRequested = Signal(float, float)
    startDragged = Signal(int, float, float)
    dragFinished = Signal(int)
    runClicked = Signal(int)
    hovered = Signal(float, float)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        vb = _MapViewBox()
        super().__init__(parent, viewBox=vb)
        vb.map = self
        self.ctl = controller
        self.setBackground("w")
        self.plot_item = self.getPlotItem()
        self.view_box = self.plot_item.getViewBox()
        self.view_box.setAspectLocked(True, 1.0)  # equal data units per pixel on both axes
        self.view_box.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.setLabel("bottom", "x")
        self.plot_item.setLabel("left", "y")
        for ax in ("left", "bottom"):
            self.plot_item.getAxis(ax).setStyle(textFillLimits=TEXT_FILL_LIMITS)
            self.plot_item.getAxis(ax).setTextPen("k")
            self.plot_item.getAxis(ax).setPen("k")
            # axes repaint from a pixmap while paths animate next to them
            self.plot_item.getAxis(ax).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setToolTip(
            "Click: start a run here (one per checked optimizer in Compare mode)\n"
            "Click a start/end marker or Ctrl+click a path: select that run\n"
            "Drag a start marker: move the run (its path follows)\n"
            "Drag elsewhere: pan    Wheel: zoom    View ▸ Fit views: show the whole surface"
        )
        self.cmap = pg.colormap.get(COLORMAP)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-100)
        self.plot_item.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=self.cmap, interactive=False, width=14, label="loss")
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        self.colorbar.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen(255, 255, 255, 110, width=1), connect="pairs")
        self.contours.setZValue(-50)
        self.plot_item.addItem(self.contours)
        # static layers are repainted from pixmaps while the paths above them animate
        self.image.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.contours.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

        self._curves: dict[tuple, pg.PlotCurveItem] = {}
        self._groups: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        halo = pg.mkPen(0, 0, 0, 200, width=6)
        halo.setCapStyle(Qt.RoundCap)
        self.sel_halo = pg.PlotCurveItem(pen=halo, connect="pairs")
        self.sel_curve = pg.PlotCurveItem(pen=pg.mkPen("w", width=3), connect="pairs")
        self.starts = pg.ScatterPlotItem(size=9, symbol="o", pxMode=True)
        # the moving heads of every run: one item with a brush per run (one item per colour cost a
        # setData, a bounding-rect update and a paint each per playback frame)
        self.heads = pg.ScatterPlotItem(size=8, symbol="o", pxMode=True, pen=pg.mkPen("k", width=1))
        self._head_brushes: list = []
        self._shown: dict[tuple, int] = {}
        """Segments each colour's curve holds now (its data is only replaced when this changes)."""
        self._shown_div = -1
        self.diverged = pg.ScatterPlotItem(size=15, symbol="x", pen=pg.mkPen("k", width=1),
                                           brush=pg.mkBrush(255, 40, 40), pxMode=True)
        for z, item in enumerate((self.sel_halo, self.sel_curve, self.starts, self.diverged), start=5):
            item.setZValue(z)
            self.plot_item.addItem(item)
        self.heads.setZValue(8)
        self.plot_item.addItem(self.heads)
        self._sel_data: tuple[np.ndarray, np.ndarray] | None = None
        self.paths: PathSet = build_paths([], 1, 1)
        self._div_index = np.empty(0, dtype=np.int64)

        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)
        controller.surfaceChanged.connect(self.update_surface)
        controller.runsChanged.connect(self.rebuild)
        controller.colorsChanged.connect(self.rebuild)
        controller.selectionChanged.connect(self._update_selection)
        controller.playback.stepChanged.connect(self.draw_step)
        self.update_surface()

    # ------------------------------------------------------------------ overlays
    def add_overlay(self, item: pg.GraphicsObject, z: float = -20) -> None:
        """Add a pyqtgraph item drawn in data coordinates (above the heat map, under the paths)."""
        item.setZValue(z)
        self.plot_item.addItem(item)

    def remove_overlay(self, item: pg.GraphicsObject) -> None:
        self.plot_item.removeItem(item)

    # ------------------------------------------------------------------ surface
    def update_surface(self) -> None:
        ctl = self.ctl
        xs, ys, z = ctl.grid
        box = ctl.box
        t = box._t(z)
        lo, hi = box.t_range
        self.image.setImage(t, autoLevels=False, levels=(lo, hi))
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.image.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.axis.setLogMode(ctl.log_height)  # image values are log10(loss - min + eps)
        self.colorbar.setLabel("left", height_label(ctl))
        self._colorbar_ticks()
        seg = contour_segments(xs, ys, t, nice_levels(lo, hi, 14))
        if len(seg):
            self.contours.setData(seg[:, 0], seg[:, 1], connect="pairs")
        else:
            self.contours.setData([], [])
        key = (id(ctl.surface), tuple(ctl.bounds))
        if key != getattr(self, "_fitted_for", None):  # a new surface or domain: show all of it
            self._fitted_for = key
            self.fit()
        self.rebuild()

    def _colorbar_ticks(self) -> None:
        """Decades only on a log colour bar, spaced so the labels never touch (see views/ticks.py)."""
        axis = self.colorbar.axis
        if not self.ctl.log_height:
            axis.setTicks(None)
            return
        lo, hi = self.ctl.box.t_range
        length = max(self.view_box.height(), 100.0)
        axis.setTicks(log_ticks(float(lo), float(hi), length, QFontMetrics(axis.font()).height()))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if "colorbar" in vars(self):  # resized once while the base class is still being built
            self._colorbar_ticks()

    def fit(self) -> None:
        """Show the whole plotted domain."""
        xmin, xmax, ymin, ymax = self.ctl.bounds
        w, h = xmax - xmin, ymax - ymin
        self.view_box.setLimits(xMin=xmin - 2 * w, xMax=xmax + 2 * w, yMin=ymin - 2 * h, yMax=ymax + 2 * h)
        self.view_box.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0)

    # ------------------------------------------------------------------ runs
    def rebuild(self) -> None:
        """Re-flatten all runs (after the run set, their contents or colours changed) and redraw.

        One line item and one marker item per colour; each holds its segments ordered by the step
        at which they appear, so a playback frame only passes a prefix of the arrays."""
        ctl = self.ctl
        runs = ctl.runs
        px, py = self._pixel_size()
        unit = thinning_unit(len(runs))
        self.paths = build_paths(runs, px * unit, py * unit)
        colors = [tuple(ctl.color_of(r)) for r in runs]
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(colors):
            groups.setdefault(c, []).append(i)
        for key in list(self._curves):
            if key not in groups:
                self.plot_item.removeItem(self._curves.pop(key))
        self._groups = {}
        # thin lines when many runs share the map: legible, and cosmetic 1-px lines draw fastest
        width = 2.0 if len(runs) <= 20 else 1.5 if len(runs) <= 100 else 1.0
        for key, members in groups.items():
            mask = np.zeros(len(runs), dtype=bool)
            mask[members] = True
            ends, step, _ = self.paths.step_sorted_segments(mask)
            self._groups[key] = (self._clip(ends), step, np.asarray(members))
            if key not in self._curves:
                curve = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
                curve.setZValue(1)
                self.plot_item.addItem(curve)
                self._curves[key] = curve
            pen = pg.mkPen(QColor(*key), width=width)
            pen.setCapStyle(Qt.RoundCap)  # segments drawn one by one: round caps close the joints
            self._curves[key].setPen(pen)
        pens = {key: pg.mkPen(QColor(*key), width=2) for key in groups}
        brushes = {key: pg.mkBrush(*key) for key in groups}
        self._head_brushes = [brushes[c] for c in colors]
        self._shown, self._shown_div = {}, -1
        self.starts.setData(
            pos=self._clip(self.paths.starts), pen=[pens[c] for c in colors], brush=pg.mkBrush(0, 0, 0, 90)
        )
        self.starts.setVisible(len(runs) > 0)
        self._div_index = np.array([i for i, r in enumerate(runs) if r.status == DIVERGED], dtype=np.int64)
        self._update_selection()
        self.draw_step(ctl.playback.step)

    def _pixel_size(self) -> tuple[float, float]:
        """About one screen pixel in data units at the full view of the bounds (the thinning unit)."""
        xmin, xmax, ymin, ymax = self.ctl.bounds
        w = max(self.view_box.width(), 400.0)
        h = max(self.view_box.height(), 300.0)
        return (xmax - xmin) / w, (ymax - ymin) / h

    def _clip(self, xy: np.ndarray) -> np.ndarray:
        """Keep far-away points of diverging runs within a few widths of the plot (Qt draws nonsense
        with coordinates near float overflow); NaN separators stay NaN."""
        xmin, xmax, ymin, ymax = self.ctl.bounds
        w, h = xmax - xmin, ymax - ymin
        out = np.array(xy, dtype=float, copy=True)
        if len(out):
            out[:, 0] = np.clip(out[:, 0], xmin - 5 * w, xmax + 5 * w)
            out[:, 1] = np.clip(out[:, 1], ymin - 5 * h, ymax + 5 * h)
        return out

    def draw_step(self, step: int) -> None:
        """Show every run up to ``min(step, its last step)``."""
        heads = self._clip(self.paths.heads(step)[0]) if self.paths.n else np.empty((0, 2))
        for key, (ends, steps, members) in self._groups.items():
            k = int(np.searchsorted(steps, step, side="right"))
            if self._shown.get(key) != k:  # the curve keeps its cached path while no segment appears
                self._shown[key] = k
                self._curves[key].setData(ends[: 2 * k, 0], ends[: 2 * k, 1], connect="pairs", skipFiniteCheck=True)
        self.heads.setData(pos=heads, brush=self._head_brushes)
        self.heads.setVisible(len(heads) > 0)  # an empty item still costs a paint in every frame
        done = self._div_index[self.paths.last[self._div_index] <= step] if len(self._div_index) else self._div_index
        if len(done) != self._shown_div:  # a diverged run's marker sits at its last step: only the count changes
            self._shown_div = len(done)
            self.diverged.setData(pos=heads[done] if len(done) else np.empty((0, 2)))
            self.diverged.setVisible(len(done) > 0)
        if self._sel_data is not None:
            ends, steps = self._sel_data
            k = int(np.searchsorted(steps, step, side="right"))
            self.sel_halo.setData(ends[: 2 * k, 0], ends[: 2 * k, 1], connect="pairs")
            self.sel_curve.setData(ends[: 2 * k, 0], ends[: 2 * k, 1], connect="pairs")

    def _update_selection(self) -> None:
        sel = set(self.ctl.selected)
        mask = np.isin(self.paths.ids, list(sel)) if sel else np.zeros(self.paths.n, dtype=bool)
        if mask.any():
            ends, step, _ = self.paths.step_sorted_segments(mask)
            self._sel_data = (self._clip(ends), step)
            first = self.ctl.run(int(self.paths.ids[np.flatnonzero(mask)[0]]))
            pen = pg.mkPen(QColor(*self.ctl.color_of(first)), width=3.5)
            pen.setCapStyle(Qt.RoundCap)
            self.sel_curve.setPen(pen)
            self.sel_halo.setVisible(True)
            self.sel_curve.setVisible(True)
        else:
            self._sel_data = None
            self.sel_halo.setVisible(False)
            self.sel_curve.setVisible(False)
        self.draw_step(self.ctl.playback.step) if mask.any() else None

    # ------------------------------------------------------------------ mouse
    def _view_xy(self, scene_pos) -> tuple[float, float]:
        p = self.view_box.mapSceneToView(scene_pos)
        return float(p.x()), float(p.y())

    def start_near(self, x: float, y: float, rx: float, ry: float) -> int | None:
        """Id of the run whose start marker is nearest (x, y) within radii ``rx, ry``, or None."""
        runs = [r for r in self.ctl.runs if not self.ctl.is_overlay(r.id)]
        if not runs:
            return None
        starts = np.array([r.positions[0] for r in runs], dtype=float)
        d = ((starts[:, 0] - x) / rx) ** 2 + ((starts[:, 1] - y) / ry) ** 2
        k = int(np.argmin(d))
        return runs[k].id if d[k] <= 1.0 else None

    def _data_pos(self, scene_pos) -> tuple[float, float] | None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view_box.mapSceneToView(scene_pos)
        return float(p.x()), float(p.y())

    def _moved(self, scene_pos) -> None:
        p = self._data_pos(scene_pos)
        self.hovered.emit(*(p if p is not None else (float("nan"), float("nan"))))

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.LeftButton:
            return
        p = self._data_pos(ev.scenePos())
        if p is None:
            return
        if ev.double():
            return
        ev.accept()
        px, py = self.view_box.viewPixelSize()
        if ev.modifiers() & Qt.ControlModifier:
            rid = self.ctl.run_near(p[0], p[1], PATH_PX * px, PATH_PX * py)
            self.runClicked.emit(-1 if rid is None else rid)
            return
        rid = self.ctl.run_near(p[0], p[1], MARKER_PX * px, MARKER_PX * py, ends_only=True)
        if rid is not None:
            self.runClicked.emit(rid)
        else:
            self.startRequested.emit(p[0], p[1])

    def drawn_segments(self) -> np.ndarray:
        """``(2s, 2)``: the end points of every path segment the map draws now, all colours (for
        tests and tools)."""
        parts = [np.column_stack(c.getData()) for c in self._curves.values() if c.getData()[0] is not None]
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def pixel_of(self, x: float, y: float):
        """Widget pixel position of the data point (x, y) (for tests and tools)."""
        scene = self.view_box.mapViewToScene(pg.Point(x, y))
        return self.mapFromScene(scene)
