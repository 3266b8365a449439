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
def make_window(qapp):
    """Makes explorer windows (``MainWindow(**kwargs)``) and deletes each at the end of the test, as
    the application does on exit: cancel its jobs, close it, delete it while its 3-D view's native
    window and container both exist. The windows are not handed to pytest-qt, whose deferred delete
    would race this one."""
    from landscape_gui.qt.main_window import MainWindow

    made: list = []

    def make(**kwargs):
        w = MainWindow(**kwargs)
        made.append(w)
        return w

    yield make
    import shiboken6

    from landscape_gui.qt.app import _dispose

    for w in reversed(made):
        if shiboken6.isValid(w):
            w.ctl.cancel()
            w.ctl.jobs.wait(10000)
            _dispose(w, qapp)


@pytest.fixture
def window(qtbot, make_window):
    """A shown main window (both views drawn once) on himmelblau with recorded dialogs; new runs do not animate and are
    computed on the GUI thread (tests of background work switch ``force_sync`` off), so a test does
    not depend on the machine's load."""
    w = make_window(restore_settings=False)
    w.dialogs = RecordingDialogs()
    w.ctl.animate_new_runs = False
    w.ctl.force_sync = True
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(w.first_frame_done, timeout=120000)  # both views drawn: the 3-D view has its context
    return w
