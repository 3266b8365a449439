"""Basin maps as pictures: the shared colour-per-minimum palette and a PNG renderer.

:func:`minimum_rgb` is the one palette for minima used everywhere (PNG, 2-D overlay, 3-D surface
colours, the "Where runs settled" table, trajectories coloured by minimum): Tableau 10 for ids 1–10
(a qualitative palette designed to tell categories apart, Stone 2016), then hues spaced by the golden
angle so neighbouring ids never look alike. It needs no Qt.

:func:`render_basin_png` draws a :class:`~landscape_gui.core.basins.BasinMap` with QtGui (QImage +
QPainter, no window; an offscreen QGuiApplication is created when no application exists, so it works
headless from the command line): the labels as colours shaded by the surface's height, axes in data
units, a marker and id at every critical point reached (circle = minimum, × = saddle, triangle =
maximum, diamond = degenerate; a ring marks global minima) and a legend with each basin's share.
"""

from __future__ import annotations

import colorsys
import math
import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.basins import BasinMap
    from landscape_gui.core.surfaces import Surface

TABLEAU10 = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
NO_MINIMUM_RGB = (235, 235, 235)
"""Colour of cells whose run reached no minimum (diverged or still moving)."""
_GOLDEN = (math.sqrt(5) - 1) / 2


def minimum_rgb(ident: int | None) -> tuple[int, int, int]:
    """Colour ``(r, g, b)`` (0–255) of the critical point with id ``ident``; ``None``/negative: grey."""
    if ident is None or ident < 0:
        return NO_MINIMUM_RGB
    if 1 <= ident <= len(TABLEAU10):
        return TABLEAU10[ident - 1]
    hue = (0.13 + ident * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def label_colors(labels: np.ndarray) -> np.ndarray:
    """``labels (...)`` int → ``(..., 3)`` uint8 RGB via :func:`minimum_rgb` (a lookup table)."""
    labels = np.asarray(labels)
    top = int(labels.max(initial=0))
    lut = np.array([minimum_rgb(i) for i in range(-1, top + 1)], dtype=np.uint8)
    return lut[np.clip(labels, -1, None) + 1]


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick positions (1, 2, 5 × 10ᵏ steps) inside ``[lo, hi]``."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= hi + 1e-9 * span:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.4g}"


_APP = None


def _ensure_gui_app() -> None:
    """QtGui painting needs a QGuiApplication; make an offscreen one if none exists."""
    global _APP
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = QGuiApplication(["landscape-gui"])


def shaded_colors(bmap: "BasinMap", surface: "Surface | None") -> np.ndarray:
    """``(R, R, 3)`` uint8 RGB per cell (``[i, j]`` = x-cell i, y-cell j): the minimum's colour,
    darkened up to 35 % where the surface is high (log scale for ``log_height`` surfaces), so the
    landscape's relief stays readable under the basins."""
    rgb = label_colors(bmap.labels).astype(float)
    if surface is not None:
        gx, gy = np.meshgrid(bmap.xs, bmap.ys, indexing="ij")
        with np.errstate(all="ignore"):
            z = np.asarray(surface.value(np.column_stack([gx.ravel(), gy.ravel()])), dtype=float)
            z = z.reshape(bmap.labels.shape)
            if surface.log_height:
                z = np.log10(z - np.nanmin(z[np.isfinite(z)], initial=0.0) + 1e-3) if np.isfinite(z).any() else z
        finite = np.isfinite(z)
        if finite.any():
            lo, hi = np.percentile(z[finite], [1, 99])
            h = np.clip((z - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(z)
            h = np.where(finite, h, 1.0)
            rgb *= (1.0 - 0.35 * h)[..., None]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def render_basin_image(bmap: "BasinMap", surface: "Surface | None" = None, map_size: int = 640):
    """The picture as a ``QImage`` (see module docstring). ``map_size``: the map's longer side in
    pixels (equal scales on both axes unless the bounds are more than 4:1)."""
    _ensure_gui_app()
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPolygonF

    R = bmap.resolution
    rgb = shaded_colors(bmap, surface)
    # Image rows run top to bottom = y descending; columns = x ascending.
    pix = np.ascontiguousarray(rgb.transpose(1, 0, 2)[::-1])
    cells = QImage(pix.data, R, R, 3 * R, QImage.Format.Format_RGB888).copy()

    font = QFont()
    font.setPixelSize(13)
    fm = QFontMetrics(font)
    line = fm.height() + 6
    left, top, bottom, gap = 70, 44, 50, 24
    points = bmap.points()
    fractions = bmap.fractions()
    none_share = 1.0 - bmap.labelled_share()
    entries = [
        (minimum_rgb(c.id), f"#{c.id} {c.kind} ({_fmt(c.x)}, {_fmt(c.y)})  loss {_fmt(c.loss)}",
         f"{100 * fractions[c.id]:.1f}%")
        for c in points
    ]
    if none_share > 0:
        entries.append((NO_MINIMUM_RGB, "no minimum (diverged / still moving)", f"{100 * none_share:.1f}%"))
    # Equal scales on both axes where reasonable: the longer side gets map_size pixels, the shorter
    # follows the data's aspect (at least a quarter of map_size).
    xmin, xmax, ymin, ymax = bmap.bounds
    aspect = (xmax - xmin) / (ymax - ymin)
    map_w = int(round(map_size * min(1.0, max(0.25, aspect))))
    map_h = int(round(map_size * min(1.0, max(0.25, 1.0 / aspect))))
    max_rows = max(1, (max(map_h, 240) - line) // line)
    hidden = 0
    if len(entries) > max_rows:
        hidden = len(entries) - (max_rows - 1)
        entries = entries[: max_rows - 1]
    legend_w = max([fm.horizontalAdvance(t) + fm.horizontalAdvance(s) for _, t, s in entries] + [200]) + 60
    width = left + map_w + gap + legend_w + 16
    height = top + max(map_h, 240) + bottom
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setFont(font)
        map_rect = QRectF(left, top, map_w, map_h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(map_rect, cells)
        p.setPen(QPen(QColor(40, 40, 40), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(map_rect)

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(left + (x - xmin) / (xmax - xmin) * map_w, top + (ymax - y) / (ymax - ymin) * map_h)

        for t in nice_ticks(xmin, xmax):
            px = to_px(t, ymin).x()
            p.drawLine(QPointF(px, top + map_h), QPointF(px, top + map_h + 5))
            s = _fmt(t)
            p.drawText(QPointF(px - fm.horizontalAdvance(s) / 2, top + map_h + 7 + fm.ascent()), s)
        for t in nice_ticks(ymin, ymax):
            py = to_px(xmin, t).y()
            p.drawLine(QPointF(left - 5, py), QPointF(left, py))
            s = _fmt(t)
            p.drawText(QPointF(left - 8 - fm.horizontalAdvance(s), py + fm.ascent() / 2 - 1), s)
        p.drawText(QPointF(left + map_w / 2 - 4, top + map_h + 12 + 2 * fm.ascent()), "x")
        p.drawText(QPointF(12, top + map_h / 2), "y")
        params = ", ".join(f"{k}={v}" for k, v in bmap.params.items())
        title = f"Basins of attraction: {bmap.surface}, {bmap.optimizer} ({params}); {R}×{R} starts"
        p.drawText(QPointF(left, top - 16), fm.elidedText(title, Qt.TextElideMode.ElideRight, width - left - 10))

        # Markers at the critical points reached (inside the map).
        p.setClipRect(map_rect)
        for c in points:
            if not (xmin <= c.x <= xmax and ymin <= c.y <= ymax):
                continue
            q = to_px(c.x, c.y)
            p.setPen(QPen(QColor(0, 0, 0), 2))
            p.setBrush(QBrush(QColor(*minimum_rgb(c.id))))
            r = 6.0
            if c.kind == "minimum":
                p.drawEllipse(q, r, r)
                if c.is_global:
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.drawEllipse(q, r + 4, r + 4)
            elif c.kind == "saddle":
                p.setPen(QPen(QColor(0, 0, 0), 3))
                p.drawLine(q + QPointF(-r, -r), q + QPointF(r, r))
                p.drawLine(q + QPointF(-r, r), q + QPointF(r, -r))
            elif c.kind == "maximum":
                p.drawPolygon(QPolygonF([q + QPointF(0, -r - 1), q + QPointF(r, r), q + QPointF(-r, r)]))
            else:
                p.drawPolygon(QPolygonF([q + QPointF(0, -r), q + QPointF(r, 0), q + QPointF(0, r), q + QPointF(-r, 0)]))
            label = str(c.id)
            p.setPen(QPen(QColor(255, 255, 255), 4))
            box = QPointF(q.x() + r + 3, q.y() - r)
            p.drawText(box, label)
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.drawText(box, label)
        p.setClipping(False)

        # Legend.
        lx = left + map_w + gap
        p.setPen(QPen(QColor(0, 0, 0), 1))
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QPointF(lx, top + fm.ascent()), "Where runs settled   share of starts")
        p.setFont(font)
        y = top + line
        for color, text, share in entries:
            p.setPen(QPen(QColor(60, 60, 60), 1))
            p.setBrush(QBrush(QColor(*color)))
            p.drawRect(QRectF(lx, y + 2, 16, fm.height() - 2))
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.drawText(QPointF(lx + 24, y + fm.ascent() + 1), text)
            p.drawText(QPointF(width - 16 - fm.horizontalAdvance(share), y + fm.ascent() + 1), share)
            y += line
        if hidden:
            p.drawText(QPointF(lx + 24, y + fm.ascent()), f"… and {hidden} more (see the CSV)")
    finally:
        p.end()
    return img


def render_basin_png(bmap: "BasinMap", surface: "Surface | None" = None, map_size: int = 640) -> bytes:
    """The picture of :func:`render_basin_image` encoded as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    img = render_basin_image(bmap, surface, map_size)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise OSError("PNG encoding failed")
    buf.close()
    return bytes(data.data())


__all__ = [
    "NO_MINIMUM_RGB",
    "TABLEAU10",
    "label_colors",
    "minimum_rgb",
    "nice_ticks",
    "render_basin_image",
    "render_basin_png",
    "shaded_colors",
]
