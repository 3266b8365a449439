"""Labelling run end points: the bucketed labelling gives exactly the straightforward one's labels.

``ReferenceTable`` below is the straightforward labelling written out in full: every end point compared
with every table point, clusters joined by a sweep over every pair closer than the merge tolerance in
x, every max_steps end point refined. :class:`MinimaTable` must give the very same labels and the very
same table (ids, coordinates, kinds), only without the quadratic time and memory.
"""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from landscape_gui.core import minima
from landscape_gui.core.basins import cell_centres, end_points
from landscape_gui.core.minima import MINIMUM, SETTLE_RADIUS, MinimaTable, classify, eigenvalues_2x2, refine
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface


def _reference_cluster(xy: np.ndarray, tol: float) -> np.ndarray:
    n = len(xy)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(n):
        for b in range(a + 1, n):
            if math.hypot(*(xy[a] - xy[b])) <= tol:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    _, labels = np.unique([find(i) for i in range(n)], return_inverse=True)
    return labels.reshape(-1)


def _reference_cluster_sweep(xy: np.ndarray, tol: float) -> np.ndarray:
    """Single linkage by a sweep in x (what the labelling did before cells): fine for many points."""
    n = len(xy)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    order = np.argsort(xy[:, 0], kind="stable")
    sx = xy[order]
    for lag in range(1, n):
        close = np.flatnonzero(sx[lag:, 0] - sx[:-lag, 0] <= tol)
        if len(close) == 0:
            break
        for k in close:
            a, b = order[k], order[k + lag]
            if math.hypot(*(xy[a] - xy[b])) <= tol:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    _, labels = np.unique([find(i) for i in range(n)], return_inverse=True)
    return labels.reshape(-1)


def _reference_refine(surface, points, bounds, iterations=minima.NEWTON_ITERATIONS):
    """The refinement as first written: every halving of every row evaluated, rows moved by masks."""
    p0 = np.array(points, dtype=float).reshape(-1, 2)
    if len(p0) == 0:
        return p0
    diag = minima._diagonal(bounds)
    max_step = minima.MAX_STEP * diag
    p = p0.copy()
    g, h = minima._grad_hess(surface, p)
    gn = np.hypot(g[:, 0], g[:, 1])
    gn0 = gn.copy()
    active = np.isfinite(gn) & np.isfinite(h).all(axis=(1, 2)) & (gn > 0)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            ia = np.flatnonzero(active)
            if len(ia) == 0:
                break
            H, G = h[ia], g[ia]
            hh = np.einsum("nij,nij->n", H, H)
            det_h = H[:, 0, 0] * H[:, 1, 1] - H[:, 0, 1] * H[:, 1, 0]
            # Newton where H is well conditioned, else Levenberg–Marquardt (HᵀH + λI) s = −Hᵀg with
            # λ tiny relative to |H|².
            singular = ~(np.abs(det_h) > 1e-12 * hh)
            A = H.copy()
            rhs = -G.copy()
            if singular.any():
                Hs = H[singular]
                A[singular] = np.einsum("nki,nkj->nij", Hs, Hs)
                lam = 1e-14 * hh[singular] + 1e-300
                A[singular, 0, 0] += lam
                A[singular, 1, 1] += lam
                rhs[singular] = -np.einsum("nki,nk->ni", Hs, G[singular])
            det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 1, 0]
            s = np.column_stack(
                [
                    (A[:, 1, 1] * rhs[:, 0] - A[:, 0, 1] * rhs[:, 1]) / det,
                    (A[:, 0, 0] * rhs[:, 1] - A[:, 1, 0] * rhs[:, 0]) / det,
                ]
            )
            s[~np.isfinite(s).all(axis=1)] = 0.0
            length = np.hypot(s[:, 0], s[:, 1])
            s *= np.minimum(1.0, max_step / np.where(length > 0, length, 1.0))[:, None]
            # Backtracking on |g|: halve the step of rows where it did not help. The rows still
            # trying are kept packed (position, step, |g|, row), so each halving touches only them.
            rows_t, p_t, s_t, gn_t = ia, p[ia], s, gn[ia]
            accepted = []
            for _half in range(12):
                if len(rows_t) == 0:
                    break
                q = p_t + s_t
                gq, hq = minima._grad_hess(surface, q)
                gnq = np.hypot(gq[:, 0], gq[:, 1])
                ok = np.isfinite(gnq) & np.isfinite(hq).reshape(-1, 4).all(axis=1) & (gnq < gn_t)
                if ok.any():
                    rows = rows_t[ok]
                    p[rows], g[rows], h[rows], gn[rows] = q[ok], gq[ok], hq[ok], gnq[ok]
                    accepted.append(rows)
                    no = ~ok
                    rows_t, p_t, s_t, gn_t = rows_t[no], p_t[no], s_t[no], gn_t[no]
                s_t = s_t * 0.5
            # Rows without progress are as refined as floating point allows; so are exact zeros.
            still = np.zeros(len(p), dtype=bool)
            if accepted:
                still[np.concatenate(accepted)] = True
            active &= still & (gn > 0)
    moved = np.hypot(*(p - p0).T)
    bad = ~np.isfinite(p).all(axis=1) | (moved > minima.MAX_MOVE * diag) | ~(gn <= gn0)
    p[bad] = p0[bad]
    return p


class ReferenceTable(MinimaTable):
    """The straightforward labelling (quadratic in points; the definition the fast one must meet)."""

    def match(self, xy):
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        out = np.full(len(xy), -1, dtype=np.int64)
        if len(self._xy) == 0 or len(xy) == 0:
            return out
        d2 = ((xy[:, None, :] - self._xy[None, :, :]) ** 2).sum(axis=2)
        j = np.argmin(d2, axis=1)
        near = d2[np.arange(len(xy)), j] <= self.merge_tol**2
        return np.where(near, j, -1)

    def _refine_unique(self, pts):
        keys = np.floor(pts / self.merge_tol)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return _reference_refine(self.surface, pts[first], self.bounds), inverse.reshape(-1)

    def _add_refined(self, refined):
        uniq, inverse = np.unique(refined, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        cluster = (_reference_cluster if len(uniq) <= 400 else _reference_cluster_sweep)(uniq, self.merge_tol)
        _, first_of = np.unique(cluster, return_index=True)
        centres = uniq[first_of]
        known = self.match(centres)
        new = np.flatnonzero(known < 0)
        if len(new):
            self._append(centres[new])
            known[new] = self.match(centres[new])
        cluster_ids = np.array([c.id for c in self._points], dtype=np.int64)[known]
        return cluster_ids[cluster[inverse]]

    def _flag_global(self):
        losses = [c.loss for c in self._points if c.kind == MINIMUM and math.isfinite(c.loss)]
        lowest = min(losses) if losses else math.nan
        tol = 1e-9 * max(1.0, abs(lowest)) if losses else 0.0
        self._points = [replace(c, is_global=bool(losses) and c.kind == MINIMUM and c.loss <= lowest + tol)
                        for c in self._points]

    def _settled(self, pts):
        out = np.full(len(pts), -1, dtype=np.int64)
        idx = np.flatnonzero(np.isfinite(pts).all(axis=1))
        if len(idx) == 0:
            return out
        _, h_end = minima._grad_hess(self.surface, pts[idx])
        reps, inverse = self._refine_unique(pts[idx])
        _, h_rep = minima._grad_hess(self.surface, reps)
        rep_min = classify(eigenvalues_2x2(h_rep)) == MINIMUM
        dist = np.hypot(*(pts[idx] - reps[inverse]).T)
        keep = (eigenvalues_2x2(h_end)[:, 0] > 0) & rep_min[inverse] & (dist <= SETTLE_RADIUS * self.diagonal)
        if keep.any():
            used = np.unique(inverse[keep])
            rep_ids = np.full(len(reps), -1, dtype=np.int64)
            rep_ids[used] = self._add_critical(reps[used], 0.0)
            out[idx[keep]] = rep_ids[inverse[keep]]
        return out


def _same(table: MinimaTable, reference: MinimaTable) -> None:
    assert [(c.id, c.x, c.y, c.kind, c.is_global) for c in table.points] == \
        [(c.id, c.x, c.y, c.kind, c.is_global) for c in reference.points]


@pytest.mark.parametrize(
    "surface_name, opt, hp",
    [
        ("himmelblau", "sgd", {}),
        ("rosenbrock", "adam", {}),  # nearly every run stops at max_steps in the valley
        ("beale", "rmsprop", {}),
        ("easom", "adam", {}),  # the flat plain: thousands of degenerate critical points
        ("goldstein_price", "adam", {}),  # thousands of refined copies of each minimum
        ("peaks", "momentum", {}),
        ("rastrigin", "adam", {}),
        ("saddle", "nadam", {}),
        # Runs stopped at max_steps and refined: along Rosenbrock's valley (every row takes all the
        # Newton iterations, halving its step several times in each), in Griewank's and Lévy's
        # shallow bowls (refinement ends on steps too small to move a point), and Easom's plain.
        ("rosenbrock", "rmsprop", {}),
        ("griewank", "sgd", {}),
        ("levy13", "sgd", {}),
        ("easom", "sgd", {}),
    ],
)
def test_basin_map_labels_equal_the_straightforward_labelling(surface_name, opt, hp):
    surface = get_surface(surface_name)
    o = get_optimizer(opt)
    full = o.resolve(hp)
    xs, ys = cell_centres(surface.bounds, 40)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    final, codes, _ = end_points(surface, o, full, starts, surface.bounds, 400, 1e-6, fused=False)
    table, reference = MinimaTable(surface), ReferenceTable(surface)
    labels = table.assign(final, codes, 1e-6)
    expected = reference.assign(final, codes, 1e-6)
    np.testing.assert_array_equal(labels, expected)
    _same(table, reference)
    # A second batch (the window adds runs a click at a time): existing ids kept, the same new ones.
    more = final[::7] + 1e-3
    np.testing.assert_array_equal(table.assign(more, codes[::7], 1e-6), reference.assign(more, codes[::7], 1e-6))
    _same(table, reference)


@pytest.mark.parametrize("surface_name, opt", [("rosenbrock", "rmsprop"), ("griewank", "sgd"), ("levy13", "sgd"),
                                               ("easom", "sgd"), ("himmelblau", "adam"), ("saddle", "sgd"),
                                               ("six_hump_camel", "momentum")])
def test_refinement_gives_the_points_it_gave_before_bit_for_bit(surface_name, opt):
    """The refinement skips evaluations that cannot change a row (a step that no longer moves the
    point) and moves its rows in one packed array: every refined point is the very same double."""
    surface = get_surface(surface_name)
    o = get_optimizer(opt)
    xs, ys = cell_centres(surface.bounds, 45)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    final, _, _ = end_points(surface, o, o.resolve({}), starts, surface.bounds, 300, 1e-6, fused=False)
    # End points, the starts themselves (far from any critical point), points on critical points
    # (zero gradient: nothing to do), and rows that are not finite.
    extra = np.array([[np.nan, 0.0], [np.inf, 1.0], [0.0, 0.0], [1.0, 1.0], [3.0, 2.0]])
    points = np.concatenate([final, starts[::3], extra])
    with np.errstate(invalid="ignore"):  # the rows that are not finite
        got = refine(surface, points, surface.bounds)
        want = _reference_refine(surface, points, surface.bounds)
    np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))
    assert (got != np.nan_to_num(points, nan=1e300)).any(), "the case refines something"


def test_clusters_equal_single_linkage_at_the_tolerance_boundary():
    tol = 1e-6
    rng = np.random.default_rng(3)
    h = 0.5 * tol
    parts = [
        # thousands of copies of one point straddling a cell corner (a refined minimum)
        np.array([7 * h, 11 * h]) + rng.normal(scale=1e-13, size=(300, 2)),
        # pairs exactly tol apart (joined) and one rounding step more (not joined)
        np.array([[1e-3, 0.0], [1e-3 + tol, 0.0]]),
        np.array([[2e-3, 5e-4], [np.nextafter(2e-3 + tol, 1.0), 5e-4]]),
        # a chain of steps of 0.9 tol: one cluster by single linkage, though its ends are far apart
        np.column_stack([3e-3 + 0.9 * tol * np.arange(25), np.full(25, -1e-3)]),
        # diagonal neighbours just inside and just outside
        np.array([[5e-3, 5e-3], [5e-3 + 0.7 * tol, 5e-3 + 0.7 * tol], [5e-3 - 0.7 * tol, 5e-3 + 0.72 * tol]]),
        # scattered points
        rng.uniform(-1e-2, 1e-2, size=(60, 2)),
    ]
    xy = np.unique(np.concatenate(parts), axis=0)
    np.testing.assert_array_equal(minima._cluster(xy, tol), _reference_cluster(xy, tol))
    assert len(np.unique(minima._cluster(xy, tol))) < len(xy)  # the case joins something


def test_clusters_of_points_too_far_out_for_cells_are_still_exact():
    xy = np.array([[1e300, 0.0], [1e300, 0.0 + 5e-7], [-1e300, 1.0], [3.0, 4.0], [3.0 + 2e-6, 4.0]])
    np.testing.assert_array_equal(minima._cluster(xy, 1e-6), _reference_cluster(xy, 1e-6))


def test_match_picks_the_nearest_point_within_tolerance_and_the_first_on_a_tie():
    table = MinimaTable(get_surface("himmelblau"))
    tol = table.merge_tol
    base = np.array([[3.0, 2.0], [3.0 + 1.5 * tol, 2.0], [-2.8, 3.1]])
    table._append(base)
    reference = ReferenceTable(get_surface("himmelblau"))
    reference._append(base)
    queries = np.array(
        [
            [3.0 + 0.75 * tol, 2.0],  # equidistant from two points: the first one
            [3.0 + 0.2 * tol, 2.0],
            [3.0 + 1.4 * tol, 2.0 + 0.5 * tol],
            [3.0 - tol, 2.0],  # exactly at the tolerance
            [np.nextafter(3.0 - tol, -np.inf), 2.0],
            [-2.8, 3.1 + 0.99 * tol],
            [0.0, 0.0],
            [np.nan, 1.0],
            [np.inf, 2.0],
        ]
    )
    np.testing.assert_array_equal(table.match(queries), reference.match(queries))
    assert table.match(queries)[0] == reference.match(queries)[0] >= 0


def test_labelling_a_flat_plain_of_end_points_stays_flat_in_memory():
    """Easom's plain: where exp underflows every start is a (degenerate) critical point, so a 256² map
    has over ten thousand of them. Comparing each with every table point needed gigabytes here (a
    4096-row block against 17,000 points is 1.1 GB per temporary; Easom/Adam's 256² map took 4.6 GB)."""
    surface = get_surface("easom")
    xs, ys = cell_centres(surface.bounds, 256)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    g = surface.grad(pts)
    pts = pts[np.hypot(g[:, 0], g[:, 1]) <= 1e-6]
    assert len(pts) > 15000
    codes = np.zeros(len(pts), dtype=np.int8)
    table = MinimaTable(surface)
    tracemalloc.start()
    try:
        labels = table.assign(pts, codes, 1e-6)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300 * 2**20, f"labelling {len(pts)} end points peaked at {peak / 2**20:.0f} MiB"
    # Every end point of the plain is its own critical point, numbered once.
    assert len(np.unique(labels)) == len(pts) == len(table)
    # The same labels as the straightforward labelling on a part of it that it can afford.
    part = pts[::25]
    np.testing.assert_array_equal(MinimaTable(surface).assign(part, codes[::25], 1e-6),
                                  ReferenceTable(surface).assign(part, codes[::25], 1e-6))


def test_cells_are_grouped_as_numpy_unique_groups_them():
    rng = np.random.default_rng(5)
    for keys in (rng.integers(0, 7, 5000).astype(float), np.repeat(rng.normal(size=40), 300),
                 rng.normal(size=1000), np.array([3.0]), np.array([], dtype=float)):
        first, inverse = minima._group(keys)
        _, want_first, want_inverse = np.unique(keys, return_index=True, return_inverse=True)
        np.testing.assert_array_equal(first, want_first)
        np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))
