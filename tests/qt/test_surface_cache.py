"""The 3-D view's static-layer cache: frames drawn from the cached surface look like frames drawn
whole, and the cache follows every change of the surface, the camera and the runs."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB32)
    a = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return a[:, : image.width(), :3].astype(int)


def _frame(qtbot, gl) -> np.ndarray:
    with qtbot.waitSignal(gl.frameSwapped, timeout=10000):
        gl.update()
    return _pixels(gl.grabFramebuffer())


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ visibly."""
    return float((np.abs(a - b).max(axis=2) > 40).mean())


@pytest.fixture
def gl(window, qtbot):
    g = window.surface_view.gl
    qtbot.waitUntil(lambda: g.context() is not None and g.width() > 100, timeout=10000)
    return g


def test_cached_frames_look_like_whole_frames(window, qtbot, gl):
    window.ctl.start_random(20, seed=3)
    assert gl.cache_static
    cached = _frame(qtbot, gl)
    assert gl.cache_static, "the static layer could not be copied on this OpenGL"
    gl.cache_static = False
    whole = _frame(qtbot, gl)
    # the same picture: paths hidden behind hills stay hidden (the depth is copied too); text may
    # land a pixel apart
    assert _differ(cached, whole) < 0.002
    # and the runs are in it: without them the picture changes
    window.ctl.clear_runs()
    assert _differ(_frame(qtbot, gl), whole) > 0.002


def test_cache_follows_playback_the_camera_and_the_surface(window, qtbot, gl):
    ctl = window.ctl
    ctl.start_random(10, seed=4)
    assert len(ctl.runs) == 10 and ctl.playback.max_step > 10
    ctl.playback.set_step(0)  # playback: only the paths change, over the cached surface
    start = _frame(qtbot, gl)
    ctl.playback.to_end()
    end = _frame(qtbot, gl)
    assert _differ(start, end) > 0.0005
    gl.cache_static = False
    assert _differ(_frame(qtbot, gl), end) < 0.002
    gl.cache_static = True
    gl.setCameraPosition(azimuth=30)  # the camera turned: the surface is drawn anew
    turned = _frame(qtbot, gl)
    assert _differ(end, turned) > 0.05
    gl.cache_static = False
    assert _differ(_frame(qtbot, gl), turned) < 0.002
    gl.cache_static = True
    assert ctl.set_surface("rosenbrock")
    other = _frame(qtbot, gl)
    assert _differ(other, turned) > 0.05
    gl.cache_static = False
    assert _differ(_frame(qtbot, gl), other) < 0.002


def test_cache_follows_a_recoloured_surface(window, qtbot, gl):
    view = window.surface_view
    before = _frame(qtbot, gl)
    R = len(window.ctl.grid[0])
    red = np.zeros((R, R, 4), np.float32)
    red[..., 0] = red[..., 3] = 1.0
    view.set_surface_colors(red)  # e.g. basins of attraction: same camera, new colours
    tinted = _frame(qtbot, gl)
    assert _differ(before, tinted) > 0.05
    gl.cache_static = False
    assert _differ(_frame(qtbot, gl), tinted) < 0.002
