"""A typed formula's compiled numpy functions, and a disk cache of them that needs no sympy.

:mod:`landscape_gui.core.formula` parses, differentiates and prints a formula with sympy; what comes
out is plain Python source (``sympy.lambdify``'s) for three functions of ``x, y``: the value, the value
with the gradient, the Hessian. :class:`FormulaFunctionsSurface` evaluates those on ``(n, 2)`` points
(:class:`~landscape_gui.core.formula.FormulaSurface` is one), and :func:`cached_formula_surface`
rebuilds a formula seen before from the printed source kept on disk, without importing sympy (about
a second of the command line's start-up) or differentiating again. The cache is keyed by the
formula's text, the source of :mod:`landscape_gui.core.formula` and sympy's version; entries are only
ever written by :mod:`landscape_gui.core.formula` from text it accepted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import Bounds, Surface

_FORMAT = "1"

DEFAULT_BOUNDS: Bounds = (-5.0, 5.0, -5.0, 5.0)
"""Where a typed formula is shown unless bounds are given."""


def heaviside_half(u: np.ndarray) -> np.ndarray:
    """The Heaviside step with ``step(0) = 1/2``."""
    return np.heaviside(u, 0.5)


NUMPY_HELPERS: dict[str, Callable] = {"_abs": np.abs, "_sign": np.sign, "_step": heaviside_half,
                                      "_max": np.maximum, "_min": np.minimum}
"""Our piecewise functions as the printed source names them."""


def _as_points(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` columns as contiguous float64 arrays (strided columns halve numpy's speed)."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise LandscapeError(f"points must be an (n, 2) array, got shape {arr.shape}")
    return np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])


def _column(r: object, n: int) -> np.ndarray:
    """A compiled result (array or scalar for constant parts) as a float64 ``(n,)`` array."""
    a = np.asarray(r, dtype=np.float64)
    return np.array(np.broadcast_to(a, (n,)), dtype=np.float64)


class FormulaFunctionsSurface(Surface):
    """A surface evaluated by a formula's compiled functions ``value_fn``, ``value_grad_fn`` and
    ``hessian_fn`` (each ``(x, y) -> array or list of arrays/scalars``)."""

    description = "a formula typed by the user"
    minima = ()
    log_height = False

    def __init__(self, text: str, value_fn: Callable, value_grad_fn: Callable, hessian_fn: Callable, smooth: bool,
                 bounds: Bounds) -> None:
        self._value_fn = value_fn
        self._value_grad_fn = value_grad_fn
        self._hessian_fn = hessian_fn
        self.smooth = smooth
        self.name = text
        self.title = f"f(x, y) = {text}"
        self.bounds = bounds

    def value(self, p: np.ndarray) -> np.ndarray:
        x, y = _as_points(p)
        with np.errstate(all="ignore"):
            return _column(self._value_fn(x, y), len(x))

    def value_and_grad(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = _as_points(p)
        n = len(x)
        with np.errstate(all="ignore"):
            f, gx, gy = self._value_grad_fn(x, y)
            g = np.empty((n, 2))
            g[:, 0] = _column(gx, n)
            g[:, 1] = _column(gy, n)
            return _column(f, n), g

    def grad(self, p: np.ndarray) -> np.ndarray:
        return self.value_and_grad(p)[1]

    @property
    def value_grad_function(self) -> Callable:
        """The compiled ``(x, y) -> (f, fx, fy)`` that :meth:`value_and_grad` applies to columns; made
        of numpy ufuncs only, so it also takes float64 scalars (the engine's single-run lane)."""
        return self._value_grad_fn

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _as_points(p)
        n = len(x)
        with np.errstate(all="ignore"):
            hxx, hxy, hyy = self._hessian_fn(x, y)
            h = np.empty((n, 2, 2))
            h[:, 0, 0] = _column(hxx, n)
            h[:, 0, 1] = h[:, 1, 0] = _column(hxy, n)
            h[:, 1, 1] = _column(hyy, n)
            return h

    def point_source(self) -> str | None:
        """Source of ``point_fn`` for the compiled basin-map kernels; see
        :meth:`landscape_gui.core.formula.FormulaSurface.point_source`."""
        return getattr(self, "_point_source", None)


# --------------------------------------------------------------------------------------------------
# The disk cache


def _cache_folder() -> Path:
    from landscape_gui.core.fastpath import cache_dir

    return cache_dir().parent / "formulas"


def _stamp() -> str:
    """What printed source depends on: this format, formula.py's source and sympy's version (read
    from its release file, without importing it)."""
    import importlib.util

    h = hashlib.sha256(_FORMAT.encode())
    here = Path(__file__).resolve().parent / "formula.py"
    try:
        h.update(here.read_bytes())
    except OSError:
        h.update(b"?")
    spec = importlib.util.find_spec("sympy")
    if spec is not None and spec.origin:
        try:
            h.update((Path(spec.origin).parent / "release.py").read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()


def _entry_path(text: str) -> Path:
    key = hashlib.sha256((_stamp() + "\0" + text.strip()).encode()).hexdigest()[:32]
    return _cache_folder() / f"f_{key}.json"


def store(text: str, sources: dict[str, Any]) -> None:
    """Keep the printed sources of an accepted formula (``value``, ``value_grad``, ``hessian``,
    ``point``, ``smooth``); best effort: a cache that cannot be written is skipped."""
    try:
        path = _entry_path(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(sources, text=text.strip())))
        os.replace(tmp, path)
    except OSError:
        pass


def _compile(source: str, name: str, namespace: dict[str, Any]) -> Callable:
    code = compile(source, f"<formula {name}>", "exec")
    local: dict[str, Any] = {}
    exec(code, namespace, local)  # source printed by formula.py from a whitelisted expression tree
    (fn,) = local.values()
    return fn


def cached_formula_surface(text: str, bounds: Bounds) -> FormulaFunctionsSurface | None:
    """The surface of formula ``text`` from the disk cache, or None if it was never compiled here
    (or the cache is unreadable). Imports no sympy."""
    if not isinstance(text, str):
        return None
    try:
        entry = json.loads(_entry_path(text).read_text())
        if entry.get("text") != text.strip():
            return None
        namespace: dict[str, Any] = dict(vars(np))
        namespace.update(NUMPY_HELPERS)
        surface = FormulaFunctionsSurface(
            text.strip(), _compile(entry["value"], "value", namespace),
            _compile(entry["value_grad"], "value_grad", namespace), _compile(entry["hessian"], "hessian", namespace),
            bool(entry["smooth"]), bounds)
    except (OSError, ValueError, KeyError, TypeError, SyntaxError):
        return None
    surface._point_source = entry.get("point")  # type: ignore[attr-defined]
    return surface


__all__ = ["DEFAULT_BOUNDS", "FormulaFunctionsSurface", "NUMPY_HELPERS", "cached_formula_surface", "heaviside_half", "store"]
