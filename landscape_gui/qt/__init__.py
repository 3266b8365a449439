"""The window: PySide6 + pyqtgraph on top of :mod:`landscape_gui.core`.

Importing this package calls :func:`landscape_gui.qt.pyside_fix.immortalise_singletons` once: a guard
against a reference-counting bug of PySide6 6.12 on CPython < 3.12 that would otherwise abort the
process after a few hundred signal emissions (seconds of playback). Every module of the package, and
anything importing one, gets it first.
"""

from __future__ import annotations

from landscape_gui.qt.pyside_fix import immortalise_singletons

immortalise_singletons()
