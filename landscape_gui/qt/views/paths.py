"""Many trajectories as a few flat arrays, for drawing (no Qt).

Drawing 1,000 runs as 1,000 plot items makes every frame pay per-item overhead. Instead all runs are
concatenated once per change of the run set into flat arrays (point, step index, run index), thinned
to what can be seen, and each frame only applies a mask ``step <= current step``; the views then draw
one item per colour (2-D) or one coloured line item for everything (3-D).

Thinning: a point is kept when the run's cumulative path length, measured in units of ``(tol_x,
tol_y)`` (about a pixel), enters a new unit, so the long tail of tiny steps of a converging run
collapses to a few points; the first and last point of every run are always kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from landscape_gui.core.runs import Run

MANY_RUNS = 100
"""With more runs than this, paths are thinned twice as coarsely (:func:`thinning_unit`)."""


def thinning_unit(n_runs: int) -> float:
    """Thinning tolerance in screen pixels for ``n_runs`` paths: 1 px, or 2 px beyond
    :data:`MANY_RUNS`. A chord of 2 px departs from a path's curve by far less than a pixel
    (sagitta ``L^2 / 8R``) and the lines are then 1 px wide, so the picture is the same; each frame
    draws half the segments (1,000 runs of 1,000 steps: about 63,000 segments at 1 px)."""
    return 2.0 if n_runs > MANY_RUNS else 1.0


@dataclass
class PathSet:
    """Thinned, concatenated trajectories.

    Attributes:
        ids: ``(n,)`` run ids in order.
        last: ``(n,)`` final step of each run.
        xy: ``(m, 2)`` kept points, run after run.
        loss: ``(m,)`` loss at each kept point.
        step: ``(m,)`` step index of each kept point.
        run: ``(m,)`` index (into ``ids``) of the run of each kept point.
        starts: ``(n, 2)`` first point of each run; ``ends``: ``(n, 2)`` last point.
        end_loss, start_loss: ``(n,)``.
    """

    ids: np.ndarray
    last: np.ndarray
    xy: np.ndarray
    loss: np.ndarray
    step: np.ndarray
    run: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    start_loss: np.ndarray
    end_loss: np.ndarray
    full_xy: np.ndarray
    full_loss: np.ndarray
    offsets: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    def heads(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 2)`` position and ``(n,)`` loss of every run at ``step`` (its last step if shorter)."""
        i = self.offsets[:-1] + np.minimum(step, self.last)
        return self.full_xy[i], self.full_loss[i]

    def separated(self, runs_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points of the selected runs with a NaN row after each run (for ``connect="finite"``):
        ``(xy, loss, step)``; separator rows have step -1 so any step mask keeps them."""
        keep = runs_mask[self.run]
        xy, loss, step, run = self.xy[keep], self.loss[keep], self.step[keep], self.run[keep]
        if len(run) == 0:
            return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.int64)
        ends = np.flatnonzero(np.r_[run[1:] != run[:-1], True]) + 1
        xy = np.insert(xy, ends, np.nan, axis=0)
        loss = np.insert(loss, ends, np.nan)
        step = np.insert(step, ends, -1)
        return xy, loss, step

    def step_sorted_segments(self, runs_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segments of the selected runs ordered by the step at which they appear.

        Returns ``(ends (2s, 2) interleaved end points, step (s,) ascending, run (s,))``, so the
        segments visible at step ``t`` are exactly the prefix ``[: searchsorted(step, t, "right")]``:
        a frame of playback is a slice, not a mask over every point.
        """
        first, seg_step = self.segments()
        if runs_mask is not None and len(first):
            keep = runs_mask[self.run[first]]
            first, seg_step = first[keep], seg_step[keep]
        order = np.argsort(seg_step, kind="stable")
        first, seg_step = first[order], seg_step[order]
        ends = np.empty((2 * len(first), 2))
        ends[0::2] = self.xy[first]
        ends[1::2] = self.xy[first + 1]
        return ends, seg_step, self.run[first]

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Consecutive kept points of the same run as segments: ``(first index (s,), step of the
        segment's end (s,))`` -- segment ``k`` joins points ``first[k]`` and ``first[k] + 1`` and is
        visible once the clock reaches its end step."""
        if len(self.run) < 2:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        first = np.flatnonzero(self.run[1:] == self.run[:-1])
        return first, self.step[first + 1]


def build_paths(runs: Sequence[Run], tol_x: float, tol_y: float, max_points: int | None = None) -> PathSet:
    """Concatenate and thin ``runs`` (see the module docstring). ``max_points`` additionally keeps at
    most about that many points per run by step (used for loss curves, where x is the step)."""
    n = len(runs)
    if n == 0:
        e2, e1, ei = np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.int64)
        return PathSet(ei, ei, e2, e1, ei, ei, e2, e2, e1, e1, e2, e1, np.zeros(1, dtype=np.int64))
    lengths = np.array([len(r.positions) for r in runs])
    P = np.concatenate([r.positions for r in runs]).astype(float)
    F = np.concatenate([r.losses for r in runs]).astype(float)
    run = np.repeat(np.arange(n), lengths)
    offsets = np.r_[0, np.cumsum(lengths)]
    step = np.arange(len(P)) - offsets[run]
    first = step == 0
    last_pt = np.r_[run[1:] != run[:-1], True]
    if max_points is None:
        d = np.zeros(len(P))
        with np.errstate(all="ignore"):
            d[1:] = np.hypot(np.diff(P[:, 0]) / tol_x, np.diff(P[:, 1]) / tol_y)
        d[first] = 0.0
        d = np.where(np.isfinite(d), d, 0.0)
        cum = np.cumsum(d)
        cum = cum - cum[offsets[run]]
        q = np.floor(cum)
        keep = first | last_pt
        keep[1:] |= (q[1:] != q[:-1]) & ~first[1:]
    else:
        stride = np.maximum(1, np.ceil(lengths / max_points).astype(np.int64))
        keep = first | last_pt | (step % stride[run] == 0)
    idx = np.flatnonzero(keep)
    starts = P[offsets[:-1]]
    ends = P[offsets[1:] - 1]
    return PathSet(
        ids=np.array([r.id for r in runs]),
        last=lengths - 1,
        xy=P[idx],
        loss=F[idx],
        step=step[idx],
        run=run[idx],
        starts=starts,
        ends=ends,
        start_loss=F[offsets[:-1]],
        end_loss=F[offsets[1:] - 1],
        full_xy=P,
        full_loss=F,
        offsets=offsets,
    )
