"""Probability maps in the views: a 2-D overlay and 3-D vertex colours.

A probability map (:class:`~landscape_gui.core.stochastic.ProbabilityMap`, computed by
:class:`~landscape_gui.qt.model.lessons.ProbabilityModel`) gives, per cell, the share of noisy runs
ending in each minimum. Two pictures of it:

* **most likely minimum**: the cell in its most likely minimum's colour (the colours of the minima
  everywhere in the window, :func:`~landscape_gui.basin_image.minimum_rgb`), blended towards white as
  that minimum's probability falls, ``rgb = 255 − p·(255 − colour)``: saturation is probability, a
  fair border between two basins reads pale; cells most likely ending nowhere are grey;
* **entropy**: grey by ``H = −Σ p log₂ p`` from white (0 bits, certain) to black (the largest possible,
  ``log₂`` of the number of outcomes).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from landscape_gui.basin_image import NO_MINIMUM_RGB, label_colors
from landscape_gui.core.stochastic import ProbabilityMap


def probability_rgb(pmap: ProbabilityMap, entropy: bool = False) -> np.ndarray:
    """``(R, R, 3)`` uint8 indexed ``[x-cell, y-cell]`` (see the module docstring)."""
    if entropy:
        top = max(math.log2(len(pmap.ids) + 1), 1.0)
        g = np.rint(255.0 * (1.0 - np.clip(pmap.entropy / top, 0.0, 1.0))).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    labels, prob = pmap.most_likely()
    colours = label_colors(labels).astype(float)
    rgb = 255.0 - prob[..., None] * (255.0 - colours)
    rgb[labels < 0] = NO_MINIMUM_RGB
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


class ProbabilityOverlay(pg.ImageItem):
    """A probability map over a 2-D plot (x-cell i, y-cell j at the cell's data position)."""

    def __init__(self, opacity: float = 0.8) -> None:
        super().__init__(axisOrder="col-major")
        self.setOpacity(opacity)
        self.setZValue(10)
        self.pmap: ProbabilityMap | None = None
        self.entropy = False

    def set_map(self, pmap: ProbabilityMap | None, entropy: bool = False) -> None:
        """Show ``pmap`` (``None`` clears the overlay), as the most likely minimum or its entropy."""
        self.pmap, self.entropy = pmap, bool(entropy)
        if pmap is None:
            self.clear()
            self.setVisible(False)
            return
        rgba = np.empty(pmap.nowhere.shape + (4,), dtype=np.uint8)
        rgba[..., :3] = probability_rgb(pmap, entropy)
        rgba[..., 3] = 255
        self.setImage(rgba, autoLevels=False, levels=(0, 255))
        xmin, xmax, ymin, ymax = pmap.bounds
        self.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.setVisible(True)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """``(i, j)`` of the cell under data point ``(x, y)``, ``None`` outside the map."""
        p = self.pmap
        if p is None:
            return None
        xmin, xmax, ymin, ymax = p.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            return None
        r = p.resolution
        return min(r - 1, int((x - xmin) / (xmax - xmin) * r)), min(r - 1, int((y - ymin) / (ymax - ymin) * r))


def probability_vertex_colors(pmap: ProbabilityMap, xs: np.ndarray, ys: np.ndarray, entropy: bool = False,
                              base: np.ndarray | None = None, mix: float = 0.8) -> np.ndarray:
    """Per-vertex RGBA floats ``(len(xs), len(ys), 4)`` for the 3-D surface: each vertex takes the
    colour of the cell containing it (:func:`probability_rgb`), mixed into ``base`` with weight ``mix``
    (vertices outside the map keep ``base``; mid grey if omitted)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if base is None:
        base = np.full((len(xs), len(ys), 4), 0.6)
        base[..., 3] = 1.0
        mix = 1.0
    xmin, xmax, ymin, ymax = pmap.bounds
    r = pmap.resolution
    i = np.clip(np.floor((xs - xmin) / (xmax - xmin) * r).astype(np.int64), 0, r - 1)
    j = np.clip(np.floor((ys - ymin) / (ymax - ymin) * r).astype(np.int64), 0, r - 1)
    rgb = probability_rgb(pmap, entropy)[np.ix_(i, j)].astype(float) / 255.0
    inside = ((xs >= xmin) & (xs <= xmax))[:, None] & ((ys >= ymin) & (ys <= ymax))[None, :]
    out = np.array(base, dtype=float, copy=True)
    out[..., :3] = np.where(inside[..., None], mix * rgb + (1 - mix) * out[..., :3], out[..., :3])
    return out


__all__ = ["ProbabilityOverlay", "probability_rgb", "probability_vertex_colors"]
