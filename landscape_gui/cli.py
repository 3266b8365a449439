"""The command line: the window by default; ``run``, ``basins``, ``sweep`` and ``list`` without a screen.

Exit status: 0 on success, 2 on bad input with one readable line on stderr (never a traceback),
1 on an internal error (one line; set ``LANDSCAPE_GUI_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
import sys
from typing import Any, NoReturn, Sequence

# numpy, numba, sympy and Qt are imported by the commands that need them: `--version`, `list` and the
# argument errors start at once (see the README's Speed section).
from landscape_gui import __version__, cli_lessons
from landscape_gui.core.errors import LandscapeError, PluginError

PROG = "landscape-gui"


@functools.lru_cache(maxsize=1)
def _terminal_columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` tells it (``$COLUMNS``, else the
    terminal on standard output, else 80), asked once, without importing shutil (and with it bz2 and
    lzma) at every start: argparse makes a help formatter for each option it registers."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at the terminal's width (:func:`_terminal_columns`)."""

    def __init__(self, prog: str, *args: Any, **kwargs: Any) -> None:
        if len(args) < 3 and "width" not in kwargs:
            kwargs["width"] = _terminal_columns() - 2  # what HelpFormatter itself takes off
        super().__init__(prog, *args, **kwargs)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # "argument --start: --start takes X,Y ..." -> "--start takes X,Y ..."
        message = re.sub(r"^argument (\S+): (?=\1 )", "", message)
        raise LandscapeError(message)


# --------------------------------------------------------------------------------------------------
# Value parsers (each raises LandscapeError with a message naming the option)


def parse_pair(text: str, option: str = "--start") -> tuple[float, float]:
    """``"X,Y"`` -> ``(x, y)``, finite numbers."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise LandscapeError(f"{option} takes X,Y (two numbers; write {option}=-3,2 for negatives), got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise LandscapeError(f"{option} takes finite numbers, got {text!r}")
    return x, y


def parse_bounds(text: str) -> tuple[float, float, float, float]:
    """``"XMIN,XMAX,YMIN,YMAX"`` -> validated bounds."""
    from landscape_gui.core.engine import check_bounds

    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        vals = [float(p) for p in parts]
    except ValueError:
        raise LandscapeError(f"--bounds takes XMIN,XMAX,YMIN,YMAX (write --bounds=-5,5,-5,5), got {text!r}") from None
    return check_bounds(vals)


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    """``["lr=0.1", "nesterov=true"]`` -> ``{"lr": "0.1", "nesterov": "true"}`` (typed later by the optimizer)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise LandscapeError(f"--set takes KEY=VALUE, e.g. --set lr=0.05, got {item!r}")
        out[key] = value
    return out


def _positive_int(option: str, low: int = 1, high: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise LandscapeError(f"{option} takes a whole number, got {text!r}") from None
        if v < low or (high is not None and v > high):
            rng = f">= {low}" if high is None else f"from {low} to {high}"
            raise LandscapeError(f"{option} takes a whole number {rng}, got {v}")
        return v

    return parse


def _nonneg_float(option: str):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise LandscapeError(f"{option} takes a number, got {text!r}") from None
        if not (math.isfinite(v) and v >= 0):
            raise LandscapeError(f"{option} takes a finite number >= 0, got {text!r}")
        return v

    return parse


def _max_work(text: str) -> int:
    from landscape_gui.core.budget import parse_work

    return parse_work(text)


def _arg(fn):
    """Adapt a parser raising LandscapeError to argparse (which keeps an ArgumentTypeError's text)."""

    def wrapped(text: str):
        try:
            return fn(text)
        except LandscapeError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    wrapped.__name__ = getattr(fn, "__name__", "value")
    return wrapped


# --------------------------------------------------------------------------------------------------
# Parser


def _add_surface_options(p: argparse.ArgumentParser, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--surface", metavar="NAME", help="a catalogue surface (see 'landscape-gui list surfaces')")
    g.add_argument("--formula", metavar="EXPR", help="your own loss in x and y, e.g. 'x**2 + 3*sin(y)'")


def _add_optimizer_options(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--optimizer", metavar="NAME", required=required,
                   help="optimizer name (see 'landscape-gui list optimizers')")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                   help="set a hyperparameter, e.g. --set lr=0.05 --set nesterov=true (repeatable)")


def _add_run_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bounds", metavar="XMIN,XMAX,YMIN,YMAX", type=_arg(parse_bounds),
                   help="domain (default: the surface's own bounds)")
    p.add_argument("--max-steps", metavar="N", type=_arg(_positive_int("--max-steps", 0)), default=1000,
                   help="update budget per run (default 1000)")
    p.add_argument("--tol", metavar="G", type=_arg(_nonneg_float("--tol")), default=1e-6,
                   help="converged when the gradient norm is <= G; 0 disables (default 1e-6)")
    p.add_argument("--max-work", metavar="N", type=_arg(_max_work), default=None,
                   help="refuse jobs of more than N starts × steps (default 1e8 for run, 2e9 for basins; "
                        "also LANDSCAPE_GUI_MAX_WORK)")


class _Listed(_Parser):
    """The parser of a sub-command the command line does not name: listed in the help, and every
    registration call (options, groups, defaults) on it does nothing."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def add_mutually_exclusive_group(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def set_defaults(self, **kwargs: Any) -> None:
        return None


class _Commands:
    """The sub-parsers action as registration code sees it: ``add_parser`` builds a sub-command's
    options only when ``wanted`` (the words of the command line about to be parsed; ``None`` = all)
    names it. The others are listed with their help but get no options (:class:`_Listed`): building
    every sub-command's options costs a quick command more than its own work (argparse makes a
    formatter and looks up message translations for each)."""

    def __init__(self, action: Any, wanted: set[str] | None) -> None:
        self._action = action
        self._wanted = wanted

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self._wanted is None or {name, *kwargs.get("aliases", ())} & self._wanted:
            return self._action.add_parser(name, **kwargs)
        listed = {k: v for k, v in kwargs.items() if k in ("help", "aliases", "description")}
        self._action._parser_class = _Listed
        try:
            return self._action.add_parser(name, add_help=False, **listed)
        finally:
            self._action._parser_class = _Parser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; given ``argv``, only the sub-commands it names get their options
    (enough to parse ``argv``; every sub-command is still listed in the help)."""
    parser = _Parser(
        prog=PROG,
        description="Explore loss landscapes: watch gradient descent run and see where it settles. "
        "Without a sub-command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_surface_options(parser, required=False)
    _add_optimizer_options(parser, required=False)
    parser.add_argument("--start", metavar="X,Y", action="append", default=[], type=_arg(parse_pair),
                        help="a starting point (repeatable; --start=-3,2 for negatives)")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="open the window with these runs finished, save a PNG of it and exit")

    sub: Any = _Commands(parser.add_subparsers(dest="command", parser_class=_Parser,
                                               metavar="{run,basins,sweep,list,profile,path,spectrum,animate,race}"),
                         None if argv is None else set(argv))

    run = sub.add_parser("run", help="run gradient descent and write the trajectories as CSV",
                         description="Run an optimizer from starting points and write every step as CSV.")
    _add_surface_options(run, required=True)
    _add_optimizer_options(run, required=True)
    run.add_argument("--start", metavar="X,Y", action="append", default=[], type=_arg(parse_pair),
                     help="a starting point (repeatable; --start=-3,2 for negatives)")
    run.add_argument("--grid", metavar="N", type=_arg(_positive_int("--grid", 1, 2000)),
                     help="N×N starts at the cell centres of the bounds")
    run.add_argument("--random", metavar="N", type=_arg(_positive_int("--random", 1, 10_000_000)),
                     help="N starts drawn uniformly in the bounds")
    run.add_argument("--seed", metavar="S", type=_arg(_positive_int("--seed", 0)), default=0,
                     help="seed for --random (default 0)")
    _add_run_limits(run)
    run.add_argument("--sharpness", action="store_true",
                     help="append the columns sharpness (largest Hessian eigenvalue) and lr (learning rate in force)")
    cli_lessons.add_run_options(run)
    run.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="where to write the CSV ('-' = stdout)")

    basins = sub.add_parser("basins", help="label every cell of a grid with the minimum its run reaches",
                            description="Compute a basin-of-attraction map: PREFIX.npy, PREFIX.csv, PREFIX.png.")
    _add_surface_options(basins, required=True)
    _add_optimizer_options(basins, required=True)
    _add_run_limits(basins)
    cli_lessons.add_basin_options(basins)
    basins.add_argument("--resolution", metavar="R", type=_arg(_positive_int("--resolution", 2, 1024)), required=True,
                        help="R×R grid of starts (2..1024)")
    basins.add_argument("-o", "--output", metavar="PREFIX", required=True, help="output prefix")

    from landscape_gui.cli_sweep import add_sweep_parser  # light: Dask loads only when a sweep runs

    add_sweep_parser(sub)

    lst = sub.add_parser("list", help="list surfaces or optimizers", description="List what is available.")
    lst.add_argument("what", choices=["surfaces", "optimizers", "schedules"], help="what to list")

    from landscape_gui.cli_research import add_parsers

    add_parsers(sub)
    cli_lessons.add_commands(sub)
    return parser


_JOINABLE = ("--start", "--bounds", "--from", "--to", "--at", "--range")
_NUMBERISH = re.compile(r"^-[\d.]")


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--start -3,2`` mean ``--start=-3,2`` (argparse would take ``-3,2`` for an option)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _JOINABLE and i + 1 < len(argv) and _NUMBERISH.match(argv[i + 1]):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


# --------------------------------------------------------------------------------------------------
# Commands


def _surface(args: argparse.Namespace):
    """The surface named by --surface (a catalogue name or an ``nn:`` spec) or typed with --formula."""
    from landscape_gui.core.surfaces import get_surface, surface_from_spec

    if getattr(args, "formula", None) is not None:
        from landscape_gui.core.formula_functions import DEFAULT_BOUNDS, cached_formula_surface

        cached = cached_formula_surface(args.formula, DEFAULT_BOUNDS)  # seen before: no sympy needed
        if cached is not None:
            return cached
        from landscape_gui.core.formula import formula_surface

        return formula_surface(args.formula)
    if args.surface.startswith("nn:"):
        return surface_from_spec(args.surface)
    return get_surface(args.surface)


def cmd_run(args: argparse.Namespace) -> int:
    """Check the output and the size of the job first, then stream the CSV (core.streaming)."""
    from landscape_gui.core.budget import check_work
    from landscape_gui.core.fileio import check_output, open_output

    target = check_output(args.output)  # before anything slow, even imports
    n_starts = len(args.start) + (args.grid or 0) ** 2 + (args.random or 0)
    if n_starts == 0:
        raise LandscapeError("no starting points: give --start=X,Y, --grid N or --random N")
    fan = args.fan  # a fan: N runs per start
    check_work("run", n_starts * fan, args.max_steps, args.max_work, what="runs" if fan > 1 else "starts")

    import numpy as np

    from landscape_gui.core.optimizers import get_optimizer
    from landscape_gui.core.progress import terminal_progress
    from landscape_gui.core.starts import grid_starts, random_starts
    from landscape_gui.core.streaming import write_runs_csv

    _report_plugin_errors()
    surface = _surface(args)
    opt = get_optimizer(args.optimizer)
    hp = opt.resolve(parse_sets(args.sets))
    bounds = args.bounds if args.bounds is not None else surface.bounds
    blocks = [np.array(args.start, dtype=float).reshape(-1, 2)]
    if args.grid:
        blocks.append(grid_starts(bounds, args.grid))
    if args.random:
        blocks.append(random_starts(bounds, args.random, args.seed))
    starts = np.concatenate(blocks)
    extra: tuple[str, ...] = ()
    annotate: Any = None
    if args.sharpness:
        from functools import partial

        from landscape_gui.cli_research import SHARPNESS_COLUMNS, add_sharpness

        extra, annotate = SHARPNESS_COLUMNS, partial(add_sharpness, surface)

    fan = cli_lessons.fan_count(args)  # N noisy runs per start, streamed like any other runs
    with terminal_progress("run") as progress, open_output(target) as fh:
        summary = write_runs_csv(fh, surface, opt, starts, hp, bounds=bounds, max_steps=args.max_steps,
                                 tol=args.tol, progress=progress, extra_columns=extra, annotate=annotate,
                                 repeat=fan, **cli_lessons.run_options(args))
    if target.kind != "stdout":
        text = ", ".join(f"{v} {k}" for k, v in summary.counts.items() if v)
        print(f"wrote {summary.runs} runs ({text}) to {args.output}", file=sys.stderr)
    return 0


def cmd_basins(args: argparse.Namespace) -> int:
    """Compute the map, write PREFIX.npy/.csv/.png, report on stderr (progress only on a terminal)."""
    from landscape_gui.core.budget import check_work
    from landscape_gui.core.fileio import check_output

    for ext in (".npy", ".csv", ".png"):
        check_output(args.output + ext)
    check_work("basins", args.resolution**2, args.max_steps, args.max_work)

    from landscape_gui.basin_image import render_basin_png
    from landscape_gui.core.basins import basin_map, write_basin_outputs
    from landscape_gui.core.progress import terminal_progress

    _report_plugin_errors()
    if cli_lessons.wants_probability_map(args):
        return cli_lessons.cmd_probability_basins(args)
    surface = _surface(args)
    _compile_notice(surface, args)
    with terminal_progress("basins") as progress:
        bmap = basin_map(
            surface, args.optimizer, parse_sets(args.sets), args.bounds, args.resolution, args.max_steps, args.tol,
            progress=progress, schedule=cli_lessons.schedule_from_args(args), fused="auto",
        )
    paths = write_basin_outputs(args.output, bmap, surface, render_png=render_basin_png)
    kinds = [c.kind for c in bmap.points()]
    plural = {"minimum": "minima", "maximum": "maxima"}
    counts = ", ".join(
        f"{kinds.count(k)} {k if kinds.count(k) == 1 else plural.get(k, k + 's')}" for k in dict.fromkeys(kinds)
    )
    print(
        f"wrote {', '.join(paths)}: {bmap.resolution}×{bmap.resolution} starts, "
        f"{100 * bmap.labelled_share():.1f} % settled ({counts or 'nothing found'})",
        file=sys.stderr,
    )
    return 0


def _compile_notice(surface: Any, args: argparse.Namespace, noise: Any = None, small_too: bool = False) -> None:
    """Say so on stderr when the map's compiled kernels (with ``noise``) must be built first (a few
    seconds, once). A map of fewer than ``fastpath.SMALL`` starts runs on the engine rather than
    compile, unless ``small_too`` (probability maps always run compiled)."""
    from landscape_gui.core import fastpath
    from landscape_gui.core.optimizers import get_optimizer

    if args.resolution**2 < fastpath.SMALL and not small_too:
        return
    opt = get_optimizer(args.optimizer)
    if fastpath.needs_compile(surface, opt, opt.resolve(parse_sets(args.sets)), noise):
        print("compiling (first run only)", file=sys.stderr, flush=True)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "surfaces":
        from landscape_gui.core.surfaces import surface_entries

        rows = [(e.name, e.description) for e in surface_entries()]
    elif args.what == "schedules":
        rows = cli_lessons.list_schedules()
    else:
        from landscape_gui.core.optimizers import optimizers

        rows = [(o.name, o.description) for o in optimizers().values()]
        _report_plugin_errors()
    width = max(len(n) for n, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_window(args: argparse.Namespace) -> int:
    from landscape_gui.core.optimizers import get_optimizer

    # Validate what can be validated before a window exists, so bad input fails like the CLI.
    if args.screenshot is not None:
        from landscape_gui.core.fileio import check_output

        check_output(args.screenshot)
    if args.surface is not None or args.formula is not None:
        _surface(args)
    hp: dict[str, Any] = {}
    if args.optimizer is not None or args.sets:
        opt = get_optimizer(args.optimizer or "sgd")
        hp = opt.resolve(parse_sets(args.sets))
    try:
        from landscape_gui.qt.app import launch
    except ImportError as exc:
        raise LandscapeError(f"the window needs PySide6 and pyqtgraph ({exc})") from None
    return launch(surface=args.surface, formula=args.formula, optimizer=args.optimizer, hyperparameters=hp,
                  starts=list(args.start), screenshot=args.screenshot)


def _report_plugin_errors() -> None:
    """One warning line on stderr per installed optimizer plugin that failed to load."""
    from landscape_gui.core.optimizers import plugin_errors

    for msg in plugin_errors():
        print(f"{PROG}: warning: {_one_line(msg)}", file=sys.stderr)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``landscape-gui`` and ``python -m landscape_gui``."""
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    try:
        args = build_parser(argv).parse_args(argv)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "basins":
            return cmd_basins(args)
        if args.command == "sweep":
            from landscape_gui.cli_sweep import cmd_sweep

            return cmd_sweep(args)
        if args.command == "list":
            return cmd_list(args)
        if args.command in ("profile", "path", "spectrum"):
            from landscape_gui.cli_research import run_command

            return run_command(args)
        if args.command in cli_lessons.COMMANDS:
            return cli_lessons.COMMANDS[args.command](args)
        return cmd_window(args)
    except PluginError as exc:  # a third-party optimizer failed: not the user's input
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except LandscapeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: one line, no traceback unless asked for
        if os.environ.get("LANDSCAPE_GUI_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set LANDSCAPE_GUI_DEBUG=1 for details)",
              file=sys.stderr)
        return 1
