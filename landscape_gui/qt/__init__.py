"""The window: PySide6 + pyqtgraph on top of :mod:`landscape_gui.core`.

Importing this package applies :func:`_pin_singletons` (see there): a guard against a reference
counting bug of the PySide6 build in use that would otherwise crash the process after a few thousand
signal emissions on CPython < 3.12.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PINNED = False


def _pin_singletons() -> None:
    """Make ``True``, ``False`` and ``None`` effectively immortal on CPython < 3.12.

    PySide6 6.12 on CPython 3.11 drops one reference to ``True`` on every ``Signal.emit()`` (measured:
    1,000 emits of a signal with a connected Python slot lower ``sys.getrefcount(True)`` by exactly
    1,000), so after a few thousand emissions -- seconds of playback -- the interpreter aborts with
    "Fatal Python error: bool_dealloc: deallocating True or False". CPython 3.12 made these
    singletons immortal (PEP 683: a refcount so large it is never reached), which hides the bug
    there; here we do the same by adding 2**60 to their reference counts once. They are never freed
    anyway, so nothing else changes.
    """
    global _PINNED
    if _PINNED or platform.python_implementation() != "CPython" or sys.version_info >= (3, 12):
        return
    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 60
    _PINNED = True


_pin_singletons()
