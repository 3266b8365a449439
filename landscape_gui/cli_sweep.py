"""``landscape-gui sweep``: basin maps over a grid of hyperparameters on a Dask cluster.

Kept out of :mod:`landscape_gui.cli` so that other commands (and ``--version``) never pay for it; this
module itself imports nothing heavy: Dask, numba and matplotlib load only when a sweep runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, TextIO

PROG = "landscape-gui"


def add_sweep_parser(sub: "argparse._SubParsersAction") -> argparse.ArgumentParser:
    """Register the ``sweep`` sub-command on the main parser's sub-parsers."""
    from landscape_gui import cli

    p = sub.add_parser(
        "sweep",
        help="basin maps over a grid of hyperparameters, on a Dask cluster",
        description="Compute a basin map for every combination of the varied hyperparameters, in shards on "
        "Dask workers. DIR gets summary.csv, cells.csv, labels/, phase.png; rerunning the same command "
        "resumes an interrupted sweep.",
    )
    cli._add_surface_options(p, required=True)
    cli._add_optimizer_options(p, required=True)
    p.add_argument("--vary", metavar="K=START:STOP:N[:log]", action="append", default=[], required=True,
                   type=cli._arg(_parse_vary),
                   help="vary hyperparameter K over N values from START to STOP, evenly or on a log scale "
                        "(repeatable: each combination is one cell)")
    p.add_argument("--resolution", metavar="R", type=cli._arg(cli._positive_int("--resolution", 2, 1024)),
                   required=True, help="R×R grid of starts per cell (2..1024)")
    cli._add_run_limits(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (its workers need landscape-gui)")
    where.add_argument("--workers", metavar="N", type=cli._arg(cli._positive_int("--workers", 1, 1024)),
                       help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--shard-size", metavar="S", type=cli._arg(cli._positive_int("--shard-size", 1)),
                   help="starts per task (default: cells cut into 16384..65536-start shards until there are ~8 tasks)")
    p.add_argument("--dashboard", metavar="HOST:PORT", nargs="?", const=":8787",
                   help="serve the local cluster's Dask dashboard (needs bokeh; default address :8787)")
    p.add_argument("--verbose", action="store_true", help="show Dask's own log messages")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="output folder (created; reused to resume)")
    return p


def _parse_vary(text: str):
    """``--vary`` value -> :class:`~landscape_gui.core.sweep.Axis` (the core is imported only when used)."""
    from landscape_gui.core.sweep import Axis

    return Axis.parse(text)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def terminal_progress(stream: TextIO | None = None) -> Callable | None:
    """A sweep ``progress`` callback writing ``sweep: 37/120 shards (31 %), 4/10 cells, ETA 1m12s`` in
    place on a terminal; ``None`` when ``stream`` (stderr by default) is not one."""
    out = stream if stream is not None else sys.stderr
    try:
        if not out.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    last = [0.0]

    def report(p) -> None:
        now = time.monotonic()
        if p.done < p.total and now - last[0] < 0.25:
            return
        last[0] = now
        eta = "" if p.eta is None else f", ETA {_duration(p.eta)}"
        out.write(f"\rsweep: {p.done}/{p.total} shards ({100 * p.fraction:.0f} %), {p.cells_done}/{p.cells} cells"
                  f"{eta}\033[K" + ("\n" if p.done == p.total else ""))
        out.flush()

    return report


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep, write DIR, report on stderr; Ctrl-C cancels the cluster's work and says how to resume."""
    from landscape_gui import cli
    from landscape_gui.core.errors import LandscapeError
    from landscape_gui.core.sweep import Store, make_spec, run_sweep
    from landscape_gui.phase_image import render_phase_png

    surface = cli._surface(args)
    spec = make_spec(surface, args.optimizer, args.vary, cli.parse_sets(args.sets), bounds=args.bounds,
                     resolution=args.resolution, max_steps=args.max_steps, tol=args.tol, shard_size=args.shard_size)
    client = None
    if args.scheduler is not None:
        if args.dashboard is not None:
            raise LandscapeError("--dashboard is for the local cluster; an existing scheduler serves its own")
        try:
            from distributed import Client

            # Waits as long as Dask's distributed.comm.timeouts.connect says (30 s unless configured).
            client = Client(args.scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise LandscapeError(f"cannot reach the Dask scheduler at {args.scheduler}: {exc}") from None
    elif args.dashboard is not None:
        try:
            import bokeh  # noqa: F401
        except ImportError:
            raise LandscapeError("the Dask dashboard needs bokeh: pip install 'bokeh>=3.1' (or run without --dashboard)") from None
        port = args.dashboard.rpartition(":")[2] or "8787"
        print(f"{PROG}: Dask dashboard at http://localhost:{port}/status", file=sys.stderr)
    progress = terminal_progress(sys.stderr)
    try:
        result = run_sweep(spec, client=client, workers=args.workers, output=args.output, progress=progress, render_png=render_phase_png,
                           dashboard=args.dashboard, quiet=not args.verbose)
    except KeyboardInterrupt:
        saved = ""
        try:
            store = Store(args.output, spec)
            store.open()
            saved = f" ({len(store.done)} of {spec.n_shards} shards saved)"
        except LandscapeError:
            pass
        lead = "\n" if progress is not None else ""  # end the progress line first
        print(f"{lead}{PROG}: sweep interrupted{saved}; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    n_pts = len(result.points())
    print(
        f"wrote {args.output}: {spec.n_cells} cells × {spec.resolution}×{spec.resolution} starts, "
        f"{result.computed} shards computed, {result.reused} reused, {n_pts} critical point"
        f"{'' if n_pts == 1 else 's'} reached (summary.csv, cells.csv, labels/, phase.png)",
        file=sys.stderr,
    )
    return 0
