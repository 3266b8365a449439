"""The window's one look: run palette, backgrounds, minimum colours and share formatting.

Shared by the model (run colours), the views and the panels, so every place draws a run or a minimum
in the same colour. Backgrounds are listed here so a test can check that every run colour reads on
every background it is drawn on (WCAG-style contrast of relative luminances).
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from landscape_gui.basin_image import minimum_rgb

RGB = tuple[int, int, int]

PALETTE: tuple[RGB, ...] = (
    (228, 26, 28),  # red
    (255, 127, 0),  # orange
    (0, 200, 255),  # sky blue
    (240, 50, 230),  # magenta
    (80, 220, 40),  # green
    (255, 225, 25),  # yellow
    (160, 90, 255),  # violet
    (255, 110, 150),  # pink
    (0, 230, 180),  # teal
    (190, 120, 40),  # brown
)
"""Trajectory colours: saturated and mutually distinct; none near white, black or grey, so each reads
on the map's colour map, the 3-D view's dark background and the loss curves' dark background."""

SURFACE_BACKGROUND: RGB = (38, 40, 46)
"""Behind the 3-D surface (dark, as the loss curves: bright run colours read on it)."""
LOSS_BACKGROUND: RGB = (30, 32, 38)
"""Behind the loss curves."""
SWATCH_OUTLINE: RGB = (40, 40, 40)
"""Outline of the run swatches in the table: a swatch keeps its edge on any row colour."""


def luminance(rgb: RGB) -> float:
    """Relative luminance of an sRGB colour (WCAG 2.1 definition), 0 (black) .. 1 (white)."""
    def lin(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio of two colours, 1 .. 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def minimum_color(ident: int | None, alpha: int = 255) -> QColor:
    """The colour of critical point ``ident`` (grey for ``None``/-1), the same in every view."""
    r, g, b = minimum_rgb(ident)
    return QColor(r, g, b, alpha)


def share_text(fraction: float, space: str = " ") -> str:
    """A share as a percentage with one decimal; a share that is not zero never reads "0.0 %"."""
    if 0 < fraction < 0.0005:
        return f"<{space}0.1{space}%"
    return f"{100 * fraction:.1f}{space}%"


__all__ = ["LOSS_BACKGROUND", "PALETTE", "SURFACE_BACKGROUND", "contrast", "luminance", "minimum_color",
           "share_text"]
