"""What the window's start-up warm-up compiles, in what order, and what an earlier start finished.

After the kernel of the map on screen (:func:`landscape_gui.core.fastpath.warm` of that one pair),
the warm-up goes through :data:`STAGES`, one background job each, every one cancellable:

1. the catalogue surfaces with every built-in optimizer rule (:func:`fastpath.warm_pairs`);
2. the catalogue's network surfaces with every rule (``warm_pairs(networks=True)``: their kernels
   hold each surface's data, so each surface has its own);
3. the catalogue surfaces' kernels for maps under Gaussian gradient noise (``warm(noisy=True)``).

The stages compile in child processes of :data:`BATCH` kernels each, never in the window's process:
numba keeps about 4.5 MB per kernel it compiled in the process that compiled it (600 kernels would
hold gigabytes), and its compiler holds the interpreter lock while it works. The kernels land in the
disk cache, from which the window loads those it needs as shared libraries, without numba. Cancel
ends the child at once.

A stage that ran to its end leaves a *stamp* in the kernel cache (:func:`stamp_path`), named by a
hash of everything the kernels are generated from (the numeric core's source, numba's version, the
machine): a later start skips the stage without building its surfaces or loading its kernels, and a
new version of the code, of numba or a new machine warms again. A cancelled stage leaves no stamp;
the kernels it finished stay cached.
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

BATCH = 16
"""Kernels compiled per child process (the child's memory grows by about 4.5 MB per kernel)."""


@dataclass(frozen=True)
class Stage:
    """One step of the warm-up.

    Attributes:
        name: names its stamp.
        label: what the window's status bar says while it runs.
        networks: the catalogue's network surfaces rather than its other surfaces.
        noisy: the kernels of maps under Gaussian gradient noise rather than plain ones.
        pairs: ``((surface name, optimizer name), ...)`` to compile instead of the catalogue's.
    """

    name: str
    label: str
    networks: bool = False
    noisy: bool = False
    pairs: tuple[tuple[str, str], ...] | None = None


def stage_pairs(stage: Stage, should_cancel: Callable[[], bool] | None = None) -> Pairs:
    """The (surface, optimizer) pairs whose kernels ``stage`` compiles."""
    from landscape_gui.core import fastpath

    if stage.pairs is not None:
        from landscape_gui.core.optimizers import get_optimizer
        from landscape_gui.core.surfaces import get_surface

        return [(get_surface(s), get_optimizer(o)) for s, o in stage.pairs]
    return fastpath.warm_pairs(networks=stage.networks, should_cancel=should_cancel)


STAGES: tuple[Stage, ...] = (
    Stage("catalogue", "Compiling the basin kernels of the catalogue surfaces (first run only)"),
    Stage("networks", "Compiling the basin kernels of the network surfaces (first run only)", networks=True),
    Stage("noisy", "Compiling the basin kernels for gradient noise (first run only)", noisy=True),
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
    """Compile (or load) the kernels of ``stage``'s pairs in child processes of :data:`BATCH` kernels;
    ``progress(fraction)`` after each kernel, ``should_cancel()`` polled every 0.1 s (the child is
    ended at once). Stamps the stage when it ran to its end. Returns the number of kernels ready.

    Raises:
        RuntimeError: a child process failed (its last lines of output in the message).
    """

    def cancelled() -> bool:
        return should_cancel is not None and should_cancel()

    if cancelled():
        return 0
    key = _code_key()
    ready, start, total = 0, 0, None
    while total is None or start < total:
        out = _child_batch(stage, start, cancelled, progress, ready, total)
        if out is None:
            return ready
        total, done, got = out
        ready += got
        start += done
        if done == 0:
            break
    if progress is not None:
        progress(1.0)
    path = stamp_path(stage, key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{ready} kernels\n")
    os.replace(tmp, path)
    return ready


def _child_batch(stage: Stage, start: int, cancelled: Callable[[], bool],
                 progress: Callable[[float], None] | None, ready: int,
                 total: int | None) -> tuple[int, int, int] | None:
    """Run one child on pairs ``start .. start + BATCH``: ``(total pairs, pairs done, kernels
    ready)``, or None when cancelled (the child is ended)."""
    import json
    import queue
    import subprocess
    import sys
    import tempfile
    import threading

    import landscape_gui

    root = str(Path(landscape_gui.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    order = json.dumps({"name": stage.name, "networks": stage.networks, "noisy": stage.noisy,
                        "pairs": stage.pairs, "start": start, "count": BATCH})
    lines: queue.Queue[str | None] = queue.Queue()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", "from landscape_gui.core.warming import _child; _child()",
                                 order], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
                                env=env)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.strip())
            lines.put(None)

        reader = threading.Thread(target=read, name="warm-up reader", daemon=True)
        reader.start()
        done = got = 0
        try:
            while True:
                if cancelled():
                    return None
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if line is None:
                    break
                word, _, value = line.partition(" ")
                if word == "total":
                    total = int(value)
                elif word in ("ready", "skipped", "failed"):
                    done += 1
                    got += word == "ready"
                    if progress is not None and total:
                        progress(min(1.0, (start + done) / total))
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            reader.join(timeout=30)
        if proc.returncode != 0 or total is None:
            err.seek(0)
            tail = " | ".join(err.read().strip().splitlines()[-3:])
            raise RuntimeError(f"warm-up of {stage.name} failed (exit {proc.returncode}): {tail}")
    return total, done, got


def _child() -> None:
    """In the child process: compile the pairs the parent asked for (its one argument, JSON), one
    line per kernel on stdout (``ready``, ``skipped`` when it has no compiled form, ``failed``)."""
    import json
    import sys

    from landscape_gui.core import fastpath

    order = json.loads(sys.argv[1])
    pairs = order["pairs"]
    stage = Stage(order["name"], "", order["networks"], order["noisy"],
                  None if pairs is None else tuple(tuple(p) for p in pairs))
    todo = stage_pairs(stage)
    print(f"total {len(todo)}", flush=True)
    for surface, opt in todo[order["start"]: order["start"] + order["count"]]:
        try:
            n = fastpath.warm(pairs=[(surface, opt)], noisy=stage.noisy)
        except Exception as exc:  # one kernel that does not build must not stop the others
            print(f"kernel {surface.name}/{opt.name}: {exc}", file=sys.stderr, flush=True)
            print("failed", flush=True)
            continue
        print("ready" if n else "skipped", flush=True)


__all__ = ["BATCH", "STAGES", "Stage", "pending", "run", "stage_pairs", "stamp_path"]
