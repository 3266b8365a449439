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


def fan_runs(surface: Any, opt: Any, starts: Any, hp: Any, args: argparse.Namespace, bounds: Any) -> list | None:
    """``run --fan N``: the runs of :func:`landscape_gui.core.stochastic.fan` in id order, or None
    when no fan was asked for."""
    if args.fan <= 1:
        return None
    noise = noise_from_args(args)
    if noise is None:
        raise LandscapeError("--fan needs --noise S (or --batch-size B): without noise every run of a fan is the same")
    from landscape_gui.core.stochastic import fan

    groups = fan(surface, opt, starts, args.fan, noise, hp, bounds=bounds, max_steps=args.max_steps, tol=args.tol,
                 schedule=schedule_from_args(args))
    return [r for g in groups for r in g]


def cmd_probability_basins(args: argparse.Namespace) -> int:
    """``basins --noise S [--samples K]``: a probability map and its files."""
    from landscape_gui.cli import _surface, parse_sets
    from landscape_gui.core.basins import terminal_progress
    from landscape_gui.core.stochastic import probability_map, write_probability_outputs

    noise = noise_from_args(args)
    if noise is None:
        raise LandscapeError("--samples needs --noise S (or --batch-size B): without noise every sample is the same")
    surface = _surface(args)
    k = args.samples if args.samples is not None else 16
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
