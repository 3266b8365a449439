"""How a batch of starts becomes runs: in the plane of the surface, or in a network's full weight space.

The controller is *given* a :class:`RunStrategy`; it never has a method replaced. Both strategies take
the same plan (``[(optimizer, hyperparameters), ...]``, starts ``(n, 2)``, stop rules) and return one
finished :class:`~landscape_gui.core.runs.Run` per start and optimizer, in plan-major order:

* :class:`PlaneStrategy` runs :func:`landscape_gui.core.engine.run` on the surface shown (the path is
  exactly a walk on the picture). Its runs are *recomputable*: a change of a hyperparameter, the
  bounds or the surface re-runs them.
* :class:`FullSpaceStrategy` (multi-layer-perceptron slices only) steps every weight of the network
  with :func:`landscape_gui.core.nn.fullspace.run_full_space` and draws each step by its
  least-squares projection onto the plane (Li et al., "Visualizing the Loss Landscape of Neural
  Nets", NeurIPS 2018, §4). Such runs are recorded once, like a CSV overlay, and their weights at
  every step are kept (when they fit in :data:`MAX_KEPT_WEIGHTS`) so the data plot can draw the
  network the run really has.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Surface

Plan = Sequence[tuple[str, dict[str, Any]]]
"""``[(optimizer name, every hyperparameter in force), ...]``."""

MAX_KEPT_WEIGHTS = 20_000_000
"""Weights (float32) kept per batch of full-space runs for the data plot: 80 MB at most."""


def is_mlp_slice(surface: Surface) -> bool:
    """True for a 2-D slice of a multi-layer perceptron (weights beyond the plane exist)."""
    return bool(getattr(surface, "is_slice", False)) and hasattr(surface, "full_value_and_grad")


class RunStrategy(Protocol):
    """Turns starts into runs (see the module docstring)."""

    recomputable: bool
    """Runs made this way are re-run when their recipe (surface, bounds, hyperparameters) changes."""

    def applies_to(self, surface: Surface) -> bool: ...

    def describe(self, n: int) -> str:
        """Progress text for ``n`` runs."""
        ...

    def compute(self, surface: Surface, plan: Plan, starts: np.ndarray, bounds: tuple, max_steps: int,
                tol: float, progress: Callable[[float], None], cancelled: Callable[[], bool]) -> list[Run]: ...


class PlaneStrategy:
    """Runs on the surface shown, one batched engine call per optimizer."""

    recomputable = True

    def applies_to(self, surface: Surface) -> bool:
        return True

    def describe(self, n: int) -> str:
        return f"Running {n} run{'s' if n != 1 else ''}"

    def compute(self, surface: Surface, plan: Plan, starts: np.ndarray, bounds: tuple, max_steps: int,
                tol: float, progress: Callable[[float], None], cancelled: Callable[[], bool]) -> list[Run]:
        from landscape_gui.core import engine

        out: list[Run] = []
        for k, (name, hp) in enumerate(plan):
            result = engine.run(surface, name, starts, hp, bounds=bounds, max_steps=max_steps, tol=tol,
                                progress=lambda f, k=k: progress((k + f) / len(plan)), should_cancel=cancelled)
            assert result.runs is not None
            out.extend(result.runs)
        return out


@dataclass
class FullSpaceStrategy:
    """Steps every weight of a multi-layer perceptron; ``batch_size`` samples per step (``None``: the
    full batch), batches drawn from ``batch_seed`` (the same seed, the same path)."""

    batch_size: int | None = None
    batch_seed: int = 0
    weights: "weakref.WeakKeyDictionary[Run, np.ndarray]" = field(default_factory=weakref.WeakKeyDictionary,
                                                                 repr=False)
    """Filled by :meth:`compute`: run -> ``(k + 1, P)`` weights at each step, kept as long as the run
    itself (on screen or in the undo history)."""

    recomputable = False

    def applies_to(self, surface: Surface) -> bool:
        return is_mlp_slice(surface)

    def describe(self, n: int) -> str:
        return f"Stepping {n} network{'s' if n != 1 else ''} in full weight space"

    def weights_of(self, run: Run) -> np.ndarray | None:
        return self.weights.get(run)

    def compute(self, surface: Surface, plan: Plan, starts: np.ndarray, bounds: tuple, max_steps: int,
                tol: float, progress: Callable[[float], None], cancelled: Callable[[], bool]) -> list[Run]:
        from landscape_gui.core.nn.fullspace import run_full_space

        keep = len(starts) * len(plan) * (max_steps + 1) * surface.n_params <= MAX_KEPT_WEIGHTS
        out: list[Run] = []
        for k, (name, hp) in enumerate(plan):
            rec = _recording_copy(surface) if keep else surface
            runs = run_full_space(rec, name, starts, hp, max_steps=max_steps, tol=tol, bounds=bounds,
                                  batch_size=self.batch_size, batch_seed=self.batch_seed,
                                  progress=lambda f, k=k: progress((k + f) / len(plan)), should_cancel=cancelled)
            for r in runs:
                r.surface = surface.name
                if keep:
                    theta = _weights_of(rec, r)
                    if theta is not None:
                        self.weights[r] = theta
            out.extend(runs)
        return out


def _recording_copy(surface: Any) -> Any:
    """A shallow copy of a network surface whose ``project`` also logs ``(ab, θ)`` rows:
    ``run_full_space`` projects the weights of every recorded step, so the log holds each run's
    weights next to the point drawn for it."""
    base = type(surface)

    class Recording(base):  # type: ignore[misc, valid-type]
        def project(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ab, dist = base.project(self, theta)
            self.log.append((ab.copy(), np.asarray(theta, dtype=np.float32).copy()))
            return ab, dist

    rec = copy.copy(surface)
    rec.__class__ = Recording
    rec.log = []
    return rec


def _weights_of(rec: Any, run: Run) -> np.ndarray | None:
    """``(k + 1, P)`` weights of ``run`` at each step, matched through the logged projections (each
    drawn point is exactly the projection of that step's weights)."""
    table = {}
    for ab, theta in rec.log:
        for row_ab, row_theta in zip(ab, theta):
            table.setdefault(row_ab.tobytes(), row_theta)
    try:
        return np.stack([table[np.ascontiguousarray(p).tobytes()] for p in run.positions])
    except KeyError:
        return None


__all__ = ["FullSpaceStrategy", "MAX_KEPT_WEIGHTS", "PlaneStrategy", "RunStrategy", "is_mlp_slice"]
