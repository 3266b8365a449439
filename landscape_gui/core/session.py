"""Session files: what a user set up, saved as JSON and reopened (no Qt here).

A session stores the *recipe*, not the results: surface (registry name or formula), bounds, grid
resolution, log-height flag, the current optimizer, the optimizers checked for comparison, every
optimizer's hyperparameters, the engine's step budget and tolerance, and each run's optimizer and
start. Runs are recomputed on open, so a session is small and always agrees with the code.

Example::

    {"format": "landscape-gui session", "version": 1,
     "surface": "himmelblau", "bounds": [-5, 5, -5, 5], "resolution": 200, "log_height": true,
     "optimizer": "sgd", "compare": ["sgd", "momentum"],
     "hyperparameters": {"sgd": {"lr": 0.01, ...}},
     "max_steps": 1000, "tol": 1e-06,
     "runs": [{"optimizer": "sgd", "start": [1.0, 2.0]}],
     "schedule": {"name": "cosine", "T_max": 0, "eta_min": 0.0},
     "noise": {"scale": 0.5, "seed": 3}}

``schedule`` and ``noise`` are optional (absent: none); their settings are checked against the
schedule's declaration and :class:`~landscape_gui.core.noise.GradientNoise`.

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
    schedule: dict[str, Any] | None = None
    """The learning-rate schedule: ``{"name": ..., setting: value, ...}`` (every setting in force)."""
    noise: dict[str, Any] | None = None
    """Gradient noise: ``{"scale": ..., "seed": ..., "batch_size": ...}``."""

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
            "hyperparameters": {k: dict(v) for k, v in self.hyperparameters.items()},
            "max_steps": int(self.max_steps),
            "tol": float(self.tol),
            "runs": [{"optimizer": o, "start": [float(x), float(y)]} for o, x, y in self.runs],
            **({"schedule": dict(self.schedule)} if self.schedule else {}),
            **({"noise": dict(self.noise)} if self.noise else {}),
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
                   _parse_schedule(data.get("schedule")), _parse_noise(data.get("noise")))


def _parse_schedule(value: Any) -> dict[str, Any] | None:
    """``{"name": ..., settings...}`` validated against the schedule's declaration (or None)."""
    if value is None:
        return None
    from landscape_gui.core.schedules import make_schedule

    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise LandscapeError("'schedule' must be an object with a 'name' and its settings")
    settings = {k: v for k, v in value.items() if k != "name"}
    try:
        return make_schedule(value["name"], settings).record()
    except LandscapeError as exc:
        raise LandscapeError(f"'schedule': {exc}") from None


def _parse_noise(value: Any) -> dict[str, Any] | None:
    """``{"scale": ..., "seed": ..., "batch_size": ...}`` validated (or None)."""
    if value is None:
        return None
    from landscape_gui.core.noise import GradientNoise

    if not isinstance(value, dict) or set(value) - {"scale", "seed", "batch_size"}:
        raise LandscapeError("'noise' must be an object with 'scale', 'seed' and optionally 'batch_size'")
    try:
        return GradientNoise(value.get("scale", 0.0), value.get("seed", 0), value.get("batch_size", 0)).record()
    except LandscapeError as exc:
        raise LandscapeError(f"'noise': {exc}") from None


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
