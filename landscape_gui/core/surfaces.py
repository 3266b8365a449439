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

import math
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
        smooth: False for piecewise-smooth surfaces (creases where a hinge, an absolute value or
            clipping switches); derivatives are exact off the creases.
    """

    name: str = ""
    title: str = ""
    description: str = ""
    bounds: Bounds = (-1.0, 1.0, -1.0, 1.0)
    minima: tuple[KnownMinimum, ...] = ()
    log_height: bool = False
    smooth: bool = True
    point: Callable | None = None
    """Optional: ``point(x, y) -> (f, fx, fy)``, the value and gradient written once with plain
    arithmetic and numpy ufuncs (``np.sin``, ``np.exp``, ``np.sqrt``; no array methods, no indexing),
    so that the same function runs vectorised on the engine's columns (``x, y`` of shape ``(n,)``) and
    compiled by numba on floats inside the basin-map kernels (:mod:`landscape_gui.core.fastpath`).
    Surfaces that set it get :meth:`value` and :meth:`value_and_grad` from it."""

    def value(self, p: np.ndarray) -> np.ndarray:
        """Loss at each point: ``(n, 2) -> (n,)``."""
        if self.point is not None:
            return self.value_and_grad(p)[0]
        raise NotImplementedError

    def grad(self, p: np.ndarray) -> np.ndarray:
        """Exact gradient at each point: ``(n, 2) -> (n, 2)``. By default the gradient half of
        :meth:`value_and_grad`, for surfaces that compute both together."""
        if type(self).value_and_grad is Surface.value_and_grad and self.point is None:
            raise NotImplementedError(f"{type(self).__name__} implements neither grad nor value_and_grad")
        return self.value_and_grad(p)[1]

    def hessian(self, p: np.ndarray) -> np.ndarray:
        """Exact Hessian at each point: ``(n, 2) -> (n, 2, 2)``, symmetric."""
        raise NotImplementedError

    def value_and_grad(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(value(p), grad(p))``; override to share work between the two."""
        if self.point is not None:
            x, y = _xy(p)
            n = len(x)
            f, gx, gy = self.point(x, y)
            return np.array(np.broadcast_to(f, (n,)), dtype=np.float64), _pack_grad(gx, gy, n)
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


def himmelblau_point(x, y):
    """Himmelblau's value and gradient at ``(x, y)`` (floats or equal-shape arrays)."""
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return a * a + b * b, 4.0 * a * x + 2.0 * b, 2.0 * a + 4.0 * b * y


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
        KnownMinimum(-3.779310253377747, -3.2831859912861696, 0.0, True),
        KnownMinimum(3.5844283403304917, -1.8481265269644036, 0.0, True),
    )

    point = staticmethod(himmelblau_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        h = np.empty((len(p), 2, 2))
        h[:, 0, 0] = 12.0 * x * x + 4.0 * y - 42.0
        h[:, 0, 1] = h[:, 1, 0] = 4.0 * (x + y)
        h[:, 1, 1] = 12.0 * y * y + 4.0 * x - 26.0
        return h


def rosenbrock_point(x, y):
    """Rosenbrock's value and gradient at ``(x, y)``."""
    r = y - x * x
    u = 1.0 - x
    return u * u + 100.0 * r * r, -2.0 * u - 400.0 * x * r, 200.0 * r


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

    point = staticmethod(rosenbrock_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        h = np.empty((len(p), 2, 2))
        h[:, 0, 0] = 2.0 - 400.0 * (y - 3.0 * x * x)
        h[:, 0, 1] = h[:, 1, 0] = -400.0 * x
        h[:, 1, 1] = 200.0
        return h




def _xy(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``x`` and ``y`` columns of ``p`` as float64 (integer input is promoted)."""
    p = np.asarray(p, dtype=np.float64)
    return p[:, 0], p[:, 1]


def _pack_grad(gx: np.ndarray, gy: np.ndarray, n: int) -> np.ndarray:
    """Stack gradient components (arrays or scalars broadcast to ``n``) into ``(n, 2)``."""
    g = np.empty((n, 2))
    g[:, 0] = gx
    g[:, 1] = gy
    return g


def _pack_hessian(hxx: np.ndarray | float, hxy: np.ndarray | float, hyy: np.ndarray | float, n: int) -> np.ndarray:
    """Stack the three distinct Hessian entries (arrays or scalars) into symmetric ``(n, 2, 2)``."""
    h = np.empty((n, 2, 2))
    h[:, 0, 0] = hxx
    h[:, 0, 1] = hxy
    h[:, 1, 0] = hxy
    h[:, 1, 1] = hyy
    return h


_TWO_PI = 2.0 * np.pi


def rastrigin_point(x, y):
    """Rastrigin's value and gradient at ``(x, y)``."""
    ax = _TWO_PI * x
    ay = _TWO_PI * y
    v = 20.0 + x * x - 10.0 * np.cos(ax) + y * y - 10.0 * np.cos(ay)
    return v, 2.0 * x + 20.0 * np.pi * np.sin(ax), 2.0 * y + 20.0 * np.pi * np.sin(ay)


class Rastrigin(Surface):
    """Rastrigin's function ``f = 20 + Σ (t² − 10 cos 2πt)`` over ``t ∈ {x, y}``.

    A quadratic bowl with a regular egg-crate of cosine ripples on top: 121 local minima, one near
    each integer lattice point of the default box, the global one f(0, 0) = 0. Gradient descent from
    almost anywhere stops in the nearest dimple; only large steps (or luck) reach the centre.
    Reference: L. A. Rastrigin, *Systems of Extremal Control*, Nauka, Moscow, 1974; the 2-D form, the
    domain [−5.12, 5.12]² and the global minimum f(0, 0) = 0 as in M. Jamil and X.-S. Yang, "A
    literature survey of benchmark functions for global optimization problems", Int. J. Math. Model.
    Numer. Optim. 4(2):150–194, 2013.
    """

    name = "rastrigin"
    title = "Rastrigin"
    description = "an egg-crate of regular local minima on a bowl; global minimum at the origin"
    bounds = (-5.12, 5.12, -5.12, 5.12)
    minima = (KnownMinimum(0.0, 0.0, 0.0, True),)

    point = staticmethod(rastrigin_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        k = 40.0 * np.pi * np.pi
        return _pack_hessian(2.0 + k * np.cos(_TWO_PI * x), 0.0, 2.0 + k * np.cos(_TWO_PI * y), len(x))


_ACKLEY_EPS2 = 0.1 * 0.1


def ackley_point(x, y):
    """Smoothed Ackley's value and gradient at ``(x, y)`` (see :class:`Ackley`): the radial part
    −20 e1 has ∂/∂x = 4 e1 τ'(q) x, the ripple part −e2 has ∂/∂x = π e2 sin 2πx."""
    q = 0.5 * (x * x + y * y)
    w = q + _ACKLEY_EPS2
    rw = 1.0 / np.sqrt(w)
    tau = q * rw
    d1 = (0.5 * q + _ACKLEY_EPS2) * rw / w
    e1 = np.exp(-0.2 * tau)
    e2 = np.exp(0.5 * (np.cos(_TWO_PI * x) + np.cos(_TWO_PI * y)))
    a = 4.0 * e1 * d1
    b = np.pi * e2
    return -20.0 * e1 - e2 + (np.e + 20.0), a * x + b * np.sin(_TWO_PI * x), a * y + b * np.sin(_TWO_PI * y)


class Ackley(Surface):
    """Ackley's function with the cusp at the origin rounded off (smoothing scale ε = 0.1).

    ``f = −20 exp(−0.2 τ) − exp(½ (cos 2πx + cos 2πy)) + e + 20`` with ``τ = t² / √(t² + ε²)``,
    ``t = √(½ (x² + y²))``. With τ = t this is the textbook function, whose global minimum
    f(0, 0) = 0 sits at the tip of a cone (|∇f| ≈ 2.8 right up to the origin, no Hessian there).
    τ is a smooth (C^∞), increasing function of t² that behaves like t²/ε at the centre and like
    t − ε²/(2t) away from it, so f(0, 0) = 0 stays the global minimum, f differs from the textbook
    function by at most 0.12 (less than 0.025 beyond r = 1), gradients shrink to zero as runs arrive
    and Newton refinement works. Around the well lies a nearly flat plateau of shallow cosine ripples.
    Reference: D. H. Ackley, *A Connectionist Machine for Genetic Hillclimbing*, Kluwer, 1987; the 2-D
    form, domain and f(0, 0) = 0 as in Jamil & Yang (2013).
    """

    name = "ackley"
    title = "Ackley (smoothed)"
    description = "a nearly flat rippled plateau around one deep central well"
    bounds = (-5.0, 5.0, -5.0, 5.0)
    minima = (KnownMinimum(0.0, 0.0, 0.0, True),)

    EPS = 0.1

    def _radial(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """With q = t² = ½(x² + y²) and w = q + ε²: τ = q w^(−1/2), dτ/dq, d²τ/dq², and e1 = exp(−0.2 τ)."""
        q = 0.5 * (x * x + y * y)
        e2 = self.EPS * self.EPS
        w = q + e2
        rw = 1.0 / np.sqrt(w)
        tau = q * rw
        d1 = (0.5 * q + e2) * rw / w
        d2 = -(0.25 * q + e2) * rw / (w * w)
        return tau, d1, d2, np.exp(-0.2 * tau)

    @staticmethod
    def _ripple(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.exp(0.5 * (np.cos(_TWO_PI * x) + np.cos(_TWO_PI * y)))

    point = staticmethod(ackley_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        # radial: ∂²/∂x∂y = a2 x y + a1 δ with a1 = 4 e1 τ', a2 = 4 e1 (τ'' − 0.2 τ'²)
        # ripple: ∂²/∂x² = π² e2 (2 cos 2πx − sin² 2πx), ∂²/∂x∂y = −π² e2 sin 2πx sin 2πy
        x, y = _xy(p)
        _, d1, d2, e1 = self._radial(x, y)
        a1 = 4.0 * e1 * d1
        a2 = 4.0 * e1 * (d2 - 0.2 * d1 * d1)
        sx, sy = np.sin(_TWO_PI * x), np.sin(_TWO_PI * y)
        k = np.pi * np.pi * self._ripple(x, y)
        hxx = a1 + a2 * x * x + k * (2.0 * np.cos(_TWO_PI * x) - sx * sx)
        hyy = a1 + a2 * y * y + k * (2.0 * np.cos(_TWO_PI * y) - sy * sy)
        hxy = a2 * x * y - k * sx * sy
        return _pack_hessian(hxx, hxy, hyy, len(x))


def beale_point(x, y):
    """Beale's value and gradient at ``(x, y)``: with t_i = c_i − x + x yⁱ, ∂t_i/∂x = yⁱ − 1 and
    ∂t_i/∂y = i x yⁱ⁻¹."""
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * t2 * y + 3.0 * t3 * y2)
    return t1 * t1 + t2 * t2 + t3 * t3, gx, gy


class Beale(Surface):
    """Beale's function ``f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²``.

    One minimum f(3, 0.5) = 0 at the end of a flat, curving valley, with steep walls that climb to
    ~10⁵ in the corners; two saddles, (0, 1) and (0.1005, −2.6445). The only local minimum in the box.
    Reference: E. M. L. Beale, "On an iterative method for finding a local minimum of a function of
    more than one variable", Tech. Rep. 25, Statistical Techniques Research Group, Princeton, 1958;
    domain [−4.5, 4.5]² and minimum as in Jamil & Yang (2013).
    """

    name = "beale"
    title = "Beale"
    description = "a flat curving valley between steep walls; one minimum at (3, 0.5)"
    bounds = (-4.5, 4.5, -4.5, 4.5)
    log_height = True
    minima = (KnownMinimum(3.0, 0.5, 0.0, True),)

    _C = (1.5, 2.25, 2.625)

    point = staticmethod(beale_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        y2 = y * y
        y3 = y2 * y
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y2
        t3 = 2.625 - x + x * y3
        a1, a2, a3 = y - 1.0, y2 - 1.0, y3 - 1.0  # ∂t_i/∂x
        b1, b2, b3 = x, 2.0 * x * y, 3.0 * x * y2  # ∂t_i/∂y
        hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
        hxy = 2.0 * (a1 * b1 + a2 * b2 + a3 * b3 + t1 + 2.0 * t2 * y + 3.0 * t3 * y2)
        hyy = 2.0 * (b1 * b1 + b2 * b2 + b3 * b3 + 2.0 * t2 * x + 6.0 * t3 * x * y)
        return _pack_hessian(hxx, hxy, hyy, len(x))


def booth_point(x, y):
    """Booth's value and gradient at ``(x, y)``."""
    a = x + 2.0 * y - 7.0
    b = 2.0 * x + y - 5.0
    return a * a + b * b, 2.0 * a + 4.0 * b, 4.0 * a + 2.0 * b


class Booth(Surface):
    """Booth's function ``f = (x + 2y − 7)² + (2x + y − 5)²``.

    A plain tilted quadratic bowl (Hessian [[10, 8], [8, 10]], condition number 9): the easy case
    every optimizer should solve. One minimum f(1, 3) = 0.
    Reference: Jamil & Yang (2013); domain [−10, 10]².
    """

    name = "booth"
    title = "Booth"
    description = "a tilted quadratic bowl; one minimum at (1, 3)"
    bounds = (-10.0, 10.0, -10.0, 10.0)
    log_height = True
    minima = (KnownMinimum(1.0, 3.0, 0.0, True),)

    point = staticmethod(booth_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        return _pack_hessian(10.0, 8.0, 10.0, len(p))


def matyas_point(x, y):
    """Matyas' value and gradient at ``(x, y)``."""
    return 0.26 * (x * x + y * y) - 0.48 * x * y, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


class Matyas(Surface):
    """Matyas' function ``f = 0.26 (x² + y²) − 0.48 xy``.

    A quadratic bowl stretched along the diagonal (Hessian eigenvalues 1 and 0.04, condition number
    25): plain gradient descent crawls along the shallow diagonal. One minimum f(0, 0) = 0.
    Reference: J. Matyas, "Random optimization", Automation and Remote Control 26(2):246–253, 1965;
    form, domain [−10, 10]² and minimum as in Jamil & Yang (2013).
    """

    name = "matyas"
    title = "Matyas"
    description = "a shallow diagonal bowl (condition number 25); one minimum at the origin"
    bounds = (-10.0, 10.0, -10.0, 10.0)
    log_height = True
    minima = (KnownMinimum(0.0, 0.0, 0.0, True),)

    point = staticmethod(matyas_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        return _pack_hessian(0.52, -0.48, 0.52, len(p))


def mccormick_point(x, y):
    """McCormick's value and gradient at ``(x, y)``."""
    d = x - y
    u = x + y
    c = np.cos(u)
    return np.sin(u) + d * d - 1.5 * x + 2.5 * y + 1.0, c + 2.0 * d - 1.5, c - 2.0 * d + 2.5


class McCormick(Surface):
    """McCormick's function ``f = sin(x + y) + (x − y)² − 1.5x + 2.5y + 1``.

    A sloping trough (x − y = 1 at every critical point) rippled by sin(x + y). In the default box it
    has two minima, at x + y = −2π/3 + 2πk, x − y = 1, with f = sin u + u/2 for u = x + y:
    the global one f(−0.54720, −1.54720) = −√3/2 − π/3 = −1.91322 (k = 0) and a local one
    f(2.59440, 1.59440) = 2π/3 − √3/2 = 1.22837 (k = 1), separated by a saddle at (1.5472, 0.5472).
    The function is defined on its box: along the trough f falls like u/2, so outside the box there
    are ever lower minima (k = −1, −2, …) and runs starting below the global minimum's basin slide
    out of the lower-left corner.
    Reference: G. P. McCormick, "Computability of global solutions to factorable nonconvex programs",
    Math. Programming 10:147–175, 1976; domain x ∈ [−1.5, 4], y ∈ [−3, 4] and the global minimum
    (−0.54719, −1.54719) = −1.9133 as in Jamil & Yang (2013).
    """

    name = "mccormick"
    title = "McCormick"
    description = "a rippled sloping trough; global minimum near (-0.55, -1.55) and one local minimum"
    bounds = (-1.5, 4.0, -3.0, 4.0)
    minima = (
        KnownMinimum(-0.5471975511965977, -1.5471975511965979, -1.9132229549810364, True),
        KnownMinimum(2.5943951023931957, 1.5943951023931955, 1.2283696986087569, False),
    )

    point = staticmethod(mccormick_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        s = np.sin(x + y)
        return _pack_hessian(2.0 - s, -2.0 - s, 2.0 - s, len(x))


def three_hump_camel_point(x, y):
    """The three-hump camel's value and gradient at ``(x, y)``."""
    x2 = x * x
    v = x2 * (2.0 + x2 * (-1.05 + x2 / 6.0)) + x * y + y * y
    return v, x * (4.0 + x2 * (-4.2 + x2)) + y, x + 2.0 * y


class ThreeHumpCamel(Surface):
    """The three-hump camel function ``f = 2x² − 1.05x⁴ + x⁶/6 + xy + y²``.

    Three minima: the global f(0, 0) = 0 and two local ones at x² = 2.1 + √0.91, y = −x/2,
    i.e. (±1.74755, ∓0.87378) with f = 0.29864, separated from the centre by saddles at
    x² = 2.1 − √0.91. (Every critical point has y = −x/2 and x(x⁴ − 4.2x² + 3.5) = 0.)
    Reference: F. H. Branin, "Widely convergent method for finding multiple solutions of simultaneous
    nonlinear equations", IBM J. Res. Dev. 16(5):504–522, 1972; form, domain [−5, 5]² and the global
    minimum as in Jamil & Yang (2013).
    """

    name = "three_hump_camel"
    title = "Three-hump camel"
    description = "a global minimum at the origin flanked by two shallower minima"
    bounds = (-5.0, 5.0, -5.0, 5.0)
    log_height = True
    minima = (
        KnownMinimum(0.0, 0.0, 0.0, True),
        KnownMinimum(1.7475523458302888, -0.8737761729151444, 0.2986384422368598, False),
        KnownMinimum(-1.7475523458302888, 0.8737761729151444, 0.2986384422368598, False),
    )

    point = staticmethod(three_hump_camel_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, _ = _xy(p)
        x2 = x * x
        return _pack_hessian(4.0 + x2 * (-12.6 + 5.0 * x2), 1.0, 2.0, len(x))


def six_hump_camel_point(x, y):
    """The six-hump camel's value and gradient at ``(x, y)``."""
    x2 = x * x
    y2 = y * y
    v = x2 * (4.0 + x2 * (-2.1 + x2 / 3.0)) + x * y + y2 * (-4.0 + 4.0 * y2)
    return v, x * (8.0 + x2 * (-8.4 + 2.0 * x2)) + y, x + y * (-8.0 + 16.0 * y2)


class SixHumpCamel(Surface):
    """The six-hump camel function ``f = (4 − 2.1x² + x⁴/3) x² + xy + (−4 + 4y²) y²``.

    Six minima in the box, in symmetric pairs (f(−x, −y) = f(x, y)): the two global ones
    (±0.08984, ∓0.71266) with f = −1.03163, two at (±1.70361, ∓0.79608) with f = −0.21546, and two at
    (±1.60710, ±0.56865) with f = 2.10425; plus saddles and two maxima between them.
    Reference: L. C. W. Dixon and G. P. Szegő, "The global optimisation problem: an introduction",
    in *Towards Global Optimisation 2*, North-Holland, 1978; domain x ∈ [−3, 3], y ∈ [−2, 2] and the
    global minima (±0.0898, ∓0.7126) = −1.0316 as in Jamil & Yang (2013). The four further local
    minima, commonly quoted as (±1.7036, ∓0.7961) = −0.2155 and (±1.6071, ±0.5687) = 2.1043, are
    listed here as refined by Newton's method on the exact gradient and Hessian.
    """

    name = "six_hump_camel"
    title = "Six-hump camel"
    description = "six minima in symmetric pairs, two of them global"
    bounds = (-3.0, 3.0, -2.0, 2.0)
    minima = (
        KnownMinimum(0.08984201310031806, -0.7126564030207396, -1.0316284534898774, True),
        KnownMinimum(-0.08984201310031806, 0.7126564030207396, -1.0316284534898774, True),
        KnownMinimum(1.703606714969981, -0.7960835686726251, -0.21546382438371764, False),
        KnownMinimum(-1.703606714969981, 0.7960835686726251, -0.21546382438371764, False),
        KnownMinimum(1.6071047529201972, 0.5686514548841314, 2.1042503103112584, False),
        KnownMinimum(-1.6071047529201972, -0.5686514548841314, 2.1042503103112584, False),
    )

    point = staticmethod(six_hump_camel_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        x2 = x * x
        return _pack_hessian(8.0 + x2 * (-25.2 + 10.0 * x2), 1.0, -8.0 + 48.0 * y * y, len(x))


def goldstein_price_point(x, y):
    """Goldstein–Price's value and gradient at ``(x, y)``; ∂P/∂x = ∂P/∂y = 6x + 6y − 14, so
    ∂A/∂x = ∂A/∂y."""
    a = x + y + 1.0
    P = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    b = 2.0 * x - 3.0 * y
    Q = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    A = 1.0 + a * a * P
    B = 30.0 + b * b * Q
    Ax = 2.0 * a * P + a * a * (6.0 * (x + y) - 14.0)
    Bx = 4.0 * b * Q + b * b * (-32.0 + 24.0 * x - 36.0 * y)
    By = -6.0 * b * Q + b * b * (48.0 - 36.0 * x + 54.0 * y)
    return A * B, Ax * B + A * Bx, Ax * B + A * By


class GoldsteinPrice(Surface):
    """The Goldstein–Price function ``f = A(x, y) · B(x, y)`` with

    ``A = 1 + (x + y + 1)² (19 − 14x + 3x² − 14y + 6xy + 3y²)`` and
    ``B = 30 + (2x − 3y)² (18 − 32x + 12x² + 48y − 36xy + 27y²)``.

    Values span six decades (3 to ~10⁶). Four minima in the box, all at rational points:
    the global f(0, −1) = 3 and local ones f(−0.6, −0.4) = 30, f(1.8, 0.2) = 84, f(1.2, 0.8) = 840.
    Reference: A. A. Goldstein and J. F. Price, "On descent from local minima", Math. Comp.
    25(115):569–574, 1971; domain [−2, 2]² and the global minimum as in Jamil & Yang (2013). The three
    local minima are the ones commonly quoted for this test problem; at these rational points the
    gradient vanishes exactly (checked symbolically).
    """

    name = "goldstein_price"
    title = "Goldstein–Price"
    description = "values over six decades; global minimum 3 at (0, -1) and three local minima"
    bounds = (-2.0, 2.0, -2.0, 2.0)
    log_height = True
    minima = (
        KnownMinimum(0.0, -1.0, 3.0, True),
        KnownMinimum(-0.6, -0.4, 30.0, False),
        KnownMinimum(1.8, 0.2, 84.0, False),
        KnownMinimum(1.2, 0.8, 840.0, False),
    )

    @staticmethod
    def _parts(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        a = x + y + 1.0
        P = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
        b = 2.0 * x - 3.0 * y
        Q = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
        return a, P, b, Q

    point = staticmethod(goldstein_price_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        a, P, b, Q = self._parts(x, y)
        A = 1.0 + a * a * P
        B = 30.0 + b * b * Q
        Pd = 6.0 * (x + y) - 14.0
        Ax = 2.0 * a * P + a * a * Pd
        Add = 2.0 * P + 4.0 * a * Pd + 6.0 * a * a  # every second derivative of A
        Qx = -32.0 + 24.0 * x - 36.0 * y
        Qy = 48.0 - 36.0 * x + 54.0 * y
        Bx = 4.0 * b * Q + b * b * Qx
        By = -6.0 * b * Q + b * b * Qy
        Bxx = 8.0 * Q + 8.0 * b * Qx + 24.0 * b * b
        Bxy = -12.0 * Q + 4.0 * b * Qy - 6.0 * b * Qx - 36.0 * b * b
        Byy = 18.0 * Q - 12.0 * b * Qy + 54.0 * b * b
        hxx = Add * B + 2.0 * Ax * Bx + A * Bxx
        hxy = Add * B + Ax * (Bx + By) + A * Bxy
        hyy = Add * B + 2.0 * Ax * By + A * Byy
        return _pack_hessian(hxx, hxy, hyy, len(x))


def styblinski_tang_point(x, y):
    """Styblinski–Tang's value and gradient at ``(x, y)``."""
    x2 = x * x
    y2 = y * y
    v = 0.5 * (x2 * (x2 - 16.0) + 5.0 * x + y2 * (y2 - 16.0) + 5.0 * y)
    return v, x * (2.0 * x2 - 16.0) + 2.5, y * (2.0 * y2 - 16.0) + 2.5


class StyblinskiTang(Surface):
    """The Styblinski–Tang function ``f = ½ Σ (t⁴ − 16t² + 5t)`` over ``t ∈ {x, y}``.

    Separable: each coordinate sees a tilted double well with minima at the roots t = −2.903534 and
    t = 2.746803 of 4t³ − 32t + 5 = 0. So in 2-D there are four minima on a square: the global
    f(−2.903534, −2.903534) = −78.33233, two at f = −64.19561 and one at f = −50.05889.
    Reference: M. A. Styblinski and T.-S. Tang, "Experiments in nonconvex optimization: stochastic
    approximation with function smoothing and simulated annealing", Neural Networks 3(4):467–483,
    1990; domain [−5, 5]² and the global minimum −78.332 at (−2.903534, −2.903534) as in Jamil & Yang
    (2013).
    """

    name = "styblinski_tang"
    title = "Styblinski–Tang"
    description = "four minima on a square, one per pair of tilted double wells"
    bounds = (-5.0, 5.0, -5.0, 5.0)
    minima = (
        KnownMinimum(-2.903534027771177, -2.903534027771177, -78.33233140754282, True),
        KnownMinimum(-2.903534027771177, 2.746802770990837, -64.19561235905536, False),
        KnownMinimum(2.746802770990837, -2.903534027771177, -64.19561235905536, False),
        KnownMinimum(2.746802770990837, 2.746802770990837, -50.05889331056788, False),
    )

    point = staticmethod(styblinski_tang_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        return _pack_hessian(6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0, len(x))


def _muller_brown_term(x, y, A, a, b, c, x0, y0):
    """One Gaussian term ``A exp(a dx² + b dx dy + c dy²)`` and its gradient."""
    dx = x - x0
    dy = y - y0
    t = A * np.exp(a * dx * dx + b * dx * dy + c * dy * dy)
    return t, t * (2.0 * a * dx + b * dy), t * (b * dx + 2.0 * c * dy)


def muller_brown_point(x, y):
    """The Müller–Brown potential's value and gradient at ``(x, y)``: four Gaussian terms with the
    standard parameters (see :class:`MullerBrown`), summed in order."""
    f0, gx0, gy0 = _muller_brown_term(x, y, -200.0, -1.0, 0.0, -10.0, 1.0, 0.0)
    f1, gx1, gy1 = _muller_brown_term(x, y, -100.0, -1.0, 0.0, -10.0, 0.0, 0.5)
    f2, gx2, gy2 = _muller_brown_term(x, y, -170.0, -6.5, 11.0, -6.5, -0.5, 1.5)
    f3, gx3, gy3 = _muller_brown_term(x, y, 15.0, 0.7, 0.6, 0.7, -1.0, 1.0)
    return f0 + f1 + f2 + f3, gx0 + gx1 + gx2 + gx3, gy0 + gy1 + gy2 + gy3


KERNEL_HELPERS: tuple[Callable, ...] = (_muller_brown_term,)
"""Helpers the ``point`` functions call; the compiled path registers them with numba."""


class MullerBrown(Surface):
    """The Müller–Brown potential ``V = Σₖ Aₖ exp(aₖ(x − x₀ₖ)² + bₖ(x − x₀ₖ)(y − y₀ₖ) + cₖ(y − y₀ₖ)²)``.

    The standard parameters: A = (−200, −100, −170, 15), a = (−1, −1, −6.5, 0.7), b = (0, 0, 11, 0.6),
    c = (−10, −10, −6.5, 0.7), x₀ = (1, 0, −0.5, −1), y₀ = (0, 0.5, 1.5, 1). A model chemical
    reaction surface: three minima (reactant, intermediate, product) joined by two saddles
    (transition states). Published values (Müller & Brown 1979, Table 1):
    minima (−0.558, 1.442) V = −146.70, (0.623, 0.028) V = −108.17, (−0.050, 0.467) V = −80.77;
    saddles (−0.822, 0.624) V = −40.66 and (0.212, 0.293) V = −72.25.
    Reference: K. Müller and L. D. Brown, "Location of saddle points and minimum energy paths by a
    constrained simplex optimization procedure", Theor. Chim. Acta 53:75–93, 1979. Domain
    x ∈ [−1.5, 1.2], y ∈ [−0.2, 2] as customary in the reaction-path literature.
    """

    name = "muller_brown"
    title = "Müller–Brown potential"
    description = "a chemistry potential: three minima linked by two saddles (transition states)"
    bounds = (-1.5, 1.2, -0.2, 2.0)
    minima = (
        KnownMinimum(-0.5582236346330243, 1.4417258418046686, -146.69951720995402, True),
        KnownMinimum(0.6234994049308765, 0.028037758528685664, -108.16672411685235, False),
        KnownMinimum(-0.050010822998206056, 0.4666941048719721, -80.76781812965903, False),
    )

    A = np.array([-200.0, -100.0, -170.0, 15.0])
    a = np.array([-1.0, -1.0, -6.5, 0.7])
    b = np.array([0.0, 0.0, 11.0, 0.6])
    c = np.array([-10.0, -10.0, -6.5, 0.7])
    x0 = np.array([1.0, 0.0, -0.5, -1.0])
    y0 = np.array([0.0, 0.5, 1.5, 1.0])

    def _terms(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(n, 4)`` arrays: displacement from each centre and ``Aₖ exp(qₖ)``."""
        x, y = _xy(p)
        dx = x[:, None] - self.x0
        dy = y[:, None] - self.y0
        t = self.A * np.exp(self.a * dx * dx + self.b * dx * dy + self.c * dy * dy)
        return dx, dy, t

    point = staticmethod(muller_brown_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        dx, dy, t = self._terms(p)
        qx = 2.0 * self.a * dx + self.b * dy
        qy = self.b * dx + 2.0 * self.c * dy
        hxx = (t * (qx * qx + 2.0 * self.a)).sum(axis=1)
        hxy = (t * (qx * qy + self.b)).sum(axis=1)
        hyy = (t * (qy * qy + 2.0 * self.c)).sum(axis=1)
        return _pack_hessian(hxx, hxy, hyy, len(t))


def peaks_point(x, y):
    """MATLAB peaks' value and gradient at ``(x, y)``."""
    x2 = x * x
    y2 = y * y
    y1 = y + 1.0
    x1 = x + 1.0
    e1 = np.exp(-x2 - y1 * y1)
    e2 = np.exp(-x2 - y2)
    e3 = np.exp(-(x1 * x1) - y2)
    w = 1.0 - x
    u = 3.0 * (w * w)
    v = x * (10.0 * x2 - 2.0) + 10.0 * y2 * y2 * y  # −10 (x/5 − x³ − y⁵)
    ux = -6.0 * w
    vx = 30.0 * x * x - 2.0
    vy = 50.0 * (y2 * y2)
    gx = (ux - 2.0 * x * u) * e1 + (vx - 2.0 * x * v) * e2 + (2.0 / 3.0) * x1 * e3
    gy = -2.0 * y1 * u * e1 + (vy - 2.0 * y * v) * e2 + (2.0 / 3.0) * y * e3
    return u * e1 + v * e2 - e3 / 3.0, gx, gy


class Peaks(Surface):
    """MATLAB's ``peaks``: three Gaussian hills and pits,

    ``f = 3(1 − x)² e^(−x² − (y+1)²) − 10(x/5 − x³ − y⁵) e^(−x² − y²) − ⅓ e^(−(x+1)² − y²)``.

    In [−3, 3]² it has three minima, the global f(0.22828, −1.62553) = −6.55113, f(−1.34740, 0.20452)
    = −3.04985 and a shallow one f(0.29645, 0.32020) = −0.06494; three maxima (the highest
    f(−0.00932, 1.58137) = 8.10621) and four saddles, e.g. (1.09827, 0.85446) and (−0.26594, 0.46674).
    Far away f → 0: runs that leave the hills drift on an almost flat plain.
    Reference: MATLAB documentation, ``peaks`` ("a function of two variables, obtained by translating
    and scaling Gaussian distributions"), The MathWorks. Its widely quoted global minimum −6.5511 at
    (0.2283, −1.6255) and the other critical points are listed here as refined by Newton's method on
    the exact gradient and Hessian (every critical point in the box, found from a dense grid of starts).
    """

    name = "peaks"
    title = "Peaks"
    description = "MATLAB's peaks: three hills, three pits and four saddles between them"
    bounds = (-3.0, 3.0, -3.0, 3.0)
    minima = (
        KnownMinimum(0.22827892055636909, -1.6255349574999964, -6.551133332835837, True),
        KnownMinimum(-1.3473962443682108, 0.20451886609700518, -3.04984940280026, False),
        KnownMinimum(0.2964455538468321, 0.32019624766683435, -0.06493586825552689, False),
    )

    @staticmethod
    def _parts(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        x2, y2 = x * x, y * y
        e1 = np.exp(-x2 - (y + 1.0) ** 2)
        e2 = np.exp(-x2 - y2)
        e3 = np.exp(-((x + 1.0) ** 2) - y2)
        u = 3.0 * (1.0 - x) ** 2
        v = x * (10.0 * x2 - 2.0) + 10.0 * y2 * y2 * y  # −10 (x/5 − x³ − y⁵)
        return e1, e2, e3, u, v

    point = staticmethod(peaks_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        # For a term w·exp(g): ∂²/∂i∂j = (w_ij + w_i g_j + w_j g_i + w (g_ij + g_i g_j)) exp(g)
        x, y = _xy(p)
        e1, e2, e3, u, v = self._parts(x, y)
        ux = -6.0 * (1.0 - x)
        vx = 30.0 * x * x - 2.0
        vy = 50.0 * (y * y) ** 2
        y1 = y + 1.0
        x1 = x + 1.0
        hxx = (6.0 - 4.0 * x * ux + u * (4.0 * x * x - 2.0)) * e1
        hxy = -2.0 * y1 * (ux - 2.0 * x * u) * e1
        hyy = u * (4.0 * y1 * y1 - 2.0) * e1
        hxx = hxx + (60.0 * x - 4.0 * x * vx + v * (4.0 * x * x - 2.0)) * e2
        hxy = hxy + (-2.0 * x * vy - 2.0 * y * vx + 4.0 * x * y * v) * e2
        hyy = hyy + (200.0 * y * y * y - 4.0 * y * vy + v * (4.0 * y * y - 2.0)) * e2
        hxx = hxx - (4.0 * x1 * x1 - 2.0) * e3 / 3.0
        hxy = hxy - (4.0 * x1 * y) * e3 / 3.0
        hyy = hyy - (4.0 * y * y - 2.0) * e3 / 3.0
        return _pack_hessian(hxx, hxy, hyy, len(x))


def saddle_point(x, y):
    """The double well's value and gradient at ``(x, y)``."""
    w = y * y - 1.0
    return x * x + w * w, 2.0 * x, 4.0 * y * w


class Saddle(Surface):
    """A double well whose origin is a textbook saddle: ``f = x² + (y² − 1)²``.

    At the origin f = 1, the gradient vanishes and the Hessian is diag(2, −4): uphill along x, downhill
    along y. Two equal minima f(0, ±1) = 0 lie on either side. A run started exactly on the x-axis
    (y = 0) slides into the saddle and stops there with zero gradient although it is not a minimum;
    the slightest offset in y grows and sends it into one of the wells, so the x-axis is the border
    between the two basins. (The plain ``x² − y²`` shows the same saddle but is unbounded below, so
    every other run would just diverge; the double well keeps runs on the map and settles them.)
    Reference: the saddle-point discussion of Y. N. Dauphin et al., "Identifying and attacking the
    saddle point problem in high-dimensional non-convex optimization", NeurIPS 2014 (this surface is a
    minimal example of it; not a named benchmark).
    """

    name = "saddle"
    title = "Saddle (double well)"
    description = "two wells at (0, ±1) with a saddle point at the origin between them"
    bounds = (-2.0, 2.0, -2.0, 2.0)
    minima = (
        KnownMinimum(0.0, 1.0, 0.0, True),
        KnownMinimum(0.0, -1.0, 0.0, True),
    )

    point = staticmethod(saddle_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        return _pack_hessian(2.0, 0.0, 12.0 * y * y - 4.0, len(x))


def easom_point(x, y):
    """Easom's value and gradient at ``(x, y)``: with a = x − π, b = y − π,
    f = −q(a) q(b), q(t) = cos t · exp(−t²), q'(t) = (−sin t − 2t cos t) exp(−t²)."""
    a = x - np.pi
    b = y - np.pi
    ea = np.exp(-a * a)
    eb = np.exp(-b * b)
    ca = np.cos(a)
    cb = np.cos(b)
    qa = ca * ea
    qb = cb * eb
    da = (-np.sin(a) - 2.0 * a * ca) * ea
    db = (-np.sin(b) - 2.0 * b * cb) * eb
    return -qa * qb, -da * qb, -qa * db


class Easom(Surface):
    """Easom's function ``f = −cos x cos y exp(−(x − π)² − (y − π)²)``: a needle in a plateau.

    A single deep hole f(π, π) = −1 of width ~1 in a plateau where f and its gradient are
    practically zero (|∇f| < 10⁻⁶ beyond ~4 units from the hole). Gradient descent started on the
    plateau barely moves, or is declared converged at once; adaptive methods (Adam, RMSprop) that
    normalise the step cross it. Besides the hole, the default view holds four barely-there minima,
    f ≈ −8.1·10⁻⁵ at (1.3050, 1.3050) and its mirror images about (π, π), and the plateau beyond
    ripples at the 10⁻⁸ level; only the global minimum is listed, as in the literature.
    Reference: E. E. Easom, "A survey of global optimization techniques", M. Eng. thesis, Univ.
    Louisville, 1990; the global minimum f(π, π) = −1 as in Jamil & Yang (2013). The
    literature's domain [−100, 100]² would make the hole narrower than one grid cell, so the default
    view is the square [−1, 7]² around it.
    """

    name = "easom"
    title = "Easom"
    description = "a flat plateau with one narrow deep hole at (pi, pi)"
    bounds = (-1.0, 7.0, -1.0, 7.0)
    minima = (KnownMinimum(np.pi, np.pi, -1.0, True),)

    # With a = x − π, b = y − π: cos x cos y = cos a cos b, so f = −q(a) q(b), q(t) = cos t · exp(−t²).
    @staticmethod
    def _q(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``q(t) = cos t e^(−t²)`` and its first two derivatives."""
        e = np.exp(-t * t)
        c, s = np.cos(t), np.sin(t)
        return c * e, (-s - 2.0 * t * c) * e, ((4.0 * t * t - 3.0) * c + 4.0 * t * s) * e

    point = staticmethod(easom_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        qa, da, dda = self._q(x - np.pi)
        qb, db, ddb = self._q(y - np.pi)
        return _pack_hessian(-dda * qb, -da * db, -qa * ddb, len(x))


_BOWL_HXX = 0.75 + 100.0 * 0.25
_BOWL_HXY = (1.0 - 100.0) * math.sqrt(3.0) / 4.0
_BOWL_HYY = 0.25 + 100.0 * 0.75


def elongated_bowl_point(x, y):
    """The elongated bowl's value and gradient at ``(x, y)``."""
    gx = _BOWL_HXX * x + _BOWL_HXY * y
    gy = _BOWL_HXY * x + _BOWL_HYY * y
    return 0.5 * (x * gx + y * gy), gx, gy


class ElongatedBowl(Surface):
    """An ill-conditioned quadratic: ``f = ½ (u² + 100 v²)`` in axes rotated by 30°,

    ``u = x cos 30° + y sin 30°``, ``v = −x sin 30° + y cos 30°``. A straight, narrow valley along the
    u-axis with curvature 1 along it and 100 across (condition number κ = 100). Steepest descent
    with a step small enough to be stable across the valley (lr < 2/100) creeps along it at rate
    (κ − 1)/(κ + 1) per step and zig-zags; momentum (rate ≈ (√κ − 1)/(√κ + 1)) fixes most of that.
    The 30° rotation keeps the valley off the coordinate axes, so per-coordinate scaling (Adagrad,
    RMSprop, Adam) cannot undo the conditioning exactly. One minimum f(0, 0) = 0.
    Reference: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006, §3.3
    (convergence of steepest descent on quadratics); G. Goh, "Why momentum really works", Distill, 2017.
    """

    name = "elongated_bowl"
    title = "Elongated bowl (κ = 100)"
    description = "a narrow straight valley at 30 degrees, condition number 100"
    bounds = (-2.0, 2.0, -2.0, 2.0)
    log_height = True
    minima = (KnownMinimum(0.0, 0.0, 0.0, True),)

    # Hessian Rᵀ diag(1, 100) R with cos 30° = √3/2, sin 30° = 1/2
    HXX = 0.75 + 100.0 * 0.25
    HXY = (1.0 - 100.0) * np.sqrt(3.0) / 4.0
    HYY = 0.25 + 100.0 * 0.75

    point = staticmethod(elongated_bowl_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        return _pack_hessian(self.HXX, self.HXY, self.HYY, len(p))


def levy13_point(x, y):
    """Lévy N.13's value and gradient at ``(x, y)`` (d/dt sin²(kt) = k sin(2kt))."""
    dx = x - 1.0
    dy = y - 1.0
    s1 = np.sin(3.0 * np.pi * x)
    s2 = np.sin(3.0 * np.pi * y)
    s3 = np.sin(2.0 * np.pi * y)
    w2 = 1.0 + s2 * s2
    w3 = 1.0 + s3 * s3
    v = s1 * s1 + dx * dx * w2 + dy * dy * w3
    gx = 3.0 * np.pi * np.sin(6.0 * np.pi * x) + 2.0 * dx * w2
    gy = dx * dx * 3.0 * np.pi * np.sin(6.0 * np.pi * y) + 2.0 * dy * w3 + dy * dy * 2.0 * np.pi * np.sin(4.0 * np.pi * y)
    return v, gx, gy


class Levy13(Surface):
    """Lévy function N.13 ``f = sin²(3πx) + (x − 1)² (1 + sin²(3πy)) + (y − 1)² (1 + sin²(2πy))``.

    A gentle bowl around (1, 1) covered with a dense field of shallow local minima whose depth grows
    away from the centre: a model of a rugged loss where small steps get stuck everywhere.
    One global minimum f(1, 1) = 0.
    Reference: A. V. Levy and A. Montalvo, "The tunneling algorithm for the global minimization of
    functions", SIAM J. Sci. Stat. Comput. 6(1):15–29, 1985; form, domain [−10, 10]² and f(1, 1) = 0 as
    in Jamil & Yang (2013) and S. Surjanovic and D. Bingham, *Virtual Library of Simulation
    Experiments* ("Levy function N. 13").
    """

    name = "levy13"
    title = "Lévy N.13"
    description = "a dense field of shallow minima on a bowl; global minimum at (1, 1)"
    bounds = (-10.0, 10.0, -10.0, 10.0)
    minima = (KnownMinimum(1.0, 1.0, 0.0, True),)

    point = staticmethod(levy13_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        dx, dy = x - 1.0, y - 1.0
        pi2 = np.pi * np.pi
        s2 = np.sin(3.0 * np.pi * y)
        s3 = np.sin(2.0 * np.pi * y)
        hxx = 18.0 * pi2 * np.cos(6.0 * np.pi * x) + 2.0 * (1.0 + s2 * s2)
        hxy = 6.0 * np.pi * dx * np.sin(6.0 * np.pi * y)
        hyy = (
            18.0 * pi2 * dx * dx * np.cos(6.0 * np.pi * y)
            + 2.0 * (1.0 + s3 * s3)
            + 8.0 * np.pi * dy * np.sin(4.0 * np.pi * y)
            + 8.0 * pi2 * dy * dy * np.cos(4.0 * np.pi * y)
        )
        return _pack_hessian(hxx, hxy, hyy, len(x))


_INV_SQRT2 = 1.0 / np.sqrt(2.0)


def griewank_point(x, y):
    """Griewank's value and gradient at ``(x, y)``."""
    cx = np.cos(x)
    sx = np.sin(x)
    yy = y * _INV_SQRT2
    cy = np.cos(yy)
    sy = np.sin(yy)
    v = 1.0 + (x * x + y * y) / 4000.0 - cx * cy
    return v, x / 2000.0 + sx * cy, y / 2000.0 + cx * sy * _INV_SQRT2


class Griewank(Surface):
    """Griewank's function ``f = 1 + (x² + y²)/4000 − cos x · cos(y/√2)``.

    From afar a wide shallow bowl, up close a lattice of local minima (near the points where
    cos x · cos(y/√2) = 1, about 5.4 apart) whose depths differ by only (x² + y²)/4000: neighbouring
    minima look almost equally good, so descent settles in whichever is nearest. One global minimum
    f(0, 0) = 0.
    Reference: A. O. Griewank, "Generalized descent for global optimization", J. Optim. Theory Appl.
    34(1):11–39, 1981; form and f(0, 0) = 0 as in Jamil & Yang (2013). The literature's
    domain [−600, 600]² shows only the bowl; the default view [−30, 30]² shows both scales.
    """

    name = "griewank"
    title = "Griewank"
    description = "a wide shallow bowl covered by a lattice of nearly equal minima"
    bounds = (-30.0, 30.0, -30.0, 30.0)
    minima = (KnownMinimum(0.0, 0.0, 0.0, True),)

    point = staticmethod(griewank_point)

    def hessian(self, p: np.ndarray) -> np.ndarray:
        x, y = _xy(p)
        cx, sx = np.cos(x), np.sin(x)
        yy = y * _INV_SQRT2
        cy, sy = np.cos(yy), np.sin(yy)
        return _pack_hessian(1.0 / 2000.0 + cx * cy, -sx * sy * _INV_SQRT2, 1.0 / 2000.0 + 0.5 * cx * cy, len(x))


for _cls in (
    Himmelblau,
    Rosenbrock,
    Rastrigin,
    Ackley,
    Beale,
    Booth,
    Matyas,
    McCormick,
    ThreeHumpCamel,
    SixHumpCamel,
    GoldsteinPrice,
    StyblinskiTang,
    MullerBrown,
    Peaks,
    Saddle,
    Easom,
    ElongatedBowl,
    Levy13,
    Griewank,
):
    register_surface(_cls.name, _cls.description, _cls)
del _cls
