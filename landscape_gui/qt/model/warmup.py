"""Start-up warm-up of the compiled basin kernels, on the job runner, with honest progress.

The first basin map after installing runs numba's compiler for its kernel (seconds); without a
warm-up the map would sit at 0 % meanwhile. :func:`start_warmup` hands that work to the controller's
job runner (key ``"warmup"``) once the window is on screen (the caller waits for the first frame),
labelled "compiling the basin kernel (first run only)" when a compile is due, and "loading the basin
kernels" when they are cached on disk. It uses ``landscape_gui.core.fastpath.warm`` when the core
offers it, and otherwise computes a 2 × 2 basin map of the current surface and optimizer, which
compiles the same kernel.

Then come the stages of :data:`landscape_gui.core.warming.STAGES` an earlier start has not finished:
the catalogue surfaces with every optimizer, the network surfaces, the kernels of maps under gradient
noise. Each is one job under the same key, submitted when the one before it ends, its label saying
in the status bar what is being compiled; the compiling itself happens in child processes
(:func:`landscape_gui.core.warming.run`), so the window's memory and interpreter lock stay free.
Cancel (or any cancel of all jobs) ends the chain and the child. Nothing of this is imported before
the first frame.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any, Callable

from landscape_gui.qt.model.controller import Controller

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.warming import Stage

log = logging.getLogger(__name__)

JOB_KEY = "warmup"
COMPILE_TEXT = "Compiling the basin kernel (first run only)"
LOAD_TEXT = "Loading the basin kernels"


def start_warmup(ctl: Controller, stages: "list[Stage] | None" = None) -> bool:
    """Warm the basin kernels in the background; False when there is nothing to compile (no numba).
    ``stages``: the warm-up's stages after the current map's kernel (default
    :data:`landscape_gui.core.warming.STAGES`).

    Called on the GUI (main) thread once the window is on screen, it also limits BLAS to one thread for
    the process (:func:`landscape_gui.core.threads.single_blas_thread`): OpenBLAS takes that limit only
    from the main thread, and the network slices' batched products on the job runner need it.
    """
    from landscape_gui.core.threads import single_blas_thread

    single_blas_thread()
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

    def work(progress: Callable[[float], None], cancelled: Callable[[], bool]) -> Any:
        if warm is not None:
            warm(progress=progress, should_cancel=cancelled, pairs=[(surface, opt)])
            if cancelled():
                return []
            from landscape_gui.core import warming

            return warming.pending(warming.STAGES if stages is None else stages)
        from landscape_gui.core.basins import basin_map

        basin_map(surface, opt, hp, ctl.bounds, 2, max_steps=2, tol=0.0, should_cancel=cancelled)
        progress(1.0)
        return []

    def next_stage(todo: list[Stage]) -> None:
        if not todo:
            return
        from landscape_gui.core import warming

        stage, rest = todo[0], todo[1:]

        def failed(exc: BaseException) -> None:  # a kernel that does not build: the next stage all the same
            log.warning("warm-up stage %s failed: %s", stage.name, exc)
            next_stage(rest)

        ctl.jobs.submit(JOB_KEY, stage.label, lambda p, c: warming.run(stage, p, c), lambda _r: next_stage(rest),
                        failed)

    ctl.jobs.submit(JOB_KEY, COMPILE_TEXT if compile_due else LOAD_TEXT, work, next_stage, lambda exc: None)
    return True


__all__ = ["COMPILE_TEXT", "LOAD_TEXT", "start_warmup"]
