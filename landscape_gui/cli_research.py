"""Researchers' sub-commands: ``profile``, ``path`` and ``spectrum``, and ``run --sharpness``.

Registered by :mod:`landscape_gui.cli` (which imports this module only when building its parser;
it imports nothing heavy at the top, so it adds nothing to the CLI's start-up);
the numerics live in :mod:`landscape_gui.core.profile`, :mod:`landscape_gui.core.neb`,
:mod:`landscape_gui.core.spectrum` and :mod:`landscape_gui.core.sharpness`.

CSV files are written atomically (``-o -`` writes to stdout); summaries go to stdout, or to stderr
when the CSV itself goes to stdout.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Any, Sequence, TextIO

from landscape_gui.core.errors import LandscapeError

COMMANDS = ("profile", "path", "spectrum")
SHARPNESS_COLUMNS = ("sharpness", "lr")


def _num(v: float) -> str:
    return repr(float(v))


def add_parsers(sub: Any) -> None:
    """Add the ``profile``, ``path`` and ``spectrum`` sub-commands to ``sub`` (argparse subparsers)."""
    from landscape_gui.cli import _add_surface_options, _arg, _positive_int, parse_pair

    def pair(option: str):
        return _arg(lambda text: parse_pair(text, option))

    p = sub.add_parser(
        "profile", help="the loss along a straight segment, with its barrier, as CSV",
        description="Sample the loss along the segment between two points and write t,x,y,loss "
        "(and accuracy for a classification network: on a network slice the segment is the linear "
        "interpolation between two networks). Prints the highest point and the barrier from each end.")
    _add_surface_options(p, required=True)
    p.add_argument("--from", dest="start", metavar="X,Y", type=pair("--from"),
                   help="first end (--from=-0.5,1.4 for negatives)")
    p.add_argument("--to", dest="end", metavar="X,Y", type=pair("--to"), help="second end")
    p.add_argument("--networks", metavar="NET1,NET2",
                   help="instead of --from/--to on an nn: surface: interpolate two networks in full weight space, "
                   "each init[@SEED], trained[@SEED] or OPT:LR[@SEED] (e.g. --networks adam:0.05,sgd:0.5@1)")
    p.add_argument("--range", dest="alpha_range", metavar="LO,HI", type=pair("--range"), default=(0.0, 1.0),
                   help="with --networks: interpolation weights α from LO to HI (default 0,1; e.g. --range=-0.5,1.5)")
    p.add_argument("--points", metavar="N", type=_arg(_positive_int("--points", 2, 100_000)), default=101,
                   help="samples along the segment, ends included (default 101)")
    p.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="where to write the CSV ('-' = stdout)")

    q = sub.add_parser(
        "path", help="minimum-energy path and saddle between two minima (climbing-image NEB)",
        description="Find the minimum-energy path between the minima at --from and --to (each relaxed "
        "to the exact minimum first) by a climbing-image nudged elastic band, refine its saddle by "
        "Newton's method and check it has exactly one negative Hessian eigenvalue. Writes "
        "image,x,y,loss,grad_x,grad_y,kind (kind: end, image, saddle) and prints 'saddle X Y LOSS'.")
    _add_surface_options(q, required=True)
    q.add_argument("--from", dest="start", metavar="X,Y", required=True, type=pair("--from"),
                   help="a point in the first minimum's basin")
    q.add_argument("--to", dest="end", metavar="X,Y", required=True, type=pair("--to"),
                   help="a point in the second minimum's basin")
    q.add_argument("--images", metavar="N", type=_arg(_positive_int("--images", 3, 1000)), default=21,
                   help="images on the band, ends included (default 21)")
    q.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="where to write the CSV ('-' = stdout)")

    s = sub.add_parser(
        "spectrum", help="Hessian eigenvalues of a network at a point of its slice",
        description="Eigenvalues of the full Hessian of a network's loss (every weight) at a point of "
        "an nn: slice: all of them for small networks (exact), the top K by Lanczos for larger ones. "
        "Writes index,eigenvalue (ascending) and prints lambda_max, trace and condition number.")
    s.add_argument("--surface", metavar="SPEC", required=True, help="an nn: spec (see the README)")
    s.add_argument("--at", metavar="A,B", type=pair("--at"), default=(0.0, 0.0),
                   help="plane point (default 0,0: the slice's centre)")
    s.add_argument("--top", metavar="K", type=_arg(_positive_int("--top", 1, 1000)), default=None,
                   help="only the K largest eigenvalues, by Lanczos (default: all when the network is small)")
    s.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="where to write the CSV ('-' = stdout)")


def _check_output(path: str) -> None:
    """Refuse a missing folder before any work is done."""
    if path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LandscapeError(f"cannot write {path}: folder {os.path.dirname(path) or folder} does not exist")


def _write(path: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    if path == "-":
        sys.stdout.write(buf.getvalue())
        return
    from landscape_gui.core.fileio import atomic_write_text

    atomic_write_text(path, buf.getvalue())


def _report_stream(path: str) -> TextIO:
    return sys.stderr if path == "-" else sys.stdout


def run_command(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS`."""
    _check_output(args.output)
    if args.command == "profile":
        return _cmd_profile(args)
    if args.command == "path":
        return _cmd_path(args)
    return _cmd_spectrum(args)


def _cmd_profile(args: argparse.Namespace) -> int:
    from landscape_gui.cli import _surface
    from landscape_gui.core.profile import segment_profile

    if args.networks is not None:
        if args.start is not None or args.end is not None:
            raise LandscapeError("give either --from/--to (a segment) or --networks (two networks), not both")
        return _cmd_interpolate(args)
    if args.start is None or args.end is None:
        raise LandscapeError("profile needs --from=X,Y and --to=X,Y (or --networks NET1,NET2 on an nn: surface)")
    surface = _surface(args)
    prof = segment_profile(surface, args.start, args.end, args.points)
    header = ["t", "x", "y", "loss"] + (["accuracy"] if prof.accuracy is not None else [])
    rows = []
    for k in range(len(prof.t)):
        row = [_num(prof.t[k]), _num(prof.points[k, 0]), _num(prof.points[k, 1]), _num(prof.loss[k])]
        if prof.accuracy is not None:
            row.append(_num(prof.accuracy[k]))
        rows.append(row)
    _write(args.output, header, rows)
    out = _report_stream(args.output)
    print(f"peak {_num(prof.peak_point[0])} {_num(prof.peak_point[1])} {_num(prof.peak_loss)}", file=out)
    print(f"barrier {_num(prof.barrier_from_start)} {_num(prof.barrier_from_end)}", file=out)
    if args.output != "-":
        print(f"wrote {len(rows)} points to {args.output}; barrier {prof.barrier_from_start:.6g} from the start, "
              f"{prof.barrier_from_end:.6g} from the end", file=sys.stderr)
    return 0


def _cmd_interpolate(args: argparse.Namespace) -> int:
    """``profile --networks``: loss (and accuracy) along ``(1 − α) θ1 + α θ2`` in full weight space."""
    from landscape_gui.cli import _surface
    from landscape_gui.core.directions import networks_from_tokens
    from landscape_gui.core.profile import interpolate_networks

    if args.formula is not None or not args.surface.startswith("nn:"):
        raise LandscapeError("--networks needs a network surface: --surface nn:...")
    surface = _surface(args)
    nets = networks_from_tokens(surface, args.networks, "--networks")
    if len(nets) != 2:
        raise LandscapeError(f"--networks takes two networks, got {len(nets)}")
    interp = interpolate_networks(surface, nets[0], nets[1], args.points, args.alpha_range)
    header = ["alpha", "loss"] + (["accuracy"] if interp.accuracy is not None else [])
    rows = []
    for k in range(len(interp.alpha)):
        row = [_num(interp.alpha[k]), _num(interp.loss[k])]
        if interp.accuracy is not None:
            row.append(_num(interp.accuracy[k]))
        rows.append(row)
    _write(args.output, header, rows)
    out = _report_stream(args.output)
    print(f"barrier {_num(interp.barrier)}", file=out)
    print(f"linear_barrier {_num(interp.linear_barrier)}", file=out)
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    from landscape_gui.cli import _surface
    from landscape_gui.core.neb import nudged_elastic_band

    surface = _surface(args)
    path = nudged_elastic_band(surface, args.start, args.end, args.images)
    rows = [[i, _num(path.points[i, 0]), _num(path.points[i, 1]), _num(path.losses[i]),
             _num(path.grads[i, 0]), _num(path.grads[i, 1]), path.kinds[i]] for i in range(len(path.points))]
    _write(args.output, ["image", "x", "y", "loss", "grad_x", "grad_y", "kind"], rows)
    out = _report_stream(args.output)
    for s in path.saddles:
        print(f"saddle {_num(s.x)} {_num(s.y)} {_num(s.loss)}", file=out)
    if args.output != "-":
        note = "" if path.converged else " (band not fully relaxed; saddles refined by Newton all the same)"
        print(f"wrote {len(rows)} images to {args.output}: {len(path.saddles)} saddle"
              f"{'s' if len(path.saddles) != 1 else ''}; barrier {path.barrier_forward:.6g} from the start, "
              f"{path.barrier_backward:.6g} from the end{note}", file=sys.stderr)
    return 0


def _cmd_spectrum(args: argparse.Namespace) -> int:
    import numpy as np

    from landscape_gui.core.spectrum import EXACT_MAX, hessian_spectrum
    from landscape_gui.core.surfaces import surface_from_spec

    if not args.surface.startswith("nn:"):
        raise LandscapeError("spectrum needs a network surface: --surface nn:...")
    surface = surface_from_spec(args.surface)
    theta = surface.theta(np.array([args.at]))[0]
    exact = args.top is None and surface.n_params <= EXACT_MAX
    if args.top is None and not exact:
        raise LandscapeError(f"the network has {surface.n_params} weights, more than {EXACT_MAX} for a full "
                             "decomposition; give --top K")
    spec = hessian_spectrum(surface, theta, top_k=args.top or 1, exact=exact)
    vals = spec.eigenvalues
    _write(args.output, ["index", "eigenvalue"], [[i, _num(v)] for i, v in enumerate(vals)])
    out = _report_stream(args.output)
    print(f"lambda_max {_num(spec.lambda_max)}", file=out)
    if spec.exact:
        print(f"trace {_num(spec.trace)}", file=out)
        print(f"condition {_num(spec.condition_number)}", file=out)
        print(f"negative {spec.n_negative}", file=out)
    else:
        print(f"trace {_num(spec.trace)} ± {_num(spec.trace_stderr)} (Hutchinson estimate)", file=out)
    return 0


def add_sharpness(surface: Any, runs: list) -> tuple[str, ...]:
    """Fill each run's ``extras`` with ``sharpness`` (``λ_max`` of the exact Hessian of the surface at
    each row) and ``lr`` (the learning rate in force for the update leaving the row); return the
    column names to append."""
    from landscape_gui.core.sharpness import run_sharpness

    for r in runs:
        series = run_sharpness(surface, r, full_space=False)
        r.extras["sharpness"] = series.sharpness
        r.extras["lr"] = series.lr
    return SHARPNESS_COLUMNS


__all__ = ["COMMANDS", "SHARPNESS_COLUMNS", "add_parsers", "add_sharpness", "run_command"]
