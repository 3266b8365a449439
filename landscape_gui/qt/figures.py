"""Figures: the map, the 3-D view, the loss curves and the whole window saved at a chosen size.

Screen grabs are only as large as the widget; a figure for a paper or slides needs more pixels and,
for plots, vectors. :func:`export` writes

* PNG of the ``"map"``, the ``"loss"`` curves or the ``"window"`` at ``scale`` × their size on screen,
  painted afresh at that resolution (``QWidget.render`` into a ``QImage`` whose device-pixel ratio is
  ``scale``: text and lines are drawn sharp, not enlarged);
* PNG of the 3-D ``"surface"`` rendered offscreen into a framebuffer of that size
  (:meth:`~landscape_gui.qt.views.surface_view.GLView.render_image`), also inside the window figure;
* SVG (``QSvgGenerator``) and PDF (``QPdfWriter``) of the map and the loss curves: the pyqtgraph scene
  painted as vectors.

The format follows the file's suffix. Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QIODevice,
    QMarginsF,
    QPoint,
    QRect,
    QRectF,
    QSize,
    QSizeF,
)
from PySide6.QtGui import QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QWidget

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_bytes

WHAT = {"map": "the 2-D map", "surface": "the 3-D view", "loss": "the loss curves", "window": "the window"}
SCALES = (1.0, 2.0, 4.0)
VECTOR = ("map", "loss")
"""Figures that exist as vectors (SVG, PDF)."""
MAX_SIDE = 16384
"""Largest side of a raster figure in pixels."""


def _widget(window, which: str) -> QWidget:
    if which == "map":
        return window.map_view
    if which == "loss":
        plot = window.loss_view.plot
        if not plot.isVisible():  # the figure is what the tab shows: bring it to the front, laid out
            window.loss_dock.show()
            window.loss_dock.raise_()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        return plot
    if which == "window":
        return window
    if which == "surface":
        return window.surface_view.gl_widget
    raise LandscapeError(f"unknown figure {which!r}; one of: {', '.join(WHAT)}")


def figure_size(window, which: str, scale: float) -> QSize:
    """Pixel size of the raster figure ``which`` at ``scale``."""
    w = _widget(window, which)
    return QSize(round(w.width() * scale), round(w.height() * scale))


def render_png(window, which: str, scale: float) -> QImage:
    """The figure as an image, ``scale`` times its size on screen."""
    if not scale > 0:
        raise LandscapeError(f"the scale must be positive, got {scale!r}")
    size = figure_size(window, which, scale)
    if max(size.width(), size.height()) > MAX_SIDE:
        raise LandscapeError(f"{size.width()} × {size.height()} pixels is too large (at most {MAX_SIDE} a side)")
    if which == "surface":
        return window.surface_view.gl.render_image(size.width(), size.height(), scale)
    widget = _widget(window, which)
    image = QImage(size, QImage.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().window().color())
    gl_image = None
    gl_widget = window.surface_view.gl_widget
    if which == "window" and gl_widget.isVisible():
        # the native 3-D window is not part of QWidget.render: draw it offscreen at this scale
        gl_image = window.surface_view.gl.render_image(round(gl_widget.width() * scale),
                                                       round(gl_widget.height() * scale), scale)
    painter = QPainter(image)
    try:
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        _render_widget(widget, painter)
        if gl_image is not None:
            painter.drawImage(QRectF(QRect(gl_widget.mapTo(window, QPoint(0, 0)), gl_widget.size())), gl_image)
    finally:
        painter.end()
    image.setDevicePixelRatio(1.0)
    return image


def _render_widget(widget: QWidget, painter: QPainter) -> None:
    """Paint ``widget`` and its children with ``painter`` (QWidget.render: a pyqtgraph view's own
    ``render`` draws its scene only, without the widget around it)."""
    scene = getattr(widget, "scene", None)
    if callable(scene) and hasattr(scene(), "prepareForPaint"):
        scene().prepareForPaint()
    QWidget.render(widget, painter, QPoint(0, 0))


def _scene_widget(window, which: str):
    if which not in VECTOR:
        raise LandscapeError(f"{WHAT.get(which, which)} can be saved as PNG only (SVG and PDF: the map and the loss curves)")
    return _widget(window, which)


def render_svg(window, which: str) -> bytes:
    """The map or the loss curves as SVG."""
    from PySide6.QtSvg import QSvgGenerator

    widget = _scene_widget(window, which)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(widget.size())
    gen.setViewBox(QRect(QPoint(0, 0), widget.size()))
    gen.setTitle(f"landscape-gui: {WHAT[which]}")
    painter = QPainter(gen)
    try:
        _render_widget(widget, painter)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def render_pdf(window, which: str) -> bytes:
    """The map or the loss curves as a one-page PDF the size of the plot (at 96 dpi)."""
    widget = _scene_widget(window, which)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(96)
    writer.setTitle(f"landscape-gui: {WHAT[which]}")
    points = QSizeF(widget.width() * 72 / 96, widget.height() * 72 / 96)
    writer.setPageSize(QPageSize(points, QPageSize.Point, "figure"))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    painter = QPainter(writer)
    try:
        _render_widget(widget, painter)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def export(window, which: str, path: str, scale: float = 2.0) -> None:
    """Write figure ``which`` to ``path`` (PNG at ``scale``, or SVG/PDF by the suffix)."""
    suffix = Path(path).suffix.lower()
    _widget(window, which)
    if suffix == ".png":
        image = render_png(window, which, scale)
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.WriteOnly)
        if image.isNull() or not image.save(buf, "PNG"):
            raise LandscapeError(f"cannot encode the image for {path!r}")
        buf.close()
        payload = bytes(data.data())
    elif suffix == ".svg":
        payload = render_svg(window, which)
    elif suffix == ".pdf":
        payload = render_pdf(window, which)
    else:
        raise LandscapeError(f"{path!r}: give the file a .png, .svg or .pdf name")
    atomic_write_bytes(path, payload)


__all__ = ["SCALES", "VECTOR", "WHAT", "export", "figure_size", "render_pdf", "render_png", "render_svg"]
