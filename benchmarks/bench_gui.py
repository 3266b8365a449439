"""Window speed figures (run under Xvfb: ``xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX
+render" python benchmarks/bench_gui.py``).

Prints, each against a baseline measured in the same run:

* launch: seconds from spawning ``python`` to the explorer window painted, vs. an empty QMainWindow;
* click -> trajectory drawn: a real mouse click on the map starting a 1,000-step run, through the
  engine, both views updated and repainted; vs. the bare ``engine.run`` of the same run;
* animation: frames per second actually painted (3-D and map) while playing 200 runs of 1,000 steps
  in a 1280x800 window; vs. 1 run;
* 3-D rotation: frames per second of orbiting the camera with a 200x200 grid (mesh at the view's
  level of detail, and with every grid line); vs. a 50x50 grid;
* 1,000 runs: one playback frame and one rotation frame with 1,000 runs on screen.

Medians of repeated measurements; the machine is shared, so ratios matter more than absolutes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAUNCH_CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from PySide6.QtCore import QCoreApplication, Qt, QTimer
{body}
"""

WINDOW_BODY = r"""
from landscape_gui.qt.app import ensure_app
app = ensure_app()
from landscape_gui.qt.main_window import MainWindow
w = MainWindow(restore_settings=False)
w.show()
def shown():  # the 3-D view has drawn its first frame: everything else was painted before it
    print("shown", time.time(), flush=True)
    app.quit()
w.surface_view.gl.frameSwapped.connect(shown)
app.exec()
import shiboken6; shiboken6.delete(w)
"""

EMPTY_BODY = r"""
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow(); w.resize(1400, 900); w.show()
def shown():
    w.repaint()
    print("shown", time.time(), flush=True)
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def _time_to_shown(body: str) -> float:
    """Wall-clock seconds from spawning the interpreter to the child reporting its window shown."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", LAUNCH_CHILD.format(root=str(ROOT), body=body)],
                         capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("shown"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"child did not show a window:\n{out.stderr[-2000:]}")


def bench_launch(repeats: int = 5) -> None:
    win = statistics.median(_time_to_shown(WINDOW_BODY) for _ in range(repeats))
    empty = statistics.median(_time_to_shown(EMPTY_BODY) for _ in range(repeats))
    print(f"launch -> window painted      {win:7.3f} s   (empty QMainWindow {empty:.3f} s, ratio {win / empty:.1f}x; target <= 1.5 s)")


def main() -> None:
    bench_launch()

    from landscape_gui.qt.app import ensure_app

    app = ensure_app()
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from landscape_gui.core import engine
    from landscape_gui.qt.main_window import MainWindow

    w = MainWindow(restore_settings=False)
    ctl = w.ctl
    ctl.animate_new_runs = False
    w.resize(1280, 800)
    w.show()
    for _ in range(20):
        app.processEvents()

    from OpenGL import GL

    def render(gl) -> None:
        """One real frame of the 3-D view: paintGL into its framebuffer, waited for."""
        gl.makeCurrent()
        gl.paintGL()
        GL.glFinish()
        gl.doneCurrent()

    # ---- click -> trajectory drawn (1,000 steps: tol 0 and a small learning rate)
    ctl.set_tol(0.0)
    ctl.set_hyperparameter("sgd", "lr", 1e-4)
    app.processEvents()
    ctl._rerun_timer.stop()
    gui, bare = [], []
    rng = np.random.default_rng(0)
    for _ in range(15):
        ctl.clear_runs()
        app.processEvents()
        time.sleep(app.doubleClickInterval() / 1000 + 0.05)  # two quick clicks would be a double click
        x, y = rng.uniform(-4, 4, 2)
        pos = w.map_view.pixel_of(x, y)
        t0 = time.perf_counter()
        QTest.mouseClick(w.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        while not ctl.runs:  # computed on a worker thread when predicted to take > 50 ms
            app.processEvents()
        w.map_view.viewport().repaint()
        render(w.surface_view.gl)
        gui.append(time.perf_counter() - t0)
        assert ctl.runs and ctl.runs[-1].steps == 1000, ctl.runs[-1].steps if ctl.runs else None
        t0 = time.perf_counter()
        engine.run(ctl.surface, "sgd", [(x, y)], {"lr": 1e-4}, tol=0.0, max_steps=1000)
        bare.append(time.perf_counter() - t0)
    g, b = statistics.median(gui), statistics.median(bare)
    print(f"click -> 1,000-step run drawn {g * 1e3:7.1f} ms  (engine.run alone {b * 1e3:.1f} ms, ratio {g / b:.1f}x; target <= 30 ms)")

    # ---- animation fps with 200 runs vs 1 run
    ctl.set_hyperparameter("sgd", "lr", 1e-3)
    ctl._rerun_timer.stop()

    def fps_playing(n_runs: int, seconds: float = 3.0) -> tuple[float, float]:
        ctl.clear_runs()
        ctl.force_sync = True
        ctl.start_random(n_runs, seed=1)
        ctl.force_sync = False
        counts = {"gl": 0}
        gl = w.surface_view.gl

        def swapped() -> None:
            counts["gl"] += 1

        gl.frameSwapped.connect(swapped)
        steps = [0]

        def ticked(_s: int) -> None:
            steps[0] += 1

        ctl.playback.stepChanged.connect(ticked)
        ctl.playback.set_speed(1000 / seconds)  # the 1,000 steps take `seconds`
        ctl.playback.restart()
        t0 = time.perf_counter()
        while ctl.playback.playing and time.perf_counter() - t0 < seconds * 3:
            app.processEvents()
        dt = time.perf_counter() - t0
        gl.frameSwapped.disconnect(swapped)
        ctl.playback.stepChanged.disconnect(ticked)
        return counts["gl"] / dt, steps[0] / dt

    gl200, fr200 = fps_playing(200)
    gl1, fr1 = fps_playing(1)
    print(f"animation, 200 runs 1280x800  {gl200:7.1f} 3-D frames/s, {fr200:.1f} clock frames/s  "
          f"(1 run: {gl1:.1f} / {fr1:.1f}; target >= 30)")

    # ---- 3-D rotation at 200x200 vs 50x50
    def rotation_fps(resolution: int, frames: int = 40) -> float:
        ctl.set_resolution(resolution)
        app.processEvents()
        gl = w.surface_view.gl
        times = []
        for k in range(frames):
            gl.orbit(3.0, 0.0)
            t0 = time.perf_counter()
            render(gl)
            times.append(time.perf_counter() - t0)
        return 1.0 / statistics.median(times)

    r200 = rotation_fps(200)
    drawn = len(w.surface_view._mesh_xs)  # the level of detail also follows the view's size
    r50 = rotation_fps(50)
    lod = w.surface_view.max_mesh_nodes
    w.surface_view.max_mesh_nodes = None  # every grid line in the mesh
    full = rotation_fps(200)
    w.surface_view.max_mesh_nodes = lod
    print(f"3-D rotation, 200x200 grid    {r200:7.1f} frames/s  (mesh {drawn} nodes/axis, at most {lod}; full 200x200 mesh "
          f"{full:.1f}; 50x50 grid {r50:.1f}; with 200 runs drawn)")

    # ---- 1,000 runs
    ctl.clear_runs()
    ctl.set_resolution(200)
    ctl.force_sync = True
    t0 = time.perf_counter()
    ctl.start_random(1000, seed=3)
    add = time.perf_counter() - t0
    ctl.force_sync = False
    frame = []
    for s in range(0, 1000, 50):
        t0 = time.perf_counter()
        ctl.playback.set_step(s)
        w.map_view.viewport().repaint()
        render(w.surface_view.gl)
        frame.append(time.perf_counter() - t0)
    rot = []
    for _ in range(20):
        w.surface_view.gl.orbit(3.0, 0.0)
        t0 = time.perf_counter()
        render(w.surface_view.gl)
        rot.append(time.perf_counter() - t0)
    print(f"1,000 runs x 1,000 steps      add+draw {add:.2f} s, playback frame {statistics.median(frame) * 1e3:.1f} ms, "
          f"rotation frame {statistics.median(rot) * 1e3:.1f} ms")
    w.close()


if __name__ == "__main__":
    main()
