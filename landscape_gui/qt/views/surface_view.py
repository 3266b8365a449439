"""The 3-D view: the loss surface as a lit, height-coloured mesh with axes, the trajectories on it.

Draws the controller's model and emits intents; it never calls the engine.

* ``startRequested(x, y)``: a left click (press and release without moving) on the surface; the
  point is found by un-projecting the pixel through the camera and intersecting the height field
  (:mod:`landscape_gui.qt.model.pick`). A drag orbits the camera and starts nothing.
* ``runClicked(id)``: Ctrl+click near a run's path (``-1`` on nothing).
* ``hovered(x, y)``: the surface point under the mouse (NaN, NaN off the surface).

Everything is drawn in display coordinates (``controller.box``: the domain on [-1, 1]², the height,
or its logarithm, on [0, 0.9]). Overlays: ``add_item(gl_item)`` / ``remove_item``; place them with
``box.points(xy, loss, lift)``; ``set_surface_colors(rgba)`` recolours the mesh (e.g. basins; ``None``
restores the height colours).
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.items.GLMeshItem import DirtyFlag
from OpenGL import GL
from pyqtgraph.opengl.GLGraphicsItem import GLGraphicsItem
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMatrix4x4, QOpenGLContext, QPainter, QSurfaceFormat, QVector3D
from PySide6.QtOpenGL import QOpenGLBuffer, QOpenGLWindow
from PySide6.QtWidgets import QVBoxLayout, QWidget

from landscape_gui.core.runs import DIVERGED
from landscape_gui.qt.views.map_view import COLORMAP
from landscape_gui.qt.views.paths import PathSet, build_paths, thinning_unit
from landscape_gui.qt.model.pick import HALF, HEIGHT, pick

log = logging.getLogger(__name__)

LIFT = 0.012
"""Trajectories float this far (display units) above the surface so the mesh does not hide them."""
CLICK_SLOP_PX = 4
MESH_NODES = 100
"""Most grid lines per axis the 3-D mesh draws (level of detail; ``SurfaceView.max_mesh_nodes``,
None = every grid line). With software OpenGL in a 520x650 view a 140x140 mesh took 32-63 ms a
frame, a 100x100 one 8-23 ms (medians of 20 frames, loaded machine): the frame rate a user sees."""
PATH_PX = 10.0
MESH_PX = 4.0
"""The mesh also takes at most one grid line per MESH_PX device pixels of the view's shorter side:
llvmpipe's cost is per triangle, and cells smaller than this add triangles but no visible detail
(a 140x140 mesh in a 305 px wide view drew in 8.2 ms, 100x100 in 5.5 ms)."""
MIN_MESH_NODES = 48

# Lambert shading with the light fixed to the camera, coloured by the vertex colour; both faces lit
# so the surface reads correctly from below as well.
_SHADER = shaders.ShaderProgram(
    "landscapeLit",
    [
        shaders.VertexShader(
            """
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            attribute vec4 a_position;
            attribute vec3 a_normal;
            attribute vec4 a_color;
            varying vec4 v_color;
            varying vec3 v_normal;
            void main() {
                v_normal = normalize(u_normal * a_normal);
                v_color = a_color;
                gl_Position = u_mvp * a_position;
            }
            """
        ),
        shaders.FragmentShader(
            """
            #ifdef GL_ES
            precision mediump float;
            #endif
            varying vec4 v_color;
            varying vec3 v_normal;
            void main() {
                float p = abs(dot(normalize(v_normal), normalize(vec3(-0.35, 0.55, 1.0))));
                gl_FragColor = vec4(v_color.rgb * (0.42 + 0.58 * p), v_color.a);
            }
            """
        ),
    ],
)


def _nothing_to_draw(item: GLGraphicsItem) -> bool:
    """A leaf item without vertices (no paths yet, no diverged run, an overlay not in use) draws
    nothing; skipping it saves its per-frame set-up (a millisecond or more with software OpenGL)."""
    pos = getattr(item, "pos", None)
    return isinstance(pos, np.ndarray) and len(pos) == 0 and not item.childItems()


class _StaticItem:
    """An item of the static layer (see :class:`GLView`): every change of it (data, colours,
    visibility, transform all go through ``update()``) makes the view redraw that layer."""

    def update(self) -> None:
        v = self.view()
        if v is not None and hasattr(v, "invalidate_static"):
            v.invalidate_static()
        super().update()


class StaticLines(_StaticItem, gl.GLLinePlotItem):
    """A line item of the static layer (the axes frame)."""


class HeightMesh(_StaticItem, gl.GLMeshItem):
    """A mesh whose arrays are set directly (normals from the height field's gradient; pyqtgraph's
    MeshData would compute vertex normals with a Python loop over vertices)."""

    def __init__(self) -> None:
        super().__init__(smooth=True, computeNormals=False, shader=_SHADER, glOptions="opaque")
        self._dirty = DirtyFlag(0)

    def set_arrays(self, vertexes: np.ndarray, normals: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> None:
        self.vertexes = np.ascontiguousarray(vertexes, dtype=np.float32)
        self.normals = np.ascontiguousarray(normals, dtype=np.float32)
        self.faces = np.ascontiguousarray(faces, dtype=np.uint32)
        self.colors = np.ascontiguousarray(colors, dtype=np.float32)
        self._dirty = DirtyFlag.POSITION | DirtyFlag.NORMAL | DirtyFlag.FACES | DirtyFlag.COLOR
        self.update()

    def set_colors(self, colors: np.ndarray) -> None:
        self.colors = np.ascontiguousarray(colors, dtype=np.float32)
        self._dirty |= DirtyFlag.COLOR
        self.update()

    def parseMeshData(self) -> DirtyFlag:
        bits, self._dirty = self._dirty, DirtyFlag(0)
        return bits


class PrefixLines(gl.GLLinePlotItem):
    """Line segments uploaded to the GPU once; a playback frame draws a prefix of them.

    ``set_segments(pos, color)`` takes every segment ordered by the step at which it appears;
    ``show_prefix(k)`` draws the first ``k`` vertices. pyqtgraph's ``setData`` would re-upload the visible
    prefix every frame."""

    def __init__(self, **kwds) -> None:
        super().__init__(**kwds)
        self._all_pos = np.empty((0, 3), np.float32)
        self._all_col = np.empty((0, 4), np.float32)

    def set_segments(self, pos: np.ndarray, color: np.ndarray) -> None:
        self._all_pos = np.ascontiguousarray(pos, dtype=np.float32)
        self._all_col = np.ascontiguousarray(color, dtype=np.float32)
        self.setData(pos=self._all_pos, color=self._all_col, mode="lines")  # marks both for upload

    def show_prefix(self, k: int) -> None:
        """Draw the first ``k`` vertices (``k // 2`` segments)."""
        if self.pos is None or len(self.pos) != k:
            self.pos = self._all_pos[:k]  # a view: the buffer on the GPU keeps every segment
            self.update()

    def upload_vbo(self, vbo, arr) -> None:
        if vbo is self.m_vbo_position:
            arr = self._all_pos
        elif vbo is self.m_vbo_color:
            arr = self._all_col
        super().upload_vbo(vbo, arr)


class LabelsItem(_StaticItem, GLGraphicsItem):
    """Many text labels at 3-D positions, painted with one QPainter per frame (pyqtgraph's
    GLTextItem opens a painter per label, which costs about a millisecond each with software GL)."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[tuple[tuple[float, float, float], str, QFont, QColor]] = []

    def set_labels(self, labels: list[tuple[tuple[float, float, float], str, QFont, QColor]]) -> None:
        self.labels = list(labels)
        self.update()

    def paint(self) -> None:
        if not self.labels:
            return
        view = self.view()
        rect = QRectF(view.rect())
        to_viewport = QMatrix4x4()
        to_viewport.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        project = to_viewport * self.mvpMatrix()
        painter = QPainter(view.paint_device())
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        try:
            for pos, text, font, color in self.labels:
                p = project.map(QVector3D(*pos)).toPointF()
                painter.setPen(color)
                painter.setFont(font)
                painter.drawText(p, text)
        finally:
            painter.end()


class GLView(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's 3-D view as a native OpenGL *window* that tells a click from a drag and reports
    hover positions.

    Why a window and not ``GLViewWidget`` (a QOpenGLWidget): a window containing a QOpenGLWidget is
    composited through OpenGL as a whole, so every repaint of any widget (the map animating, a table
    row) re-uploads and redraws the entire window; with software OpenGL that tripled the cost of a
    playback frame. A QOpenGLWindow embedded with ``QWidget.createWindowContainer`` draws into its own
    surface and the rest of the window stays on the raster backing store.
    """

    clicked = Signal(float, float, object)  # pixel x, y, modifiers
    moved = Signal(float, float)
    left = Signal()

    def __init__(self) -> None:
        share = QOpenGLContext.globalShareContext()
        if share is not None:
            super().__init__(share)
        else:
            super().__init__()
        fmt = QSurfaceFormat.defaultFormat()
        fmt.setDepthBufferSize(24)  # a window's default format may come without a depth buffer
        fmt.setStencilBufferSize(8)  # the same depth/stencil format as the static layer's framebuffer
        self.setFormat(fmt)
        self._press: QPointF | None = None
        self._dragged = False
        self._offscreen: tuple[int, int, float, object] | None = None
        """(width, height, scale, paint device) while :meth:`render_image` draws into a framebuffer."""
        self.static_items: tuple = ()
        """Items drawn once into :attr:`_static_fbo` and copied (colour and depth) into every frame
        while neither they nor the camera change (see :meth:`paintGL`)."""
        self.cache_static = True
        self._static_fbo = None
        self._static_key: tuple | None = None
        self._static_version = 0

    # QWidget API used by GLViewMixin and pyqtgraph's items
    def devicePixelRatioF(self) -> float:
        if self._offscreen is not None:
            return float(self._offscreen[2])
        return float(self.devicePixelRatio())

    def rect(self) -> QRect:
        if self._offscreen is not None:  # logical size: a painter on the device scales by its ratio
            w, h, scale, _ = self._offscreen
            return QRect(0, 0, round(w / scale), round(h / scale))
        return QRect(0, 0, self.width(), self.height())

    def paint_device(self):
        """Where QPainter overlays (axis labels) draw: the window, or the framebuffer being rendered."""
        return self._offscreen[3] if self._offscreen is not None else self

    def render_image(self, width: int, height: int, scale: float) -> "QImage":
        """Draw the scene offscreen into a ``width`` × ``height`` framebuffer (text and markers
        ``scale`` times their size on screen) and return it as an image: a figure at any size, not a
        screen grab."""
        from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat, QOpenGLPaintDevice

        if self.context() is None:
            from landscape_gui.core.errors import LandscapeError

            raise LandscapeError("the 3-D view is not on screen yet: try again once the window shows it")
        self.makeCurrent()
        fmt = QOpenGLFramebufferObjectFormat()
        fmt.setAttachment(QOpenGLFramebufferObject.CombinedDepthStencil)
        fbo = QOpenGLFramebufferObject(width, height, fmt)
        try:
            fbo.bind()
            device = QOpenGLPaintDevice(width, height)
            device.setDevicePixelRatio(scale)
            self._offscreen = (width, height, float(scale), device)
            GL.glViewport(0, 0, width, height)
            self.paint(region=(0, 0, width, height), viewport=(0, 0, width, height))
            image = fbo.toImage()
        finally:
            self._offscreen = None
            fbo.release()
            self.doneCurrent()
        return image

    def invalidate_static(self) -> None:
        """The static layer changed: the next frame draws it anew."""
        self._static_version += 1

    def paintGL(self) -> None:
        """A frame. The static layer (the mesh, the axes and their labels) is drawn into a
        framebuffer once and copied, colour and depth, into each frame while neither it nor the
        camera changes; only the other items (paths, markers, overlays) are drawn every frame, depth
        tested against the copied surface. During playback only the paths change, and with software
        OpenGL the mesh was the largest part of a frame. Where the copy is not supported (formats
        that differ), every item is drawn every frame as before."""
        w, h = self.deviceWidth(), self.deviceHeight()
        GL.glViewport(0, 0, w, h)
        if self.cache_static and self.static_items and self._offscreen is None and w > 0 and h > 0:
            try:
                if self._paint_cached(w, h):
                    return
            except Exception:  # a driver without framebuffer blits: draw everything, always
                log.warning("the 3-D view draws without its static-layer cache", exc_info=True)
                self.cache_static = False
                self._static_fbo = None
            self.makeCurrent()
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.defaultFramebufferObject())
            GL.glViewport(0, 0, w, h)
        super().paintGL()

    def _draw_items(self, items: list, region: tuple, clear: bool) -> None:
        """Draw only ``items`` (top-level items of this view) with the current camera."""
        saved = self.items
        self.items = items
        try:
            if clear:
                self.paint(region=region, viewport=region)
            else:
                self.setProjection(region, region)
                self.setModelview()
                self.drawItemTree()
        finally:
            self.items = saved

    def _paint_cached(self, w: int, h: int) -> bool:
        from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat, QOpenGLPaintDevice

        region = (0, 0, w, h)
        static = [i for i in self.items if i in self.static_items]
        dynamic = [i for i in self.items if i not in self.static_items and not _nothing_to_draw(i)]
        key = (w, h, self._static_version, tuple(self.viewMatrix().data()),
               tuple(self.projectionMatrix(region, region).data()), tuple(self.opts["bgcolor"]),
               tuple(i.visible() for i in static), self.devicePixelRatioF())
        fbo = self._static_fbo
        if fbo is None or fbo.width() != w or fbo.height() != h:
            fmt = QOpenGLFramebufferObjectFormat()
            fmt.setAttachment(QOpenGLFramebufferObject.CombinedDepthStencil)
            fbo = self._static_fbo = QOpenGLFramebufferObject(w, h, fmt)
            self._static_key = None
        if key != self._static_key:
            fbo.bind()
            device = QOpenGLPaintDevice(w, h)
            device.setDevicePixelRatio(self.devicePixelRatioF())
            self._offscreen = (w, h, self.devicePixelRatioF(), device)
            try:
                GL.glViewport(0, 0, w, h)
                self._draw_items(static, region, clear=True)
            finally:
                self._offscreen = None
            self.makeCurrent()  # QPainter may have changed the bound framebuffer
            self._static_key = key
        target = self.defaultFramebufferObject()
        GL.glGetError()  # clear earlier errors: the one below is the blit's
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo.handle())
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT, GL.GL_NEAREST)
        err = GL.glGetError()
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
        if err != GL.GL_NO_ERROR:
            raise RuntimeError(f"framebuffer blit failed (GL error {err:#x})")
        GL.glViewport(0, 0, w, h)
        self._draw_items(dynamic, region, clear=False)
        return True

    def event(self, ev) -> bool:
        if ev.type() == QEvent.Leave:
            self.left.emit()
        return super().event(ev)

    def mousePressEvent(self, ev) -> None:
        self._press = ev.position()
        self._dragged = False
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        if ev.buttons() == Qt.NoButton:
            self.moved.emit(ev.position().x(), ev.position().y())
            return
        if self._press is not None and (ev.position() - self._press).manhattanLength() > CLICK_SLOP_PX:
            self._dragged = True
        if self._dragged:
            super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton and self._press is not None and not self._dragged:
            self.clicked.emit(ev.position().x(), ev.position().y(), ev.modifiers())
        self._press = None
        super().mouseReleaseEvent(ev)

    def release_gl(self) -> None:
        """Free every GL buffer of the items while the context still exists. pyqtgraph's items own
        QOpenGLBuffer objects that Python would otherwise destroy after the context at interpreter
        exit (a crash on shutdown)."""
        if self.context() is None:
            return
        self.makeCurrent()
        try:
            self.cache_static = False  # no framebuffer is made again after this
            self._static_fbo = None  # deleted while its context is current
            for item in self.items:
                for value in list(vars(item).values()):
                    if isinstance(value, QOpenGLBuffer) and value.isCreated():
                        value.destroy()
            if self.default_vao.isCreated():
                self.default_vao.destroy()
        finally:
            self.doneCurrent()

    def mvp(self) -> np.ndarray:
        """``projection @ view`` as a numpy 4x4 (column-vector convention), for the current size."""
        vp = self.getViewport()
        proj = np.array(self.projectionMatrix(vp, vp).data(), dtype=float).reshape(4, 4).T
        view = np.array(self.viewMatrix().data(), dtype=float).reshape(4, 4).T
        return proj @ view


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return np.array([lo])
    raw = span / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return np.arange(np.ceil(lo / step) * step, hi + 1e-9 * span, step)


def _height_ticks(box) -> list[float]:
    """Loss values for the height axis: decades above the minimum on a log scale, else nice numbers."""
    if box.log:
        top = np.log10(max(box.zmax, 1e-300))
        ks = np.arange(np.floor(top) - 8, np.floor(top) + 1)
        vals = [10.0**k for k in ks if 10.0**k > box.zmin and box.height(np.array([10.0**k]))[0] > 0.04]
        if len(vals) > 5:
            vals = vals[:: -int(np.ceil(len(vals) / 5))][::-1]
        return [float(v) for v in vals]
    return [float(v) for v in _nice_ticks(box.zmin, box.zmax, 4)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


class SurfaceView(QWidget):
    """The 3-D surface with axes, trajectories, markers and picking."""

    startRequested = Signal(float, float)
    runClicked = Signal(int)
    hovered = Signal(float, float)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = controller
        self.gl = GLView()
        self.gl.setBackgroundColor(QColor(250, 250, 250))
        self.gl_widget = QWidget.createWindowContainer(self.gl, self)
        self.gl_widget.setMinimumSize(200, 150)
        self.gl_widget.setToolTip(
            "Click the surface: start a run there\nDrag: rotate    Ctrl+drag / middle drag: pan    Wheel: zoom\n"
            "Ctrl+click near a path: select that run"
        )
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.gl_widget)
        self.cmap = pg.colormap.get(COLORMAP)
        self.mesh = HeightMesh()
        self.gl.addItem(self.mesh)
        self.frame = StaticLines(mode="lines", color=(0.25, 0.25, 0.25, 1.0), width=1, antialias=True,
                                 glOptions="translucent")  # depth-tested: the surface hides it
        self.gl.addItem(self.frame)
        self.labels = LabelsItem()
        # no line smoothing: with software OpenGL it quadruples the cost of drawing many paths
        self.paths_item = PrefixLines(mode="lines", width=2, antialias=False, glOptions="translucent")
        self.sel_item = PrefixLines(mode="lines", width=5, antialias=False, glOptions="translucent")
        self.starts = gl.GLScatterPlotItem(size=9, pxMode=True, glOptions="translucent")
        self.heads = gl.GLScatterPlotItem(size=9, pxMode=True, glOptions="translucent")
        self.diverged = gl.GLScatterPlotItem(size=15, pxMode=True, color=(1, 0.1, 0.1, 1), glOptions="translucent")
        for it in (self.paths_item, self.sel_item, self.starts, self.heads, self.diverged, self.labels):
            self.gl.addItem(it)
        self.gl.static_items = (self.mesh, self.frame, self.labels)
        self.max_mesh_nodes: int | None = MESH_NODES
        self._mesh_nodes: int | None = None
        self._lod_timer = QTimer(self)  # a resize re-meshes once it settles
        self._lod_timer.setSingleShot(True)
        self._lod_timer.setInterval(150)
        self._lod_timer.timeout.connect(self._check_lod)
        self._H = np.zeros((2, 2))
        self._mesh_xs = self._mesh_ys = np.zeros(2)
        self._mesh_ix = self._mesh_iy = np.zeros(2, dtype=int)
        self._base_colors: np.ndarray | None = None
        self._override_rgba: np.ndarray | None = None
        self.paths: PathSet = build_paths([], 1, 1)
        self._pts = np.empty((0, 3), np.float32)
        self._seg_first = np.empty(0, np.int64)
        self._seg_pos = np.empty((0, 3), np.float32)
        self._seg_col = np.empty((0, 4), np.float32)
        self._seg_step = np.empty(0, np.int64)
        self._sel_pos = np.empty((0, 3), np.float32)
        self._sel_col = np.empty((0, 4), np.float32)
        self._sel_step = np.empty(0, np.int64)
        self._run_cols = np.empty((0, 4), np.float32)
        self._div_index = np.empty(0, dtype=np.int64)

        self.gl.clicked.connect(self._clicked)
        self.gl.moved.connect(self._moved)
        self.gl.left.connect(lambda: self.hovered.emit(float("nan"), float("nan")))
        controller.surfaceChanged.connect(self.update_surface)
        controller.runsChanged.connect(self.rebuild)
        controller.colorsChanged.connect(self.rebuild)
        controller.selectionChanged.connect(self._update_selection)
        controller.playback.stepChanged.connect(self.draw_step)
        self.update_surface()
        self.fit_camera()

    # ------------------------------------------------------------------ overlays
    def add_item(self, item: gl.GLGraphicsItem.GLGraphicsItem) -> None:
        """Add an item in display coordinates (see ``controller.box``)."""
        self.gl.addItem(item)

    def remove_item(self, item: gl.GLGraphicsItem.GLGraphicsItem) -> None:
        self.gl.removeItem(item)

    @property
    def surface_colors(self) -> np.ndarray | None:
        """The per-node colours set by :meth:`set_surface_colors`, or ``None`` (coloured by height)."""
        return self._override_rgba

    @property
    def base_colors(self) -> np.ndarray | None:
        """The height colouring of the grid nodes, ``(R*R, 4)`` floats (``None`` before a surface)."""
        return self._base_colors

    def set_surface_colors(self, rgba: np.ndarray | None) -> None:
        """Colour the mesh per grid node: ``rgba (R, R, 4)`` floats 0..1 on the controller's grid
        (e.g. basins of attraction; any ``(Rx, Ry, 4)`` grid over the bounds is resampled to the
        mesh); ``None`` restores colouring by height."""
        if rgba is None:
            self._override_rgba = None
        else:
            rgba = np.asarray(rgba, dtype=np.float32)
            self._override_rgba = rgba
        self._apply_colors()

    def _apply_colors(self) -> None:
        colors = self._base_colors
        rgba = self._override_rgba
        if rgba is not None:
            ix = np.round(np.linspace(0, rgba.shape[0] - 1, len(self._mesh_ix))).astype(int)
            iy = np.round(np.linspace(0, rgba.shape[1] - 1, len(self._mesh_iy))).astype(int)
            colors = rgba[np.ix_(ix, iy)].reshape(-1, 4)
        if colors is not None:
            self.mesh.set_colors(colors)

    # ------------------------------------------------------------------ surface
    def fit_camera(self) -> None:
        """The standard view: the whole box, seen from the front-left and above. The field of view
        spans the width, so a view taller than wide looks down more steeply, filling its height."""
        w, h = max(self.gl.width(), 1), max(self.gl.height(), 1)
        elevation = 30.0 if w >= h else min(48.0, 30.0 + 30.0 * (h / w - 1.0))
        self.gl.setCameraPosition(pos=pg.Vector(0, 0, HEIGHT * 0.35), distance=3.2, elevation=elevation, azimuth=-60)

    def mesh_nodes(self) -> int | None:
        """Grid lines per axis the mesh takes for the view's current size (None: every one):
        ``max_mesh_nodes``, fewer in a small view (see :data:`MESH_PX`)."""
        n = self.max_mesh_nodes
        if n is None:
            return None
        side = min(self.gl.width(), self.gl.height()) * self.gl.devicePixelRatio()
        if side >= 1:
            n = min(n, max(MIN_MESH_NODES, int(side / MESH_PX)))
        return n

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._lod_timer.start()

    def _check_lod(self) -> None:
        if self.mesh_nodes() != self._mesh_nodes:
            self.update_surface()

    def update_surface(self) -> None:
        ctl = self.ctl
        xs, ys, z = ctl.grid
        # level of detail: software OpenGL spends its time per triangle, so the mesh takes at most
        # max_mesh_nodes grid lines per axis (edges kept); the map always shows the full grid
        n = self._mesh_nodes = self.mesh_nodes()
        self._mesh_ix = np.unique(np.round(np.linspace(0, len(xs) - 1, min(len(xs), n or len(xs)))).astype(int))
        self._mesh_iy = np.unique(np.round(np.linspace(0, len(ys) - 1, min(len(ys), n or len(ys)))).astype(int))
        xs, ys = xs[self._mesh_ix], ys[self._mesh_iy]
        z = z[np.ix_(self._mesh_ix, self._mesh_iy)]
        self._mesh_xs, self._mesh_ys = xs, ys
        box = ctl.box
        R1, R2 = z.shape
        X, Y = box.xy(xs, ys)
        H = box.height(z)
        self._H = H
        gx, gy = np.meshgrid(X, Y, indexing="ij")
        verts = np.column_stack([gx.ravel(), gy.ravel(), np.nan_to_num(H, nan=0.0).ravel()])
        with np.errstate(all="ignore"):
            dzdx, dzdy = np.gradient(np.where(np.isfinite(H), H, np.nan), X, Y)
        nrm = np.dstack([-np.nan_to_num(dzdx), -np.nan_to_num(dzdy), np.ones_like(H)]).reshape(-1, 3)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        idx = np.arange(R1 * R2).reshape(R1, R2)
        a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
        faces = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
        fin = np.isfinite(H).ravel()
        faces = faces[fin[faces].all(axis=1)]
        frac = np.clip(np.nan_to_num(H / HEIGHT, nan=0.0), 0, 1).ravel()
        self._base_colors = self.cmap.map(frac, mode="float").astype(np.float32)
        self.mesh.set_arrays(verts, nrm, faces, self._base_colors)
        self._apply_colors()
        self._update_axes()
        self.rebuild()

    def _update_axes(self) -> None:
        """A floor frame and a vertical edge with tick labels in data units, and axis titles."""
        ctl = self.ctl
        box = ctl.box
        xmin, xmax, ymin, ymax = ctl.bounds
        H, h = HALF, HEIGHT
        segs = [
            [-H, -H, 0], [H, -H, 0], [H, -H, 0], [H, H, 0], [H, H, 0], [-H, H, 0], [-H, H, 0], [-H, -H, 0],
            [-H, -H, 0], [-H, -H, h],
        ]
        ticks = []
        font = QFont("DejaVu Sans", 8)
        dark = QColor(40, 40, 40)
        for v in _nice_ticks(xmin, xmax):
            X = float(box.xy(np.array([v]), np.array([ymin]))[0][0])
            segs += [[X, -H, 0], [X, -H - 0.04, 0]]
            ticks.append(((X, -H - 0.13, 0), _fmt(v)))
        for v in _nice_ticks(ymin, ymax):
            Y = float(box.xy(np.array([xmin]), np.array([v]))[1][0])
            segs += [[H, Y, 0], [H + 0.04, Y, 0]]
            ticks.append(((H + 0.09, Y, 0), _fmt(v)))
        for loss in _height_ticks(box):
            hv = float(box.height(np.array([loss]))[0])
            segs += [[-H, -H, hv], [-H - 0.04, -H, hv]]
            ticks.append(((-H - 0.07, -H - 0.07, hv), _fmt(loss)))
        self.frame.setData(pos=np.array(segs, dtype=np.float32), mode="lines")
        labels = [(pos, text, font, dark) for pos, text in ticks]
        bold = QFont("DejaVu Sans", 10, QFont.Bold)
        title = "loss (log scale)" if ctl.log_height else "loss"
        labels += [((0, -H - 0.3, 0), "x", bold, dark), ((H + 0.3, 0, 0), "y", bold, dark),
                   ((-H, -H, h + 0.1), title, bold, dark)]
        self.labels.set_labels(labels)

    # ------------------------------------------------------------------ runs
    def rebuild(self) -> None:
        """Re-flatten all runs into one coloured segment list ordered by the step at which each
        segment appears (a playback frame is then a prefix of the arrays)."""
        ctl = self.ctl
        runs = ctl.runs
        box = ctl.box
        xmin, xmax, ymin, ymax = ctl.bounds
        unit = thinning_unit(len(runs)) / 500  # about a pixel of the surface in a large view
        self.paths = p = build_paths(runs, (xmax - xmin) * unit, (ymax - ymin) * unit)
        cols = np.array([ctl.color_of(r) for r in runs], dtype=np.float32).reshape(-1, 3) / 255.0
        self._run_cols = np.column_stack([cols, np.ones(len(cols), np.float32)])
        self._pts = box.points(p.xy, p.loss, LIFT)
        first, seg_step = p.segments()
        # the 3-D view shows the plotted domain only: segments leaving the box are left out (the map
        # still shows where a run wandered off to)
        inside = self._inside(p.xy)
        keep = inside[first] & inside[first + 1] if len(first) else np.zeros(0, dtype=bool)
        first, seg_step = first[keep], seg_step[keep]
        order = np.argsort(seg_step, kind="stable")
        self._seg_first, self._seg_step = first[order], seg_step[order]
        self._seg_pos, self._seg_col = self._segment_arrays(self._seg_first)
        self.paths_item.set_segments(self._seg_pos, self._seg_col)
        starts = box.points(p.starts, p.start_loss, LIFT) if p.n else np.empty((0, 3), np.float32)
        sin = self._inside(p.starts)
        self.starts.setData(pos=starts[sin], color=self._run_cols[sin] * np.array([1, 1, 1, 0.55], np.float32))
        self._div_index = np.array([i for i, r in enumerate(runs) if r.status == DIVERGED], dtype=np.int64)
        self._update_selection()

    def _inside(self, xy: np.ndarray) -> np.ndarray:
        """Which data points lie in the plotted domain (with a hair of slack)."""
        xmin, xmax, ymin, ymax = self.ctl.bounds
        ex, ey = 1e-9 * (xmax - xmin), 1e-9 * (ymax - ymin)
        return (xy[:, 0] >= xmin - ex) & (xy[:, 0] <= xmax + ex) & (xy[:, 1] >= ymin - ey) & (xy[:, 1] <= ymax + ey)

    def _segment_arrays(self, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.empty((2 * len(first), 3), np.float32)
        pos[0::2], pos[1::2] = self._pts[first], self._pts[first + 1]
        col = np.repeat(self._run_cols[self.paths.run[first]], 2, axis=0) if len(first) else np.empty((0, 4), np.float32)
        return pos, col

    def _update_selection(self) -> None:
        sel = list(self.ctl.selected)
        mask = np.isin(self.paths.ids, sel) if sel else np.zeros(self.paths.n, dtype=bool)
        keep = mask[self.paths.run[self._seg_first]] if len(self._seg_first) else np.zeros(0, dtype=bool)
        self._sel_step = self._seg_step[keep]
        self._sel_pos, self._sel_col = self._segment_arrays(self._seg_first[keep])
        self.sel_item.set_segments(self._sel_pos, self._sel_col)
        self.draw_step(self.ctl.playback.step)

    def draw_step(self, step: int) -> None:
        box = self.ctl.box
        k = 2 * int(np.searchsorted(self._seg_step, step, side="right"))
        self.paths_item.show_prefix(k)
        k = 2 * int(np.searchsorted(self._sel_step, step, side="right"))
        self.sel_item.show_prefix(k)
        if self.paths.n:
            xy, loss = self.paths.heads(step)
            hp = box.points(xy, loss, LIFT)
            inside = self._inside(xy)
            self.heads.setData(pos=hp[inside], color=self._run_cols[inside])
            done = self._div_index[self.paths.last[self._div_index] <= step] if len(self._div_index) else self._div_index
            done = done[inside[done]] if len(done) else done
            self.diverged.setData(pos=hp[done] if len(done) else np.empty((0, 3), np.float32))
        else:
            self.heads.setData(pos=np.empty((0, 3), np.float32), color=np.empty((0, 4), np.float32))
            self.diverged.setData(pos=np.empty((0, 3), np.float32))

    # ------------------------------------------------------------------ picking
    def pick(self, px: float, py: float) -> tuple[float, float] | None:
        """Data (x, y) of the surface point under the widget pixel (px, py), or None."""
        return pick(self.gl.mvp(), px, py, self.gl.width(), self.gl.height(), self.ctl.box,
                    self._mesh_xs, self._mesh_ys, self._H)  # what is drawn is what is picked

    def pixel_of(self, x: float, y: float) -> tuple[float, float]:
        """Widget pixel where the surface point above data (x, y) is drawn."""
        from landscape_gui.qt.model.pick import project

        loss = self.ctl.loss_at(x, y)
        p3 = self.ctl.box.points(np.array([[x, y]]), np.array([loss]))
        px, py = project(self.gl.mvp(), p3.astype(float), self.gl.width(), self.gl.height())[0]
        return float(px), float(py)

    def _moved(self, px: float, py: float) -> None:
        p = self.pick(px, py)
        self.hovered.emit(*(p if p is not None else (float("nan"), float("nan"))))

    def _clicked(self, px: float, py: float, modifiers) -> None:
        p = self.pick(px, py)
        if modifiers & Qt.ControlModifier:
            if p is None:
                self.runClicked.emit(-1)
                return
            xmin, xmax, ymin, ymax = self.ctl.bounds
            scale = PATH_PX / max(self.gl.width(), 1) * 2
            rid = self.ctl.run_near(p[0], p[1], scale * (xmax - xmin), scale * (ymax - ymin))
            self.runClicked.emit(-1 if rid is None else rid)
            return
        if p is not None:
            self.startRequested.emit(*p)
