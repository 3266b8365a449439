"""Starting the window: ``launch(...)`` is what ``landscape-gui`` (no sub-command) calls.

With ``screenshot=FILE.png`` the window opens at the size of the screen's available area with the
given runs finished, a PNG of the whole window is written (atomically) and the function returns 0
without entering the event loop: used for the README's pictures and for tests. Otherwise, once the
window is on screen, the compiled basin kernel is warmed up in the background
(:mod:`landscape_gui.qt.model.warmup`). Errors a user causes (unknown surface, bad formula, bad
hyperparameter) are shown in a message box, or with ``screenshot`` printed as one line on stderr with
return code 2.

While the window runs, ``sys.excepthook`` logs any exception escaping an event handler and shows it in
a message box; the session stays usable.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, Callable, Sequence

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QApplication

import landscape_gui
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import surface_from_spec

log = logging.getLogger("landscape_gui")

ORGANIZATION = "landscape-gui"
APPLICATION = "landscape-gui"


def ensure_app(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (created if needed) with the organisation/application names QSettings uses."""
    app = QApplication.instance()
    if app is None:
        # pyqtgraph caches compiled shader programs globally: all GL contexts must share objects
        QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0] if sys.argv else "landscape-gui"])
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(landscape_gui.__version__)
    return app  # type: ignore[return-value]


def install_excepthook(show: Callable[[str, str], None]) -> Callable[[], None]:
    """Route uncaught exceptions to the log and to ``show(title, text)``; returns the undo function."""
    previous = sys.excepthook
    showing = [False]

    def hook(etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            previous(etype, value, tb)
            return
        log.error("unhandled exception in the window:\n%s", "".join(traceback.format_exception(etype, value, tb)))
        if showing[0]:
            return
        showing[0] = True
        try:
            if isinstance(value, LandscapeError):
                show("landscape-gui", str(value))
            else:
                text = "".join(traceback.format_exception_only(etype, value)).strip()
                show("Unexpected error", f"{text}\n\nThe session is kept; the full traceback is in the log.")
        except Exception:
            previous(etype, value, tb)
        finally:
            showing[0] = False

    sys.excepthook = hook

    def restore() -> None:
        sys.excepthook = previous

    return restore


def configure(window, *, surface: str | None = None, formula: str | None = None, optimizer: str | None = None,
              hyperparameters: dict[str, Any] | None = None, starts: Sequence[tuple[float, float]] = ()) -> None:
    """Apply command-line choices to a window; raises :class:`LandscapeError` on the first bad one
    (everything before it stays applied)."""
    ctl = window.ctl
    if surface and formula:
        raise LandscapeError("give either a surface or a formula, not both")
    spec = formula or surface
    if spec:
        ctl.set_surface_object(surface_from_spec(spec))
    if hyperparameters and not optimizer:
        optimizer = "sgd"  # as the command line: --set without --optimizer applies to sgd
    if optimizer:
        get_optimizer(optimizer)
        ctl.set_optimizer(optimizer)
    if hyperparameters:
        ctl.set_hyperparameters(ctl.optimizer, dict(hyperparameters))
    if starts:
        ctl.start_many([tuple(map(float, s)) for s in starts])


def launch(
    *,
    surface: str | None = None,
    formula: str | None = None,
    optimizer: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    starts: Sequence[tuple[float, float]] = (),
    screenshot: str | None = None,
) -> int:
    """Open the explorer window (see the module docstring). Returns the process exit code."""
    if not logging.getLogger().handlers and not log.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = ensure_app()
    from landscape_gui.qt.main_window import MainWindow

    explicit = bool(surface or formula or optimizer or hyperparameters)
    window = MainWindow(restore_settings=screenshot is None and not explicit)
    if screenshot is not None:
        return _screenshot(app, window, screenshot, surface, formula, optimizer, hyperparameters, starts)
    if explicit:  # geometry only: the command line chose surface and optimizer
        geo = QSettings().value("window/geometry")
        if geo is not None:
            window.restoreGeometry(geo)
    restore = install_excepthook(window.dialogs.error)
    try:
        window.show()
        from landscape_gui.qt.model.warmup import start_warmup

        window.after_first_frame(lambda: start_warmup(window.ctl))  # once the window is on screen
        try:
            configure(window, surface=surface, formula=formula, optimizer=optimizer,
                      hyperparameters=hyperparameters, starts=starts)
        except LandscapeError as exc:
            window.dialogs.error("landscape-gui", str(exc))
        return int(app.exec())
    finally:
        restore()
        _dispose(window, app)


def _screenshot(app: QApplication, window, path: str, surface, formula, optimizer, hyperparameters, starts) -> int:
    from landscape_gui.qt.main_window import _save_image_atomically

    ctl = window.ctl
    ctl.force_sync = True
    ctl.animate_new_runs = False
    try:
        configure(window, surface=surface, formula=formula, optimizer=optimizer,
                  hyperparameters=hyperparameters, starts=starts)
        window.wait_for_formula_edit()
        if ctl.runs:
            ctl.select([ctl.runs[0].id])
        ctl.playback.to_end()
        screen = app.primaryScreen()
        if screen is not None:  # the picture is of the whole screen's worth of window
            window.setGeometry(screen.availableGeometry())
        window.show()
        window.reset_layout()
        for _ in range(5):
            app.processEvents()
        app.processEvents()
        _save_image_atomically(window.grab_image("window"), path)
    except LandscapeError as exc:
        print(f"landscape-gui: error: {exc}", file=sys.stderr)
        return 2
    finally:
        _dispose(window, app)
    return 0


def _dispose(window, app: QApplication) -> None:
    """Close and delete the window now, not at interpreter exit: the 3-D view's native window must
    go with its container while both exist (deleting them in arbitrary order at exit crashes Qt)."""
    import shiboken6

    window.close()
    app.processEvents()
    if shiboken6.isValid(window):
        shiboken6.delete(window)
