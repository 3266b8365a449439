"""Tick labels that never pile into each other, on log axes above all.

pyqtgraph labels every minor tick of a log axis (2·10¹, 3·10¹, ... 9·10¹), which overlap as soon as
the axis is short. Here a log axis labels decades only, every ``stride``-th decade when they would sit
closer than :data:`MIN_LABEL_GAP` label heights, adds 2 and 5 when less than two decades show, and
draws the other minor ticks without labels. :class:`LogAxis` does it for plot axes; the colour bar's
axis gets explicit ticks from :func:`log_ticks`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

MIN_LABEL_GAP = 1.8
"""Smallest distance between two labels, in label heights."""
TEXT_FILL_LIMITS = [(0, 0.5), (2, 0.35), (4, 0.2), (6, 0.0)]
"""pyqtgraph's crowding limits for linear axes: a finer level of labels only where there is room."""
_UNLABELLED = 0.01
_LABELLED_MINOR = 0.5


def superscript_power(k: int) -> str:
    """``10`` with exponent ``k`` in superscript digits (1 for k = 0)."""
    if k == 0:
        return "1"
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "10" + str(k).translate(sup)


def mantissa_label(value: float) -> str:
    """Label of the log10 value ``value`` (``m·10ᵏ`` or ``10ᵏ``)."""
    k = math.floor(value + 1e-9)
    m = round(10 ** (value - k))
    if m == 10:
        m, k = 1, k + 1
    return superscript_power(k) if m == 1 else f"{m}·{superscript_power(k)}"


def log_levels(lo: float, hi: float, length_px: float, label_px: float) -> tuple[list[float], list[float], list[float]]:
    """``(labelled decades, labelled minor ticks, unlabelled minor ticks)`` for a log10 axis showing
    ``lo .. hi`` (log10 units) over ``length_px`` pixels with labels ``label_px`` tall (or wide)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or length_px <= 0:
        return [], [], []
    per_decade = length_px / (hi - lo)
    stride = max(1, math.ceil(MIN_LABEL_GAP * label_px / max(per_decade, 1e-9)))
    k0, k1 = math.floor(lo), math.ceil(hi)
    majors = [float(k) for k in range(k0, k1 + 1) if k % stride == 0 and lo - 1e-9 <= k <= hi + 1e-9]
    labelled, plain = [], []
    if stride == 1:
        room = per_decade * math.log10(2) >= MIN_LABEL_GAP * label_px  # 1 -> 2 is the tightest pair
        for k in range(k0, k1 + 1):
            for m in range(2, 10):
                v = k + math.log10(m)
                if lo <= v <= hi:
                    (labelled if room and m in (2, 5) and (hi - lo) < 2 else plain).append(v)
    return majors, labelled, plain


def log_ticks(lo: float, hi: float, length_px: float, label_px: float) -> list[list[tuple[float, str]]]:
    """Explicit ticks (``AxisItem.setTicks`` form) for a log10 axis (see :func:`log_levels`)."""
    majors, labelled, plain = log_levels(lo, hi, length_px, label_px)
    return [[(v, mantissa_label(v)) for v in majors], [(v, mantissa_label(v)) for v in labelled],
            [(v, "") for v in plain]]


class LogAxis(pg.AxisItem):
    """An axis whose log mode labels decades (see the module docstring); linear mode as pyqtgraph,
    with stricter crowding limits."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.setStyle(textFillLimits=TEXT_FILL_LIMITS)

    def _label_px(self) -> float:
        fm = pg.QtGui.QFontMetrics(self.font())
        return float(fm.height() if self.orientation in ("left", "right") else fm.horizontalAdvance("5·10⁻¹⁰"))

    def tickValues(self, minVal: float, maxVal: float, size: float):
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        majors, labelled, plain = log_levels(minVal, maxVal, size, self._label_px())
        stride = majors[1] - majors[0] if len(majors) > 1 else 1.0
        return [(stride, majors), (_LABELLED_MINOR, labelled), (_UNLABELLED, plain)]

    def tickStrings(self, values, scale, spacing):
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        if spacing == _UNLABELLED:
            return [""] * len(values)
        return [mantissa_label(float(v)) for v in np.asarray(values, dtype=float)]


__all__ = ["LogAxis", "MIN_LABEL_GAP", "TEXT_FILL_LIMITS", "log_levels", "log_ticks", "mantissa_label"]
