"""Session files: what a user set up, saved as JSON and reopened (no Qt here).

A session stores the *recipe*, not the results: surface (registry name or formula), bounds, grid
resolution, log-height flag, the current optimizer, the optimizers checked for comparison, every
optimizer's hyperparameters, the engine's step budget and tolerance, and each run's optimizer and
start. Runs are recomputed on open, so a session is small and always agrees with the code.

Example::

    {"format": "landscape-gui session", "version": 1,
     "surface": "himmelblau", "bounds": [-5, 5, -5, 5], "resolution": 200, "log_height": true,
     "optimizer": "sgd", "compare": ["sgd", "momentum"], "compare_mode": false,
     "hyperparameters": {"sgd": {"lr": 0.01, ...}},
     "max_steps": 1000, "tol": 1e-06,
     "runs": [{"optimizer": "sgd", "start": [1.0, 2.0]}]}

Reading validates everything and names the file, the line and the first problem
(:class:`LandscapeError`); nothing is applied from a file that fails. Values must be ones the window
can show: ``max_steps`` from 1 to 1,000,000, bounds finite within ±1e6 with min < max, a surface that
exists (an unknown name is reported as such, not as a formula error), known optimizers. Numbers are
at most 100 characters and nesting at most 32 levels (checked before decoding, so a file nested
100,000 deep is refused with its line instead of overflowing the parser's stack); a UTF-8 byte-order
mark is accepted. Writing is atomic (:func:`landscape_gui.core.fileio.open_output`).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from landscape_gui.core.engine import check_bounds
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import (
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    atomic_write_text,
    check_json_depth,
    json_locations,
    strip_bom,
)
from landscape_gui.core.optimizers import get_optimizer, optimizer_names

FORMAT = "landscape-gui session"
VERSION = 1
MAX_RESOLUTION = 1000


@dataclass
class Session:
    """The recipe of a window's state (see the module docstring for the JSON form)."""

    surface: str
    bounds: tuple[float, float, float, float]
    resolution: int = 200
    log_height: bool = False
    optimizer: str = "sgd"
    compare: list[str] = field(default_factory=list)
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_steps: int = 1000
    tol: float = 1e-6
    runs: list[tuple[str, float, float]] = field(default_factory=list)
    """``(optimizer, x, y)`` per run, in id order."""
    compare_mode: bool = False
    """Whether a click starts one run per optimizer of ``compare`` (files written before this field
    existed read as off: the list alone never said whether the mode was on)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "surface": self.surface,
            "bounds": [float(b) for b in self.bounds],
            "resolution": int(self.resolution),
            "log_height": bool(self.log_height),
            "optimizer": self.optimizer,
            "compare": list(self.compare),
            "compare_mode": bool(self.compare_mode),
            "hyperparameters": {k: dict(v) for k, v in self.hyperparameters.items()},
            "max_steps": int(self.max_steps),
            "tol": float(self.tol),
            "runs": [{"optimizer": o, "start": [float(x), float(y)]} for o, x, y in self.runs],
        }


def save_session(path: str | os.PathLike[str], session: Session) -> None:
    """Write ``session`` as indented JSON, atomically."""
    try:
        atomic_write_text(path, json.dumps(session.to_json(), indent=2) + "\n")
    except LandscapeError as exc:
        raise LandscapeError(f"cannot write session: {exc}") from None
    except OSError as exc:
        raise LandscapeError(f"cannot write session {os.fspath(path)!r}: {exc.strerror or exc}") from None


MAX_STEPS = 1_000_000
"""Largest step budget a session may hold (the window's spin box stops there)."""

MAX_BOUND = 1e6
"""Largest |bound| a session may hold: farther out the map cannot be drawn in single precision."""

MAX_BYTES = 64 * 1024 * 1024
"""A session file larger than this is refused (a session holds a recipe, not data)."""


class _Bad(LandscapeError):
    """A validation problem at a path of the decoded JSON (the reader turns the path into a line)."""

    def __init__(self, path: tuple, message: str) -> None:
        super().__init__(message)
        self.path = path


def _number(value: Any, what: str, path: tuple = ()) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Bad(path, f"{what} must be a finite number, got {_short(value)}")
    return float(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def check_surface_text(text: str) -> None:
    """Check that a session's ``surface`` names something the window can show: a catalogue surface,
    a network spec (``nn:...``, parsed, not built) or a valid formula. An unknown bare name is
    reported as an unknown surface (not as a formula error)."""
    from landscape_gui.core.surfaces import surface_names

    names = surface_names()
    if text in names:
        return
    if text.strip().startswith("nn:"):
        from landscape_gui.core.nn.slices import parse_spec

        parse_spec(text)
        return
    from landscape_gui.core.formula import formula_surface

    try:
        formula_surface(text)
    except LandscapeError as exc:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text.strip()):
            raise LandscapeError(f"unknown surface {text.strip()!r}; choose one of: {', '.join(names)}, "
                                 "or give a formula in x and y") from None
        raise LandscapeError(f"not a valid formula: {exc}") from None


def parse_session(data: Any) -> Session:
    """Validate a decoded JSON object and build a :class:`Session`; the first problem is named.

    Raises :class:`LandscapeError`; :func:`load_session` adds the file name and line.
    """
    if not isinstance(data, dict):
        raise _Bad((), "the file does not hold a JSON object")
    if data.get("format") != FORMAT:
        raise _Bad(("format",), f"not a landscape-gui session ('format' must be {FORMAT!r})")
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise _Bad(("version",), f"unsupported session version {_short(version)} (this program reads {VERSION})")
    surface = data.get("surface")
    if not isinstance(surface, str) or not surface.strip():
        raise _Bad(("surface",), "'surface' must be a surface name or a formula")
    try:
        check_surface_text(surface)
    except LandscapeError as exc:
        raise _Bad(("surface",), f"'surface': {exc}") from None
    bounds = data.get("bounds")
    if not isinstance(bounds, list) or len(bounds) != 4:
        raise _Bad(("bounds",), f"'bounds' must be a list of four numbers, got {_short(bounds)}")
    values = [_number(b, "'bounds'", ("bounds", k)) for k, b in enumerate(bounds)]
    if max(abs(v) for v in values) > MAX_BOUND:
        raise _Bad(("bounds",), f"'bounds' must lie within ±{MAX_BOUND:.0e}, got {_short(bounds)}")
    try:
        bounds_t = check_bounds(values)
    except LandscapeError as exc:
        raise _Bad(("bounds",), f"'bounds': {exc}") from None
    resolution = data.get("resolution", 200)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 8 <= resolution <= MAX_RESOLUTION:
        raise _Bad(("resolution",), f"'resolution' must be a whole number from 8 to {MAX_RESOLUTION}, "
                                    f"got {_short(resolution)}")
    log_height = data.get("log_height", False)
    if not isinstance(log_height, bool):
        raise _Bad(("log_height",), f"'log_height' must be true or false, got {_short(log_height)}")
    known = optimizer_names()

    def opt_name(value: Any, what: str, path: tuple) -> str:
        if not isinstance(value, str) or value not in known:
            raise _Bad(path, f"{what}: unknown optimizer {_short(value)}; known: {', '.join(known)}")
        return value

    optimizer = opt_name(data.get("optimizer", "sgd"), "'optimizer'", ("optimizer",))
    compare = data.get("compare", [])
    if not isinstance(compare, list):
        raise _Bad(("compare",), "'compare' must be a list of optimizer names")
    compare = [opt_name(c, "'compare'", ("compare", k)) for k, c in enumerate(compare)]
    compare_mode = data.get("compare_mode", False)
    if not isinstance(compare_mode, bool):
        raise _Bad(("compare_mode",), f"'compare_mode' must be true or false, got {_short(compare_mode)}")
    hps = data.get("hyperparameters", {})
    if not isinstance(hps, dict):
        raise _Bad(("hyperparameters",), "'hyperparameters' must map optimizer names to {name: value}")
    hyper: dict[str, dict[str, Any]] = {}
    for name, values_ in hps.items():
        path = ("hyperparameters", name)
        opt = get_optimizer(opt_name(name, "'hyperparameters'", path))
        if not isinstance(values_, dict):
            raise _Bad(path, f"'hyperparameters' of {name}: must be an object {{name: value}}")
        for key, v in values_.items():
            if not isinstance(v, (bool, int, float)):
                raise _Bad(path + (key,), f"'hyperparameters' of {name}: {key} must be a number or true/false, "
                                          f"got {_short(v)}")
            try:
                opt.hyperparameter(key).coerce(v)
            except LandscapeError as exc:
                raise _Bad(path + (key,), f"'hyperparameters' of {name}: {exc}") from None
        try:
            hyper[name] = opt.resolve(values_)
        except LandscapeError as exc:
            raise _Bad(path, f"'hyperparameters' of {name}: {exc}") from None
    max_steps = data.get("max_steps", 1000)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 1 <= max_steps <= MAX_STEPS:
        raise _Bad(("max_steps",), f"'max_steps' must be a whole number from 1 to {MAX_STEPS:,}, "
                                   f"got {_short(max_steps)}")
    tol = _number(data.get("tol", 1e-6), "'tol'", ("tol",))
    if tol < 0:
        raise _Bad(("tol",), f"'tol' must be >= 0, got {tol!r}")
    runs_raw = data.get("runs", [])
    if not isinstance(runs_raw, list):
        raise _Bad(("runs",), "'runs' must be a list")
    runs: list[tuple[str, float, float]] = []
    for k, r in enumerate(runs_raw, start=1):
        path = ("runs", k - 1)
        if not isinstance(r, dict):
            raise _Bad(path, f"run {k} of 'runs' must be an object with 'optimizer' and 'start'")
        o = opt_name(r.get("optimizer"), f"run {k}", path + ("optimizer",))
        start = r.get("start")
        if not isinstance(start, list) or len(start) != 2:
            raise _Bad(path + ("start",), f"run {k}: 'start' must be [x, y], got {_short(start)}")
        runs.append((o, _number(start[0], f"run {k} start x", path + ("start",)),
                     _number(start[1], f"run {k} start y", path + ("start",))))
    return Session(surface, bounds_t, resolution, log_height, optimizer, compare, hyper, max_steps, tol, runs,
                   compare_mode=compare_mode)


def _json_number(text: str) -> float | int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
    if any(c in text for c in ".eE"):
        v = float(text)
        if not math.isfinite(v):
            raise ValueError(f"{text} is too large for a double")
        return v
    return int(text)


def _json_constant(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON allows")


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file; problems raise :class:`LandscapeError` naming the file and,
    where there is one, the line."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise LandscapeError(f"cannot read session {name!r}: it is a folder") from None
    except OSError as exc:
        raise LandscapeError(f"cannot read session {name!r}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise LandscapeError(f"session {name!r} is larger than {MAX_BYTES // 2**20} MB; not a session file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LandscapeError(f"session {name!r}, line {line}: not UTF-8 text") from None
    text = strip_bom(text)
    deep = check_json_depth(text, MAX_JSON_DEPTH)
    if deep is not None:
        raise LandscapeError(f"session {name!r}, line {deep[0]}: nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(text, parse_int=_json_number, parse_float=_json_number, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise LandscapeError(f"session {name!r}, line {exc.lineno}: not valid JSON: {exc.msg} "
                             f"(column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise LandscapeError(f"session {name!r}: not valid JSON: {exc}") from None
    try:
        return parse_session(data)
    except _Bad as exc:
        line = _line_of(text, exc.path)
        where = f", line {line}" if line else ""
        raise LandscapeError(f"session {name!r}{where}: {exc}") from None
    except LandscapeError as exc:
        raise LandscapeError(f"session {name!r}: {exc}") from None


def _line_of(text: str, path: tuple) -> int | None:
    """The line of ``path`` in ``text`` (or of its nearest enclosing key), None for the whole file."""
    if not path:
        return None
    where = json_locations(text, max_depth=len(path))
    for n in range(len(path), 0, -1):
        if path[:n] in where:
            return where[path[:n]]
    return None
