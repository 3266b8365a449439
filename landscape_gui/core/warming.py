"""What the window's start-up warm-up compiles, in what order, and what an earlier start finished.

After the kernel of the map on screen (:func:`landscape_gui.core.fastpath.warm` of that one pair),
the warm-up goes through :data:`STAGES`, one background job each, every one cancellable between
kernels:

1. the catalogue surfaces with every built-in optimizer rule (:func:`fastpath.warm_pairs`);
2. the catalogue's network surfaces with every rule (``warm_pairs(networks=True)``: their kernels
   hold each surface's data, so each surface has its own);
3. the catalogue surfaces' kernels for maps under Gaussian gradient noise (``warm(noisy=True)``).

A stage that ran to its end leaves a *stamp* in the kernel cache (:func:`stamp_path`), named by a
hash of everything the kernels are generated from (the numeric core's source, numba's version, the
machine): a later start skips the stage without building its surfaces or loading its kernels, and a
new version of the code, of numba or a new machine warms again. A cancelled stage leaves no stamp;
the kernels it finished stay cached and load in milliseconds next time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.optimizers import Optimizer
    from landscape_gui.core.surfaces import Surface

Pairs = list[tuple["Surface", "Optimizer"]]


@dataclass(frozen=True)
class Stage:
    """One step of the warm-up.

    Attributes:
        name: names its stamp.
        label: what the window's status bar says while it runs.
        pairs: ``should_cancel -> [(surface, optimizer), ...]``, the pairs whose kernels it compiles.
        noisy: the kernels of maps under Gaussian gradient noise rather than plain ones.
    """

    name: str
    label: str
    pairs: Callable[[Callable[[], bool] | None], Pairs]
    noisy: bool = False


def _catalogue(should_cancel: Callable[[], bool] | None) -> Pairs:
    from landscape_gui.core import fastpath

    return fastpath.warm_pairs()


def _networks(should_cancel: Callable[[], bool] | None) -> Pairs:
    from landscape_gui.core import fastpath

    return fastpath.warm_pairs(networks=True, should_cancel=should_cancel)


STAGES: tuple[Stage, ...] = (
    Stage("catalogue", "Compiling the basin kernels of the catalogue surfaces (first run only)", _catalogue),
    Stage("networks", "Compiling the basin kernels of the network surfaces (first run only)", _networks),
    Stage("noisy", "Compiling the basin kernels for gradient noise (first run only)", _catalogue, noisy=True),
)
"""The warm-up's stages after the current map's kernel, in order."""


def _code_key() -> str:
    """Hash of what every generated kernel depends on: the source of the numeric core (surfaces,
    optimizers, stop rules, noise, network rules, the generators), numba's version, the machine."""
    from landscape_gui.core import fastpath

    core = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(core.rglob("*.py")):
        digest.update(str(path.relative_to(core)).encode())
        digest.update(path.read_bytes())
    digest.update(fastpath._numba_version().encode())
    digest.update(fastpath._machine_tag().encode())
    return digest.hexdigest()[:20]


def stamp_path(stage: Stage, key: str | None = None) -> Path:
    """The file that says ``stage`` ran to its end with this code, numba and machine."""
    from landscape_gui.core.cachedir import cache_dir

    return cache_dir() / f"warmed-{stage.name}-{key or _code_key()}"


def pending(stages: tuple[Stage, ...] | list[Stage] = STAGES) -> list[Stage]:
    """The stages an earlier start has not finished (reads the core's source: call it off the GUI
    thread)."""
    key = _code_key()
    return [s for s in stages if not stamp_path(s, key).exists()]


def run(stage: Stage, progress: Callable[[float], None] | None = None,
        should_cancel: Callable[[], bool] | None = None) -> int:
    """Compile (or load) the kernels of ``stage``'s pairs; ``progress(fraction)`` after each kernel,
    ``should_cancel()`` polled between kernels. Stamps the stage when it ran to its end. Returns the
    number of kernels ready."""
    from landscape_gui.core import fastpath

    def cancelled() -> bool:
        return should_cancel is not None and should_cancel()

    pairs = stage.pairs(should_cancel)
    if cancelled():
        return 0
    ready = fastpath.warm(progress, should_cancel, pairs=pairs, noisy=stage.noisy)
    if not cancelled():
        path = stamp_path(stage)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{ready} kernels\n")
        os.replace(tmp, path)
    return ready


__all__ = ["STAGES", "Stage", "pending", "run", "stamp_path"]
