"""Arrows that explain one optimizer step, drawn on the 2-D map and on the 3-D surface.

What is drawn is a :class:`StepPicture`: the vectors that make up the update of the selected run at
the current playback step (the gradient, the optimizer's own state vectors, the step taken), each with
a *kind* (a stable key such as ``"gradient"`` or ``"momentum"``) that fixes its colour in
:data:`PALETTE`, plus the narrated stages of the step. The pictures are built from the optimizer's
explanation of the recorded run by :mod:`landscape_gui.qt.panels.explain_panel`; nothing here knows any
optimizer.

Two drawers share one rule set:

* :class:`MapArrows` puts the arrows on a pyqtgraph ``PlotItem``/``ViewBox`` in data units: a shaft
  with a dark halo (so it reads on any colour of the heat map) and a filled head of fixed pixel size.
* :class:`SurfaceArrows` lays them on a ``GLViewWidget`` height field: the shaft follows the surface
  (its height sampled along the arrow, lifted a little), the head is two short lines.

Lengths: *true length* draws each vector as it is, in the plot's data units (a gradient's units are
loss per unit of x, so a steep gradient can be long and a small step short). *Normalised* keeps
every direction exact and scales each group of vectors that share units (the step and its parts; the
gradient and the optimizer's state) by one factor so the group's longest arrow is
:data:`NORM_FRACTION` of the view's diagonal: proportions within a group stay true (the parts of the
step still add up to it) and no arrow covers the whole view. Arrows never get shorter than
:data:`NORM_MIN` of that length, so a tiny one still shows its direction.
"""

from __future__ import annotations

import math
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from PySide6.QtCore import QObject
from shiboken6 import isValid

RGB = tuple[int, int, int]

PALETTE: dict[str, RGB] = {
    "gradient": (228, 26, 28),
    "neg_gradient": (255, 127, 0),
    "velocity": (247, 104, 201),
    "lookahead": (180, 110, 255),
    "first_moment": (255, 221, 0),
    "scale": (40, 215, 255),
    "gradient_term": (235, 90, 50),
    "momentum_term": (205, 55, 175),
    "decay_term": (150, 100, 50),
    "step": (255, 255, 255),
}
"""Colour of each vector kind (the stable kind keys of :mod:`landscape_gui.core.explain`), the same in
every view and in the legend. Chosen to stand out on the viridis heat map (dark blue to yellow) and on
the light 3-D background; every 2-D arrow also gets a dark halo. The parts of the step (``*_term``)
are darker shades of what they come from, and are drawn on the step, which is a wide translucent
white band. Kinds not listed (a plugin's own) get a colour from
:data:`EXTRA_COLOURS`."""

SHORT_NAMES: dict[str, str] = {
    "gradient": "gradient ∇f",
    "neg_gradient": "−∇f",
    "velocity": "velocity",
    "lookahead": "look-ahead",
    "first_moment": "1st moment m̂",
    "scale": "per-axis scale",
    "gradient_term": "gradient part",
    "momentum_term": "momentum part",
    "decay_term": "decay part",
    "step": "step Δ",
}
"""Short legend names on the map (the panel shows the full ones)."""

EXTRA_COLOURS: tuple[RGB, ...] = (
    (140, 255, 140), (255, 90, 90), (170, 170, 255), (255, 255, 120), (200, 140, 90), (120, 255, 220),
)

NORM_FRACTION = 0.16
"""Normalised mode: the longest arrow is this fraction of the view's diagonal."""
NORM_MIN = 0.12
"""Normalised mode: no arrow is drawn shorter than this fraction of the longest."""
HEAD_PX = 11.0
"""2-D arrow head length in pixels."""
ALPHA = 215
"""Opacity of the arrows (0-255): the heat map, contours and paths stay visible through them."""


def kind_colour(kind: str) -> RGB:
    """The colour of ``kind``: :data:`PALETTE`, else a fixed pick from :data:`EXTRA_COLOURS`."""
    if kind in PALETTE:
        return PALETTE[kind]
    return EXTRA_COLOURS[zlib.crc32(kind.encode()) % len(EXTRA_COLOURS)]


@dataclass(frozen=True)
class Vector:
    """One arrow: ``value`` (2,) drawn from ``origin`` (2,), both in data units.

    ``label`` is its name with its symbol, ``explanation`` its one-line meaning (the tooltip).
    ``group`` says which vectors share units and so share a scale in normalised mode: ``"step"`` for
    displacements (the step and its parts, in units of x), ``"gradient"`` for the rest (the gradient
    and the optimizer's state, in units of loss per x).
    """

    kind: str
    label: str
    value: np.ndarray
    origin: np.ndarray
    explanation: str = ""
    group: str = "gradient"

    @property
    def tip(self) -> np.ndarray:
        return self.origin + self.value


@dataclass(frozen=True)
class Stage:
    """One stage of a narrated step: a title ("decay the momentum"), the narration in plain words with
    the numbers, the vectors it shows (which replace earlier vectors of the same kind while the
    step-by-step mode walks on) and its scalars as ``(name, value)`` for display."""

    title: str
    narration: str
    vectors: tuple[Vector, ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.kind for v in self.vectors))


@dataclass(frozen=True)
class StepPicture:
    """What the explain views draw for one run at one playback step.

    Attributes:
        run_id: the run.
        step: the playback step; the run stands at ``positions[step]``.
        update: the optimizer step explained (counts from 1: the move from ``positions[update - 1]``
            to ``positions[update]``), or 0 when there is none (the run's last point).
        vectors: the arrows drawn outside the step-by-step mode, in legend order.
        stages: the narrated stages of the update (empty when there is no update).
        labels: legend text of each kind.
    """

    run_id: int
    step: int
    update: int
    vectors: tuple[Vector, ...]
    stages: tuple[Stage, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind drawn at some point of this step, in first-seen order."""
        seq = [v.kind for v in self.vectors] + [v.kind for s in self.stages for v in s.vectors]
        return tuple(dict.fromkeys(seq))

    def vectors_at(self, stage: int | None) -> tuple[Vector, ...]:
        """The vectors to draw: all of :attr:`vectors` for ``stage=None``; in the step-by-step mode at
        ``stage``, for each kind the vectors of the latest stage ``<= stage`` that shows that kind
        (so the decayed momentum gives way to the new momentum, and so on)."""
        if stage is None or not self.stages:
            return self.vectors
        latest: dict[str, tuple[Vector, ...]] = {}
        for s in self.stages[: max(stage, 0) + 1]:
            for kind in s.kinds:
                latest[kind] = tuple(v for v in s.vectors if v.kind == kind)
        return tuple(v for vs in latest.values() for v in vs)

    def label_of(self, kind: str) -> str:
        if kind in self.labels:
            return self.labels[kind]
        for v in (*self.vectors, *(v for s in self.stages for v in s.vectors)):
            if v.kind == kind:
                return v.label
        return kind.replace("_", " ")

    def explanation_of(self, kind: str) -> str:
        for v in (*self.vectors, *(v for s in self.stages for v in s.vectors)):
            if v.kind == kind and v.explanation:
                return v.explanation
        return ""


def display_lengths(lengths: np.ndarray, groups: Sequence[str], longest: float, shortest: float,
                    normalised: bool) -> np.ndarray:
    """Drawn length of vectors whose true lengths (in the drawing's units) are ``lengths``.

    True length: unchanged. Normalised: within each group (vectors sharing units) one common factor
    makes the group's longest vector ``longest`` long, so lengths in a group keep their proportions
    (the parts of a step still add up to it); a vector that would come out shorter than ``shortest``
    is drawn at ``shortest`` so its direction stays readable. Zero vectors stay zero.
    """
    lengths = np.asarray(lengths, dtype=float)
    if not normalised:
        return lengths
    out = np.zeros_like(lengths)
    ok = np.isfinite(lengths) & (lengths > 0)
    groups_arr = np.asarray(list(groups), dtype=object)
    for g in set(groups_arr[ok].tolist()) if ok.any() else ():
        m = ok & (groups_arr == g)
        out[m] = np.maximum(lengths[m] * (longest / lengths[m].max()), shortest)
    return out


class _ArrowsBase(ABC):
    """State shared by both drawers: the picture, the visible kinds, the stage, the scaling mode."""

    def __init__(self) -> None:
        self.picture: StepPicture | None = None
        self.hidden_kinds: set[str] = set()
        self.stage: int | None = None
        self.normalised = True
        self.enabled = True

    def set_explanation(self, picture: StepPicture | None) -> None:
        """Draw ``picture`` (``None`` clears)."""
        self.picture = picture
        self.redraw()

    def clear(self) -> None:
        """Draw nothing (until the next picture)."""
        self.set_explanation(None)

    def set_visible_kinds(self, kinds: Iterable[str]) -> None:
        """Show only these kinds (of those in the picture); kinds never seen are shown by default, so
        pass the full set the legend knows."""
        known = set(PALETTE) | (set(self.picture.kinds) if self.picture else set())
        kinds = set(kinds)
        self.hidden_kinds = (known | self.hidden_kinds) - kinds
        self.redraw()

    def set_normalised(self, on: bool) -> None:
        self.normalised = bool(on)
        self.redraw()

    def set_enabled(self, on: bool) -> None:
        """Draw (True) or hide everything (e.g. while the explain panel is closed)."""
        self.enabled = bool(on)
        self.redraw()

    def set_stage(self, stage: int | None) -> None:
        """Step-by-step mode: draw only the vectors of stages ``0..stage``; ``None``: all vectors."""
        if stage == self.stage:
            return
        self.stage = stage
        self.redraw()

    def shown_vectors(self) -> list[Vector]:
        """The vectors to draw now: visible kinds, stages so far, finite."""
        p = self.picture
        if p is None or not self.enabled:
            return []
        return [
            v for v in p.vectors_at(self.stage)
            if v.kind not in self.hidden_kinds and np.all(np.isfinite(v.value)) and np.all(np.isfinite(v.origin))
        ]

    @abstractmethod
    def redraw(self) -> None:
        """Bring the drawn items in line with the state."""


# --------------------------------------------------------------------------------------------------
# 2-D


class MapArrows(_ArrowsBase):
    """The step's vectors on a pyqtgraph plot, in data units.

    Args:
        plot: a ``PlotItem``, ``PlotWidget`` or ``ViewBox``.
        z: z value of the arrows (the main window's map: heat map -100, contours -50, trajectories 0 to
            6, markers 7 and up). Below the paths (the default -20) an arrow along the path (the
            gradient often points back the way the run came) is hidden by it; above them (the main
            window uses 6.5) the translucent arrows, narrower than the selected path, leave it visible.
        legend: show a small legend of the kinds drawn, in the top-left corner of the view.

    Each kind is three items: a dark halo and a coloured shaft (``PlotCurveItem`` pairs) and one
    ``ArrowItem`` head per arrow (fixed pixel size, so it stays legible at any zoom). Geometry that
    depends on the zoom (head offset, normalised lengths) is recomputed when the view changes.
    """

    def __init__(self, plot, z: float = -20.0, legend: bool = True) -> None:
        super().__init__()
        if isinstance(plot, pg.PlotWidget):
            plot = plot.getPlotItem()
        self.view: pg.ViewBox = plot.getViewBox() if isinstance(plot, pg.PlotItem) else plot
        self.z = z
        self._items: dict[str, tuple[pg.PlotCurveItem, pg.PlotCurveItem, list[pg.ArrowItem]]] = {}
        self._legend: pg.LegendItem | None = None
        self._legend_samples: dict[str, pg.PlotDataItem] = {}
        self._legend_kinds: list[str] = []
        self._legend_corner: tuple[int, int] | None = None
        if legend:
            self._legend = pg.LegendItem(offset=(8, 8), labelTextColor=(20, 20, 20), labelTextSize="8pt", colCount=2,
                                         brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen(120, 120, 120))
            self._legend.setParentItem(self.view)
            self._legend.setZValue(1000)
            self._legend.setVisible(False)
        self._drawn: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.view.sigTransformChanged.connect(self.redraw)

    # ------------------------------------------------------------------ items
    def _kind_items(self, kind: str):
        if kind not in self._items:
            r, g, b = kind_colour(kind)
            if kind == "step":  # a band the parts of the step are drawn on
                halo = pg.PlotCurveItem(pen=pg.mkPen(0, 0, 0, 90, width=9), connect="pairs", antialias=True)
                shaft = pg.PlotCurveItem(pen=pg.mkPen(r, g, b, 150, width=7), connect="pairs", antialias=True)
            else:
                halo = pg.PlotCurveItem(pen=pg.mkPen(0, 0, 0, 150, width=4.5), connect="pairs", antialias=True)
                shaft = pg.PlotCurveItem(pen=pg.mkPen(r, g, b, ALPHA, width=2.2), connect="pairs", antialias=True)
            for it in (halo, shaft):
                self.view.addItem(it, ignoreBounds=True)
            self._items[kind] = (halo, shaft, [])
        return self._items[kind]

    def _head(self, kind: str, heads: list[pg.ArrowItem], i: int) -> pg.ArrowItem:
        while len(heads) <= i:
            r, g, b = kind_colour(kind)
            a = pg.ArrowItem(headLen=HEAD_PX, tipAngle=32, tailLen=None, pen=pg.mkPen(0, 0, 0, 170, width=1),
                             brush=pg.mkBrush(r, g, b, ALPHA), pxMode=True)
            self.view.addItem(a, ignoreBounds=True)
            heads.append(a)
        return heads[i]

    # ------------------------------------------------------------------ geometry
    def _pixel_size(self) -> tuple[float, float]:
        px, py = self.view.viewPixelSize()
        if not (px > 0 and py > 0 and math.isfinite(px) and math.isfinite(py)):
            (x0, x1), (y0, y1) = self.view.viewRange()
            px, py = (x1 - x0) / 500.0, (y1 - y0) / 500.0
        return float(px), float(py)

    def redraw(self) -> None:
        if not isValid(self.view):  # the plot went away first (window closing)
            return
        vectors = self.shown_vectors()
        px, py = self._pixel_size()
        w = max(self.view.width(), 1.0)
        h = max(self.view.height(), 1.0)
        diag_px = math.hypot(w, h)
        screen = np.array([[v.value[0] / px, v.value[1] / py] for v in vectors]).reshape(-1, 2)
        true_px = np.hypot(screen[:, 0], screen[:, 1])
        longest = NORM_FRACTION * diag_px
        drawn_px = display_lengths(true_px, [v.group for v in vectors], longest, NORM_MIN * longest, self.normalised)
        drawn_px = np.minimum(drawn_px, 20.0 * diag_px)  # keep Qt's coordinates sane for huge vectors
        by_kind: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for v, s, t, d in zip(vectors, screen, true_px, drawn_px):
            if d <= 0 or t <= 0:
                continue
            u = s / t  # unit direction in pixels (y up)
            tip = v.origin + np.array([u[0] * d * px, u[1] * d * py])
            by_kind.setdefault(v.kind, []).append((v.origin.astype(float), tip, u, d))
        self._drawn = {k: [(o, t) for o, t, _, _ in segs] for k, segs in by_kind.items()}
        # Longer arrows lower: arrows that share a direction stack with every head visible.
        order = sorted(by_kind, key=lambda k: (k != "step", -max(d for *_, d in by_kind[k])))
        rank = {k: i for i, k in enumerate(order)}
        for kind in set(self._items) | set(by_kind):
            halo, shaft, heads = self._kind_items(kind)
            segs = by_kind.get(kind, [])
            if not segs and not shaft.isVisible():
                continue
            base = self.z + 0.01 * rank.get(kind, 0)
            halo.setZValue(base)
            shaft.setZValue(base + 0.003)
            pts = []
            for i, (o, tip, u, d) in enumerate(segs):
                back = min(HEAD_PX * 0.8, d)
                neck = tip - np.array([u[0] * back * px, u[1] * back * py])
                pts += [o, neck]
                head = self._head(kind, heads, i)
                angle = math.degrees(math.atan2(-u[1], u[0])) - 180.0
                if abs(head.opts["angle"] - angle) > 1e-3:
                    head.setStyle(angle=angle)
                head.setPos(float(tip[0]), float(tip[1]))
                head.setZValue(base + 0.006)
                head.setVisible(True)
            for extra in heads[len(segs):]:
                extra.setVisible(False)
            arr = np.array(pts, dtype=float).reshape(-1, 2)
            for item in (halo, shaft):
                item.setData(arr[:, 0], arr[:, 1], connect="pairs")
                item.setVisible(bool(segs))
        self._update_legend([v.kind for v in vectors if v.kind in by_kind])
        if by_kind:
            self._place_legend(vectors[0].origin)

    def _update_legend(self, kinds: list[str]) -> None:
        kinds = list(dict.fromkeys(kinds))
        if self._legend is None or kinds == self._legend_kinds:
            return
        self._legend_kinds = kinds
        self._legend.clear()
        for kind in kinds:
            if kind not in self._legend_samples:
                r, g, b = kind_colour(kind)
                self._legend_samples[kind] = pg.PlotDataItem(pen=pg.mkPen(r, g, b, 255, width=4))
            self._legend.addItem(self._legend_samples[kind], SHORT_NAMES.get(kind, kind.replace("_", " ")))
        self._legend.setVisible(bool(kinds))

    def _place_legend(self, origin: np.ndarray) -> None:
        """Put the legend in the corner of the view farthest from the arrows, so it never covers them."""
        if self._legend is None:
            return
        (x0, x1), (y0, y1) = self.view.viewRange()
        fx = (origin[0] - x0) / (x1 - x0) if x1 > x0 else 0.5
        fy = (origin[1] - y0) / (y1 - y0) if y1 > y0 else 0.5
        corner = (0 if fx > 0.5 else 1, 1 if fy > 0.5 else 0)  # (x: 0 left / 1 right, y: 0 top / 1 bottom)
        if corner == self._legend_corner:
            return
        self._legend_corner = corner
        offset = (8 if corner[0] == 0 else -8, 8 if corner[1] == 0 else -8)
        self._legend.anchor(itemPos=corner, parentPos=corner, offset=offset)

    def legend_corner(self) -> tuple[int, int] | None:
        """Where the legend is: ``(0 left / 1 right, 0 top / 1 bottom)``, or None before any arrow."""
        return self._legend_corner

    # ------------------------------------------------------------------ queries (tests, tools)
    def drawn(self) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        """``kind -> [(origin, tip)]`` of the arrows on screen now, in data units."""
        return {k: [(o.copy(), t.copy()) for o, t in v] for k, v in self._drawn.items()}

    def items(self, kind: str) -> list:
        """The graphics items of ``kind`` (halo, shaft, heads) that are currently visible."""
        if kind not in self._items:
            return []
        halo, shaft, heads = self._items[kind]
        return [it for it in (halo, shaft, *heads) if it.isVisible()]

    def remove(self) -> None:
        """Take every item off the plot."""
        self.view.sigTransformChanged.disconnect(self.redraw)
        for halo, shaft, heads in self._items.values():
            for it in (halo, shaft, *heads):
                self.view.removeItem(it)
        self._items.clear()
        if self._legend is not None:
            self._legend.setParentItem(None)
            self._legend = None


# --------------------------------------------------------------------------------------------------
# 3-D

SceneMap = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(xy (n, 2), loss (n,)) -> (n, 3)`` scene points (the 3-D view's display coordinates)."""


def _identity_scene(xy: np.ndarray, loss: np.ndarray) -> np.ndarray:
    return np.column_stack([xy, loss]).astype(np.float32)


class SurfaceArrows(_ArrowsBase):
    """The step's vectors on a ``GLViewWidget``, lying on the loss surface.

    Args:
        view: the ``GLViewWidget`` (or anything with ``addItem``/``removeItem`` of GL items).
        value: the loss ``f(xy (n, 2)) -> (n,)`` (e.g. ``surface.value``), sampled along each arrow.
        to_scene: data -> scene map (the main window: ``controller.box.points``); default identity
            ``(x, y, loss)``.
        bounds: ``(xmin, xmax, ymin, ymax)`` of the plotted domain: normalised lengths are a fraction of
            its diagonal in the scene.
        lift: scene units the arrows float above the surface.

    Each arrow is :data:`SAMPLES` shaft segments at the surface height along it plus two head lines
    (:data:`HEAD_FRACTION` of its length, at most :data:`HEAD_MAX` scene units, ±25°) built in the
    scene's x-y plane, all kinds in one ``GLLinePlotItem`` per kind (``mode="lines"``).
    """

    SAMPLES = 24
    HEAD_FRACTION = 0.28
    HEAD_MAX = 0.09

    def __init__(
        self,
        view,
        value: Callable[[np.ndarray], np.ndarray] | None = None,
        to_scene: SceneMap | None = None,
        bounds: Sequence[float] | None = None,
        lift: float = 0.025,
        width: float = 3.0,
    ) -> None:
        super().__init__()
        self.view = view
        self.value = value
        self.to_scene: SceneMap = to_scene or _identity_scene
        self.bounds = tuple(bounds) if bounds is not None else None
        self.lift = lift
        self.width = width
        self._items: dict[str, gl.GLLinePlotItem] = {}
        self._drawn: dict[str, np.ndarray] = {}

    def set_geometry(
        self,
        value: Callable[[np.ndarray], np.ndarray] | None,
        to_scene: SceneMap | None,
        bounds: Sequence[float] | None,
    ) -> None:
        """New surface, scene map or domain (connect to the surface changing)."""
        self.value = value
        self.to_scene = to_scene or _identity_scene
        self.bounds = tuple(bounds) if bounds is not None else None
        self.redraw()

    def _item(self, kind: str) -> gl.GLLinePlotItem:
        if kind not in self._items:
            r, g, b = kind_colour(kind)
            item = gl.GLLinePlotItem(mode="lines", width=self.width, antialias=True,
                                     color=(r / 255, g / 255, b / 255, 1.0), glOptions="translucent")
            self.view.addItem(item)
            self._items[kind] = item
        return self._items[kind]

    def _scene(self, xy: np.ndarray) -> np.ndarray:
        if self.value is not None:
            with np.errstate(all="ignore"):
                z = np.asarray(self.value(xy), dtype=float)
        else:
            z = np.zeros(len(xy))
        pts = np.asarray(self.to_scene(xy, z), dtype=np.float32)
        pts = np.array(pts, dtype=np.float32, copy=True)
        pts[:, 2] = np.nan_to_num(pts[:, 2], nan=0.0, posinf=0.0, neginf=0.0) + self.lift
        return pts

    def _scene_xy_scale(self) -> tuple[np.ndarray, float]:
        """Scene units per data unit on x and y, and the scene diagonal of the domain."""
        if self.bounds is None:
            vectors = self.shown_vectors()
            span = max((float(np.hypot(*v.value)) for v in vectors), default=1.0) or 1.0
            return np.ones(2), 6.0 * span
        xmin, xmax, ymin, ymax = self.bounds
        c = self.to_scene(np.array([[xmin, ymin], [xmax, ymax]], dtype=float), np.zeros(2))
        c = np.asarray(c, dtype=float)
        sx = (c[1, 0] - c[0, 0]) / (xmax - xmin)
        sy = (c[1, 1] - c[0, 1]) / (ymax - ymin)
        return np.array([sx, sy]), float(math.hypot(c[1, 0] - c[0, 0], c[1, 1] - c[0, 1]))

    def redraw(self) -> None:
        if isinstance(self.view, QObject) and not isValid(self.view):  # the view went away first
            return
        vectors = self.shown_vectors()
        scale, diag = self._scene_xy_scale()
        sv = np.array([v.value * scale for v in vectors]).reshape(-1, 2)
        true_len = np.hypot(sv[:, 0], sv[:, 1])
        longest = NORM_FRACTION * diag
        drawn = display_lengths(true_len, [v.group for v in vectors], longest, NORM_MIN * longest, self.normalised)
        drawn = np.minimum(drawn, 20.0 * diag)
        by_kind: dict[str, list[np.ndarray]] = {}
        t = np.linspace(0.0, 1.0, self.SAMPLES + 1)
        for v, s, tl, d in zip(vectors, sv, true_len, drawn):
            if d <= 0 or tl <= 0:
                continue
            u = s / tl  # unit direction in the scene's x-y plane
            vec_data = u * d / scale  # the drawn vector, back in data units
            shaft = v.origin + t[:, None] * vec_data
            head_len = min(self.HEAD_FRACTION * d, self.HEAD_MAX)
            segs = [np.repeat(shaft, 2, axis=0)[1:-1]]
            tip = shaft[-1]
            for ang in (math.radians(155), -math.radians(155)):
                c, s_ = math.cos(ang), math.sin(ang)
                du = np.array([c * u[0] - s_ * u[1], s_ * u[0] + c * u[1]])
                hs = np.linspace(0.0, 1.0, 5)
                line = tip + hs[:, None] * (du * head_len / scale)
                segs.append(np.repeat(line, 2, axis=0)[1:-1])
            by_kind.setdefault(v.kind, []).append(np.concatenate(segs))
        self._drawn = {}
        xy_all = {k: np.concatenate(v) for k, v in by_kind.items()}
        if xy_all:  # one evaluation of the surface for every arrow
            pts = self._scene(np.concatenate(list(xy_all.values())))
            cuts = np.cumsum([len(v) for v in xy_all.values()])[:-1]
            scene_of = dict(zip(xy_all, np.split(pts, cuts)))
        for kind in set(self._items) | set(by_kind):
            item = self._item(kind)
            if kind in by_kind:
                pos = scene_of[kind]
                self._drawn[kind] = pos
                item.setData(pos=pos, mode="lines")
                item.setVisible(True)
            else:
                item.setData(pos=np.zeros((0, 3), np.float32), mode="lines")
                item.setVisible(False)

    def drawn(self) -> dict[str, np.ndarray]:
        """``kind -> (m, 3)`` scene points (segment pairs) of the arrows on screen now."""
        return {k: v.copy() for k, v in self._drawn.items()}

    def items(self, kind: str) -> list:
        item = self._items.get(kind)
        return [item] if item is not None and item.visible() else []

    def remove(self) -> None:
        for item in self._items.values():
            self.view.removeItem(item)
        self._items.clear()


__all__ = [
    "PALETTE", "SHORT_NAMES", "EXTRA_COLOURS", "kind_colour", "Vector", "Stage", "StepPicture", "display_lengths",
    "MapArrows", "SurfaceArrows",
]
