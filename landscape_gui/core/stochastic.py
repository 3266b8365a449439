"""Many noisy runs: fans from a start, and basin maps that become probability maps.

With gradient noise (:class:`~landscape_gui.core.noise.GradientNoise`) a start no longer decides
where a run ends. Two pictures of that:

* a **fan**: ``N`` noisy runs from each start, drawn as a bundle (:func:`fan`);
* a **probability map**: from the centre of every cell of an ``R × R`` grid, ``K`` seeded runs; per
  cell, the share ``p_m`` of them ending in each minimum ``m``, the most likely minimum, its
  probability, and the Shannon entropy ``H = −Σ_m p_m log₂ p_m`` (in bits; "ended nowhere",
  i.e. diverged or not settled, counts as one more outcome). ``H = 0`` where the
  outcome is certain, ``log₂ 2 = 1`` on a fair border between two basins (:func:`probability_map`).

Runs are told apart by their ids, which key the noise: fan run ``k`` of start ``s`` has id
``first_id + s·N + k``; sample ``k`` of cell ``c`` has id ``1 + k·R² + c``. A noisy run's end point is labelled by the basin it lies in: from there the
optimizer runs on without noise until it settles (a quench), and that minimum counts. Every run
follows :func:`landscape_gui.core.engine.run`'s rules (a map's noisy runs and quenches run compiled
when they can, with the engine's bits: :func:`landscape_gui.core.basins.end_points`), so the same
seed gives the same fan or map whichever way the work is split.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from landscape_gui.core import engine
from landscape_gui.core.basins import cell_centres, check_resolution, end_points, quench_and_label
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_bytes, atomic_write_text
from landscape_gui.core.minima import CriticalPoint, MinimaTable
from landscape_gui.core.noise import GradientNoise
from landscape_gui.core.optimizers import Optimizer, get_optimizer
from landscape_gui.core.runs import STATUSES, Run
from landscape_gui.core.surfaces import Bounds, Surface

MAX_SAMPLES = 4096


def _check_count(value: Any, what: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= high:
        raise LandscapeError(f"{what} must be a whole number from 1 to {high}, got {value!r}")
    return int(value)


def fan(
    surface: Surface,
    optimizer: Optimizer | str,
    starts: Any,
    count: int,
    noise: GradientNoise,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    first_id: int = 1,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    **run_options: Any,
) -> list[list[Run]]:
    """``count`` noisy runs from each start, grouped by start: ``result[s][k]`` is run ``k`` from
    start ``s`` (id ``first_id + s·count + k``). ``run_options`` go to :func:`engine.run`
    (``bounds``, ``max_steps``, ``tol``, ``schedule``). All runs advance in one batch."""
    n_each = _check_count(count, "runs per start", 100_000)
    p0 = engine.as_starts(starts)
    many = np.repeat(p0, n_each, axis=0)
    res = engine.run(surface, optimizer, many, hyperparameters, record=True, first_id=first_id, noise=noise,
                     progress=progress, should_cancel=should_cancel, **run_options)
    assert res.runs is not None
    return [res.runs[s * n_each:(s + 1) * n_each] for s in range(len(p0))]


def label_noisy_ends(surface: Surface, optimizer: Optimizer, hyperparameters: Mapping[str, Any], bounds: Bounds,
                     max_steps: int, tol: float, ends: np.ndarray, codes: np.ndarray,
                     table: MinimaTable) -> np.ndarray:
    """``(n,)`` minimum ids (in ``table``) of noisy runs that ended at ``ends`` (``(n, 2)``) with status
    codes ``codes`` (indices into :data:`landscape_gui.core.runs.STATUSES`): the basin each end point
    lies in, found by the quench of :func:`landscape_gui.core.basins.quench_and_label`; ``-1`` for a
    diverged run. The one rule for labelling noisy runs, whether they are held in memory
    (:func:`label_noisy_runs`) or streamed to a file (:func:`landscape_gui.core.streaming.write_runs_csv`)."""
    n = len(ends)
    quench_codes = np.where(np.asarray(codes) == 1, 1, 2).astype(np.int8)  # 1: diverged, not quenched
    res = engine.BatchResult(np.asarray(ends, dtype=float), np.full(n, np.nan), np.full((n, 2), np.nan),
                             np.zeros(n, dtype=np.int64), quench_codes, None)
    # "auto": a fan's few runs are quenched on the engine unless the compiler is cheap to load
    return quench_and_label(surface, optimizer, hyperparameters, bounds, max_steps, tol, res, table, fused="auto")


def label_noisy_runs(surface: Surface, optimizer: Optimizer | str, runs: Sequence[Run],
                     hyperparameters: Mapping[str, Any] | None = None, bounds: Bounds | None = None,
                     max_steps: int = 1000, tol: float = 1e-6) -> MinimaTable:
    """Fill ``run.minimum`` of noisy runs with the basin their end point lies in
    (:func:`label_noisy_ends`); diverged runs get ``None``. Returns the table whose ids the labels are."""
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    b = engine.check_bounds(bounds if bounds is not None else surface.bounds)
    table = MinimaTable(surface, b)
    if not runs:
        return table
    codes = np.array([STATUSES.index(r.status) for r in runs], dtype=np.int8)
    ends = np.array([r.positions[-1] for r in runs], dtype=float)
    labels = label_noisy_ends(surface, opt, hp, b, max_steps, tol, ends, codes, table)
    for r, lab in zip(runs, labels):
        r.minimum = int(lab) if lab >= 0 else None
    return table


@dataclass
class ProbabilityMap:
    """Per cell of an ``R × R`` grid, where ``K`` noisy runs from its centre ended.

    Attributes:
        probabilities: ``(M, R, R)`` share of the runs ending at critical point ``ids[m]``.
        ids: ``(M,)`` the critical-point ids, ascending (those some run reached).
        nowhere: ``(R, R)`` share that diverged or was still moving at ``max_steps``.
        entropy: ``(R, R)`` Shannon entropy of the outcome in bits (``nowhere`` included).
        samples: ``K``.
        table, xs, ys, bounds, surface, optimizer, params, max_steps, tol: as
            :class:`~landscape_gui.core.basins.BasinMap` (``params`` records the noise).
    """

    probabilities: np.ndarray
    ids: np.ndarray
    nowhere: np.ndarray
    entropy: np.ndarray
    samples: int
    table: MinimaTable
    xs: np.ndarray
    ys: np.ndarray
    bounds: Bounds
    surface: str
    optimizer: str
    params: dict[str, Any] = field(default_factory=dict)
    max_steps: int = 1000
    tol: float = 1e-6

    @property
    def resolution(self) -> int:
        return int(self.nowhere.shape[0])

    def most_likely(self) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, probability)``: per cell the id of the most likely minimum (``-1`` when
        ending nowhere is likelier than any) and its probability. Ties go to the lower id."""
        if len(self.ids) == 0:
            return np.full(self.nowhere.shape, -1, dtype=np.int32), self.nowhere.copy()
        k = np.argmax(self.probabilities, axis=0)
        best = np.take_along_axis(self.probabilities, k[None], axis=0)[0]
        labels = self.ids[k].astype(np.int32)
        labels[self.nowhere > best] = -1
        return labels, np.maximum(best, self.nowhere)

    def points(self) -> list[CriticalPoint]:
        by_id = {c.id: c for c in self.table.points}
        return [by_id[int(i)] for i in self.ids]

    def shares(self) -> dict[int, float]:
        """Expected share of the area ending at each id (the mean probability over cells)."""
        return {int(i): float(self.probabilities[m].mean()) for m, i in enumerate(self.ids)}


def entropy_bits(probabilities: np.ndarray) -> np.ndarray:
    """``−Σ p log₂ p`` over the first axis (``0 log 0 = 0``)."""
    p = np.asarray(probabilities, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=0) + 0.0  # + 0.0 turns -0.0 into 0.0


def probability_map(
    surface: Surface,
    optimizer: Optimizer | str,
    noise: GradientNoise,
    samples: int,
    hyperparameters: Mapping[str, Any] | None = None,
    bounds: Bounds | None = None,
    resolution: int = 64,
    max_steps: int = 1000,
    tol: float = 1e-6,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    *,
    table: MinimaTable | None = None,
    schedule: Any = None,
    fused: bool | str = True,
) -> ProbabilityMap:
    """Run ``samples`` noisy runs from every cell centre and count where they end.

    Args: as :func:`landscape_gui.core.basins.basin_map`, plus ``noise`` and ``samples`` (``K``).
    Sample ``k`` runs every cell at once (ids ``1 + k·R² + cell``), compiled when the surface and
    optimizer have a compiled form (:func:`~landscape_gui.core.basins.end_points`: the same draws,
    the same end points), and so is the noiseless quench that labels them; ``fused=False`` keeps
    both on the numpy engine. Progress covers all samples.

    Raises:
        LandscapeError: bad resolution, samples, bounds or hyperparameters; noise that is off
            (every sample would be the same run: use a basin map).
        engine.Cancelled: ``should_cancel()`` answered True.
    """
    opt = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = opt.resolve(hyperparameters)
    b = engine.check_bounds(bounds if bounds is not None else surface.bounds)
    r = check_resolution(resolution)
    k_total = _check_count(samples, "samples", MAX_SAMPLES)
    if not noise.active:
        raise LandscapeError("a probability map needs gradient noise (a noise scale > 0 or a batch size): "
                             "without it every sample is the same run")
    max_steps, tol = engine.check_limits(max_steps, tol)
    if table is None:
        table = MinimaTable(surface, b)
    xs, ys = cell_centres(b, r)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    cells = r * r
    labels = np.empty((k_total, cells), dtype=np.int64)
    for k in range(k_total):
        sub = None if progress is None else (lambda f, k=k: progress((k + f) / k_total))
        final_p, codes, _ = end_points(surface, opt, hp, starts, b, max_steps, tol, sub, should_cancel,
                                       fused=fused, schedule=schedule, noise=noise, first_id=1 + k * cells)
        res = engine.BatchResult(final_p, np.full(cells, np.nan), np.full((cells, 2), np.nan),
                                 np.zeros(cells, dtype=np.int64), codes, None)
        labels[k] = quench_and_label(surface, opt, hp, b, max_steps, tol, res, table, fused=fused,
                                     should_cancel=should_cancel)
    ids = np.unique(labels[labels >= 0])
    probs = np.stack([(labels == i).mean(axis=0) for i in ids]) if len(ids) else np.zeros((0, cells))
    nowhere = (labels < 0).mean(axis=0)
    ent = entropy_bits(np.concatenate([probs, nowhere[None]]))
    params: dict[str, Any] = dict(hp)
    params["noise"] = noise.record()
    if schedule is not None:
        params["schedule"] = schedule.record()
    return ProbabilityMap(
        probs.reshape(len(ids), r, r), ids.astype(np.int64), nowhere.reshape(r, r), ent.reshape(r, r), k_total,
        table, xs, ys, b, surface.name, opt.name, params, max_steps, tol,
    )


# --------------------------------------------------------------------------------------------------
# Pictures and files


def palette(n: int) -> np.ndarray:
    """``(n, 3)`` distinct saturated colours (golden-angle hues), float in [0, 1]."""
    hues = (np.arange(n) * 0.381966 + 0.02) % 1.0
    return _hsv_to_rgb(hues, np.full(n, 0.75), np.full(n, 0.92))


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.empty(h.shape + (3,))
    for k, (r, g, b) in enumerate(choices):
        m = i == k
        out[m, 0], out[m, 1], out[m, 2] = r[m], g[m], b[m]
    return out


def probability_image(pmap: ProbabilityMap, colours: Mapping[int, np.ndarray] | None = None) -> np.ndarray:
    """``(R, R, 3)`` uint8 picture, row 0 at the top (largest y): each cell in the colour of its
    most likely minimum, blended towards white as that minimum's probability falls (saturation =
    probability); cells most likely ending nowhere are grey."""
    labels, prob = pmap.most_likely()
    cols = palette(len(pmap.ids)) if colours is None else np.array([colours[int(i)] for i in pmap.ids])
    rgb = np.full(labels.shape + (3,), 0.6)
    for m, i in enumerate(pmap.ids):
        sel = labels == i
        rgb[sel] = 1.0 - prob[sel, None] * (1.0 - cols[m])
    return _to_image(rgb)


def entropy_image(pmap: ProbabilityMap) -> np.ndarray:
    """``(R, R, 3)`` uint8 grey picture of the entropy, white 0 bits to black at the largest
    possible (``log₂`` of the number of outcomes), row 0 at the top."""
    top = max(math.log2(len(pmap.ids) + 1), 1.0)
    g = 1.0 - np.clip(pmap.entropy / top, 0.0, 1.0)
    return _to_image(np.repeat(g[..., None], 3, axis=-1))


def _to_image(rgb_ij: np.ndarray) -> np.ndarray:
    """``[i, j]`` (x, y) cells to an image: rows from top (y max) down, columns left to right."""
    img = np.transpose(rgb_ij, (1, 0, 2))[::-1]
    return np.ascontiguousarray(np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8))


CELL_COLUMNS = ("x", "y", "most_likely", "probability", "entropy", "nowhere")


def cells_csv_text(pmap: ProbabilityMap) -> str:
    """One row per cell: ``x,y,most_likely,probability,entropy,nowhere,p_<id>...``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CELL_COLUMNS + tuple(f"p_{int(i)}" for i in pmap.ids))
    labels, prob = pmap.most_likely()
    r = pmap.resolution
    for i in range(r):
        for j in range(r):
            w.writerow([repr(float(pmap.xs[i])), repr(float(pmap.ys[j])), int(labels[i, j]), repr(float(prob[i, j])),
                        repr(float(pmap.entropy[i, j])), repr(float(pmap.nowhere[i, j]))]
                       + [repr(float(pmap.probabilities[m, i, j])) for m in range(len(pmap.ids))])
    return buf.getvalue()


def minima_csv_text(pmap: ProbabilityMap) -> str:
    """One row per minimum reached: ``minimum,x,y,loss,kind,share`` (expected share of the area)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("minimum", "x", "y", "loss", "kind", "share"))
    shares = pmap.shares()
    for c in pmap.points():
        w.writerow([c.id, repr(c.x), repr(c.y), repr(c.loss), c.kind, repr(shares[c.id])])
    return buf.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    """PNG of an ``(H, W, 3)`` uint8 image (imageio, through Pillow)."""
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", image, extension=".png")


def write_probability_outputs(prefix: str, pmap: ProbabilityMap, scale: int = 0) -> list[str]:
    """Write ``PREFIX-probabilities.npy`` (float ``(M, R, R)``, ids in the CSV), ``PREFIX-entropy.npy``,
    ``PREFIX.csv`` (minima and expected shares), ``PREFIX-cells.csv`` (per cell), ``PREFIX.png``
    (most likely minimum, saturation = probability) and ``PREFIX-entropy.png``; each atomically.
    ``scale`` enlarges the PNGs by a whole factor (0: to about 512 pixels)."""
    folder = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(folder):
        raise LandscapeError(f"cannot write probability map {prefix}: folder {folder} does not exist")
    k = scale if scale > 0 else max(1, 512 // pmap.resolution)
    paths = []
    for suffix, arr in (("-probabilities.npy", pmap.probabilities), ("-entropy.npy", pmap.entropy)):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr, dtype=np.float64))
        atomic_write_bytes(prefix + suffix, buf.getvalue())
        paths.append(prefix + suffix)
    atomic_write_text(prefix + ".csv", minima_csv_text(pmap))
    atomic_write_text(prefix + "-cells.csv", cells_csv_text(pmap))
    paths += [prefix + ".csv", prefix + "-cells.csv"]
    for suffix, img in (("", probability_image(pmap)), ("-entropy", entropy_image(pmap))):
        big = np.repeat(np.repeat(img, k, axis=0), k, axis=1)
        atomic_write_bytes(prefix + suffix + ".png", png_bytes(big))
        paths.append(prefix + suffix + ".png")
    return paths


__all__ = [
    "CELL_COLUMNS", "MAX_SAMPLES", "ProbabilityMap", "cells_csv_text", "entropy_bits", "entropy_image", "fan",
    "label_noisy_ends",
    "label_noisy_runs",
    "minima_csv_text", "palette", "png_bytes", "probability_image", "probability_map", "write_probability_outputs",
]
