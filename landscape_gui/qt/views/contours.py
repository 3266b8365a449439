"""Contour lines of a gridded field by vectorised marching squares (no Qt).

Lorensen & Cline's marching cubes reduced to two dimensions: each grid cell's four corners are
classified above/below the level (16 cases), and each case contributes 0, 1 or 2 segments between
points found by linear interpolation along the cell edges. The ambiguous saddle cases (5 and 10) are
resolved by the cell-centre average. All cells and all levels are processed with array operations;
the result is a flat list of segment end points for one ``connect="pairs"`` curve.
"""

from __future__ import annotations

import numpy as np

# edges: 0 bottom (c0-c1), 1 right (c1-c2), 2 top (c3-c2), 3 left (c0-c3); corners c0=(i,j), c1=(i+1,j),
# c2=(i+1,j+1), c3=(i,j+1); case bit k set when corner k is above the level.
_CASES: dict[int, list[tuple[int, int]]] = {
    1: [(3, 0)], 2: [(0, 1)], 3: [(3, 1)], 4: [(1, 2)], 6: [(0, 2)], 7: [(3, 2)], 8: [(2, 3)],
    9: [(0, 2)], 11: [(1, 2)], 12: [(1, 3)], 13: [(0, 1)], 14: [(3, 0)],
}


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Segments of the contours of ``z[i, j] = f(xs[i], ys[j])`` at ``levels``: an ``(2m, 2)`` array of
    end points, consecutive pairs forming a segment. Cells touching a NaN are skipped (gaps stay gaps)."""
    z = np.asarray(z, dtype=float)
    c0, c1, c2, c3 = z[:-1, :-1], z[1:, :-1], z[1:, 1:], z[:-1, 1:]
    finite = np.isfinite(c0) & np.isfinite(c1) & np.isfinite(c2) & np.isfinite(c3)
    X0, Y0 = np.meshgrid(xs[:-1], ys[:-1], indexing="ij")
    dX, dY = np.meshgrid(np.diff(xs), np.diff(ys), indexing="ij")
    out: list[np.ndarray] = []
    for level in np.asarray(levels, dtype=float):
        case = ((c0 > level) * 1 + (c1 > level) * 2 + (c2 > level) * 4 + (c3 > level) * 8) * finite
        active = (case != 0) & (case != 15)
        if not active.any():
            continue
        ii, jj = np.nonzero(active)
        cs = case[ii, jj]
        a, b, c, d = c0[ii, jj], c1[ii, jj], c2[ii, jj], c3[ii, jj]
        x0, y0, dx, dy = X0[ii, jj], Y0[ii, jj], dX[ii, jj], dY[ii, jj]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = [(level - a) / (b - a), (level - b) / (c - b), (level - d) / (c - d), (level - a) / (d - a)]
        pts = [
            (x0 + t[0] * dx, y0),
            (x0 + dx, y0 + t[1] * dy),
            (x0 + t[2] * dx, y0 + dy),
            (x0, y0 + t[3] * dy),
        ]
        centre_above = 0.25 * (a + b + c + d) > level
        table = dict(_CASES)
        for k in (5, 10):
            sel = cs == k
            if sel.any():
                # saddle: centre above joins the above corners' regions, so segments cut the below corners
                pairs_above = [(3, 2), (1, 0)] if k == 5 else [(0, 3), (2, 1)]
                pairs_below = [(3, 0), (1, 2)] if k == 5 else [(0, 1), (2, 3)]
                for pair_a, pair_b in zip(pairs_above, pairs_below):
                    for mask, (e1, e2) in ((sel & centre_above, pair_a), (sel & ~centre_above, pair_b)):
                        if mask.any():
                            seg = np.empty((2 * mask.sum(), 2))
                            seg[0::2, 0], seg[0::2, 1] = pts[e1][0][mask], pts[e1][1][mask]
                            seg[1::2, 0], seg[1::2, 1] = pts[e2][0][mask], pts[e2][1][mask]
                            out.append(seg)
        for k, pairs in table.items():
            mask = cs == k
            if not mask.any():
                continue
            for e1, e2 in pairs:
                seg = np.empty((2 * mask.sum(), 2))
                seg[0::2, 0], seg[0::2, 1] = pts[e1][0][mask], pts[e1][1][mask]
                seg[1::2, 0], seg[1::2, 1] = pts[e2][0][mask], pts[e2][1][mask]
                out.append(seg)
    if not out:
        return np.empty((0, 2))
    return np.concatenate(out)


def nice_levels(lo: float, hi: float, n: int = 14) -> np.ndarray:
    """``n`` evenly spaced levels strictly inside ``(lo, hi)``."""
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return np.empty(0)
    return lo + (hi - lo) * (np.arange(1, n + 1) / (n + 1))
