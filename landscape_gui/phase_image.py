"""The phase diagram of a sweep as a PNG: where runs settle as the hyperparameters change.

- **One varied hyperparameter:** a stacked bar per value: each basin's share of the starts, in the
  minimum's colour (:func:`landscape_gui.basin_image.minimum_rgb`, the palette of every other view),
  grey for starts that settled nowhere (diverged or still moving).
- **Two:** a heat map over the two: each cell in the colour of its *dominant* minimum (the one most
  starts reach), paler the smaller that minimum's share, with the share written in the cell while the
  grid is small enough to read. This is the usual phase diagram of dynamical systems: regions of
  parameter space with the same long-term behaviour, boundaries where it changes.
- **Three or more:** small multiples: one such heat map over the first two for every combination of
  the others (at most :data:`MAX_PANELS`).

Drawn with matplotlib's Agg canvas (a ``Figure`` with no pyplot, no GUI backend, no display), so it
runs on a headless machine and never imports Qt.
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from landscape_gui.basin_image import NO_MINIMUM_RGB, minimum_rgb

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.sweep import Axis, SweepResult

MAX_PANELS = 36
"""Small multiples drawn at most (the summary CSV has every cell)."""
ANNOTATE_MAX = 16
"""Shares are written in the cells of heat maps up to this many cells per side."""
PALE = 0.75
"""How far towards white a cell whose dominant minimum holds almost no share is drawn."""


def _rgb(ident: int) -> tuple[float, float, float]:
    r, g, b = minimum_rgb(ident) if ident >= 0 else NO_MINIMUM_RGB
    return r / 255, g / 255, b / 255


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _ticks(axis: "Axis", limit: int = 12) -> tuple[list[int], list[str]]:
    n = len(axis.values)
    step = max(1, math.ceil(n / limit))
    idx = list(range(0, n, step))
    if idx[-1] != n - 1 and n - 1 - idx[-1] >= step / 2:
        idx.append(n - 1)
    return idx, [_fmt(axis.values[i]) for i in idx]


def _label(axis: "Axis") -> str:
    return f"{axis.name} (log scale)" if axis.log else axis.name


def _heat(ax, result: "SweepResult", dominant: np.ndarray, share: np.ndarray, annotate: bool) -> None:
    """Draw dominant ids and their shares ``(n0, n1)`` over axes 0 (x) and 1 (y)."""
    a0, a1 = result.axes[0], result.axes[1]
    rgb = np.empty(dominant.shape + (3,))
    for i, j in np.ndindex(dominant.shape):
        base = np.array(_rgb(int(dominant[i, j])))
        pale = PALE * (1.0 - share[i, j]) if dominant[i, j] >= 0 else 0.0
        rgb[i, j] = base + (1.0 - base) * pale
    ax.imshow(rgb.transpose(1, 0, 2), origin="lower", aspect="auto", interpolation="nearest")
    xi, xl = _ticks(a0)
    yi, yl = _ticks(a1)
    ax.set_xticks(xi, xl, fontsize=8)
    ax.set_yticks(yi, yl, fontsize=8)
    if annotate:
        for i, j in np.ndindex(dominant.shape):
            if dominant[i, j] >= 0:
                ax.text(i, j, f"{100 * share[i, j]:.0f}", ha="center", va="center", fontsize=7, color="black")


def render_phase_figure(result: "SweepResult"):
    """The phase diagram as a matplotlib ``Figure`` (Agg canvas attached); see the module docstring."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    spec = result.spec
    axes = result.axes
    ids, shares = result.fractions()
    points = {c.id: c for c in result.points()}
    dominant = result.dominant().reshape(-1)
    idx_of = {int(i): k for k, i in enumerate(ids)}
    dom_share = np.array([shares[c, idx_of[int(d)]] if d >= 0 else 0.0 for c, d in enumerate(dominant)])
    from landscape_gui.core.optimizers import get_optimizer

    defaults = get_optimizer(spec.optimizer).defaults()
    fixed = ", ".join(f"{k}={v}" for k, v in spec.hyperparameters if v != defaults.get(k))
    title = (f"Where runs settle: {spec.surface}, {spec.optimizer}"
             + (f" ({fixed})" if fixed else "") + f"; {spec.resolution}×{spec.resolution} starts per cell, "
             f"{spec.max_steps} steps")

    legend = [Patch(facecolor=_rgb(int(i)), edgecolor="0.3",
                    label=f"#{int(i)} {points[int(i)].kind} ({_fmt(points[int(i)].x)}, {_fmt(points[int(i)].y)})"
                          f"  loss {_fmt(points[int(i)].loss)}")
              for i in ids[:24]]
    if len(ids) > 24:
        legend.append(Patch(facecolor="white", edgecolor="white", label=f"… and {len(ids) - 24} more (see summary.csv)"))
    legend.append(Patch(facecolor=_rgb(-1), edgecolor="0.3", label="no minimum (diverged / still moving)"))

    if len(axes) == 1:
        fig = Figure(figsize=(10, 5.2), dpi=100)
        ax = fig.add_axes((0.08, 0.14, 0.56, 0.74))
        n = len(axes[0])
        x = np.arange(n)
        bottom = np.zeros(n)
        for k, ident in enumerate(ids):
            ax.bar(x, shares[:, k], bottom=bottom, width=0.9, color=_rgb(int(ident)), edgecolor="none")
            bottom += shares[:, k]
        ax.bar(x, 1.0 - bottom, bottom=bottom, width=0.9, color=_rgb(-1), edgecolor="none")
        xi, xl = _ticks(axes[0])
        ax.set_xticks(xi, xl, fontsize=8)
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(0, 1)
        ax.set_xlabel(_label(axes[0]))
        ax.set_ylabel("share of starts")
        fig.legend(handles=legend, loc="center left", bbox_to_anchor=(0.66, 0.5), fontsize=8, frameon=False,
                   title="Where runs settled", title_fontsize=9)
    else:
        shape = result.shape
        n0, n1 = shape[0], shape[1]
        rest = shape[2:]
        combos = list(itertools.islice(np.ndindex(*rest) if rest else iter([()]), MAX_PANELS))
        total = int(np.prod(rest)) if rest else 1
        cols = min(len(combos), 6 if rest else 1)
        rows = math.ceil(len(combos) / cols)
        panel = 4.2 if not rest else 2.6
        fig = Figure(figsize=(cols * panel + 4.0, rows * panel + 1.3), dpi=100)
        grid = fig.add_gridspec(rows, cols, left=0.7 / (cols * panel + 4.0) + 0.02,
                                right=cols * panel / (cols * panel + 4.0), bottom=0.9 / (rows * panel + 1.3) + 0.02,
                                top=1 - 0.9 / (rows * panel + 1.3), hspace=0.45, wspace=0.3)
        dom = dominant.reshape(shape)
        sh = dom_share.reshape(shape)
        annotate = max(n0, n1) <= ANNOTATE_MAX and not rest
        for k, combo in enumerate(combos):
            ax = fig.add_subplot(grid[k // cols, k % cols])
            sel = (slice(None), slice(None)) + tuple(combo)
            _heat(ax, result, dom[sel], sh[sel], annotate)
            if rest:
                ax.set_title(", ".join(f"{a.name}={_fmt(a.values[i])}" for a, i in zip(axes[2:], combo)), fontsize=8)
            if k // cols == rows - 1:
                ax.set_xlabel(_label(axes[0]), fontsize=9)
            if k % cols == 0:
                ax.set_ylabel(_label(axes[1]), fontsize=9)
        note = "colour: the minimum most starts reach; paler: a smaller share"
        if annotate:
            note += " (written in %)"
        if total > len(combos):
            note += f"; first {len(combos)} of {total} panels (all cells in summary.csv)"
        fig.text(0.01, 0.01, note, fontsize=8, color="0.3")
        fig.legend(handles=legend, loc="center left", bbox_to_anchor=(cols * panel / (cols * panel + 4.0) + 0.01, 0.5),
                   fontsize=8, frameon=False, title="Where runs settled", title_fontsize=9)
    chars = int(fig.get_figwidth() * 100 / 6.5)
    fig.suptitle(textwrap.fill(title, chars), fontsize=10)
    FigureCanvasAgg(fig)
    return fig


def render_phase_png(result: "SweepResult") -> bytes:
    """:func:`render_phase_figure` encoded as PNG bytes."""
    fig = render_phase_figure(result)
    buf = io.BytesIO()
    fig.canvas.print_png(buf)
    return buf.getvalue()


__all__ = ["ANNOTATE_MAX", "MAX_PANELS", "render_phase_figure", "render_phase_png"]
