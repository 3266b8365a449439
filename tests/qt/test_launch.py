"""What the window does to open fast without showing less: nothing computational is imported before
both views are drawn, background work waits for that, and the tabs made on first show (or when asked
for) show the session as it is then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]

FIRST_FRAME_CHILD = r"""
import json, sys
sys.path.insert(0, {root!r})
from landscape_gui.qt.app import _dispose, ensure_app
from PySide6.QtCore import QEvent, QObject, QTimer
app = ensure_app()
from landscape_gui.qt.main_window import MainWindow
w = MainWindow(restore_settings=False)
drawn, seen = set(), {{}}
def drawn_now(which):
    drawn.add(which)
    if drawn == {{"map", "gl"}} and not seen:  # both views drawn: the window is on screen
        seen["modules"] = sorted({{m.split(".")[0] for m in sys.modules}})
        QTimer.singleShot(0, app.quit)
class Painted(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint:
            drawn_now("map")
        return False
painted = Painted()
w.map_view.viewport().installEventFilter(painted)
w.surface_view.gl.frameSwapped.connect(lambda: drawn_now("gl"))
w.show()
QTimer.singleShot(240000, app.quit)  # a bound, never reached unless the window cannot draw
app.exec()
print("MODULES", json.dumps(seen.get("modules")), flush=True)
_dispose(w, app)
"""

HEAVY = ("numba", "llvmlite", "scipy", "sympy", "matplotlib", "dask", "distributed", "optuna", "imageio", "PIL",
         "tqdm", "pandas")


def test_the_window_is_on_screen_before_any_compute_library_is_imported(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))  # the child's settings stay in tmp_path
    code = FIRST_FRAME_CHILD.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env,
                         check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("MODULES ")]
    assert lines, out.stderr[-3000:]
    modules = json.loads(lines[0].split(" ", 1)[1])
    assert modules, "the window never drew both views"
    assert "pyqtgraph" in modules and "OpenGL" in modules  # what the first frame does need
    assert [m for m in HEAVY if m in modules] == []


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_background_work_starts_once_both_views_are_drawn(qtbot, make_window):
    w = make_window(restore_settings=False)
    paints = _Paints()
    w.map_view.viewport().installEventFilter(paints)
    frames: list[int] = []
    w.surface_view.gl.frameSwapped.connect(lambda: frames.append(1))
    seen: list[tuple[int, int]] = []
    w.after_first_frame(lambda: seen.append((paints.count, len(frames))))
    assert not w.first_frame_done()
    assert w.formula_edit is None  # its import (sympy) waits for the first frame
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: bool(seen), timeout=60000)
    assert seen[0][0] >= 1 and seen[0][1] >= 1  # the map painted and the 3-D view presented a frame
    assert w.first_frame_done()
    qtbot.waitUntil(lambda: w.formula_edit is not None and w.formula_edit.isVisible(), timeout=60000)
    late: list[bool] = []
    w.after_first_frame(lambda: late.append(True))  # asked afterwards: runs soon all the same
    qtbot.waitUntil(lambda: late == [True], timeout=5000)


def test_the_loss_tab_made_on_first_show_shows_the_runs_selection_and_step(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0), (-2.0, 2.0), (3.0, -1.0)])
    ctl.select([ctl.runs[1].id])
    ctl.playback.set_step(7)
    assert not window.loss_dock.is_built()  # behind the Runs tab: not made at start
    window.loss_dock.raise_()
    qtbot.waitUntil(lambda: window.loss_dock.is_built() and window.loss_view.plot.isVisible(), timeout=5000)
    view = window.loss_view
    assert len(view.curves()) == 3  # a curve per run, drawn when the tab was made
    assert view.cursor.value() == 7  # at the playback step
    sharp = window.instruments.sharpness_view  # the sharpness plot under them, made with the tab
    assert sharp.isVisible()
    sharp.check.setChecked(True)  # and working: the selected run's sharpness
    qtbot.waitUntil(lambda: sharp.series is not None, timeout=60000)
    assert len(sharp.curve.getData()[0]) > 1  # drawn
    ctl.start_many([(0.5, -0.5)])  # and it follows the session from then on
    assert len(view.curves()) == 4


def test_exporting_the_loss_curves_before_their_tab_was_ever_shown(qtbot, window, tmp_path):
    window.ctl.start_many([(1.0, 1.0)])
    assert not window.loss_dock.is_built()
    path = tmp_path / "loss.png"
    assert window.export_figure("loss", str(path), 2.0)
    plot = window.loss_view.plot
    assert plot.isVisible()  # the tab came to the front: the figure is what it shows
    image = QImage(str(path))
    assert (image.width(), image.height()) == (2 * plot.width(), 2 * plot.height())
    assert plot.width() > 200 and plot.height() > 100  # laid out, not a default size
    assert not window.dialogs.errors


def test_a_saved_layout_with_a_tab_made_on_demand_in_front_brings_it_back(qtbot, make_window, window):
    dock = window.instruments.profile_dock
    dock.raise_()
    qtbot.waitUntil(lambda: dock.is_built() and dock.isVisible(), timeout=5000)
    window.close()  # saves the layout, the Profile tab in front
    again = make_window(restore_settings=True)
    again.dialogs = window.dialogs
    again.show()
    qtbot.waitExposed(again)
    restored = again.instruments.profile_dock
    qtbot.waitUntil(lambda: restored.is_built() and restored.isVisible(), timeout=5000)
    assert again.instruments.two_point.isVisible()
    assert not again.instruments.spectrum_dock.is_built()  # the tabs behind it still wait
