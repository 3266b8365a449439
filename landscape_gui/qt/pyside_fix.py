"""Work around reference-count bugs of PySide6 6.12.0 on CPython < 3.12.

Observed here (PySide6-Essentials 6.12.0, CPython 3.11.7): ``SignalInstance.emit()`` returns ``True``
and ``QObject.property(name)`` of an unset property returns ``None`` *without* a new reference, so
each call takes one reference away from the singleton. pyqtgraph emits signals and reads properties on
every ``setData``/``setImage``; ``True`` starts with a few hundred references, so after a few hundred
plot updates the interpreter aborts with "Fatal Python error: bool_dealloc" (or ``none_dealloc``).

CPython 3.12 made ``None``/``True``/``False`` immortal (PEP 683), which makes such leaks harmless; on
older CPython :func:`immortalise_singletons` does the same by adding 2⁴⁰ to their reference counts
(the singletons are never freed anyway). Call it once before creating widgets; it is idempotent and a
no-op on CPython 3.12+ and other interpreters.
"""

from __future__ import annotations

import sys

_DONE = False


def immortalise_singletons() -> None:
    """Make ``None``, ``True`` and ``False`` effectively immortal on CPython < 3.12 (see module docstring)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    import ctypes

    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (non-debug builds).
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


__all__ = ["immortalise_singletons"]
