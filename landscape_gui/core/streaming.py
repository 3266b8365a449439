"""Many runs to trajectory CSV with memory that does not grow with the output (``landscape-gui run``).

``run --grid 100 --max-steps 3000`` (or ``run --fan N``) writes up to 30 million rows; holding them (and their text) in
memory took over 2 GB. Here the starts go through :func:`landscape_gui.core.engine.run` in chunks and
each chunk's rows are written before the next is computed, so memory is bounded by one chunk
(:data:`ROWS_PER_CHUNK` rows, ~50 MB) whatever the number of starts.

The ``minimum`` column needs every run's end point before the first row is written: ids are numbered
by (loss, x, y) over all the critical points revealed (:class:`landscape_gui.core.minima.MinimaTable`).
So the work is done in two passes over the same chunks:

1. every chunk without recording trajectories (``record=False``: final positions and statuses only,
   a few numbers per run), then the minima are labelled from the final positions exactly as
   :func:`landscape_gui.core.minima.label_runs` labels whole runs;
2. every chunk again with trajectories, written out with the labels of pass 1.

Runs in a batch never interact (every operation of the engine is row by row), so a run's trajectory
does not depend on the chunk it is computed in: the bytes equal those of one big batch
(``tests/test_cli.py`` checks it). The first pass costs far less than formatting the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, TextIO

import numpy as np

from landscape_gui.core import engine
from landscape_gui.core.export import CsvWriter
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.optimizers import Optimizer
from landscape_gui.core.runs import STATUSES, Run
from landscape_gui.core.surfaces import Bounds, Surface

ROWS_PER_CHUNK = 400_000
"""Upper bound on the rows (starts × (max_steps + 1)) computed and held at once."""

_CONVERGED = 0


@dataclass
class StreamSummary:
    """What was written: the number of runs and rows, runs per status, and the minima table."""

    runs: int
    rows: int
    counts: dict[str, int]
    minima: MinimaTable


def chunk_size(max_steps: int, rows_per_chunk: int = ROWS_PER_CHUNK) -> int:
    """Starts per chunk so that a chunk holds at most ``rows_per_chunk`` rows (at least one start)."""
    return max(1, rows_per_chunk // (int(max_steps) + 1))


def write_runs_csv(
    stream: TextIO,
    surface: Surface,
    optimizer: Optimizer,
    starts: np.ndarray,
    hyperparameters: Mapping[str, Any],
    *,
    bounds: Bounds,
    max_steps: int,
    tol: float,
    progress: Callable[[float], None] | None = None,
    rows_per_chunk: int = ROWS_PER_CHUNK,
    extra_columns: Sequence[str] = (),
    annotate: Callable[[list[Run]], None] | None = None,
    schedule: Any = None,
    noise: Any = None,
    repeat: int = 1,
) -> StreamSummary:
    """Run ``optimizer`` from every start and write the trajectory CSV to ``stream``, chunk by chunk.

    Run ids count from 1 in start order; the ``minimum`` column is labelled as
    :func:`landscape_gui.core.minima.label_runs_on_surface` labels the whole batch. ``progress``
    gets the fraction done (first pass 0–0.2, writing 0.2–1). ``annotate`` is called on each chunk
    of finished runs before it is written (to fill the ``extras`` series named in ``extra_columns``).
    ``schedule`` and ``noise`` go to the engine; noisy runs are labelled by the basin their end point
    lies in (:func:`landscape_gui.core.stochastic.label_noisy_ends`, as for noisy runs in memory).
    ``repeat`` runs from each start in a row make a fan (``run --fan``): with noise, run ``k`` from
    start ``s`` has id ``1 + s·repeat + k`` and its own noise, as in
    :func:`landscape_gui.core.stochastic.fan`, and memory stays that of one chunk however many runs
    the fan has.
    """
    starts = engine.as_starts(starts)
    if repeat > 1:
        starts = np.repeat(starts, int(repeat), axis=0)
    n = len(starts)
    size = chunk_size(max_steps, rows_per_chunk)
    spans = [(a, min(n, a + size)) for a in range(0, n, size)]
    kw = dict(bounds=bounds, max_steps=max_steps, tol=tol, schedule=schedule, noise=noise)

    def report(base: float, width: float, k: int) -> Callable[[float], None] | None:
        if progress is None:
            return None
        return lambda f: progress(base + width * (k + min(max(f, 0.0), 1.0)) / len(spans))

    # Pass 1: where every run ends.
    final_p = np.empty((n, 2))
    final_g = np.empty((n, 2))
    codes = np.empty(n, dtype=np.int8)
    for k, (a, b) in enumerate(spans):
        res = engine.run(surface, optimizer, starts[a:b], hyperparameters, record=False, first_id=a + 1,
                         progress=report(0.0, 0.2, k), **kw)
        final_p[a:b], final_g[a:b], codes[a:b] = res.final_positions, res.final_grads, res.status_codes

    # Labels from end points, as label_runs does for whole runs (its tol: the largest final gradient
    # norm of a converged run).
    conv = codes == _CONVERGED
    label_tol = float(np.max(np.hypot(final_g[conv, 0], final_g[conv, 1]), initial=0.0)) if conv.any() else 0.0
    table = MinimaTable(surface, bounds)
    if noise is not None and noise.active and n:
        from landscape_gui.core.stochastic import label_noisy_ends

        labels = label_noisy_ends(surface, optimizer, hyperparameters, bounds, max_steps, tol, final_p, codes, table)
    else:
        labels = table.assign(final_p, codes, label_tol) if n else np.empty(0, dtype=np.int64)

    # Pass 2: the trajectories, written chunk by chunk.
    writer = CsvWriter(stream, extra_columns)
    for k, (a, b) in enumerate(spans):
        runs = engine.run(surface, optimizer, starts[a:b], hyperparameters, record=True, first_id=a + 1,
                          progress=report(0.2, 0.8, k), **kw).runs
        assert runs is not None
        for r, lab in zip(runs, labels[a:b].tolist()):
            r.minimum = int(lab) if lab >= 0 else None
        if annotate is not None:
            annotate(runs)
        writer.write_runs(runs)
        del runs
    if progress is not None:
        progress(1.0)
    counts = {s: int(np.count_nonzero(codes == c)) for c, s in enumerate(STATUSES)}
    return StreamSummary(n, writer.rows, counts, table)


__all__ = ["ROWS_PER_CHUNK", "StreamSummary", "chunk_size", "write_runs_csv"]
