"""Command-line parts for teaching: schedules and noise on ``run``/``basins``, probability maps,
``animate`` and ``race``.

``cli.py`` registers these with a few lines; everything numeric lives in the core
(:mod:`landscape_gui.core.schedules`, :mod:`~landscape_gui.core.noise`,
:mod:`~landscape_gui.core.stochastic`, :mod:`~landscape_gui.core.animation`,
:mod:`~landscape_gui.core.race`). Errors are :class:`LandscapeError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from landscape_gui.core.errors import LandscapeError


def _arg(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    from landscape_gui.cli import _arg as wrap

    return wrap(fn)


def _whole(option: str, low: int, high: int | None = None) -> Callable[[str], int]:
    from landscape_gui.cli import _positive_int

    return _arg(_positive_int(option, low, high))


def _nonneg(option: str) -> Callable[[str], float]:
    from landscape_gui.cli import _nonneg_float

    return _arg(_nonneg_float(option))


# --------------------------------------------------------------------------------------------------
# Options shared by run and basins


def add_schedule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", metavar="NAME",
                   help="learning-rate schedule, torch's semantics (see 'landscape-gui list schedules')")
    p.add_argument("--schedule-set", metavar="KEY=VALUE", action="append", default=[], dest="schedule_sets",
                   help="set a schedule hyperparameter, e.g. --schedule-set T_max=500 (repeatable)")


def add_noise_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--noise", metavar="S", type=_nonneg("--noise"), default=0.0,
                   help="add Gaussian noise of standard deviation S to every gradient (default 0: none)")
    p.add_argument("--noise-seed", metavar="N", type=_whole("--noise-seed", 0), default=0,
                   help="seed of the noise and of mini-batches (default 0)")
    p.add_argument("--batch-size", metavar="B", type=_whole("--batch-size", 1), default=0,
                   help="network surfaces: use the gradient of a random mini-batch of B samples")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """``run``: schedule, noise and ``--fan``."""
    add_schedule_options(p)
    add_noise_options(p)
    p.add_argument("--fan", metavar="N", type=_whole("--fan", 1, 100_000), default=1,
                   help="N noisy runs from each start (needs --noise or --batch-size); ids grouped by start")


def add_basin_options(p: argparse.ArgumentParser) -> None:
    """``basins``: schedule, noise and ``--samples`` (a probability map)."""
    add_schedule_options(p)
    add_noise_options(p)
    p.add_argument("--samples", metavar="K", type=_whole("--samples", 1, 4096), default=None,
                   help="with noise: K seeded runs per cell; writes probabilities and entropy (default 16)")


def schedule_from_args(args: argparse.Namespace):
    """The :class:`ScheduleSetting` asked for, or None."""
    from landscape_gui.cli import parse_sets

    name = getattr(args, "schedule", None)
    sets = getattr(args, "schedule_sets", [])
    if name is None:
        if sets:
            raise LandscapeError("--schedule-set needs --schedule NAME")
        return None
    from landscape_gui.core.schedules import make_schedule

    try:
        items = parse_sets(sets)
    except LandscapeError as exc:
        raise LandscapeError(str(exc).replace("--set takes", "--schedule-set takes").replace(
            "--set lr=0.05", "--schedule-set gamma=0.5")) from None
    return make_schedule(name, items)


def noise_from_args(args: argparse.Namespace):
    """The :class:`GradientNoise` asked for, or None when there is none."""
    scale = getattr(args, "noise", 0.0) or 0.0
    batch = getattr(args, "batch_size", 0) or 0
    if scale == 0 and batch == 0:
        return None
    from landscape_gui.core.noise import GradientNoise

    return GradientNoise(scale, getattr(args, "noise_seed", 0), batch)


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """``schedule=`` and ``noise=`` keyword arguments for the engine."""
    return {"schedule": schedule_from_args(args), "noise": noise_from_args(args)}


def fan_count(args: argparse.Namespace) -> int:
    """``--fan N``: the runs from each start (1 without a fan); a fan needs noise."""
    if args.fan > 1 and noise_from_args(args) is None:
        raise LandscapeError("--fan needs --noise S (or --batch-size B): without noise every run of a fan is the same")
    return args.fan


def fan_runs(surface: Any, opt: Any, starts: Any, hp: Any, args: argparse.Namespace, bounds: Any) -> list | None:
    """``animate --fan N``: the runs of :func:`landscape_gui.core.stochastic.fan` in id order, or None
    when no fan was asked for (``run --fan`` streams its runs instead: ``write_runs_csv(repeat=N)``)."""
    if fan_count(args) <= 1:
        return None
    from landscape_gui.core.stochastic import fan

    groups = fan(surface, opt, starts, args.fan, noise_from_args(args), hp, bounds=bounds, max_steps=args.max_steps,
                 tol=args.tol, schedule=schedule_from_args(args))
    return [r for g in groups for r in g]


def cmd_probability_basins(args: argparse.Namespace) -> int:
    """``basins --noise S [--samples K]``: a probability map and its files."""
    from landscape_gui.cli import _compile_notice, _surface, parse_sets
    from landscape_gui.core.basins import terminal_progress
    from landscape_gui.core.stochastic import probability_map, write_probability_outputs

    noise = noise_from_args(args)
    if noise is None:
        raise LandscapeError("--samples needs --noise S (or --batch-size B): without noise every sample is the same")
    surface = _surface(args)
    k = args.samples if args.samples is not None else 16
    _compile_notice(surface, args, noise, small_too=True)
    pmap = probability_map(surface, args.optimizer, noise, k, parse_sets(args.sets), args.bounds, args.resolution,
                           args.max_steps, args.tol, progress=terminal_progress(sys.stderr, "probability map"),
                           schedule=schedule_from_args(args))
    paths = write_probability_outputs(args.output, pmap)
    shares = ", ".join(f"minimum {i}: {100 * s:.1f} %" for i, s in pmap.shares().items())
    print(f"wrote {', '.join(paths)}: {pmap.resolution}×{pmap.resolution} cells × {k} runs "
          f"({shares or 'no minimum reached'}; mean entropy {pmap.entropy.mean():.3f} bits)", file=sys.stderr)
    return 0


def wants_probability_map(args: argparse.Namespace) -> bool:
    return args.samples is not None or noise_from_args(args) is not None


def list_schedules() -> list[tuple[str, str]]:
    from landscape_gui.core.schedules import plugin_errors, schedules

    for msg in plugin_errors():
        print(f"warning: {msg}", file=sys.stderr)
    return [(s.name, s.description) for s in schedules().values()]


# --------------------------------------------------------------------------------------------------
# Sub-commands of their own

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def add_commands(sub: Any) -> None:
    """Register ``animate`` and ``race`` on the sub-parser action ``sub``."""
    for register in _REGISTRARS:
        register(sub)


_REGISTRARS: list[Callable[[Any], None]] = []


# ---- animate ---------------------------------------------------------------------------------------


def parse_frames(text: str) -> tuple[int, int | None]:
    """``"A:B"`` -> steps A to B inclusive; ``"A:"`` to the end; ``":B"`` from 0."""
    a, sep, b = text.partition(":")
    try:
        if not sep:
            raise ValueError
        first = int(a) if a.strip() else 0
        last = int(b) if b.strip() else None
    except ValueError:
        raise LandscapeError(f"--frames takes A:B (steps A to B, e.g. --frames 0:200 or --frames 50:), got {text!r}") \
            from None
    if first < 0 or (last is not None and last < first):
        raise LandscapeError(f"--frames takes steps A <= B, both >= 0, got {text!r}")
    return first, last


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` (``x`` or ``×``) -> (width, height)."""
    from landscape_gui.core.animation import check_size

    parts = text.lower().replace("×", "x").split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        w, h = int(parts[0]), int(parts[1])
    except ValueError:
        raise LandscapeError(f"--size takes WIDTHxHEIGHT in pixels, e.g. --size 640x480, got {text!r}") from None
    return check_size((w, h))


def _register_animate(sub: Any) -> None:
    from landscape_gui.cli import _Parser, _add_optimizer_options, _add_run_limits, _add_surface_options, parse_pair

    p = sub.add_parser("animate", help="export runs on the map as a GIF or MP4 (no display needed)",
                       description="Run an optimizer from starting points and write the map's playback as an "
                                   "animated GIF or an MP4 video, one frame per step.")
    _add_surface_options(p, required=True)
    _add_optimizer_options(p, required=True)
    p.add_argument("--start", metavar="X,Y", action="append", default=[], type=_arg(parse_pair),
                   help="a starting point (repeatable; --start=-3,2 for negatives)")
    p.add_argument("--grid", metavar="N", type=_whole("--grid", 1, 50), help="N×N starts at the cell centres")
    _add_run_limits(p)
    add_run_options(p)
    p.add_argument("--fps", metavar="N", type=_arg(_fps), default=30.0, help="frames per second (default 30)")
    p.add_argument("--frames", metavar="A:B", type=_arg(parse_frames), default=(0, None),
                   help="steps A to B inclusive (default: all steps)")
    p.add_argument("--every", metavar="K", type=_whole("--every", 1), default=1,
                   help="one frame every K steps (default 1)")
    p.add_argument("--size", metavar="WxH", type=_arg(parse_size), default=(640, 480),
                   help="frame size in pixels (default 640x480)")
    p.add_argument("-o", "--output", metavar="FILE.gif|FILE.mp4", required=True, help="the animation to write")
    assert isinstance(p, _Parser)
    COMMANDS["animate"] = cmd_animate


def _fps(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise LandscapeError(f"--fps takes a number, got {text!r}") from None
    if not (0 < v <= 120):
        raise LandscapeError(f"--fps takes a number above 0 and at most 120, got {text!r}")
    return v


def _check_animation_target(path: str, size: tuple[int, int]) -> None:
    import os

    from landscape_gui.core.animation import FORMATS

    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise LandscapeError(f"an animation must end in .gif or .mp4, got {path!r}")
    if ext == ".mp4" and (size[0] % 2 or size[1] % 2):
        raise LandscapeError(f"MP4 needs an even width and height, got {size[0]}×{size[1]}")


def cmd_animate(args: argparse.Namespace) -> int:
    import numpy as np

    from landscape_gui.cli import _surface, parse_sets
    from landscape_gui.core import engine
    from landscape_gui.core.animation import MapFrames, export_animation
    from landscape_gui.core.basins import terminal_progress
    from landscape_gui.core.optimizers import get_optimizer
    from landscape_gui.core.starts import grid_starts

    _check_animation_target(args.output, args.size)
    surface = _surface(args)
    opt = get_optimizer(args.optimizer)
    hp = opt.resolve(parse_sets(args.sets))
    bounds = args.bounds if args.bounds is not None else surface.bounds
    blocks = [np.array(args.start, dtype=float).reshape(-1, 2)]
    if args.grid:
        blocks.append(grid_starts(bounds, args.grid))
    starts = np.concatenate(blocks)
    if len(starts) == 0:
        raise LandscapeError("no starting points: give --start=X,Y or --grid N")
    runs = fan_runs(surface, opt, starts, hp, args, bounds) or engine.run_many(
        surface, opt, starts, hp, bounds=bounds, max_steps=args.max_steps, tol=args.tol, **run_options(args))
    frames = MapFrames(surface, runs, bounds, args.size)
    first, last = args.frames
    if first > frames.last_step:
        raise LandscapeError(f"--frames starts at step {first}, but the runs end by step {frames.last_step}")
    steps = frames.steps(first, min(last, frames.last_step) if last is not None else None, args.every)
    n = export_animation(frames, args.output, steps, args.fps, progress=terminal_progress(sys.stderr, "frames"))
    w, h = frames.size
    print(f"wrote {n} frames ({w}×{h}, steps {steps[0]}..{steps[-1]}, {args.fps:g} fps) of {len(runs)} runs to "
          f"{args.output}", file=sys.stderr)
    return 0


_REGISTRARS.append(_register_animate)


# ---- race ------------------------------------------------------------------------------------------


def _register_race(sub: Any) -> None:
    from landscape_gui.cli import _add_surface_options, parse_bounds, parse_pair

    p = sub.add_parser("race", help="tune optimizers with the same budget and starts, then rank them",
                       description="A fair race: every optimizer's hyperparameters are tuned by a seeded TPE search "
                                   "(Optuna) with the same number of trials and the same starts, then ranked by "
                                   "the objective. Writes the leaderboard as CSV.")
    _add_surface_options(p, required=True)
    p.add_argument("--optimizers", metavar="A,B,...", required=True,
                   help="the optimizers to race, comma-separated (see 'landscape-gui list optimizers')")
    p.add_argument("--objective", choices=["final_loss", "steps_to_tol", "global_share"], default="final_loss",
                   help="final_loss: loss above the global minimum after --steps (default); steps_to_tol: steps "
                        "until within --tol of it; global_share: share of starts ending at a global minimum")
    p.add_argument("--steps", metavar="N", type=_whole("--steps", 1, 1_000_000), default=200,
                   help="updates per run (default 200)")
    p.add_argument("--tol", metavar="T", type=_nonneg("--tol"), default=1e-3,
                   help="steps_to_tol: the loss gap that counts as arrived (default 1e-3)")
    p.add_argument("--radius", metavar="R", type=_nonneg("--radius"), default=None,
                   help="global_share: distance to a global minimum that counts (default 1%% of the diagonal)")
    p.add_argument("--budget", metavar="K", type=_whole("--budget", 1, 10_000), default=30,
                   help="trials per optimizer (default 30; trial 1 is the default setting)")
    p.add_argument("--seed", metavar="S", type=_whole("--seed", 0), default=0,
                   help="seed of the search and of --starts (default 0)")
    p.add_argument("--starts", metavar="N", type=_whole("--starts", 1, 100_000), default=None,
                   help="N random starts in the bounds, seeded by --seed (default 16 when no --start)")
    p.add_argument("--start", metavar="X,Y", action="append", default=[], type=_arg(parse_pair),
                   help="a starting point (repeatable)")
    p.add_argument("--bounds", metavar="XMIN,XMAX,YMIN,YMAX", type=_arg(parse_bounds),
                   help="domain (default: the surface's own bounds)")
    p.add_argument("--tune", metavar="NAME,...", default=None,
                   help="hyperparameters to search for every optimizer (default: lr, momentum-like and bounded "
                        "ones; not weight_decay, eps, dampening, flags)")
    p.add_argument("--set", metavar="OPT.KEY=VALUE", action="append", default=[], dest="sets",
                   help="the setting trial 1 starts from, e.g. --set sgd.lr=0.001 (repeatable)")
    p.add_argument("--runs", metavar="FILE.csv", help="also write the runs of every tuned optimizer as trajectory CSV")
    p.add_argument("--animate", metavar="FILE.gif|FILE.mp4",
                   help="also write the race as small multiples, one map per optimizer, played in step")
    p.add_argument("--size", metavar="WxH", type=_arg(parse_size), default=(320, 240),
                   help="--animate: size of each map (default 320x240)")
    p.add_argument("--fps", metavar="N", type=_arg(_fps), default=30.0, help="--animate: frames per second")
    p.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="the leaderboard CSV ('-' = stdout)")
    COMMANDS["race"] = cmd_race


def _race_sets(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        opt, dot, name = key.strip().partition(".")
        if not sep or not dot or not opt or not name or not value.strip():
            raise LandscapeError(f"--set takes OPTIMIZER.KEY=VALUE, e.g. --set sgd.lr=0.001, got {item!r}")
        out.setdefault(opt, {})[name.strip()] = value.strip()
    return out


def cmd_race(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from landscape_gui.cli import _surface
    from landscape_gui.core.basins import terminal_progress
    from landscape_gui.core.export import write_csv
    from landscape_gui.core.fileio import atomic_write_text
    from landscape_gui.core.race import leaderboard_csv_text, leaderboard_text, race
    from landscape_gui.core.starts import random_starts

    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    if not names:
        raise LandscapeError("--optimizers takes names separated by commas, e.g. --optimizers sgd,adam")
    base = _race_sets(args.sets)
    unknown = sorted(set(base) - set(names))
    if unknown:
        raise LandscapeError(f"--set names {', '.join(unknown)}, which is not racing (racing: {', '.join(names)})")
    surface = _surface(args)
    bounds = args.bounds if args.bounds is not None else surface.bounds
    blocks = [np.array(args.start, dtype=float).reshape(-1, 2)]
    if args.starts or not args.start:
        blocks.append(random_starts(bounds, args.starts or 16, args.seed))
    starts = np.concatenate(blocks)
    tune = None if args.tune is None else [t.strip() for t in args.tune.split(",") if t.strip()]
    if args.animate is not None:
        _check_animation_target(args.animate, args.size)
    result = race(surface, names, starts, objective=args.objective, steps=args.steps, tol=args.tol,
                  radius=args.radius, budget=args.budget, seed=args.seed, tune=tune, base=base, bounds=bounds,
                  progress=terminal_progress(sys.stderr, "race"))
    text = leaderboard_csv_text(result)
    if args.runs:
        n = len(starts)
        runs = [dataclasses.replace(r, id=k * n + i + 1) for k, e in enumerate(result.entries)
                for i, r in enumerate(e.runs)]
        write_csv(args.runs, runs)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(args.output, text)
    if args.animate is not None:
        from landscape_gui.core.animation import MapFrames, TiledFrames, export_animation

        tiles = TiledFrames([MapFrames(surface, e.runs, bounds, args.size) for e in result.entries],
                            [f"{e.rank}. {e.optimizer}  {e.score:.4g}" for e in result.entries])
        n = export_animation(tiles, args.animate, tiles.steps(), args.fps, progress=terminal_progress(sys.stderr,
                                                                                                      "frames"))
        print(f"wrote {n} frames of the race to {args.animate}", file=sys.stderr)
    sys.stderr.write(leaderboard_text(result))
    if args.output != "-":
        print(f"wrote the leaderboard of {len(names)} optimizers to {args.output}", file=sys.stderr)
    return 0


_REGISTRARS.append(_register_race)
