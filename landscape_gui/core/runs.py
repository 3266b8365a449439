"""The record of a gradient-descent run: every position, loss and gradient, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONVERGED = "converged"
"""The gradient norm fell to the tolerance or below."""
DIVERGED = "diverged"
"""A value became non-finite, or the position left the bounds by far; only finite steps are kept."""
MAX_STEPS = "max_steps"
"""Still moving when the step budget ran out."""
STATUSES = (CONVERGED, DIVERGED, MAX_STEPS)


@dataclass(eq=False)
class Run:
    """One trajectory. Row ``k`` of each array is step ``k``; step 0 is the start.

    Attributes:
        id: the run's id, as shown in the GUI and written in the CSV ``run`` column.
        positions: ``(k + 1, 2)`` points visited.
        losses: ``(k + 1,)`` loss at each point.
        grads: ``(k + 1, 2)`` gradient at each point.
        status: one of :data:`STATUSES`.
        optimizer: optimizer name.
        params: every hyperparameter in force, defaults included, in declaration order.
        surface: surface name or formula text.
        minimum: id of the minimum the run settled in, or ``None``.
        extras: further per-step series, each with ``k + 1`` rows (e.g. a full-weight-space run's distance
            from the slice plane); not part of the CSV contract.
    """

    id: int
    positions: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    status: str
    optimizer: str
    params: dict[str, Any] = field(default_factory=dict)
    surface: str = ""
    minimum: int | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Number of steps taken (rows minus one)."""
        return len(self.positions) - 1

    @property
    def start(self) -> tuple[float, float]:
        return float(self.positions[0, 0]), float(self.positions[0, 1])

    @property
    def end(self) -> tuple[float, float]:
        return float(self.positions[-1, 0]), float(self.positions[-1, 1])

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def grad_norms(self) -> np.ndarray:
        """``(k + 1,)`` Euclidean norm of the gradient at each step."""
        return np.hypot(self.grads[:, 0], self.grads[:, 1])

    def same_trajectory(self, other: "Run") -> bool:
        """Exactly equal records (positions, losses, gradients, status)."""
        return (
            self.status == other.status
            and np.array_equal(self.positions, other.positions)
            and np.array_equal(self.losses, other.losses)
            and np.array_equal(self.grads, other.grads)
        )
