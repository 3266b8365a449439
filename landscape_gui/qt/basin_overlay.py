"""Basin maps in the views: a translucent 2-D overlay, a legend of shares, 3-D vertex colours, and a
worker that computes basin maps off the GUI thread.

- :class:`BasinOverlay`: a pyqtgraph ``ImageItem`` placed over the bounds of the map; each cell in its
  minimum's colour (:func:`~landscape_gui.qt.minima_panel.minimum_color`), cells with no minimum
  transparent. Add it to the 2-D plot (``plot.addItem(overlay)``), above the height image.
  ``set_difference(mask, bounds)`` shows a ``compare_basins`` mask instead (cells where two
  optimizers end in different places).
- :class:`BasinLegend`: a small widget listing each basin's colour, id, kind and share.
- :func:`basin_vertex_colors`: ``(nx, ny, 4)`` float colours for ``GLSurfacePlotItem(colors=...)`` on
  the surface view's grid (each vertex takes the colour of the basin cell it falls in).
- :class:`BasinWorker`: runs :func:`landscape_gui.core.basins.basin_map` in a ``QThreadPool`` with
  progress, cancel and a debounced :meth:`BasinWorker.request` for "recompute when a hyperparameter
  changes". It works on a copy of the minima table and hands back the map (with its table) through a
  queued signal; widgets are only touched on the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from landscape_gui.basin_image import label_colors
from landscape_gui.core.basins import BasinMap, basin_map
from landscape_gui.core.engine import Cancelled
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.surfaces import Bounds, Surface
from landscape_gui.qt.minima_panel import minimum_color, share_text

DEFAULT_OPACITY = 0.45


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


class BasinLegend(QWidget):
    """Colour, id, kind and share of each basin of the current map; a line for "no minimum"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self.rows: list[tuple[int | None, str, str]] = []
        self.set_map(None)

    def set_map(self, bmap: BasinMap | None) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.rows = []
        if bmap is None:
            self._grid.addWidget(QLabel("No basin map yet."), 0, 0, 1, 3)
            return
        fr = bmap.fractions()
        for c in bmap.points():
            self.rows.append((c.id, f"#{c.id} {c.kind} ({c.x:.4g}, {c.y:.4g})", share_text(fr[c.id])))
        none = 1.0 - bmap.labelled_share()
        if none > 0:
            self.rows.append((None, "no minimum", share_text(none)))
        for row, (ident, text, share) in enumerate(self.rows):
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            swatch.setStyleSheet(f"background-color: {minimum_color(ident).name()}; border: 1px solid #555;")
            self._grid.addWidget(swatch, row, 0)
            self._grid.addWidget(QLabel(text), row, 1)
            self._grid.addWidget(QLabel(share), row, 2)


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


# --------------------------------------------------------------------------------------------------
# Off the GUI thread


@dataclass(frozen=True)
class BasinRequest:
    """What to compute; ``table`` is copied before the worker uses it."""

    surface: Surface
    optimizer: Any
    hyperparameters: Mapping[str, Any] | None = None
    bounds: Bounds | None = None
    resolution: int = 256
    max_steps: int = 1000
    tol: float = 1e-6
    table: MinimaTable | None = None
    fused: bool = True


class _Signals(QObject):
    progress = Signal(int, float)
    done = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


class _Job(QRunnable):
    def __init__(self, generation: int, req: BasinRequest, cancel: threading.Event, signals: _Signals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.generation, self.req, self.cancel, self.signals = generation, req, cancel, signals

    def run(self) -> None:  # worker thread: no widget access here
        req, gen = self.req, self.generation
        try:
            table = req.table.copy() if req.table is not None else None
            result = basin_map(
                req.surface, req.optimizer, req.hyperparameters, req.bounds, req.resolution, req.max_steps, req.tol,
                progress=lambda f: self.signals.progress.emit(gen, float(f)),
                should_cancel=self.cancel.is_set, table=table, fused=req.fused,
            )
        except Cancelled:
            self.signals.cancelled.emit(gen)
        except LandscapeError as exc:
            self.signals.failed.emit(gen, str(exc))
        except Exception as exc:  # numeric trouble in a user formula must not kill the app
            self.signals.failed.emit(gen, f"basin map failed: {exc}")
        else:
            self.signals.done.emit(gen, result)


class BasinWorker(QObject):
    """Computes basin maps in a thread pool, one at a time; the latest request wins.

    Signals (delivered on the GUI thread):
        started(): a computation began.
        progress(float): fraction done, 0..1.
        finished(object): the :class:`BasinMap` (its ``table`` is a copy of the request's table,
            extended with what the map revealed; call ``bmap.rebased(your_table)`` to translate its
            labels to your table's ids, which may have grown while the worker ran).
        failed(str): a message for the user.
        cancelled(): the computation stopped on :meth:`cancel`. A computation replaced by a newer
            one ends silently (only the newest one reports).

    :meth:`start` begins now (cancelling a running job); :meth:`request` waits ``debounce_ms`` of
    quiet first, so dragging a learning-rate slider starts one computation, not fifty.
    """

    started = Signal()
    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, debounce_ms: int = 300, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._signals = _Signals()
        self._signals.progress.connect(self._on_progress)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._signals.cancelled.connect(self._on_cancelled)
        self._generation = 0
        self._cancel: threading.Event | None = None
        self._running = False
        self._pending: BasinRequest | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._fire)

    @property
    def busy(self) -> bool:
        """A computation is running or waiting for its debounce."""
        return self._running or self._timer.isActive()

    def start(self, req: BasinRequest) -> None:
        """Compute ``req`` now, cancelling any running computation."""
        self._timer.stop()
        self._pending = None
        if self._cancel is not None:
            self._cancel.set()
        self._generation += 1
        self._cancel = threading.Event()
        self._running = True
        self.started.emit()
        self._pool.start(_Job(self._generation, req, self._cancel, self._signals))

    def request(self, req: BasinRequest) -> None:
        """Compute ``req`` after ``debounce_ms`` without a newer request (restarts the wait)."""
        self._pending = req
        if self._cancel is not None and self._running:
            self._cancel.set()  # the current map is stale already
        self._timer.start()

    def cancel(self) -> None:
        """Stop the running computation and drop any pending request."""
        self._timer.stop()
        self._pending = None
        if self._cancel is not None:
            self._cancel.set()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    def _fire(self) -> None:
        if self._pending is not None:
            self.start(self._pending)

    def _on_progress(self, gen: int, frac: float) -> None:
        if gen == self._generation:
            self.progress.emit(frac)

    def _on_done(self, gen: int, result: object) -> None:
        if gen == self._generation:
            self._running = False
            self.finished.emit(result)

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._generation:
            self._running = False
            self.failed.emit(message)

    def _on_cancelled(self, gen: int) -> None:
        if gen == self._generation:
            self._running = False
            self.cancelled.emit()


__all__ = [
    "BasinLegend",
    "BasinOverlay",
    "BasinRequest",
    "BasinWorker",
    "basin_rgba",
    "basin_vertex_colors",
]
