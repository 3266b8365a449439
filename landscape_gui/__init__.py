"""landscape-gui: a desktop explorer of loss landscapes.

The numeric core lives in :mod:`landscape_gui.core` (numpy only, never imports Qt); the window lives
in :mod:`landscape_gui.qt`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

__version__ = "0.1.0"


def resources_path() -> Path:
    """The folder of shipped data files, installed (``landscape_gui.resources``) or in a checkout."""
    from pathlib import Path  # here, not at the top: `landscape-gui --version` and `list` start without it

    try:
        import landscape_gui.resources as res  # installed wheel: resources/ mapped into the package

        return Path(res.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parent.parent / "resources"
