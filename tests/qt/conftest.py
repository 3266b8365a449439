"""Fixtures for the window tests: isolated QSettings, a shown main window, recorded dialogs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt

import landscape_gui.qt  # noqa: F401  (pins True/False/None against the PySide6 refcount bug)

# pyqtgraph caches compiled shader programs globally, so every GL context of the process must share
# objects (as the application does); this has to be set before the QApplication exists.
QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)


class RecordingDialogs:
    """Stands in for :class:`landscape_gui.qt.main_window.Dialogs`: answers file dialogs from a queue
    and records message boxes instead of blocking on them."""

    def __init__(self) -> None:
        self.paths: list[str | None] = []
        self.errors: list[tuple[str, str]] = []
        self.abouts: list[tuple[str, str]] = []
        self.choices: list[str | None] = []
        self.asked: list[str] = []
        self.figures: list[tuple[str, str, float] | None] = []

    def save_path(self, title, filters, suggested=""):
        return self.paths.pop(0) if self.paths else None

    def open_path(self, title, filters):
        return self.paths.pop(0) if self.paths else None

    def error(self, title, text):
        self.errors.append((title, text))

    def about(self, title, text):
        self.abouts.append((title, text))

    def choose_optimizer(self, title, text, choices):
        self.asked.append(text.split(" of ", 1)[1].split(" ", 1)[0])  # "Compare the basins of sgd with:"
        return self.choices.pop(0) if self.choices else None

    def export_figure(self, window):
        return self.figures.pop(0) if self.figures else None


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """QSettings go to a temporary folder, never to the user's configuration."""
    QCoreApplication.setOrganizationName("landscape-gui-tests")
    QCoreApplication.setApplicationName("landscape-gui-tests")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture
def window(qtbot):
    """A shown main window on himmelblau with recorded dialogs; new runs do not animate and are
    computed on the GUI thread (tests of background work switch ``force_sync`` off), so a test does
    not depend on the machine's load."""
    from landscape_gui.qt.main_window import MainWindow

    w = MainWindow(restore_settings=False)
    w.dialogs = RecordingDialogs()
    w.ctl.animate_new_runs = False
    w.ctl.force_sync = True
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.ctl.cancel()
    w.ctl.jobs.wait(10000)
    w.close()


@pytest.fixture(autouse=True)
def dispose_main_windows(qapp):
    """Delete every explorer window at the end of its test, as the application does on exit: left to
    interpreter shutdown, the 3-D view's native window and its container go in arbitrary order and
    Qt crashes."""
    yield
    import sys

    if "landscape_gui.qt.main_window" not in sys.modules:
        return
    from landscape_gui.qt.app import _dispose
    from landscape_gui.qt.main_window import MainWindow

    for w in qapp.topLevelWidgets():
        if isinstance(w, MainWindow):
            _dispose(w, qapp)
