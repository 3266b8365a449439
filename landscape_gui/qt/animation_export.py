"""File ▸ Export Animation: playback written as GIF or MP4, frame by frame as the window shows it.

Frames are what the window draws: for each playback step of the
:class:`~landscape_gui.qt.model.lessons.AnimationSpec`, the playback is set to that step (the views
redraw at once) and the chosen view is rendered at the chosen size with
:func:`landscape_gui.qt.figures.render_png` (the map or the window painted afresh; the 3-D view
rendered offscreen, its camera turned a little each frame when rotating). That happens on the GUI
thread, one frame per turn of the event loop (a zero-interval :class:`QTimer`), so the window stays
responsive; the frames go through a small queue to the encoder
(:func:`landscape_gui.core.animation.export_animation`: GIF through Pillow with one shared palette,
MP4 through imageio-ffmpeg, written atomically), which runs on the job runner with progress and
Cancel. When the export ends, however it ends, the playback step and the camera come back.
"""

from __future__ import annotations

import os
import queue
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from landscape_gui.core.animation import FORMATS, export_animation
from landscape_gui.core.engine import Cancelled
from landscape_gui.core.errors import LandscapeError
from landscape_gui.qt import figures
from landscape_gui.qt.model.lessons import ANIMATION_TARGETS, AnimationSpec

JOB_KEY = "animation"
QUEUE_FRAMES = 6
"""Frames rendered ahead of the encoder (memory stays at a few frames)."""
DEFAULT_FRAMES = 150


def _widget(window, target: str):
    if target not in ANIMATION_TARGETS:
        raise LandscapeError(f"unknown animation target {target!r}; one of: {', '.join(ANIMATION_TARGETS)}")
    return {"map": window.map_view, "surface": window.surface_view.gl_widget, "window": window}[target]


def frame_size(window, target: str, width: int = 0) -> tuple[int, int]:
    """``(w, h)`` of the frames of ``target`` ``width`` pixels wide (0: as on screen), the height
    following the view's shape, both even."""
    widget = _widget(window, target)
    ww, wh = max(widget.width(), 2), max(widget.height(), 2)
    w = int(width) if width else ww
    h = round(wh * w / ww)
    w, h = w - w % 2, h - h % 2
    if w < 2 or h < 2 or max(w, h) > figures.MAX_SIDE:
        raise LandscapeError(f"{w} × {h} pixels is not a size an animation can have (2 to {figures.MAX_SIDE} a side)")
    return w, h


def image_array(image: QImage) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB copy of a ``QImage``."""
    img = image.convertToFormat(QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    data = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return data[:, : 3 * w].reshape(h, w, 3).copy()


def render_frame(window, target: str, size: tuple[int, int]) -> np.ndarray:
    """What the window shows of ``target`` now, rendered at ``size`` (``(H, W, 3)`` uint8)."""
    widget = _widget(window, target)
    image = figures.render_png(window, target, size[0] / max(widget.width(), 1))
    if (image.width(), image.height()) != tuple(size):
        image = image.scaled(size[0], size[1], Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    return image_array(image)


def default_spec(window) -> AnimationSpec:
    """The whole playback of the map, about :data:`DEFAULT_FRAMES` frames at 30 fps, screen size."""
    last = window.ctl.playback.max_step
    every = max(1, -(-last // DEFAULT_FRAMES))
    return AnimationSpec(path="", target="map", first=0, last=last, every=every, fps=30.0, width=0)


class _QueuedFrames:
    """The frames source :func:`export_animation` reads on the worker thread: ``frame(step)`` takes
    the next frame the GUI thread rendered (waiting for it, and giving up when cancelled)."""

    def __init__(self, first: np.ndarray, runs: list, colours: np.ndarray) -> None:
        self.size = (first.shape[1], first.shape[0])
        self.background = first
        self.runs = runs
        self._colours = colours
        self.queue: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(maxsize=QUEUE_FRAMES)
        self.cancelled: Callable[[], bool] = lambda: False

    def frame(self, step: int) -> np.ndarray:
        while True:
            if self.cancelled():
                raise Cancelled()
            try:
                s, img = self.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if s != step:  # pragma: no cover - the GUI thread renders the steps in order
                raise RuntimeError(f"frame of step {s} arrived for step {step}")
            return img


class AnimationExporter(QObject):
    """One export in progress (see the module docstring).

    Signals:
        finished(str): the file is written (its path).
        failed(str): a message a person can act on; nothing was written.
        cancelled(): stopped by Cancel; nothing was written.
        frameRendered(int): the frame of this playback step was rendered.
    """

    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal()
    frameRendered = Signal(int)

    def __init__(self, window, spec: AnimationSpec, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window, self.spec = window, spec
        self.steps: list[int] = []
        self.size = (0, 0)
        self._k = 0
        self._frames: _QueuedFrames | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._restore: dict[str, Any] = {}
        self.running = False
        self._submitted = False

    def start(self) -> bool:
        """Check the request, render the first frame and start encoding; ``failed`` (and False) for a
        request that cannot be written."""
        w, spec = self.window, self.spec
        try:
            ext = os.path.splitext(spec.path)[1].lower()
            if ext not in FORMATS:
                raise LandscapeError(f"animations are written as .gif or .mp4, not {ext or 'a file without extension'!r}")
            folder = os.path.dirname(os.path.realpath(spec.path)) or "."
            if not os.path.isdir(folder):
                raise LandscapeError(f"cannot write {spec.path}: folder {folder} does not exist")
            self.steps = spec.steps()
            self.size = frame_size(w, spec.target, spec.width)
        except LandscapeError as exc:
            self.failed.emit(str(exc))
            return False
        pb = w.ctl.playback
        self._restore = {"step": pb.step, "playing": pb.playing}
        if spec.rotate and spec.target != "map":
            self._restore["azimuth"] = w.surface_view.gl.opts["azimuth"]
        pb.pause()
        self.running = True
        w.ctl.jobs.jobFinished.connect(self._job_finished)
        try:
            first = self._render(0)
        except LandscapeError as exc:
            self._end()
            self.failed.emit(str(exc))
            return False
        runs = w.ctl.runs
        colours = np.array([w.ctl.color_of(r) for r in runs] or [(0, 0, 0)], dtype=np.uint8)
        frames = self._frames = _QueuedFrames(first, runs, colours)
        frames.queue.put((self.steps[0], first))
        self._k = 1
        steps, path, fps = list(self.steps), spec.path, spec.fps

        def work(progress, cancelled):
            frames.cancelled = cancelled
            return export_animation(frames, path, steps, fps, progress, cancelled)

        label = f"Exporting {len(steps)} frames of {ANIMATION_TARGETS[spec.target]} to {os.path.basename(path)}"
        w.ctl.jobs.submit(JOB_KEY, label, work, self._done, self._failed, self._cancelled)
        self._submitted = True
        self._timer.start()
        return True

    def cancel(self) -> None:
        self.window.ctl.jobs.cancel(JOB_KEY)

    def _render(self, k: int) -> np.ndarray:
        w, spec = self.window, self.spec
        w.ctl.playback.set_step(self.steps[k])
        if "azimuth" in self._restore:
            w.surface_view.gl.setCameraPosition(azimuth=self._restore["azimuth"] + 360.0 * k / len(self.steps))
        img = render_frame(w, spec.target, self.size)
        self.frameRendered.emit(self.steps[k])
        return img

    def _tick(self) -> None:
        frames = self._frames
        if frames is None or not self.running or self._k >= len(self.steps):
            self._timer.stop()
            return
        if frames.queue.full():
            self._timer.setInterval(10)  # the encoder is behind: look again shortly, without spinning
            return
        self._timer.setInterval(0)
        try:
            img = self._render(self._k)
        except LandscapeError as exc:
            self.cancel()
            self._end()
            self.failed.emit(str(exc))
            return
        frames.queue.put((self.steps[self._k], img))
        self._k += 1
        if self._k >= len(self.steps):
            self._timer.stop()

    def _job_finished(self, key: str, outcome: str) -> None:
        if key == JOB_KEY and outcome == "cancelled" and self.running and self._submitted:  # replaced
            self._cancelled()

    def _end(self) -> None:
        if not self.running:
            return
        self.running = False
        self._timer.stop()
        self.window.ctl.jobs.jobFinished.disconnect(self._job_finished)
        w, r = self.window, self._restore
        if "azimuth" in r:
            w.surface_view.gl.setCameraPosition(azimuth=r["azimuth"])
        w.ctl.playback.set_step(r.get("step", w.ctl.playback.step))
        if r.get("playing"):
            w.ctl.playback.play()

    def _done(self, _count: int) -> None:
        self._end()
        self.finished.emit(self.spec.path)

    def _failed(self, exc: BaseException) -> None:
        self._end()
        self.failed.emit(str(exc) if isinstance(exc, LandscapeError) else f"animation export failed: {exc}")

    def _cancelled(self) -> None:
        self._end()
        self.cancelled.emit()


__all__ = ["AnimationExporter", "default_spec", "frame_size", "image_array", "render_frame"]
