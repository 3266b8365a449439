"""What a user of the window sees, each figure against a baseline measured in the same run.

Run under Xvfb with OpenGL, e.g.::

    xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX +render" python benchmarks/bench_gui.py

* launch: seconds from spawning ``python`` to the explorer window on screen (its map painted and the
  3-D view's first frame presented), vs. an empty PySide6 ``QMainWindow`` of the same size started
  and painted the same way. The child runs the real front door (``landscape_gui.cli.main([])``, as
  ``landscape-gui`` does, with empty saved settings); it only watches the application's events until
  the window is about to show, then the two views. Bytecode is cached (in a temporary folder, as
  ``pip install`` caches it) and each kind is started once untimed first, so a figure is a warm start;
* click -> run fully visible: a real mouse click on the map starting a 1,000-step run, until the map
  has repainted and the 3-D view has presented a frame with the whole path; vs. ``engine.run`` of
  the same run alone. Also the CPU time of the GUI thread in that span: on a shared machine the
  wall-clock figure grows with the load, the work the window does does not;
* replay: frames actually presented per second while 200 (and 1,000) runs of 1,000 steps play back:
  the 3-D view's ``frameSwapped`` signals and the map viewport's paint events, counted separately;
  vs. 1 run.

Medians of repeated measurements (the machine is shared: ratios matter more than absolutes; the launch
line also gives the range of the pairwise ratios and the load average). Settings go to a temporary
folder (``QSettings.setPath``, and ``XDG_CONFIG_HOME`` for the child processes): running this never
touches the user's saved layout, recent files or formulas. ``--launch-only`` stops after the launch.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS_DIR = tempfile.mkdtemp(prefix="landscape-gui-bench-")

LAUNCH_CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
W, H = {size}
{body}
"""

WINDOW_BODY = r"""
from landscape_gui import cli  # the front door of `python -m landscape_gui`, imported first as there
from landscape_gui.qt.app import ensure_app  # what cli.main imports to open the window
from PySide6.QtCore import QEvent, QObject, QTimer

app = ensure_app()  # launch() reuses this application
seen = set()

def done(what):
    seen.add(what)
    if seen == {"gl", "map"}:
        print("shown", time.time(), flush=True)
        app.quit()

class MapPainted(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint:
            QTimer.singleShot(0, lambda: done("map"))
        return False

class FindWindow(QObject):
    # Watches the application's events only until the explorer window is about to show (its
    # children get their show events first, nothing is painted yet); then hooks its two views.
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Show and obj.objectName() == "landscapeMainWindow":
            app.removeEventFilter(self)
            if (obj.width(), obj.height()) != (W, H):
                obj.resize(W, H)
            obj.map_view.viewport().installEventFilter(map_painted)
            obj.surface_view.gl.frameSwapped.connect(lambda: done("gl"))
        return False

map_painted, find_window = MapPainted(), FindWindow()
app.installEventFilter(find_window)
cli.main([])  # exactly what `landscape-gui` runs: launch(), restoring (here: empty) settings
"""

EMPTY_BODY = r"""
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow(); w.resize(W, H)
class Painted(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint:
            QTimer.singleShot(0, lambda: (print("shown", time.time(), flush=True), app.quit()))
        return False
painted = Painted()
w.installEventFilter(painted)
w.show()
app.exec()
"""


PYCACHE_DIR = tempfile.mkdtemp(prefix="landscape-gui-bench-pycache-")
atexit.register(shutil.rmtree, SETTINGS_DIR, True)
atexit.register(shutil.rmtree, PYCACHE_DIR, True)


def _child_env() -> dict[str, str]:
    """The children's environment: settings in a temporary folder, and Python's bytecode cached (in
    a temporary folder) as it is after ``pip install``, even where PYTHONDONTWRITEBYTECODE is set."""
    env = dict(os.environ, XDG_CONFIG_HOME=SETTINGS_DIR, PYTHONPYCACHEPREFIX=PYCACHE_DIR)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time_to_shown(body: str, size: tuple[int, int]) -> float:
    """Wall-clock seconds from spawning the interpreter to the child reporting its window on screen."""
    code = LAUNCH_CHILD.format(root=str(ROOT), size=size, body=body)
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                         env=_child_env())
    for line in out.stdout.splitlines():
        if line.startswith("shown"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"child did not show a window:\n{out.stderr[-2000:]}")


def bench_launch(size: tuple[int, int], repeats: int) -> None:
    _time_to_shown(EMPTY_BODY, size)  # once untimed each: bytecode compiled and cached, files in
    _time_to_shown(WINDOW_BODY, size)  # the page cache, as on any start but the very first
    wins, empties = [], []
    for _ in range(repeats):  # interleaved: both see the same machine load
        empties.append(_time_to_shown(EMPTY_BODY, size))
        wins.append(_time_to_shown(WINDOW_BODY, size))
    win, empty = statistics.median(wins), statistics.median(empties)
    ratios = sorted(w / e for w, e in zip(wins, empties))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"launch -> window on screen ({size[0]}x{size[1]})   {win:6.2f} s   empty PySide6 window {empty:.2f} s   "
          f"ratio {win / empty:.2f}x   (target <= 1.5x; pairwise {ratios[0]:.2f}-{ratios[-1]:.2f}x, "
          f"load {load:.1f})")


class _Frames:
    """Counts frames presented: the 3-D view's frameSwapped and the map viewport's paint events."""

    def __init__(self, window) -> None:
        from PySide6.QtCore import QEvent, QObject

        self.gl = 0
        self.map = 0
        frames = self

        class Counter(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == QEvent.Paint:
                    frames.map += 1
                return False

        self._counter = Counter()
        window.map_view.viewport().installEventFilter(self._counter)
        window.surface_view.gl.frameSwapped.connect(self._swapped)

    def _swapped(self) -> None:
        self.gl += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", default="1366x768", help="window size, WxH (default 1366x768)")
    parser.add_argument("--only", choices=("launch", "click", "replay"), action="append",
                        help="measure only this (repeatable; default: everything)")
    args = parser.parse_args()
    only = set(args.only or ("launch", "click", "replay"))
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("landscape-gui-bench")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, SETTINGS_DIR)
    if "launch" in only:
        bench_launch(size, args.repeats)
    if not only - {"launch"}:
        return

    from landscape_gui.qt.app import ensure_app

    app = ensure_app()
    from landscape_gui.qt.main_window import MainWindow

    w = MainWindow(restore_settings=False)
    w.resize(*size)
    w.show()
    for _ in range(20):
        app.processEvents()
    frames = _Frames(w)

    if "click" in only:
        bench_click(app, w, frames, args.repeats)
    if "replay" in only:
        bench_replay(app, w, frames, args.repeats)
    w.close()


def bench_click(app, w, frames: _Frames, repeats: int) -> None:
    """A real click on the map starting a 1,000-step run, until the whole path is on screen in both views."""
    import numpy as np
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest

    from landscape_gui.core import engine

    ctl = w.ctl
    ctl.set_tol(0.0)
    ctl.set_hyperparameter("sgd", "lr", 1e-4)
    app.processEvents()
    ctl._rerun_timer.stop()
    gui, busy, bare = [], [], []
    rng = np.random.default_rng(0)
    tick = QTimer()
    tick.start(5)
    for _ in range(3 * repeats):
        ctl.clear_runs()
        app.processEvents()
        time.sleep(app.doubleClickInterval() / 1000 + 0.05)  # two quick clicks would be a double click
        x, y = rng.uniform(-4, 4, 2)
        pos = w.map_view.pixel_of(x, y)
        gl0, map0 = frames.gl, frames.map
        t0, c0 = time.perf_counter(), time.thread_time()
        QTest.mouseClick(w.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        while not (ctl.runs and ctl.playback.at_end and frames.gl > gl0 and frames.map > map0):
            # sleep until the next event (the tick keeps it from sleeping for ever): a busy poll here
            # would take CPU from the X server and the renderer the measured frames need
            app.processEvents(QEventLoop.AllEvents | QEventLoop.WaitForMoreEvents)
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("the run did not appear")
        gui.append(time.perf_counter() - t0)
        busy.append(time.thread_time() - c0)
        assert ctl.runs[-1].steps == 1000 and ctl.playback.step == 1000
        t0 = time.perf_counter()
        engine.run(ctl.surface, "sgd", [(x, y)], {"lr": 1e-4}, tol=0.0, max_steps=1000)
        bare.append(time.perf_counter() - t0)
    tick.stop()
    g, c, b = statistics.median(gui), statistics.median(busy), statistics.median(bare)
    print(f"click -> 1,000-step run fully visible   {g * 1e3:6.1f} ms   (GUI thread busy {c * 1e3:.1f} ms of it)   "
          f"engine.run alone {b * 1e3:.1f} ms   (target <= 100 ms; load {os.getloadavg()[0]:.1f})")


def bench_replay(app, w, frames: _Frames, repeats: int) -> None:
    """Frames presented per second while runs replay."""
    ctl = w.ctl
    ctl.set_tol(0.0)
    ctl.set_hyperparameter("sgd", "lr", 1e-3)
    ctl._rerun_timer.stop()

    def replay(n_runs: int, seconds: float = 3.0) -> tuple[float, float]:
        ctl.clear_runs()
        ctl.force_sync = True
        ctl.start_random(n_runs, seed=1)
        ctl.force_sync = False
        app.processEvents()
        ctl.playback.set_speed(1000 / seconds)  # the 1,000 steps take `seconds`
        gl0, map0 = frames.gl, frames.map
        ctl.playback.restart()
        t0 = time.perf_counter()
        while ctl.playback.playing and time.perf_counter() - t0 < seconds * 4:
            app.processEvents()
        dt = time.perf_counter() - t0
        return (frames.gl - gl0) / dt, (frames.map - map0) / dt

    fps = {n: [replay(n) for _ in range(max(1, repeats // 2))] for n in (1, 200, 1000)}
    med = {n: (statistics.median(v[0] for v in runs), statistics.median(v[1] for v in runs)) for n, runs in fps.items()}
    for n in (200, 1000):
        g3, m2 = med[n]
        target = 30 if n == 200 else 10
        print(f"replay {n:5,d} runs x 1,000 steps        3-D {g3:5.1f} frames/s, map {m2:5.1f} frames/s presented   "
              f"(1 run: {med[1][0]:.1f} / {med[1][1]:.1f}; target >= {target})")


if __name__ == "__main__":
    main()
