"""A click shows the whole run at once: the first frame of each view that shows the new run shows
every step of it. Playback (animating new runs) is a choice, off by default."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt

from landscape_gui.qt.views.surface_view import LIFT


class _Frames(QObject):
    """What each view held when it presented a frame: the number of path segments drawn, per frame."""

    def __init__(self, window) -> None:
        super().__init__()
        self.map_view, self.surface_view = window.map_view, window.surface_view
        self.map: list[int] = []
        self.gl: list[int] = []
        self.map_view.viewport().installEventFilter(self)
        self.surface_view.gl.frameSwapped.connect(self._swapped)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Paint:
            self.map.append(len(self.map_view.drawn_segments()) // 2)
        return False

    def _swapped(self) -> None:
        pos = self.surface_view.paths_item.pos
        self.gl.append(0 if pos is None else len(pos) // 2)

    @staticmethod
    def first_with_paths(counts: list[int]) -> int | None:
        return next((c for c in counts if c > 0), None)


@pytest.fixture
def default_window(qtbot, make_window):
    """A window as a user gets it: no test switches (new runs computed as the window decides, playback
    of new runs as configured by default)."""
    w = make_window(restore_settings=False)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitExposed(w.surface_view.gl)
    return w


def _click(qtbot, window, where: str, x: float, y: float) -> None:
    if where == "map":
        qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))
    else:
        px, py = window.surface_view.pixel_of(x, y)
        qtbot.mouseClick(window.surface_view.gl, Qt.LeftButton, Qt.NoModifier, QPoint(round(px), round(py)))


@pytest.mark.parametrize("where", ["map", "3-D view"])
def test_a_click_shows_all_1000_steps_at_once_in_both_views(qtbot, default_window, where):
    window = default_window
    ctl = window.ctl
    assert ctl.animate_new_runs is False and not window.act_animate.isChecked()  # the default
    ctl.set_tol(0.0)  # the run takes every one of its 1,000 steps
    ctl.set_hyperparameter("sgd", "lr", 1e-4)
    if where == "3-D view":
        window.surface_view.gl.setCameraPosition(elevation=70, azimuth=-60)  # the point is not occluded
    frames = _Frames(window)
    _click(qtbot, window, where, 2.0, -1.0)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1, timeout=30000)
    qtbot.waitUntil(lambda: frames.first_with_paths(frames.map) is not None
                    and frames.first_with_paths(frames.gl) is not None, timeout=30000)

    (run,) = ctl.runs
    assert run.steps == ctl.max_steps == 1000
    assert ctl.playback.step == 1000 and not ctl.playback.playing

    # every segment of the (pixel-thinned) path, the last one ending at step 1,000, in the first frame
    map_segments = len(window.map_view.paths.segments()[0])
    assert map_segments > 0
    assert frames.first_with_paths(frames.map) == map_segments
    drawn = window.map_view.drawn_segments()
    assert drawn[-1] == pytest.approx(run.end)
    assert map_segments == len(window.map_view.paths.step_sorted_segments()[1])
    assert window.map_view.paths.step_sorted_segments()[1][-1] == 1000

    sv = window.surface_view
    gl_segments = len(sv.paths.segments()[0])
    assert frames.first_with_paths(frames.gl) == gl_segments > 0
    end3d = ctl.box.points(np.array([run.end]), np.array([run.losses[-1]]), LIFT)[0]
    assert sv.paths_item.pos[-1] == pytest.approx(end3d, abs=1e-5)


def test_playback_of_new_runs_remains_a_choice(qtbot, default_window):
    window = default_window
    ctl = window.ctl
    ctl.set_tol(0.0)
    ctl.set_hyperparameter("sgd", "lr", 1e-4)
    assert not window.act_animate.isChecked()
    window.act_animate.trigger()  # View ▸ Animate New Runs
    assert ctl.animate_new_runs
    ctl.playback.set_speed(300)
    _click(qtbot, window, "map", 1.0, 1.0)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1, timeout=30000)
    assert ctl.playback.playing and ctl.playback.step < 1000  # replays from step 0 ...
    qtbot.waitUntil(lambda: not ctl.playback.playing, timeout=30000)
    assert ctl.playback.step == 1000  # ... to the end
    assert len(window.map_view.drawn_segments()) // 2 == len(window.map_view.paths.segments()[0])
