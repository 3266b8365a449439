"""File ▸ Export Animation as a user sees it: seconds until the file is written, per view and format.

Run under Xvfb with OpenGL, e.g.::

    xvfb-run -a -s "-screen 0 1366x768x24 +extension GLX +render" python benchmarks/bench_animation_export.py

The window (1366×768) holds 16 runs of 300 steps; each export writes 61 frames (steps 0 to 300, every
5th) of the map, the 3-D view or the whole window, as GIF and as MP4, each frame rendered by the window
on the GUI thread and encoded on the job runner. Baseline, same run: the command line's numpy renderer
(:class:`landscape_gui.core.animation.MapFrames`) writing the same steps at the map's size. Medians of
three; settings go to a temporary folder, never to the user's.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from PySide6.QtCore import QCoreApplication, QSettings, Qt

REPEATS = 3
STEPS = range(0, 301, 5)


def main() -> None:
    QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    folder = tempfile.mkdtemp(prefix="bench-animation-")
    QCoreApplication.setOrganizationName("landscape-gui-bench")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, os.path.join(folder, "settings"))

    from landscape_gui.core.animation import MapFrames, export_animation
    from landscape_gui.qt.main_window import MainWindow
    from landscape_gui.qt.model.lessons import AnimationSpec

    w = MainWindow(restore_settings=False)
    w.ctl.force_sync = True
    w.resize(1366, 768)
    w.show()
    for _ in range(30):
        app.processEvents()
    w.ctl.set_max_steps(300)
    w.ctl.set_hyperparameter("sgd", "lr", 0.004)
    w.ctl.start_grid(4)
    for _ in range(30):
        app.processEvents()
    n = len(STEPS)
    window_map = {}
    for target in ("map", "surface", "window"):
        for ext in (".gif", ".mp4"):
            times = []
            for rep in range(REPEATS):
                spec = AnimationSpec(path=os.path.join(folder, f"{target}{rep}{ext}"), target=target,
                                     last=STEPS[-1], every=STEPS.step, fps=30)
                t0 = time.perf_counter()
                exporter = w.lessons.export_animation(spec)
                done: list = []
                exporter.finished.connect(done.append)
                exporter.failed.connect(done.append)
                while not done:
                    app.processEvents()
                times.append(time.perf_counter() - t0)
            m = statistics.median(times)
            if target == "map":
                window_map[ext] = m
            print(f"window {target:8s} {ext}  {n} frames {exporter.size[0]}x{exporter.size[1]}: {m:.2f} s "
                  f"({n / m:.1f} frames/s)", flush=True)
    mw, mh = w.map_view.width() // 2 * 2, w.map_view.height() // 2 * 2
    for ext in (".gif", ".mp4"):
        times = []
        for rep in range(REPEATS):
            t0 = time.perf_counter()
            frames = MapFrames(w.ctl.surface, w.ctl.runs, w.ctl.bounds, (mw, mh))
            export_animation(frames, os.path.join(folder, f"core{rep}{ext}"), STEPS, 30)
            times.append(time.perf_counter() - t0)
        m = statistics.median(times)
        print(f"baseline core MapFrames {ext}  {n} frames {mw}x{mh}: {m:.2f} s; window map / baseline = "
              f"{window_map[ext] / m:.2f}", flush=True)
    os._exit(0)  # no close event: nothing is saved


if __name__ == "__main__":
    main()
