"""The window: PySide6 + pyqtgraph on top of :mod:`landscape_gui.core`.

Importing this package applies :func:`landscape_gui.qt.pyside_fix.immortalise_singletons`, once: a
guard against the reference-counting bug of PySide6 6.12 on CPython < 3.12 (``Signal.emit()`` drops a
reference to ``True`` on every call) that would otherwise abort the process after a few hundred
signal emissions -- seconds of playback. Every module of this package is covered by importing it.
"""

from landscape_gui.qt.pyside_fix import immortalise_singletons

immortalise_singletons()
