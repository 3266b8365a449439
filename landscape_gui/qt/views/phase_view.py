"""The phase diagram of a sweep in the window: one coloured cell per combination of hyperparameters.

:class:`PhaseView` draws a pyqtgraph ``ImageItem``: cell ``(i, j)`` (value ``i`` of the first varied
hyperparameter along x, value ``j`` of the second along y; one row for a single varied hyperparameter)
in the colour of its *dominant* minimum (the one most of its starts reach; the colours of the basin
overlay, :func:`landscape_gui.basin_image.minimum_rgb`), mixed towards white by ``PALE × (1 − share)``
so a cell whose dominant minimum holds a small share looks pale (as in ``phase.png``,
:mod:`landscape_gui.phase_image`). Axis ticks are the varied values. Clicking a cell emits
``cellClicked(c)`` with ``c`` the flat cell index (C order over the axes, as in the sweep); the cell
shown on the landscape is outlined.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from landscape_gui.basin_image import minimum_rgb

PALE = 0.75
"""How far towards white a cell whose dominant minimum holds almost no share is drawn."""
MAX_TICKS = 12


def phase_rgba(dominant: np.ndarray, share: np.ndarray) -> np.ndarray:
    """``(n0, n1)`` dominant ids and shares → ``(n0, n1, 4)`` uint8 colours (see the module docstring)."""
    d = np.asarray(dominant).reshape(np.shape(dominant)[0], -1)
    s = np.asarray(share, dtype=float).reshape(d.shape)
    out = np.empty(d.shape + (4,), dtype=np.uint8)
    for i, j in np.ndindex(d.shape):
        base = np.array(minimum_rgb(int(d[i, j])), dtype=float)
        pale = PALE * (1.0 - s[i, j]) if d[i, j] >= 0 else 0.0
        out[i, j, :3] = np.round(base + (255.0 - base) * pale)
        out[i, j, 3] = 255
    return out


def _ticks(values: Sequence[float]) -> list[tuple[float, str]]:
    n = len(values)
    step = max(1, -(-n // MAX_TICKS))
    return [(k + 0.5, f"{values[k]:.3g}") for k in range(0, n, step)]


class PhaseView(pg.PlotWidget):
    """The phase diagram (see the module docstring).

    Signals:
        cellClicked(int): the flat index of the cell clicked.
    """

    cellClicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        vb = self.plot_item.getViewBox()
        vb.setMouseEnabled(False, False)
        vb.setDefaultPadding(0.0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self.outline = pg.QtWidgets.QGraphicsRectItem()
        pen = pg.mkPen((20, 20, 20), width=3)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setBrush(Qt.NoBrush)
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.plot_item.addItem(self.outline)
        self.texts: list[pg.TextItem] = []
        self.shape: tuple[int, int] = (0, 0)
        self.rgba: np.ndarray | None = None
        self.scene().sigMouseClicked.connect(self._clicked)

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    def set_phase(self, dominant: np.ndarray, share: np.ndarray, names: Sequence[str],
                  values: Sequence[Sequence[float]], log: Sequence[bool]) -> None:
        """Draw ``dominant``/``share`` of shape ``(n0,)`` or ``(n0, n1)`` over the varied ``names``
        with their ``values`` (``log``: the axis is log-spaced, said in its label)."""
        d = np.asarray(dominant)
        d2 = d.reshape(d.shape[0], -1)
        s2 = np.asarray(share, dtype=float).reshape(d2.shape)
        self.shape = d2.shape
        self.rgba = phase_rgba(d2, s2)
        self.image.setImage(self.rgba.transpose(1, 0, 2), autoLevels=False)  # rows are y
        self.image.setRect(QRectF(0, 0, d2.shape[0], d2.shape[1]))
        pi = self.plot_item
        pi.getAxis("bottom").setTicks([_ticks(values[0]), []])
        pi.setLabel("bottom", f"{names[0]} (log-spaced)" if log[0] else names[0])
        if len(names) > 1:
            pi.getAxis("left").setTicks([_ticks(values[1]), []])
            pi.setLabel("left", f"{names[1]} (log-spaced)" if log[1] else names[1])
        else:
            pi.getAxis("left").setTicks([[], []])
            pi.setLabel("left", "")
        for t in self.texts:
            pi.removeItem(t)
        self.texts = []
        if self.n_cells <= 16 * 16:  # the dominant minimum's id and share, while legible
            for i, j in np.ndindex(self.shape):
                if d2[i, j] < 0:
                    text = "none"
                else:
                    text = f"#{int(d2[i, j])}\n{100 * s2[i, j]:.0f} %"
                t = pg.TextItem(text, color=(30, 30, 30), anchor=(0.5, 0.5))
                t.setPos(i + 0.5, j + 0.5)
                pi.addItem(t)
                self.texts.append(t)
        self.outline.setVisible(False)
        pi.getViewBox().setRange(xRange=(0, d2.shape[0]), yRange=(0, d2.shape[1]), padding=0.0)

    def cell_at(self, x: float, y: float) -> int | None:
        """The flat index of the cell under data point ``(x, y)``, or ``None``."""
        i, j = int(np.floor(x)), int(np.floor(y))
        if not (0 <= i < self.shape[0] and 0 <= j < self.shape[1]):
            return None
        return i * self.shape[1] + j

    def cell_center(self, cell: int):
        """The widget position (``QPoint``) of the centre of ``cell``."""
        i, j = divmod(int(cell), self.shape[1])
        scene = self.plot_item.getViewBox().mapViewToScene(pg.Point(i + 0.5, j + 0.5))
        return self.mapFromScene(scene)

    def mark(self, cell: int | None) -> None:
        """Outline ``cell`` (``None``: no outline)."""
        if cell is None or cell < 0 or self.n_cells == 0:
            self.outline.setVisible(False)
            return
        i, j = divmod(int(cell), self.shape[1])
        self.outline.setRect(QRectF(i, j, 1, 1))
        self.outline.setVisible(True)

    def mousePressEvent(self, ev) -> None:  # cells are buttons: a press on the plot is taken
        super().mousePressEvent(ev)
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:
        super().mouseReleaseEvent(ev)
        ev.accept()

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or self.n_cells == 0:
            return
        p = self.plot_item.getViewBox().mapSceneToView(event.scenePos())
        cell = self.cell_at(p.x(), p.y())
        if cell is not None:
            event.accept()
            self.cellClicked.emit(cell)


__all__ = ["PALE", "PhaseView", "phase_rgba"]
