"""Work around reference-count bugs of PySide6 6.12 on CPython < 3.12 (applied once, at package import).

Observed here (PySide6-Essentials 6.12.0, CPython 3.11.7): ``SignalInstance.emit()`` returns ``True``
and ``QObject.property(name)`` of an unset property returns ``None`` *without* a new reference, so
each call takes one reference away from the singleton (measured: 1,000 emits of a signal with a
connected Python slot lower ``sys.getrefcount(True)`` by exactly 1,000). ``True`` starts with a few
hundred references and pyqtgraph emits signals and reads properties on every ``setData``/``setImage``,
so after a few hundred plot updates -- seconds of playback -- the interpreter aborts with
"Fatal Python error: bool_dealloc: deallocating True or False" (or ``none_dealloc``).

CPython 3.12 made ``None``/``True``/``False`` immortal (PEP 683: a reference count so large it is never
reached), which makes such leaks harmless; on older CPython :func:`immortalise_singletons` does the
same by adding 2⁶⁰ to their reference counts (the singletons are never freed anyway, so nothing else
changes). :mod:`landscape_gui.qt` calls it when imported, before any widget exists; it is idempotent
and a no-op on CPython 3.12+, on other interpreters, and on builds whose object layout it does not
recognise (it checks that the field it would change holds the reference count first).
"""

from __future__ import annotations

import ctypes
import sys

PIN = 1 << 60
"""Added to each singleton's reference count: 2⁶⁰ lost references would take centuries of emits."""

_DONE = False


def immortalise_singletons() -> bool:
    """Make ``None``, ``True`` and ``False`` effectively immortal on CPython < 3.12 (see the module
    docstring). Returns whether the reference counts are now pinned (False where nothing was needed
    or the object layout is not the expected one)."""
    global _DONE
    if _DONE:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    cells = [ctypes.c_ssize_t.from_address(id(obj)) for obj in (None, True, False)]
    # ob_refcnt is the first field of every object in release builds (a trace-refs build puts two
    # list pointers first): only write where that field holds the count sys.getrefcount reports.
    for obj, cell in zip((None, True, False), cells):
        if abs(cell.value - sys.getrefcount(obj)) > 64:
            return False
    for cell in cells:
        cell.value += PIN
    _DONE = True
    return True


def singletons_pinned() -> bool:
    """True once :func:`immortalise_singletons` has pinned the reference counts."""
    return _DONE


__all__ = ["PIN", "immortalise_singletons", "singletons_pinned"]
