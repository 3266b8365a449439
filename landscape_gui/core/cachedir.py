"""Where landscape-gui keeps what it can compute again: compiled kernels, printed formulas and the list
of installed plugins. Needs only ``os`` (``pathlib`` for :func:`cache_dir`'s answer), so the command
line can consult its caches before, or without, loading numpy."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path


def cache_folder() -> str:
    """:func:`cache_dir` as a plain string (made if missing)."""
    env = os.environ.get("LANDSCAPE_GUI_CACHE_DIR")
    if env:
        base = env
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "landscape-gui", "kernels")
    try:
        os.makedirs(base, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    import tempfile

    fallback = os.path.join(tempfile.gettempdir(),
                            f"landscape-gui-kernels-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(fallback, exist_ok=True)
    return fallback


def cache_dir() -> Path:
    """Where generated kernels and numba's machine code live: ``$LANDSCAPE_GUI_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/landscape-gui/kernels`` (``~/.cache/...``); a temporary folder if neither is
    writable. Other caches live beside it, in ``cache_dir().parent``."""
    from pathlib import Path

    return Path(cache_folder())


__all__ = ["cache_dir", "cache_folder"]
