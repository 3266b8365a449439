"""Loss surfaces: value, exact gradient and exact Hessian on batches of points.

Every surface works on ``(n, 2)`` arrays of points ``p[:, 0] = x, p[:, 1] = y`` and returns
``(n,)`` values, ``(n, 2)`` gradients and ``(n, 2, 2)`` Hessians, all float64. No Python loop over
points. Grids follow ``z[i, j] = f(x[i], y[j])`` (``meshgrid(..., indexing="ij")``) everywhere.

The catalogue is a registry name -> factory: :func:`get_surface` builds a surface by name,
:func:`surface_names` lists them. A new surface is tested simply by being registered (the tests walk
the registry: gradients and Hessians against finite differences, listed minima stationary and
positive definite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError

Bounds = tuple[float, float, float, float]
"""``(xmin, xmax, ymin, ymax)``."""


@dataclass(frozen=True)
class KnownMinimum:
    """A local minimum from the literature: location and value (``value = f(x, y)``)."""

    x: float
    y: float
    value: float
    is_global: bool = False


class Surface:
    """A loss function of two variables with exact derivatives.

    Subclasses implement :meth:`value`, :meth:`grad` and :meth:`hessian`; :meth:`value_and_grad`
    may be overridden where sharing work pays off (the engine calls it once per step).

    Attributes:
        name: registry name or formula text; what the CSV ``surface`` column and sessions store.
        title: human-readable name for menus.
        description: one line for ``landscape-gui list surfaces``.
        bounds: default ``(xmin, xmax, ymin, ymax)`` of the plotted domain.
        minima: known local minima with literature values (may be empty).
        log_height: whether a log colour scale shows the landscape best (values span decades).
    """

    name: str = ""
    title: str = ""
    description: str = ""
    bounds: Bounds = (-1.0, 1.0, -1.0, 1.0)
    minima: tuple[KnownMinimum, ...] = ()
    log_height: bool = False

    def value(self, p: np.ndarray) -> np.ndarray:
        """Loss at each point: ``(n, 2) -> (n,)``."""
        raise NotImplementedError

    def grad(self, p: np.ndarray) -> np.ndarray:
        """Exact gradient at each point: ``(n, 2) -> (n, 2)``."""
        raise NotImplementedError

    def hessian(self, p: np.ndarray) -> np.ndarray:
        """Exact Hessian at each point: ``(n, 2) -> (n, 2, 2)``, symmetric."""
        raise NotImplementedError

    def value_and_grad(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(value(p), grad(p))``; override to share work between the two."""
        return self.value(p), self.grad(p)

    def grid(self, bounds: Bounds | None = None, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample on a regular grid: returns ``xs (R,), ys (R,), z (R, R)`` with ``z[i, j] = f(xs[i], ys[j])``.

        Non-finite values (outside a formula's domain) stay NaN so views can show a gap.
        """
        xmin, xmax, ymin, ymax = bounds if bounds is not None else self.bounds
        xs = np.linspace(xmin, xmax, resolution)
        ys = np.linspace(ymin, ymax, resolution)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        with np.errstate(all="ignore"):
            z = self.value(np.column_stack([gx.ravel(), gy.ravel()])).reshape(resolution, resolution)
        z = np.where(np.isfinite(z), z, np.nan)
        return xs, ys, z

    def __repr__(self) -> str:
        return f"<Surface {self.name!r}>"


# --------------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class SurfaceEntry:
    """A registered surface: its name, one-line description and a factory that builds it."""

    name: str
    description: str
    factory: Callable[[], Surface]


_REGISTRY: dict[str, SurfaceEntry] = {}


def register_surface(name: str, description: str, factory: Callable[[], Surface]) -> None:
    """Add a surface to the catalogue (a later registration under the same name replaces it)."""
    _REGISTRY[name] = SurfaceEntry(name, description, factory)


def surface_entries() -> list[SurfaceEntry]:
    """Every registered surface, in registration order."""
    _load_extra_catalogues()
    return list(_REGISTRY.values())


def surface_names() -> list[str]:
    """Names of every registered surface, in registration order."""
    return [e.name for e in surface_entries()]


def get_surface(name: str) -> Surface:
    """Build the registered surface ``name``; unknown names raise :class:`LandscapeError`."""
    _load_extra_catalogues()
    entry = _REGISTRY.get(name)
    if entry is None:
        raise LandscapeError(
            f"unknown surface {name!r}; choose one of: {', '.join(_REGISTRY)} (see 'landscape-gui list surfaces')"
        )
    return entry.factory()


def surface_from_spec(spec: str) -> Surface:
    """Resolve what the CSV ``surface`` column / a session stores: a registry name, a network spec
    (``nn:key=value;...``, see :mod:`landscape_gui.core.nn.slices`), else a formula."""
    _load_extra_catalogues()
    if spec in _REGISTRY:
        return get_surface(spec)
    if spec.strip().startswith("nn:"):
        from landscape_gui.core.nn.slices import nn_surface_from_spec

        return nn_surface_from_spec(spec)
    try:
        from landscape_gui.core.formula import formula_surface
    except ImportError:  # formula support not built yet
        raise LandscapeError(f"unknown surface {spec!r}") from None
    return formula_surface(spec)


_EXTRA_LOADED = False


def _load_extra_catalogues() -> None:
    """Register surfaces that live in other modules (neural-network losses) on first use."""
    global _EXTRA_LOADED
    if _EXTRA_LOADED:
        return
    _EXTRA_LOADED = True
    try:
        from landscape_gui.core.nn import catalogue  # noqa: F401  (registers on import)
    except ImportError:
        pass


# --------------------------------------------------------------------------------------------------
# Catalogue


class Himmelblau(Surface):
    """Himmelblau's function ``f = (x² + y − 11)² + (x + y² − 7)²``.

    Four equal minima (value 0) at (3, 2), (−2.805118, 3.131312), (−3.779310, −3.283186),
    (3.584428, −1.848126); a local maximum at (−0.270845, −0.923039).
    Reference: D. M. Himmelblau, *Applied Nonlinear Programming*, McGraw-Hill, 1972.
    """

    name = "himmelblau"
    title = "Himmelblau"
    description = "four equal minima around a central maximum"
    bounds = (-5.0, 5.0, -5.0, 5.0)
    log_height = True
    minima = (
        KnownMinimum(3.0, 2.0, 0.0, True),
        KnownMinimum(-2.805118086952745, 3.131312518250573, 0.0, True),
        KnownMinimum(-3.779310253377747, -3.283185991286170, 0.0, True),
        KnownMinimum(3.584428340330492, -1.848126526964404, 0.0, True),
    )

    def value(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        return a * a + b * b

    def grad(self, p: np.ndarray) -> np.ndarray:
        return self.value_and_grad(p)[1]

    def value_and_grad(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = p[:, 0], p[:, 1]
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        g = np.empty_like(p, dtype=float)
        g[:, 0] = 4.0 * a * x + 2.0 * b
        g[:, 1] = 2.0 * a + 4.0 * b * y
        return a * a + b * b, g

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        h = np.empty((len(p), 2, 2))
        h[:, 0, 0] = 12.0 * x * x + 4.0 * y - 42.0
        h[:, 0, 1] = h[:, 1, 0] = 4.0 * (x + y)
        h[:, 1, 1] = 12.0 * y * y + 4.0 * x - 26.0
        return h


class Rosenbrock(Surface):
    """Rosenbrock's banana function ``f = (1 − x)² + 100 (y − x²)²``.

    One global minimum f(1, 1) = 0 at the end of a long, flat, curved valley.
    Reference: H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a
    function", The Computer Journal 3(3), 1960.
    """

    name = "rosenbrock"
    title = "Rosenbrock"
    description = "a narrow curved valley with one minimum at (1, 1)"
    bounds = (-2.0, 2.0, -1.0, 3.0)
    log_height = True
    minima = (KnownMinimum(1.0, 1.0, 0.0, True),)

    def value(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2

    def grad(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        r = y - x * x
        return np.column_stack([-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r])

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        h = np.empty((len(p), 2, 2))
        h[:, 0, 0] = 2.0 - 400.0 * (y - 3.0 * x * x)
        h[:, 0, 1] = h[:, 1, 0] = -400.0 * x
        h[:, 1, 1] = 200.0
        return h


for _cls in (Himmelblau, Rosenbrock):
    register_surface(_cls.name, _cls.description, _cls)
