"""A small plot of a network surface's data and what the network at one point of the landscape does.

:class:`DataPlot` shows the dataset of a network surface (an ``nn:`` surface spec; classes
coloured) and, for weights ``(a, b)`` on the surface, the network's answer: the decision boundary of a
classifier on two features (the ``p = 0.5`` contour of a sigmoid output, the zero contour of a hinge
score, the borders of the arg-max regions of a softmax) over a shaded map of the predicted class, or
the fitted curve of a regression on one feature. :meth:`DataPlot.show_point` is what playback calls at
every step, so users see what a point on the landscape means.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

CLASS_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
"""Marker colours, one per class (the 'tab10' palette)."""

GRID = 80
"""Resolution of the map on which a classifier's boundary is traced."""


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, level: float) -> np.ndarray:
    """Line segments of the ``level`` contour of ``z[i, j] = f(xs[i], ys[j])`` by marching squares.

    Vectorised over cells: each cell edge whose end values lie on opposite sides of ``level`` gets a
    crossing by linear interpolation; a cell with two crossings gives one segment, a saddle cell with
    four gives two (paired by the cell's mean value). Returns ``(2K, 2)`` points, segment ``k`` from
    row ``2k`` to row ``2k + 1`` (draw with ``connect="pairs"``). Reference: W. E. Lorensen and
    H. E. Cline, "Marching cubes", SIGGRAPH 1987 (the 2-D case).
    """
    z = np.asarray(z, dtype=float)
    above = z >= level
    v00, v10, v01, v11 = z[:-1, :-1], z[1:, :-1], z[:-1, 1:], z[1:, 1:]
    a00, a10, a01, a11 = above[:-1, :-1], above[1:, :-1], above[:-1, 1:], above[1:, 1:]
    X0, X1 = np.meshgrid(xs[:-1], ys[:-1], indexing="ij"), np.meshgrid(xs[1:], ys[1:], indexing="ij")
    x0, y0 = X0
    x1, y1 = X1

    def frac(va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            t = (level - va) / (vb - va)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    # edges in order: bottom (y0), right (x1), top (y1), left (x0)
    flags = np.stack([a00 != a10, a10 != a11, a01 != a11, a00 != a01]).reshape(4, -1)
    tb, tr, tt, tl = frac(v00, v10), frac(v10, v11), frac(v01, v11), frac(v00, v01)
    px = np.stack([x0 + tb * (x1 - x0), x1 + 0 * tr, x0 + tt * (x1 - x0), x0 + 0 * tl]).reshape(4, -1)
    py = np.stack([y0 + 0 * tb, y0 + tr * (y1 - y0), y1 + 0 * tt, y0 + tl * (y1 - y0)]).reshape(4, -1)
    count = flags.sum(axis=0)
    segs = []
    two = np.flatnonzero(count == 2)
    if two.size:
        order = np.argsort(~flags[:, two], axis=0, kind="stable")[:2]
        segs.append(np.stack([px[order, two], py[order, two]], axis=-1).transpose(1, 0, 2))
    four = np.flatnonzero(count == 4)
    if four.size:
        centre_above = ((v00 + v10 + v01 + v11).ravel()[four] / 4.0) >= level
        same_as_00 = centre_above == a00.ravel()[four]
        pairs = np.where(same_as_00[None, :], np.array([[0], [1], [2], [3]]), np.array([[0], [3], [1], [2]]))
        for k in (0, 2):
            idx = pairs[k:k + 2]
            segs.append(np.stack([px[idx, four], py[idx, four]], axis=-1).transpose(1, 0, 2))
    if not segs:
        return np.empty((0, 2))
    return np.concatenate(segs, axis=0).reshape(-1, 2)


class DataPlot(pg.PlotWidget):
    """Scatter of a network surface's dataset with the decision boundary or fitted curve at ``(a, b)``.

    Public items (for the host window and tests): ``scatters`` (one ``ScatterPlotItem`` per class, or
    one for regression), ``boundary`` (``PlotDataItem`` of boundary segments), ``curve`` (fitted curve
    or class-1 probability on one feature), ``regions`` (``ImageItem`` of the predicted class),
    ``message`` (``TextItem`` shown when there is nothing to draw).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(160, 140)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.surface: Any = None
        self.point: tuple[float, float] | None = None
        self.scatters: list[pg.ScatterPlotItem] = []
        self.regions = pg.ImageItem()
        self.regions.setZValue(-10)
        self.regions.setOpacity(0.25)
        self.boundary = pg.PlotDataItem(pen=pg.mkPen((20, 20, 20), width=2), connect="pairs")
        self.curve = pg.PlotDataItem(pen=pg.mkPen((200, 30, 30), width=2))
        self.message = pg.TextItem("", color=(90, 90, 90), anchor=(0.5, 0.5))
        for item in (self.regions, self.boundary, self.curve, self.message):
            self.addItem(item)
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------------------------------
    def set_surface(self, surface: Any) -> None:
        """Show ``surface``'s dataset (any surface without a dataset clears the plot with a note)."""
        self.surface = surface
        self.point = None
        for s in self.scatters:
            self.removeItem(s)
        self.scatters = []
        self.boundary.setData([], [])
        self.curve.setData([], [])
        self.regions.clear()
        self._grid = None
        data = getattr(surface, "dataset", None)
        if data is None:
            self._note("no data: this surface is not a network loss")
            return
        X, y = data.X, data.y
        self.setLabel("bottom", data.feature_names[0])
        if data.n_features == 1:
            self.setLabel("left", data.target_name)
            self._add_scatter(X[:, 0], y, CLASS_COLOURS[0])
        else:
            self.setLabel("left", data.feature_names[1])
            if data.is_classification:
                for c in range(data.n_classes):
                    pick = y == c
                    self._add_scatter(X[pick, 0], X[pick, 1], CLASS_COLOURS[c % len(CLASS_COLOURS)])
            else:
                self._add_scatter(X[:, 0], X[:, 1], CLASS_COLOURS[0])
        if data.n_features > 2:
            self._note(f"{data.n_features} features: showing the first two, no boundary")
        else:
            self._note("")
        self.enableAutoRange()
        if data.n_features == 2 and data.is_classification:
            pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
            lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
            gx = np.linspace(lo[0], hi[0], GRID)
            gy = np.linspace(lo[1], hi[1], GRID)
            mx, my = np.meshgrid(gx, gy, indexing="ij")
            self._grid = (gx, gy, np.column_stack([mx.ravel(), my.ravel()]))

    def show_point(self, surface: Any, a: float, b: float) -> None:
        """Draw what the network with weights ``(a, b)`` on ``surface`` predicts."""
        if surface is not self.surface:
            self.set_surface(surface)
        data = getattr(surface, "dataset", None)
        if data is None:
            return
        self.point = (float(a), float(b))
        if data.n_features == 1:
            t = np.linspace(data.X[:, 0].min(), data.X[:, 0].max(), 200)
            out = surface.predict(self.point, t[:, None])
            k = out.shape[1]
            value = out[:, 0] if k == 1 else out.argmax(axis=1).astype(float)
            if k == 1 and data.is_classification and surface.net.output != "sigmoid":
                value = (value >= surface.decision_threshold).astype(float)  # hinge score -> class
            self.curve.setData(t, value)
            return
        if self._grid is None:
            return
        gx, gy, pts = self._grid
        out = surface.predict(self.point, pts)
        k = out.shape[1]
        if k == 1:
            field = out[:, 0].reshape(GRID, GRID)
            classes = (field >= surface.decision_threshold).astype(int)
            segs = contour_segments(gx, gy, field, surface.decision_threshold)
        else:
            probs = out.reshape(GRID, GRID, k)
            classes = probs.argmax(axis=2)
            segs_list = []
            for c in range(k):
                other = np.delete(probs, c, axis=2).max(axis=2)
                segs_list.append(contour_segments(gx, gy, probs[:, :, c] - other, 0.0))
            segs = np.concatenate(segs_list) if segs_list else np.empty((0, 2))
        self.boundary.setData(segs[:, 0], segs[:, 1]) if len(segs) else self.boundary.setData([], [])
        palette = np.array(CLASS_COLOURS, dtype=np.ubyte)
        rgb = palette[classes % len(palette)]
        self.regions.setImage(rgb, autoLevels=False)
        dx, dy = gx[1] - gx[0], gy[1] - gy[0]
        self.regions.setRect(gx[0] - dx / 2, gy[0] - dy / 2, dx * GRID, dy * GRID)

    # ------------------------------------------------------------------------------------------
    def _add_scatter(self, x: np.ndarray, y: np.ndarray, colour: tuple[int, int, int]) -> None:
        item = pg.ScatterPlotItem(x, y, size=6, pen=pg.mkPen(None), brush=pg.mkBrush(*colour, 200))
        self.addItem(item)
        self.scatters.append(item)

    def _note(self, text: str) -> None:
        self.message.setText(text)
        if text:
            self.message.setPos(0.5, 0.5)


class NetworkAtWeights:
    """Stands in for a network surface in :class:`DataPlot`: predictions of the network with
    weights ``theta`` (set before each draw) instead of those at a point of the plane."""

    def __init__(self, surface: Any) -> None:
        self.surface = surface
        self.dataset = surface.dataset
        self.net = surface.net
        self.decision_threshold = surface.decision_threshold
        self.theta: np.ndarray | None = None

    def predict(self, point: Any, X: np.ndarray | None = None) -> np.ndarray:
        X = self.dataset.X if X is None else np.asarray(X, dtype=float)
        # an MLP slice's parameters are its network weights (NetSurface._weights is the identity map plus offset)
        w = self.surface._weights(np.asarray(self.theta, dtype=float)[None, :])
        return self.net.forward(w, X)[0]


