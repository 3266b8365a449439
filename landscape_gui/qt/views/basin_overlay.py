"""Basin maps in the views: a translucent 2-D overlay and 3-D vertex colours.

- :class:`BasinOverlay`: a pyqtgraph ``ImageItem`` placed over the bounds of the map; each cell in its
  minimum's colour (:func:`~landscape_gui.qt.theme.minimum_color`), cells with no minimum transparent.
  Add it to the 2-D plot (``plot.addItem(overlay)``), above the height image. ``set_difference(mask,
  bounds)`` shows a ``compare_basins`` mask instead (cells where two optimizers end in different
  places). :class:`TintedBasinOverlay` lightens the colours so paths stay visible over them.
- :func:`basin_vertex_colors`, :func:`mask_vertex_colors`: ``(nx, ny, 4)`` float colours for the
  surface view's grid (each vertex takes the colour of the basin cell it falls in).

The maps themselves are computed by :class:`~landscape_gui.qt.model.minima.BasinModel`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from landscape_gui.basin_image import label_colors
from landscape_gui.core.surfaces import Bounds
from landscape_gui.qt.model.minima import BasinMap

DEFAULT_OPACITY = 0.45

DIFFERENCE_RGB = (230, 20, 230)
"""Cells where two optimizers end in different places (2-D mask and 3-D colour): magenta, a colour
no minimum among the first ten has."""

def basin_rgba(bmap: BasinMap, alpha: int = 255) -> np.ndarray:
    """``(R, R, 4)`` uint8 RGBA indexed ``[x-cell, y-cell]``; cells with no minimum are transparent."""
    rgba = np.empty(bmap.labels.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = label_colors(bmap.labels)
    rgba[..., 3] = np.where(bmap.labels >= 0, alpha, 0)
    return rgba


class BasinOverlay(pg.ImageItem):
    """Translucent basin colours over a 2-D plot (x-cell i, y-cell j at the cell's data position)."""

    def __init__(self, opacity: float = DEFAULT_OPACITY) -> None:
        super().__init__(axisOrder="col-major")  # image[i, j] = x-cell i, y-cell j
        self.setOpacity(opacity)
        self.setZValue(10)
        self.basin_map: BasinMap | None = None

    def set_map(self, bmap: BasinMap | None) -> None:
        """Show ``bmap`` (``None`` clears the overlay)."""
        self.basin_map = bmap
        if bmap is None:
            self.clear()
            self.setVisible(False)
            return
        self.setImage(basin_rgba(bmap), autoLevels=False, levels=(0, 255))
        xmin, xmax, ymin, ymax = bmap.bounds
        self.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.setVisible(True)

    def set_difference(self, mask: np.ndarray, bounds: Bounds, rgb: tuple[int, int, int] = (200, 0, 0)) -> None:
        """Show where two maps disagree (``compare_basins`` mask, ``[x-cell, y-cell]``): differing
        cells in ``rgb``, agreeing cells transparent."""
        mask = np.asarray(mask, dtype=bool)
        rgba = np.zeros(mask.shape + (4,), dtype=np.uint8)
        rgba[mask] = (*rgb, 255)
        self.basin_map = None
        self.setImage(rgba, autoLevels=False, levels=(0, 255))
        xmin, xmax, ymin, ymax = bounds
        self.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        self.setVisible(True)

    def label_at(self, x: float, y: float) -> int | None:
        """The basin label under data point ``(x, y)``, ``None`` outside the map."""
        bmap = self.basin_map
        if bmap is None:
            return None
        xmin, xmax, ymin, ymax = bmap.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            return None
        r = bmap.resolution
        i = min(r - 1, int((x - xmin) / (xmax - xmin) * r))
        j = min(r - 1, int((y - ymin) / (ymax - ymin) * r))
        return int(bmap.labels[i, j])


def basin_vertex_colors(
    bmap: BasinMap,
    xs: np.ndarray,
    ys: np.ndarray,
    base: np.ndarray | None = None,
    mix: float = 0.7,
) -> np.ndarray:
    """Per-vertex RGBA floats ``(len(xs), len(ys), 4)`` in [0, 1] for a ``GLSurfacePlotItem`` grid.

    Each vertex takes the colour of the basin cell containing it; vertices outside the map or in cells
    with no minimum keep ``base`` (the surface's own colours, same shape; mid grey if omitted). With
    ``base`` given, basin colours are mixed in with weight ``mix``.
    """
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if base is None:
        base = np.full((len(xs), len(ys), 4), 0.6)
        base[..., 3] = 1.0
        weight = 1.0
    else:
        base = np.asarray(base, dtype=float)
        if base.shape != (len(xs), len(ys), 4):
            raise ValueError(f"base colours must have shape {(len(xs), len(ys), 4)}, got {base.shape}")
        weight = float(mix)
    xmin, xmax, ymin, ymax = bmap.bounds
    r = bmap.resolution
    i = np.floor((xs - xmin) / (xmax - xmin) * r).astype(np.int64)
    j = np.floor((ys - ymin) / (ymax - ymin) * r).astype(np.int64)
    inside_x = (xs >= xmin) & (xs <= xmax)
    inside_y = (ys >= ymin) & (ys <= ymax)
    i = np.clip(i, 0, r - 1)
    j = np.clip(j, 0, r - 1)
    labels = bmap.labels[np.ix_(i, j)]
    use = (labels >= 0) & inside_x[:, None] & inside_y[None, :]
    rgb = label_colors(labels).astype(float) / 255.0
    out = base.copy()
    out[..., :3] = np.where(use[..., None], weight * rgb + (1 - weight) * base[..., :3], base[..., :3])
    return out


def mask_vertex_colors(mask: np.ndarray, bounds: Bounds, xs: np.ndarray, ys: np.ndarray,
                        base: np.ndarray | None, rgb: tuple[int, int, int] = DIFFERENCE_RGB) -> np.ndarray:
    """Per-vertex RGBA (``(len(xs), len(ys), 4)``, 0..1): ``rgb`` where the cell under the vertex is
    set in ``mask`` (``[x-cell, y-cell]``), ``base`` (mid grey if ``None``) elsewhere."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if base is None:
        base = np.full((len(xs), len(ys), 4), 0.6)
        base[..., 3] = 1.0
    xmin, xmax, ymin, ymax = bounds
    r = mask.shape[0]
    i = np.clip(np.floor((xs - xmin) / (xmax - xmin) * r).astype(np.int64), 0, r - 1)
    j = np.clip(np.floor((ys - ymin) / (ymax - ymin) * r).astype(np.int64), 0, r - 1)
    on = mask[np.ix_(i, j)] & ((xs >= xmin) & (xs <= xmax))[:, None] & ((ys >= ymin) & (ys <= ymax))[None, :]
    out = np.array(base, dtype=float, copy=True)
    out[..., :3] = np.where(on[..., None], np.array(rgb, dtype=float) / 255.0, out[..., :3])
    return out


TINT = 0.45
"""Share of white mixed into basin colours on the 2-D map, so that a trajectory drawn in its
minimum's full colour stays visible over its own basin."""


class TintedBasinOverlay(BasinOverlay):
    """:class:`BasinOverlay` with each basin's colour lightened towards white by :data:`TINT`."""

    def set_map(self, bmap: BasinMap | None) -> None:
        super().set_map(bmap)
        if bmap is not None:
            rgba = basin_rgba(bmap)
            rgba[..., :3] = np.round(rgba[..., :3] * (1 - TINT) + 255 * TINT).astype(np.uint8)
            self.setImage(rgba, autoLevels=False, levels=(0, 255))


__all__ = ["BasinOverlay", "DIFFERENCE_RGB", "TintedBasinOverlay", "basin_rgba", "basin_vertex_colors", "mask_vertex_colors"]
