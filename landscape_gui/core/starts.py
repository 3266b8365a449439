"""Many starting points at once: a grid of cell centres, or uniform random points, in the bounds.

The window's Runs ▸ Grid/Random and the command line's ``--grid``/``--random`` share these, so the
same N (and seed) gives the same starts in both.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def grid_starts(bounds: Sequence[float], n: int) -> np.ndarray:
    """N×N starts at the cell centres of ``bounds``, x-major (start ``i*N + j`` is x-cell i, y-cell j)."""
    xmin, xmax, ymin, ymax = bounds
    xs = xmin + (np.arange(n) + 0.5) * (xmax - xmin) / n
    ys = ymin + (np.arange(n) + 0.5) * (ymax - ymin) / n
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


def random_starts(bounds: Sequence[float], n: int, seed: int | None) -> np.ndarray:
    """N starts drawn uniformly in ``bounds`` with numpy's default generator seeded by ``seed``
    (``None``: fresh entropy)."""
    xmin, xmax, ymin, ymax = bounds
    rng = np.random.default_rng(seed)
    u = rng.random((n, 2))
    return np.column_stack([xmin + u[:, 0] * (xmax - xmin), ymin + u[:, 1] * (ymax - ymin)])
