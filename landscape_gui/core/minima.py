"""Where runs settle: critical points, their kind, and which one each run ended in.

A run that converged stopped where the gradient norm fell to the tolerance, close to (not at) a
critical point. :class:`MinimaTable` turns such end points into exact critical points and gives each a
stable id:

1. **Refine** every candidate with Newton's method on the exact gradient and Hessian,
   ``p ← p − H⁻¹ g``, vectorised over candidates. Where ``H`` is (near) singular the step is the
   Levenberg–Marquardt step ``−(HᵀH + λI)⁻¹ Hᵀ g`` with a tiny ``λ`` (it equals the Newton step when
   ``H`` is well conditioned and stays bounded when it is not); a step that does not reduce ``|g|`` is
   halved (backtracking on ``|g|``), and no step is longer than :data:`MAX_STEP` of the bounds'
   diagonal. Newton's method converges quadratically to the nearby critical point of any kind
   (Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, §3.3 and §10.3).
   A candidate whose refinement wanders more than :data:`MAX_MOVE` diagonals away, or ends with a
   larger gradient than it started with, keeps its own position. A point is accepted as critical
   when its gradient norm is at most ``max(GRAD_TOL, tol)`` (``tol``: the runs' convergence
   tolerance, so a converged run on a flat plateau still has a place to settle); other candidates
   get no id.
2. **Merge** points closer than ``MERGE_TOL × diagonal`` of the bounds (``MERGE_TOL = 1e-6``): refined
   copies of one critical point agree to ~1e-12, distinct critical points of a plotted surface are
   far more than a millionth of the view apart.
3. **Classify** by the eigenvalues ``λ₁ ≤ λ₂`` of the Hessian: ``minimum`` when both are > 0,
   ``maximum`` when both are < 0, ``saddle`` when they have opposite signs, ``degenerate`` when
   ``min |λ| ≤ EIG_TOL × max(1, |λ₂|, |λ₁|)`` (second-order test inconclusive).
4. **Flag global**: every minimum whose loss is within ``1e-9 × max(1, |lowest|)`` of the lowest one
   (Himmelblau's four equal minima are all global).

Ids are stable while the surface and bounds are unchanged: the first batch is numbered 1, 2, ... in
order of (loss, x, y); a later batch (the GUI adds runs one click at a time) keeps every existing id and
numbers points it has not seen before after the largest id so far.

**Labelling runs** (:func:`label_runs`, :meth:`MinimaTable.assign`): a converged run gets the id of the
critical point its end point refines to, whatever its kind (a run can settle on a saddle; the table
says so). A diverged run gets ``None``. A run stopped by ``max_steps`` gets the id of a *minimum* only
when it is clearly inside it: its end point refines to a minimum at most :data:`SETTLE_RADIUS`
diagonals away and the Hessian at the end point is positive definite (it is oscillating or creeping
inside the minimum's convex bowl, e.g. Adam circling a minimum at a fixed learning rate); otherwise
``None`` (still travelling, e.g. down Rosenbrock's valley).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterator, Sequence

import numpy as np

from landscape_gui.core.engine import check_bounds
from landscape_gui.core.runs import CONVERGED, MAX_STEPS, Run
from landscape_gui.core.surfaces import Bounds, Surface

MINIMUM = "minimum"
SADDLE = "saddle"
MAXIMUM = "maximum"
DEGENERATE = "degenerate"
KINDS = (MINIMUM, SADDLE, MAXIMUM, DEGENERATE)

MERGE_TOL = 1e-6
"""Points closer than this many diagonals of the bounds are one critical point."""
MAX_STEP = 0.05
"""Longest Newton step, in diagonals of the bounds."""
MAX_MOVE = 0.02
"""A refinement that moves a candidate farther than this (in diagonals) is rejected."""
SETTLE_RADIUS = 1e-3
"""A max_steps run within this many diagonals of a minimum (and in its convex bowl) settled there."""
EIG_TOL = 1e-8
"""Relative eigenvalue size below which the second-order test is inconclusive (``degenerate``)."""
GRAD_TOL = 1e-5
"""Gradient norm at or below which a refined point counts as critical (or the runs' tol if larger)."""
NEWTON_ITERATIONS = 30

# Status codes of engine.BatchResult.status_codes.
_CODE_CONVERGED, _CODE_DIVERGED, _CODE_MAX_STEPS = 0, 1, 2


@dataclass(frozen=True)
class CriticalPoint:
    """A critical point of the surface (``∇f = 0``) found by refining run end points.

    Attributes:
        id: stable id (from 1), written in the CSV ``minimum`` column and the basin map's labels.
        x, y: location.
        loss: ``f(x, y)``.
        kind: ``minimum``, ``saddle``, ``maximum`` or ``degenerate`` (see module docstring).
        is_global: a lowest minimum (ties included).
        eigenvalues: Hessian eigenvalues ``(λ₁, λ₂)``, ascending.
        grad_norm: ``|∇f|`` left after refinement (~1e-12 when Newton converged).
    """

    id: int
    x: float
    y: float
    loss: float
    kind: str
    is_global: bool = False
    eigenvalues: tuple[float, float] = (math.nan, math.nan)
    grad_norm: float = 0.0

    @property
    def is_minimum(self) -> bool:
        return self.kind == MINIMUM


def _diagonal(bounds: Bounds) -> float:
    xmin, xmax, ymin, ymax = bounds
    return math.hypot(xmax - xmin, ymax - ymin)


def _grad_hess(surface: Surface, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        g = np.asarray(surface.grad(p), dtype=float).reshape(len(p), 2)
        h = np.asarray(surface.hessian(p), dtype=float).reshape(len(p), 2, 2)
    return g, h


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` of ``np.unique(keys, return_index=True, return_inverse=True)`` for a 1-D
    float array: the first row of each distinct key (keys ascending) and each row's key number. A
    stable argsort (timsort, fast on the runs of equal keys a grid of starts gives) and one pass."""
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    order = keys.argsort(kind="stable")
    ordered = keys[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def _finite_rows(p: np.ndarray) -> np.ndarray:
    """``np.isfinite(p).all(axis=1)`` for ``(n, 2)`` points, a column at a time (faster)."""
    return np.isfinite(p[:, 0]) & np.isfinite(p[:, 1])


def _all_finite_2x2(h: np.ndarray) -> np.ndarray:
    """``np.isfinite(h).all(axis=(1, 2))`` for ``(n, 2, 2)`` matrices, read as one 32-bit word of four
    booleans per matrix (a reduction over an axis of four is slow in numpy)."""
    flags = np.ascontiguousarray(np.isfinite(h), dtype=np.bool_).reshape(len(h), 4)
    return flags.view(np.uint32)[:, 0] == 0x01010101


def eigenvalues_2x2(h: np.ndarray) -> np.ndarray:
    """Ascending eigenvalues of symmetric ``(n, 2, 2)`` matrices, closed form: ``m ± √(d² + b²)``
    with ``m`` the mean and ``d`` the half difference of the diagonal and ``b`` the off-diagonal."""
    a = h[:, 0, 0]
    c = h[:, 1, 1]
    b = 0.5 * (h[:, 0, 1] + h[:, 1, 0])
    m = 0.5 * (a + c)
    r = np.hypot(0.5 * (a - c), b)
    return np.column_stack([m - r, m + r])


def classify(eigs: np.ndarray) -> np.ndarray:
    """Kind of each critical point from ``(n, 2)`` ascending eigenvalues (object array of str)."""
    lo, hi = eigs[:, 0], eigs[:, 1]
    scale = np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
    tiny = np.minimum(np.abs(lo), np.abs(hi)) <= EIG_TOL * scale
    kind = np.full(len(eigs), DEGENERATE, dtype=object)
    kind[(lo > 0) & ~tiny] = MINIMUM
    kind[(hi < 0) & ~tiny] = MAXIMUM
    kind[(lo < 0) & (hi > 0) & ~tiny] = SADDLE
    kind[~_finite_rows(eigs)] = DEGENERATE
    return kind


def refine(surface: Surface, points: Any, bounds: Bounds, iterations: int = NEWTON_ITERATIONS) -> np.ndarray:
    """Newton-refine candidate points to nearby critical points (see module docstring), ``(n, 2)``.

    Rows whose refinement fails keep their input position.
    """
    p0 = np.array(points, dtype=float).reshape(-1, 2)
    if len(p0) == 0:
        return p0
    diag = _diagonal(bounds)
    max_step = MAX_STEP * diag
    p = p0.copy()
    g, h = _grad_hess(surface, p)
    g, h = np.ascontiguousarray(g), np.ascontiguousarray(h)
    h4 = h.reshape(len(h), 4)  # a view: rows of h are written through it
    gn = np.hypot(g[:, 0], g[:, 1])
    gn0 = gn.copy()
    active = np.isfinite(gn) & _all_finite_2x2(h) & (gn > 0)
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
            s[~_finite_rows(s)] = 0.0
            length = np.hypot(s[:, 0], s[:, 1])
            s *= np.minimum(1.0, max_step / np.where(length > 0, length, 1.0))[:, None]
            # Backtracking on |g|: halve the step of rows where it did not help. The rows still
            # trying are kept packed in one array, a row per quantity (x, y, step x, step y, |g|,
            # row number), so each halving touches only them and moves them with one gather.
            state = np.empty((6, len(ia)))
            state[0:2] = p[ia].T
            state[2:4] = s.T
            state[4] = gn[ia]
            state[5] = ia  # exact in float64 (fewer than 2**53 rows)
            accepted = []
            for _half in range(12):
                q = np.empty((state.shape[1], 2))
                np.add(state[0], state[2], out=q[:, 0])
                np.add(state[1], state[3], out=q[:, 1])
                # A step too small to move a row (q == p in both coordinates) cannot lower |g|, and
                # neither can any half of it (rounding is monotonic): the row is done without
                # evaluating the surface at its own position again.
                moving = (q[:, 0] != state[0]) | (q[:, 1] != state[1])
                if not moving.all():
                    keep = np.flatnonzero(moving)
                    state, q = np.take(state, keep, axis=1), q[keep]  # take keeps rows contiguous
                if state.shape[1] == 0:
                    break
                gq, hq = _grad_hess(surface, q)
                gnq = np.hypot(gq[:, 0], gq[:, 1])
                ok = (gnq < state[4]) & _all_finite_2x2(hq)  # |g| is finite where it dropped
                took = np.flatnonzero(ok)
                if len(took):
                    rows = state[5, took].astype(np.intp)
                    p[rows], g[rows], h4[rows], gn[rows] = q[took], gq[took], hq.reshape(-1, 4)[took], gnq[took]
                    accepted.append(rows)
                    if len(took) == state.shape[1]:
                        break
                    state = np.take(state, np.flatnonzero(~ok), axis=1)
                state[2:4] *= 0.5
            # Rows without progress are as refined as floating point allows; so are exact zeros.
            still = np.zeros(len(p), dtype=bool)
            if accepted:
                still[np.concatenate(accepted)] = True
            active &= still & (gn > 0)
    moved = np.hypot(*(p - p0).T)
    bad = ~_finite_rows(p) | (moved > MAX_MOVE * diag) | ~(gn <= gn0)
    p[bad] = p0[bad]
    return p


class MinimaTable:
    """The critical points revealed so far on one surface and domain, with stable ids.

    ``add(points)`` refines and merges new candidates and returns the id of each; existing points keep
    their ids. ``assign(end_points, status_codes)`` labels run end points (adding what is new).
    """

    def __init__(self, surface: Surface, bounds: Bounds | None = None) -> None:
        self.surface = surface
        self.bounds: Bounds = check_bounds(bounds if bounds is not None else surface.bounds)
        self.diagonal = _diagonal(self.bounds)
        self.merge_tol = MERGE_TOL * self.diagonal
        self._points: list[CriticalPoint] = []
        self._xy = np.empty((0, 2))
        self._ids = np.empty(0, dtype=np.int64)  # the id of each point, in list order
        self._grid: _Grid | None = None  # bucketed _xy for match(), built when first needed
        self._grid_ready = False

    # -- queries -----------------------------------------------------------------------------------
    @property
    def points(self) -> list[CriticalPoint]:
        """All critical points, by id."""
        return list(self._points)

    @property
    def minima(self) -> list[CriticalPoint]:
        return [c for c in self._points if c.kind == MINIMUM]

    def __len__(self) -> int:
        return len(self._points)

    def __iter__(self) -> Iterator[CriticalPoint]:
        return iter(self._points)

    def get(self, ident: int) -> CriticalPoint:
        for c in self._points:
            if c.id == ident:
                return c
        raise KeyError(ident)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def copy(self) -> "MinimaTable":
        other = MinimaTable(self.surface, self.bounds)
        other._points = list(self._points)
        other._xy = self._xy.copy()
        other._ids = self._ids.copy()
        return other

    # -- building ----------------------------------------------------------------------------------
    def match(self, xy: np.ndarray) -> np.ndarray:
        """Index into :attr:`points` of the point within ``merge_tol`` of each row of ``xy``, or -1.

        The nearest point by ``dx² + dy²`` (the first one on a tie), if that is at most ``merge_tol²``.
        Only the points in the 3 × 3 cells of side ``2·merge_tol`` around a row can be that close, so
        a row is compared with those alone (:class:`_Grid`): time and memory grow with the rows, not
        with rows × points.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        out = np.full(len(xy), -1, dtype=np.int64)
        if len(self._xy) == 0 or len(xy) == 0:
            return out
        if not self._grid_ready:
            self._grid = _Grid.build(self._xy, 2.0 * self.merge_tol, 1)
            self._grid_ready = True
        grid = self._grid
        tol2 = self.merge_tol**2
        for start in range(0, len(xy), _CHUNK):
            chunk = xy[start : start + _CHUNK]
            if grid is None:  # coordinates beyond what cell numbers can hold: compare with every point
                out[start : start + len(chunk)] = _nearest_brute(chunk, self._xy, tol2)
                continue
            qi, ti = grid.candidates(chunk)
            if len(qi) == 0:
                continue
            d2 = ((chunk[qi] - self._xy[ti]) ** 2).sum(axis=1)
            order = np.lexsort((ti, d2, qi))  # per row: smallest d2, then lowest index (argmin's choice)
            qi, ti, d2 = qi[order], ti[order], d2[order]
            first = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
            near = d2[first] <= tol2
            out[start + qi[first[near]]] = ti[first[near]]
        return out

    def _cells(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(first, inverse)``: the first row of each cell of side ``merge_tol`` that rows fall in, and
        each row's cell (an index into ``first``)."""
        kx = np.floor(pts[:, 0] / self.merge_tol)  # column by column: contiguous, so faster
        ky = np.floor(pts[:, 1] / self.merge_tol)
        kx -= kx.min()
        ky -= ky.min()
        span = ky.max() + 1.0
        if kx.max() * span + span < 2.0**53:
            first, inverse = _group(np.multiply(kx, span, out=kx) + ky)
        else:
            _, first, inverse = np.unique(np.column_stack([kx, ky]), axis=0, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1)

    def _refine_unique(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(reps, inverse)``: refined representatives and, per row, its representative's index.

        Rows in the same cell of side ``merge_tol`` share one representative (refined once): the end
        points of runs into one minimum lie within ~tol/curvature of it, so a basin map's 262,144 end
        points need a handful of Newton solves, not 262,144.
        """
        first, inverse = self._cells(pts)
        return refine(self.surface, pts[first], self.bounds), inverse

    def add(self, points: Any, tol: float = 0.0) -> np.ndarray:
        """Refine, merge and record candidate points; return the id of each (``(n,)`` int64; -1 for
        rows that are not finite or do not refine to a point with ``|g| <= max(GRAD_TOL, tol)``).
        Candidates in the same cell of side ``merge_tol`` are refined once."""
        pts = np.asarray(points, dtype=float).reshape(-1, 2)  # read only: no copy
        finite = _finite_rows(pts)
        if finite.all():  # the usual case: no copies of a basin map's 262,144 rows
            reps, inverse = self._refine_unique(pts)
            return self._add_critical(reps, tol)[inverse]
        ids = np.full(len(pts), -1, dtype=np.int64)
        fin = np.flatnonzero(finite)
        if len(fin) == 0:
            return ids
        reps, inverse = self._refine_unique(pts[fin])
        ids[fin] = self._add_critical(reps, tol)[inverse]
        return ids

    def _add_critical(self, reps: np.ndarray, tol: float) -> np.ndarray:
        g, _ = _grad_hess(self.surface, reps)
        critical = np.hypot(g[:, 0], g[:, 1]) <= max(GRAD_TOL, float(tol))
        rep_ids = np.full(len(reps), -1, dtype=np.int64)
        if critical.any():
            rep_ids[critical] = self._add_refined(reps[critical])
        return rep_ids

    def _add_refined(self, refined: np.ndarray) -> np.ndarray:
        """Record already refined points (merging within ``merge_tol``); the id of each row."""
        uniq, inverse = np.unique(refined, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        cluster = _cluster(uniq, self.merge_tol)
        _, first_of = np.unique(cluster, return_index=True)  # a representative per cluster (0..k-1)
        centres = uniq[first_of]
        known = self.match(centres)
        new = np.flatnonzero(known < 0)
        if len(new):
            self._append(centres[new])
            known[new] = self.match(centres[new])
        cluster_ids = self._ids[known]
        return cluster_ids[cluster[inverse]]

    def absorb(self, other: "MinimaTable") -> dict[int, int]:
        """Add ``other``'s points (same surface) to this table by location; return ``{other id: id
        here}``. Points already here keep their ids; new ones are numbered after the largest id.

        For a table copied to a worker thread while this one kept growing: both may have given the
        same new id to different points, so the worker's results are translated, never adopted as is.
        """
        pts = other.points
        if not pts:
            return {}
        xy = np.array([[c.x, c.y] for c in pts], dtype=float)
        idx = self.match(xy)
        new = np.flatnonzero(idx < 0)
        if len(new):
            self._append(xy[new])
            idx[new] = self.match(xy[new])
        ids = self.ids()
        return {c.id: int(ids[k]) for c, k in zip(pts, idx)}

    def _append(self, xy: np.ndarray) -> None:
        with np.errstate(all="ignore"):
            f = np.asarray(self.surface.value(xy), dtype=float).reshape(-1)
        g, h = _grad_hess(self.surface, xy)
        eigs = eigenvalues_2x2(h)
        kinds = classify(eigs)
        gn = np.hypot(g[:, 0], g[:, 1])
        # Deterministic numbering: by loss (quantised to 1e-9 of the batch's largest |loss|, so
        # equal minima up to rounding tie), then x, then y.
        finite_f = np.where(np.isfinite(f), f, np.inf)
        q = 1e-9 * max(1.0, float(np.max(np.abs(f[np.isfinite(f)]), initial=0.0)))
        fkey = np.round(finite_f / q)
        order = np.lexsort((np.round(xy[:, 1], 9), np.round(xy[:, 0], 9), fkey))
        next_id = int(self._ids.max(initial=0)) + 1
        ids = next_id + np.arange(len(order), dtype=np.int64)
        e = eigs[order]
        self._points.extend(
            CriticalPoint(i, x, y, fv, kind, False, (e0, e1), gv)
            for i, x, y, fv, kind, e0, e1, gv in zip(
                ids.tolist(), xy[order, 0].tolist(), xy[order, 1].tolist(), f[order].tolist(),
                kinds[order].tolist(), e[:, 0].tolist(), e[:, 1].tolist(), gn[order].tolist(),
            )
        )
        self._xy = np.concatenate([self._xy, np.asarray(xy, dtype=float)[order]])
        self._ids = np.concatenate([self._ids, ids])
        self._grid, self._grid_ready = None, False
        self._flag_global()

    def _flag_global(self) -> None:
        losses = [c.loss for c in self._points if c.kind == MINIMUM and math.isfinite(c.loss)]
        lowest = min(losses) if losses else math.nan
        tol = 1e-9 * max(1.0, abs(lowest)) if losses else 0.0
        flags = [bool(losses) and c.kind == MINIMUM and c.loss <= lowest + tol for c in self._points]
        self._points = [c if c.is_global == f else replace(c, is_global=f) for c, f in zip(self._points, flags)]

    def assign(self, end_points: Any, status_codes: Any, tol: float = 0.0) -> np.ndarray:
        """Label run end points (status codes 0 converged, 1 diverged, 2 max_steps as in
        ``engine.BatchResult``; ``tol`` the runs' convergence tolerance): id of the critical point
        settled in, or -1. See module docstring."""
        pts = np.asarray(end_points, dtype=float).reshape(-1, 2)  # read only: no copy
        codes = np.asarray(status_codes).reshape(-1)
        converged = codes == _CODE_CONVERGED
        if converged.all() and len(pts):  # every run converged (most basin maps): no gathers
            return self.add(pts, tol).astype(np.int64, copy=False)
        labels = np.full(len(pts), -1, dtype=np.int64)
        conv = np.flatnonzero(converged)
        if len(conv):
            labels[conv] = self.add(pts[conv], tol)
        slow = np.flatnonzero(codes == _CODE_MAX_STEPS)
        if len(slow):
            labels[slow] = self._settled(pts[slow])
        return labels

    def _settled(self, pts: np.ndarray) -> np.ndarray:
        """Ids of minima that max_steps end points are clearly inside, else -1 (module docstring).

        Only cells (of side ``merge_tol``) holding an end point where the Hessian is positive definite
        can give a label, so only their representatives are refined: on Rosenbrock or Beale most runs
        stop at ``max_steps`` on slopes, and refining those was most of a basin map's labelling time.
        A representative is refined exactly as when every cell is (refinement treats rows
        independently), so the labels are the same.
        """
        out = np.full(len(pts), -1, dtype=np.int64)
        idx = np.flatnonzero(_finite_rows(pts))
        if len(idx) == 0:
            return out
        p = pts[idx]
        first, inverse = self._cells(p)
        _, h_end = _grad_hess(self.surface, p)
        convex = eigenvalues_2x2(h_end)[:, 0] > 0
        del h_end
        if not convex.any():
            return out
        wanted = np.zeros(len(first), dtype=bool)
        wanted[inverse[convex]] = True
        cells = np.flatnonzero(wanted)
        reps = refine(self.surface, p[first[cells]], self.bounds)
        slot = np.full(len(first), -1, dtype=np.int64)
        slot[cells] = np.arange(len(cells))
        _, h_rep = _grad_hess(self.surface, reps)
        rep_min = classify(eigenvalues_2x2(h_rep)) == MINIMUM
        rows = np.flatnonzero(convex)
        r = slot[inverse[rows]]
        dist = np.hypot(*(p[rows] - reps[r]).T)
        keep = rep_min[r] & (dist <= SETTLE_RADIUS * self.diagonal)
        if keep.any():
            used = np.flatnonzero(np.bincount(r[keep], minlength=len(reps)))  # np.unique, without the sort
            rep_ids = np.full(len(reps), -1, dtype=np.int64)
            rep_ids[used] = self._add_critical(reps[used], 0.0)
            out[idx[rows[keep]]] = rep_ids[r[keep]]
        return out


_CHUNK = 65536
"""Rows handled at a time where a step needs several arrays per row (memory stays flat)."""


class _Grid:
    """Points bucketed in square cells of side ``h``, for exact near-neighbour queries.

    A cell is numbered ``(floor(x / h), floor(y / h))``; the cells are flattened to one sorted int64
    key so that the occupants of any cell are found by binary search. Two points closer than
    ``radius · h`` lie at most ``radius`` cells apart in each direction, so :meth:`candidates` looks
    at the ``(2·radius + 1)²`` cells around each query and no farther. (Bucketing, as in a cell list;
    Bentley & Friedman, "Data structures for range searching", ACM Computing Surveys 1979.)
    """

    def __init__(self, keys: np.ndarray, order: np.ndarray, lo: np.ndarray, span: int, rows: int, h: float,
                 radius: int) -> None:
        self.keys, self.order, self.lo, self.span, self.rows, self.h, self.radius = keys, order, lo, span, rows, h, radius

    @classmethod
    def build(cls, xy: np.ndarray, h: float, radius: int) -> "_Grid | None":
        """The grid of ``xy``, or None when a coordinate is not finite or too large for cell numbers."""
        with np.errstate(all="ignore"):
            k = np.floor(xy / h)
        if len(k) == 0 or not np.isfinite(k).all() or np.abs(k).max() >= 2.0**40:
            return None
        lo = k.min(axis=0) - radius
        span = int(k[:, 1].max() - lo[1]) + radius + 1
        rows = int(k[:, 0].max() - lo[0]) + radius + 1
        if float(rows) * span >= 2.0**62:
            return None
        kx = (k[:, 0] - lo[0]).astype(np.int64)
        ky = (k[:, 1] - lo[1]).astype(np.int64)
        flat = kx * span + ky
        order = np.argsort(flat, kind="stable")
        return cls(flat[order], order, lo, span, rows, h, radius)

    def query_cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(kx, ky, ok)``: each query row's cell relative to the grid's origin, and whether it is near
        enough to the grid for any cell around it to be occupied."""
        with np.errstate(all="ignore"):
            k = np.floor(xy / self.h)
            kx = k[:, 0] - self.lo[0]
            ky = k[:, 1] - self.lo[1]
        ok = (kx >= 0) & (kx < self.rows) & (ky >= 0) & (ky < self.span)  # NaN rows are not ok
        kx = np.where(ok, kx, 0).astype(np.int64)
        ky = np.where(ok, ky, 0).astype(np.int64)
        return kx, ky, ok

    def candidates(self, xy: np.ndarray, offsets: list[tuple[int, int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(query_row, point_row)`` pairs: every grid point in the cells around each query row
        (``offsets`` from the query's cell; all ``(2·radius + 1)²`` by default)."""
        kx, ky, ok = self.query_cells(xy)
        r = self.radius
        if offsets is None:
            offsets = [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1)]
        qs, ps = [], []
        for dx, dy in offsets:
            nx, ny = kx + dx, ky + dy
            valid = ok & (nx >= 0) & (nx < self.rows) & (ny >= 0) & (ny < self.span)
            q = np.flatnonzero(valid)
            if len(q) == 0:
                continue
            key = nx[q] * self.span + ny[q]
            a = np.searchsorted(self.keys, key, side="left")
            b = np.searchsorted(self.keys, key, side="right")
            n = b - a
            hit = n > 0
            if not hit.any():
                continue
            q, a, n = q[hit], a[hit], n[hit]
            total = int(n.sum())
            qs.append(np.repeat(q, n))
            # positions a, a+1, ..., b-1 of every range, flattened
            ps.append(self.order[np.repeat(a - np.cumsum(n) + n, n) + np.arange(total)])
        if not qs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(qs), np.concatenate(ps)


def _nearest_brute(xy: np.ndarray, table: np.ndarray, tol2: float) -> np.ndarray:
    """:meth:`MinimaTable.match` by comparing every row with every point, a few rows at a time."""
    out = np.full(len(xy), -1, dtype=np.int64)
    step = max(1, (1 << 20) // max(len(table), 1))
    for start in range(0, len(xy), step):
        chunk = xy[start : start + step]
        d2 = ((chunk[:, None, :] - table[None, :, :]) ** 2).sum(axis=2)
        j = np.argmin(d2, axis=1)
        near = d2[np.arange(len(chunk)), j] <= tol2
        out[start : start + step] = np.where(near, j, -1)
    return out


def _root(parent: np.ndarray, i: int) -> int:
    """The root of ``i`` in the union-find forest ``parent``, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _cluster(xy: np.ndarray, tol: float) -> np.ndarray:
    """Cluster labels (0..k-1) joining points within ``tol`` (single linkage: connected components of
    the pairs with ``hypot(dx, dy) <= tol``), numbered in order of each cluster's first point.

    Points are bucketed in cells of side ``tol/2`` (:class:`_Grid`): points in one cell are surely
    within ``tol`` (the cell's diagonal is ``0.71·tol``), so only pairs of occupied cells at most three
    cells apart are examined, and those stop at the first pair of points within ``tol``. Thousands of
    copies of one refined minimum cost one cell, not millions of pairs; memory stays flat.
    """
    n = len(xy)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    h = 0.5 * tol
    grid = _Grid.build(xy, h, 3) if tol > 0 else None
    if grid is None:
        return _cluster_sweep(xy, tol)
    # Occupied cells, numbered in key order; `point_cell[i]` is point i's cell, and a cell's points are
    # a slice of `grid.order` (which sorts the points by cell).
    _, cell_first, cell = np.unique(grid.keys, return_index=True, return_inverse=True)
    cell = cell.reshape(-1)
    m = len(cell_first)
    point_cell = np.empty(n, dtype=np.int64)
    point_cell[grid.order] = cell
    # Pairs of occupied cells within reach: query every cell's first point against the half of the
    # 7 × 7 neighbourhood after it (each unordered pair once).
    half = [(dx, dy) for dx in range(0, 4) for dy in range(-3, 4) if dx > 0 or dy > 0]
    reps = xy[grid.order[cell_first]]
    qc, pts = grid.candidates(reps, half)
    parent = np.arange(m)

    if len(qc):
        pc = point_cell[pts]
        pairs = np.unique(np.column_stack([qc, pc]), axis=0)
        starts = np.r_[0, np.cumsum(np.bincount(cell, minlength=m))]
        sorted_points = grid.order
        for c1, c2 in pairs:
            r1, r2 = _root(parent, int(c1)), _root(parent, int(c2))
            if r1 == r2:
                continue
            a = sorted_points[starts[c1] : starts[c1 + 1]]
            b = sorted_points[starts[c2] : starts[c2 + 1]]
            if _any_within(xy, a, b, tol):
                parent[max(r1, r2)] = min(r1, r2)
    comp = np.array([_root(parent, i) for i in range(m)]) if len(qc) else np.arange(m)
    # A cluster's number follows its lowest point index (what a union-find keeping the smaller root gives).
    low = np.full(m, n, dtype=np.int64)
    np.minimum.at(low, comp[point_cell], np.arange(n))
    _, labels = np.unique(low[comp[point_cell]], return_inverse=True)
    return labels.reshape(-1)


def _any_within(xy: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Whether some point of rows ``a`` is within ``tol`` of some point of rows ``b``
    (``math.hypot(dx, dy) <= tol``), a block of pairs at a time."""
    sure = (tol * (1.0 - 1e-9)) ** 2
    maybe = (tol * (1.0 + 1e-9)) ** 2
    step = max(1, (1 << 18) // max(len(b), 1))
    pb = xy[b]
    for lo in range(0, len(a), step):
        pa = xy[a[lo : lo + step]]
        dx = pa[:, None, 0] - pb[None, :, 0]
        dy = pa[:, None, 1] - pb[None, :, 1]
        d2 = dx * dx + dy * dy
        if (d2 <= sure).any():
            return True
        for i, j in zip(*np.nonzero(d2 <= maybe)):  # on the boundary: decide as the definition does
            if math.hypot(float(dx[i, j]), float(dy[i, j])) <= tol:
                return True
    return False


def _cluster_sweep(xy: np.ndarray, tol: float) -> np.ndarray:
    """:func:`_cluster` by a sweep in x over every pair closer than ``tol`` in x (used only when
    coordinates are too large for cell numbers)."""
    n = len(xy)
    parent = np.arange(n)

    order = np.argsort(xy[:, 0], kind="stable")
    sx = xy[order]
    for lag in range(1, n):
        close = np.flatnonzero(sx[lag:, 0] - sx[:-lag, 0] <= tol)
        if len(close) == 0:
            break
        for k in close:
            a, b = order[k], order[k + lag]
            if math.hypot(*(xy[a] - xy[b])) <= tol:
                ra, rb = _root(parent, a), _root(parent, b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([_root(parent, i) for i in range(n)])
    _, labels = np.unique(roots, return_inverse=True)
    return labels.reshape(-1)


def find_critical_points(
    surface: Surface, points: Any, bounds: Bounds | None = None, tol: float = 0.0
) -> list[CriticalPoint]:
    """Refine, merge and classify candidate points (e.g. converged run end points); ids from 1 by
    (loss, x, y). Candidates that do not refine to a critical point are left out. See the module
    docstring for the method and tolerances."""
    table = MinimaTable(surface, bounds)
    table.add(points, tol)
    return table.points


def _status_code(status: str) -> int:
    return {CONVERGED: _CODE_CONVERGED, MAX_STEPS: _CODE_MAX_STEPS}.get(status, _CODE_DIVERGED)


def label_runs(runs: Sequence[Run], table: MinimaTable, tol: float | None = None) -> dict[int, int]:
    """Set ``run.minimum`` for every run (id in ``table``, or ``None``) and count runs per id.

    Returns ``{id: number of runs that settled there}`` for every point in the table (zeros included),
    in id order. New points revealed by these runs are added to ``table``; existing ids never change.
    ``tol`` is the runs' convergence tolerance (a plateau end point with ``|g| <= tol`` still counts);
    when omitted it is read off the runs: the largest final gradient norm of a converged run.
    """
    if tol is None:
        tol = max((float(np.hypot(*r.grads[-1])) for r in runs if r.status == CONVERGED and len(r.grads)),
                  default=0.0)
    if runs:
        ends = np.array([r.positions[-1] if len(r.positions) else (np.nan, np.nan) for r in runs], dtype=float)
        codes = np.array([_status_code(r.status) for r in runs])
        labels = table.assign(ends, codes, tol)
        for r, lab in zip(runs, labels):
            r.minimum = int(lab) if lab >= 0 else None
    counts = {c.id: 0 for c in table.points}
    for r in runs:
        if r.minimum is not None:
            counts[r.minimum] = counts.get(r.minimum, 0) + 1
    return counts


def label_runs_on_surface(surface: Surface, runs: Sequence[Run], bounds: Bounds | None = None) -> MinimaTable:
    """Label ``runs`` with a fresh :class:`MinimaTable` for ``surface`` and ``bounds`` and return the
    table (the CLI's ``run`` command: ids from 1 by (loss, x, y))."""
    table = MinimaTable(surface, bounds)
    label_runs(runs, table)
    return table


__all__ = [
    "CriticalPoint",
    "DEGENERATE",
    "EIG_TOL",
    "GRAD_TOL",
    "KINDS",
    "MAXIMUM",
    "MERGE_TOL",
    "MINIMUM",
    "MinimaTable",
    "SADDLE",
    "SETTLE_RADIUS",
    "classify",
    "eigenvalues_2x2",
    "find_critical_points",
    "label_runs",
    "label_runs_on_surface",
    "refine",
]
