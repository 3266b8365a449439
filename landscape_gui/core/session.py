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

Reading validates everything and names the first problem (:class:`LandscapeError`); nothing is
applied from a file that fails. Writing is atomic (temporary file in the same folder, ``os.replace``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from landscape_gui.core.engine import check_bounds
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import atomic_write_text
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


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LandscapeError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def parse_session(data: Any) -> Session:
    """Validate a decoded JSON object and build a :class:`Session`; the first problem is named."""
    if not isinstance(data, dict):
        raise LandscapeError("the file does not hold a JSON object")
    if data.get("format") != FORMAT:
        raise LandscapeError(f"not a landscape-gui session ('format' must be {FORMAT!r})")
    if data.get("version") != VERSION:
        raise LandscapeError(f"unsupported session version {data.get('version')!r} (this program reads {VERSION})")
    surface = data.get("surface")
    if not isinstance(surface, str) or not surface.strip():
        raise LandscapeError("'surface' must be a surface name or a formula")
    bounds = data.get("bounds")
    if not isinstance(bounds, list) or len(bounds) != 4:
        raise LandscapeError(f"'bounds' must be a list of four numbers, got {bounds!r}")
    bounds_t = check_bounds([_number(b, "'bounds'") for b in bounds])
    resolution = data.get("resolution", 200)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 8 <= resolution <= MAX_RESOLUTION:
        raise LandscapeError(f"'resolution' must be a whole number from 8 to {MAX_RESOLUTION}, got {resolution!r}")
    log_height = data.get("log_height", False)
    if not isinstance(log_height, bool):
        raise LandscapeError(f"'log_height' must be true or false, got {log_height!r}")
    known = optimizer_names()

    def opt_name(value: Any, what: str) -> str:
        if not isinstance(value, str) or value not in known:
            raise LandscapeError(f"{what}: unknown optimizer {value!r}; known: {', '.join(known)}")
        return value

    optimizer = opt_name(data.get("optimizer", "sgd"), "'optimizer'")
    compare = data.get("compare", [])
    if not isinstance(compare, list):
        raise LandscapeError("'compare' must be a list of optimizer names")
    compare = [opt_name(c, "'compare'") for c in compare]
    compare_mode = data.get("compare_mode", False)
    if not isinstance(compare_mode, bool):
        raise LandscapeError(f"'compare_mode' must be true or false, got {compare_mode!r}")
    hps = data.get("hyperparameters", {})
    if not isinstance(hps, dict):
        raise LandscapeError("'hyperparameters' must map optimizer names to {name: value}")
    hyper: dict[str, dict[str, Any]] = {}
    for name, values in hps.items():
        opt = get_optimizer(opt_name(name, "'hyperparameters'"))
        if not isinstance(values, dict):
            raise LandscapeError(f"'hyperparameters' of {name}: must be an object {{name: value}}")
        try:
            hyper[name] = opt.resolve(values)
        except LandscapeError as exc:
            raise LandscapeError(f"'hyperparameters' of {name}: {exc}") from None
    max_steps = data.get("max_steps", 1000)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 0 <= max_steps <= 10_000_000:
        raise LandscapeError(f"'max_steps' must be a whole number >= 0, got {max_steps!r}")
    tol = _number(data.get("tol", 1e-6), "'tol'")
    if tol < 0:
        raise LandscapeError(f"'tol' must be >= 0, got {tol!r}")
    runs_raw = data.get("runs", [])
    if not isinstance(runs_raw, list):
        raise LandscapeError("'runs' must be a list")
    runs: list[tuple[str, float, float]] = []
    for k, r in enumerate(runs_raw, start=1):
        if not isinstance(r, dict):
            raise LandscapeError(f"run {k} of 'runs' must be an object with 'optimizer' and 'start'")
        o = opt_name(r.get("optimizer"), f"run {k}")
        start = r.get("start")
        if not isinstance(start, list) or len(start) != 2:
            raise LandscapeError(f"run {k}: 'start' must be [x, y], got {start!r}")
        runs.append((o, _number(start[0], f"run {k} start x"), _number(start[1], f"run {k} start y")))
    return Session(surface, bounds_t, resolution, log_height, optimizer, compare, hyper, max_steps, tol, runs,
                   compare_mode=compare_mode)


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file; problems raise :class:`LandscapeError` naming the file."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise LandscapeError(f"cannot read session {name!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LandscapeError(f"session {name!r} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LandscapeError(f"session {name!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    try:
        return parse_session(data)
    except LandscapeError as exc:
        raise LandscapeError(f"session {name!r}: {exc}") from None
