"""What the tools composed onto the main window share: actions in its menus, and windows of their own
that show the last result of a long computation.

:func:`add_action` makes an action with its tooltip doubling as status tip; :func:`window_menu`
finds one of the main window's menus by title; :func:`report_failures` shows a computation's failure
in a message and its cancel in the status bar. :class:`ResultWindow` is a window of its own beside
the main window (title, first size, a column layout with a header line; :meth:`ResultWindow.present`
refreshes, shows and raises it). :class:`ResultActions` gives a computation on the job runner its
Runs ▸ *Name…* and Runs ▸ *Show Last Name* actions and the usual answers: a failure in a message, a
cancel in the status bar, the result window opened when the computation is done. The race
(:mod:`landscape_gui.qt.race_window`, started from :mod:`landscape_gui.qt.lessons`) and the sweep
(:mod:`landscape_gui.qt.sweep_window`) are built on these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget


def window_menu(window: QMainWindow, title: str) -> QMenu:
    """The window's menu called ``title`` (e.g. ``"&File"``)."""
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and menu.title() == title:
            return menu
    raise LookupError(f"the window has no menu {title!r}")


def add_action(parent: QObject, text: str, tip: str, slot: Callable[..., Any], *, shortcut: str | None = None,
               checkable: bool = False) -> QAction:
    """An action called ``text`` whose tooltip and status tip are ``tip``; ``slot`` is called when it
    is triggered (with the new state when ``checkable``)."""
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action


def report_failures(window: QMainWindow, model: Any, name: str) -> None:
    """Answer ``model``'s ``failed(str)`` with the main window's error message titled ``name``, and its
    ``cancelled()`` with "*name* cancelled" in the status bar."""
    model.failed.connect(lambda msg: window.dialogs.error(name, msg))
    model.cancelled.connect(lambda: window.statusBar().showMessage(f"{name} cancelled", 8000))


class ResultWindow(QWidget):
    """A window of its own (over ``parent``, the main window) showing a model's last result.

    Subclasses fill :attr:`body` below :attr:`header` (a word-wrapped line saying what is shown) and
    implement :meth:`refresh`.
    """

    def __init__(self, title: str, size: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.Window, True)
        self.setWindowTitle(title)
        self.resize(*size)
        self.body = QVBoxLayout(self)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self.body.addWidget(self.header)

    def refresh(self) -> None:
        """Show the model's result."""
        raise NotImplementedError

    def present(self) -> None:
        """Refresh, show and raise the window."""
        self.refresh()
        self.show()
        self.raise_()


class ResultActions(QObject):
    """Runs ▸ *Name…* and Runs ▸ *Show Last Name* for a model computing on the job runner.

    ``model`` has ``result`` (``None`` until the first result), and signals ``finished()``,
    ``failed(str)`` and ``cancelled()``. The start action calls ``start`` (which asks what to compute);
    a failure is shown in the main window's error message titled ``name``, a cancel in its status bar.
    When the model finishes, :attr:`result_window` (made once, by ``make_window``) is presented and
    *Show Last* is enabled; *Show Last* presents the window again after it was closed.
    """

    def __init__(self, window: QMainWindow, model: Any, name: str, *, start_text: str, start_tip: str,
                 show_tip: str, start: Callable[[], Any], make_window: Callable[[], ResultWindow]) -> None:
        super().__init__(window)
        self.window, self.model, self._make_window = window, model, make_window
        self.result_window: ResultWindow | None = None
        self.act_start = add_action(window, start_text, start_tip, lambda: start())
        self.act_show = add_action(window, f"Show Last {name}", show_tip, self.show)
        self.act_show.setEnabled(False)
        runs = window_menu(window, "&Runs")
        runs.insertAction(window.act_cancel, self.act_start)
        runs.insertAction(window.act_cancel, self.act_show)
        runs.insertSeparator(window.act_cancel)
        report_failures(window, model, name)
        model.finished.connect(self.show)
        model.finished.connect(lambda: self.act_show.setEnabled(True))

    def show(self) -> None:
        """Present the result window (made the first time); nothing while there is no result."""
        if self.model.result is None:
            return
        if self.result_window is None:
            self.result_window = self._make_window()
        self.result_window.present()


__all__ = ["ResultActions", "ResultWindow", "add_action", "report_failures", "window_menu"]
