"""Start-up warm-up of the compiled basin kernels, on the job runner, with honest progress.

The first basin map after installing runs numba's compiler for its kernel (seconds); without a
warm-up the map would sit at 0 % meanwhile. :func:`start_warmup` hands that work to the controller's
job runner (key ``"warmup"``) as soon as the window is up, labelled "compiling the basin kernel (first
run only)" when a compile is due, and "loading the basin kernels" when they are cached on disk. It uses
``landscape_gui.core.fastpath.warm`` when the core offers it, and otherwise computes a 2 × 2 basin map
of the current surface and optimizer, which compiles the same kernel.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

from landscape_gui.qt.model.controller import Controller

JOB_KEY = "warmup"
COMPILE_TEXT = "Compiling the basin kernel (first run only)"
LOAD_TEXT = "Loading the basin kernels"


def start_warmup(ctl: Controller) -> bool:
    """Warm the basin kernels in the background; False when there is nothing to compile (no numba)."""
    if importlib.util.find_spec("numba") is None:
        return False
    from landscape_gui.core import fastpath
    from landscape_gui.core.optimizers import get_optimizer

    if not getattr(fastpath, "AVAILABLE", True):
        return False
    surface, opt = ctl.surface, get_optimizer(ctl.optimizer)
    hp = ctl.hyperparameters(opt.name)
    needs = getattr(fastpath, "needs_compile", None)
    try:
        compile_due = True if needs is None else bool(needs(surface, opt, hp))
    except Exception:  # a surface the kernels do not cover: the warm-up itself finds out
        compile_due = True
    warm = getattr(fastpath, "warm", None)

    def work(progress: Callable[[float], None], cancelled: Callable[[], bool]) -> None:
        if warm is not None:
            warm(progress=progress, should_cancel=cancelled, pairs=[(surface, opt)])
            return
        from landscape_gui.core.basins import basin_map

        basin_map(surface, opt, hp, ctl.bounds, 2, max_steps=2, tol=0.0, should_cancel=cancelled)
        progress(1.0)

    ctl.jobs.submit(JOB_KEY, COMPILE_TEXT if compile_due else LOAD_TEXT, work, lambda _r: None,
                    lambda exc: None)
    return True


__all__ = ["COMPILE_TEXT", "LOAD_TEXT", "start_warmup"]
