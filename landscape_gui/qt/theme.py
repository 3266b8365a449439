"""The window's one look: run palette, light backgrounds, minimum colours and share formatting.

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
    (0, 140, 255),  # blue
    (220, 40, 200),  # magenta
    (50, 165, 40),  # green
    (200, 150, 0),  # gold
    (140, 70, 240),  # violet
    (240, 70, 125),  # pink
    (0, 160, 145),  # teal
    (150, 90, 30),  # brown
)
"""Trajectory colours: saturated, mutually distinct, none near white or grey, so each reads on the
light backgrounds of the 3-D view, the loss curves and the runs table (a test checks the contrast)."""

PLOT_BACKGROUND: RGB = (255, 255, 255)
"""Behind the map's axes and the loss curves."""
SURFACE_BACKGROUND: RGB = (250, 250, 250)
"""Behind the 3-D surface."""
TABLE_BACKGROUND: RGB = (255, 255, 255)
"""Behind the runs table's swatches (they also get a dark outline)."""
BACKGROUNDS = {"plot": PLOT_BACKGROUND, "surface": SURFACE_BACKGROUND, "table": TABLE_BACKGROUND}
SWATCH_OUTLINE: RGB = (60, 60, 60)
"""Outline of the run swatches in the table: a swatch keeps its edge on any row colour."""
TEXT: RGB = (34, 34, 34)
"""Axis text on the light plots."""
AXIS: RGB = (80, 80, 80)


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


__all__ = ["BACKGROUNDS", "PALETTE", "PLOT_BACKGROUND", "SURFACE_BACKGROUND", "TABLE_BACKGROUND", "contrast", "luminance", "minimum_color",
           "share_text"]
