"""The Python API: landscapes, runs, basin maps and distributed sweeps for scripts and notebooks.

The same functions the command line uses, returning numpy arrays and plain objects; nothing here
imports Qt, so it works on a headless machine, in a notebook kernel or on a cluster node. See
``docs/api.md`` for a walk-through (its examples are executed by the test suite).

>>> from landscape_gui import api
>>> bm = api.basins("himmelblau", "adam", {"lr": 0.1}, resolution=32, max_steps=300)
>>> sorted(bm.counts())  # ids of the four minima reached
[1, 2, 3, 4]

Everything a user can get wrong (an unknown surface, a bad value) raises
:class:`~landscape_gui.core.errors.LandscapeError` with a message fit to show as it is.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from landscape_gui.core.basins import BasinMap, basin_map, compare_basins
from landscape_gui.core.engine import Cancelled as RunCancelled
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import CriticalPoint, MinimaTable, label_runs
from landscape_gui.core.optimizers import Optimizer, get_optimizer, optimizer_names
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Bounds, Surface, surface_from_spec, surface_names
from landscape_gui.core.sweep import Axis, Cancelled, SweepProgress, SweepResult, make_spec, run_sweep

SurfaceLike = Surface | str
"""A :class:`Surface`, or text naming one: a catalogue name (``"himmelblau"``), a network spec
(``"nn:..."``) or a formula in ``x`` and ``y`` (``"x**2 + 3*sin(y)"``)."""
OptimizerLike = Optimizer | str
"""An :class:`Optimizer` or a registered optimizer's name (``"adam"``)."""


def surface(name: str | None = None, *, formula: str | None = None) -> Surface:
    """A landscape: a catalogue surface or network spec by ``name``, or your own ``formula`` in x and y.

    ``surface("rosenbrock")``, ``surface("nn:...")``, ``surface(formula="x**2 + 3*sin(y)")``. The
    result evaluates batches: ``value(p)`` for ``p`` of shape ``(n, 2)`` gives ``(n,)``; ``grad(p)``
    ``(n, 2)``; ``hessian(p)`` ``(n, 2, 2)``; ``bounds`` is its default ``(xmin, xmax, ymin, ymax)``.

    Raises:
        LandscapeError: an unknown name or a formula that does not parse (the message points at it).
    """
    if (name is None) == (formula is None):
        raise LandscapeError("give a surface name or a formula (exactly one)")
    if formula is not None:
        from landscape_gui.core.formula import formula_surface

        return formula_surface(formula)
    assert name is not None
    if name.strip().startswith("nn:"):
        return surface_from_spec(name)
    from landscape_gui.core.surfaces import get_surface

    return get_surface(name)


def surfaces() -> list[str]:
    """Names of the catalogue surfaces, for :func:`surface` (``landscape-gui list surfaces`` prints them
    with a description)."""
    return surface_names()


def optimizers() -> list[str]:
    """Names of the registered optimizers: the built-ins, then installed plugins (entry-point group
    ``landscape_gui.optimizers``)."""
    return optimizer_names()


def hyperparameters(optimizer: OptimizerLike, **overrides: Any) -> dict[str, Any]:
    """Every hyperparameter of ``optimizer`` in force: its defaults with ``overrides`` applied, checked
    against the declared ranges (``hyperparameters("sgd", lr=0.05, momentum=0.9)``).

    Raises:
        LandscapeError: an unknown name or a value out of range.
    """
    return _optimizer(optimizer).resolve(overrides)


def _optimizer(optimizer: OptimizerLike) -> Optimizer:
    return get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer


def _surface(s: SurfaceLike) -> Surface:
    return surface_from_spec(s) if isinstance(s, str) else s


def run(
    surface: SurfaceLike,
    optimizer: OptimizerLike,
    starts: Any,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    bounds: Bounds | None = None,
    max_steps: int = 1000,
    tol: float = 1e-6,
) -> list[Run]:
    """Run ``optimizer`` from every start and return the runs, each labelled with the critical point it
    settled in.

    Args:
        surface: the landscape (a :class:`Surface` or its name/formula).
        optimizer: an optimizer or its name.
        starts: ``(n, 2)`` starting points (a single ``(x, y)`` is one start).
        hyperparameters: overrides of the optimizer's defaults.
        bounds: the domain for the divergence rule; the surface's own bounds if omitted.
        max_steps: update budget per run.
        tol: a run has converged when ``|∇f| <= tol``; 0 disables the rule.

    Returns:
        One :class:`Run` per start, in order: ``positions (k+1, 2)``, ``losses (k+1,)``,
        ``grads (k+1, 2)``, ``status`` (``converged``/``diverged``/``max_steps``), ``minimum`` (the id of
        the critical point reached in a table built from these runs, ids from 1 by loss, or ``None``).

    Raises:
        LandscapeError: bad starts, hyperparameters, bounds or limits.
    """
    from landscape_gui.core import engine

    surf = _surface(surface)
    b = engine.check_bounds(bounds if bounds is not None else surf.bounds)
    pts = np.asarray(starts, dtype=float)
    if pts.shape == (2,):
        pts = pts.reshape(1, 2)
    runs = engine.run_many(surf, _optimizer(optimizer), pts, hyperparameters, bounds=b, max_steps=max_steps, tol=tol)
    label_runs(runs, MinimaTable(surf, b), tol)
    return runs


def basins(
    surface: SurfaceLike,
    optimizer: OptimizerLike,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    bounds: Bounds | None = None,
    resolution: int = 64,
    max_steps: int = 1000,
    tol: float = 1e-6,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BasinMap:
    """The basin map: one run from the centre of every cell of an ``R × R`` grid over the bounds, each
    cell labelled with the critical point its run reached (the same map ``landscape-gui basins``
    writes).

    Returns:
        A :class:`BasinMap`: ``labels`` int32 ``(R, R)`` (``labels[i, j]`` for the start at
        ``(xs[i], ys[j])``, ``-1`` for none), ``status`` ``(R, R)``, ``table`` of critical points,
        ``counts()``, ``fractions()``, ``points()``.

    Raises:
        LandscapeError: bad resolution (2..1024), bounds, hyperparameters or limits.
        landscape_gui.core.engine.Cancelled: ``should_cancel()`` answered True.
    """
    return basin_map(_surface(surface), optimizer, hyperparameters, bounds, resolution, max_steps, tol,
                     progress=progress, should_cancel=should_cancel)


def sweep(
    surface: SurfaceLike,
    optimizer: OptimizerLike,
    vary: Mapping[str, Sequence[float]] | Sequence[Axis],
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    bounds: Bounds | None = None,
    resolution: int = 64,
    max_steps: int = 1000,
    tol: float = 1e-6,
    client: Any = None,
    workers: int | None = None,
    output: str | os.PathLike[str] | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    shard_size: int | None = None,
) -> SweepResult:
    """Basin maps over a grid of hyperparameters, computed in shards on a Dask cluster.

    Every combination of the ``vary`` values is a cell; each cell's map equals :func:`basins` for its
    hyperparameters (labels translated to one table shared by all cells, so an id is one place
    everywhere). See :mod:`landscape_gui.core.sweep` for shards, the store and resuming.

    Args:
        surface, optimizer, hyperparameters, bounds, resolution, max_steps, tol: as for :func:`basins`;
            ``hyperparameters`` are the fixed ones.
        vary: ``{name: values}`` (e.g. ``{"lr": numpy.geomspace(1e-3, 0.1, 5)}``) or :class:`Axis`
            objects (``Axis.logarithmic("lr", 1e-3, 0.1, 5)``); names are the optimizer's numeric
            hyperparameters.
        client: a ``distributed.Client`` connected to the cluster to use; without one a local cluster
            of ``workers`` processes (default: one per core) is started and shut down for this call.
        output: a folder for ``summary.csv``, ``cells.csv``, ``labels/``, ``phase.png`` and the shards;
            calling again with the same arguments resumes (finished shards are not recomputed).
            ``None``: nothing is written.
        progress: called after each shard with a :class:`SweepProgress` (``fraction``, ``done``,
            ``total``, ``eta`` in seconds, ...), in the calling thread.
        should_cancel: polled several times a second; True cancels the cluster's pending shards and
            raises :class:`Cancelled`.
        shard_size: starts per task (default: cells cut into shards of 16384..65536 starts until the sweep
            has about 8 tasks).

    Returns:
        A :class:`SweepResult`: ``labels`` int32 ``(cells, R, R)``, ``status``, ``table``,
        ``fractions()``, ``dominant()`` (array of the grid's shape), ``cell_map(c)``, ``values(c)``.

    Raises:
        LandscapeError: bad inputs (named), an output folder holding something else, a cluster that
            cannot run the shards.
        Cancelled: ``should_cancel()`` answered True.
    """
    spec = make_spec(_surface(surface) if not isinstance(surface, str) else surface, optimizer, vary,
                     hyperparameters, bounds=bounds, resolution=resolution, max_steps=max_steps, tol=tol,
                     shard_size=shard_size)
    render = None
    if output is not None:
        from landscape_gui.phase_image import render_phase_png

        render = render_phase_png
    return run_sweep(spec, client=client, workers=workers, output=output, progress=progress,
                     should_cancel=should_cancel, render_png=render)


__all__ = [
    "Axis",
    "BasinMap",
    "Cancelled",
    "CriticalPoint",
    "LandscapeError",
    "MinimaTable",
    "Run",
    "RunCancelled",
    "Surface",
    "SweepProgress",
    "SweepResult",
    "basins",
    "compare_basins",
    "hyperparameters",
    "optimizers",
    "run",
    "surface",
    "surfaces",
    "sweep",
]
