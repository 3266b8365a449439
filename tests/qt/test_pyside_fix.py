"""The PySide6 6.12 / CPython < 3.12 reference-count guard: long playback and many emits do not abort.

Without the guard, each ``Signal.emit()`` and each read of an unset ``QObject.property`` takes one
reference from ``True``/``None``; after a few hundred, CPython aborts with "bool_dealloc". The
subprocess runs many times more emits, property reads and plot updates than ``True`` has references,
after importing only :mod:`landscape_gui.qt` (which applies the guard once, on import).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
import landscape_gui.qt  # the guard, applied once on import
from landscape_gui.qt.pyside_fix import singletons_pinned
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

app = QApplication([])
n = 20000  # True starts with a few hundred references

class Source(QObject):
    moved = Signal(int)

src, seen = Source(), []
src.moved.connect(lambda k: seen.append(k) if k % 1000 == 0 else None)
for k in range(n):
    src.moved.emit(k)
    src.property("unset")
plot = pg.PlotWidget()
curve = plot.plot()
x = np.linspace(0, 1, 50)
for k in range(1500):  # what playback does: a plot update per step
    curve.setData(x, x * k)
app.processEvents()
print("ok", len(seen), singletons_pinned())
"""


def test_many_emits_and_plot_updates_do_not_exhaust_singleton_references():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    words = proc.stdout.split()
    assert words[:2] == ["ok", "20"]
    if sys.implementation.name == "cpython" and sys.version_info < (3, 12):
        assert words[2] == "True"  # pinned, once, by importing the package


def test_the_guard_is_applied_once_by_the_package():
    import landscape_gui.qt  # noqa: F401
    from landscape_gui.qt import pyside_fix

    if sys.implementation.name == "cpython" and sys.version_info < (3, 12):
        assert pyside_fix.singletons_pinned()
        before = sys.getrefcount(True)
        assert pyside_fix.immortalise_singletons()  # idempotent: no second pin
        assert abs(sys.getrefcount(True) - before) < 100
        assert before > pyside_fix.PIN // 2
