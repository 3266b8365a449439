"""The surface catalogue: exact derivatives, published minima, grid orientation, registry.

Most tests are parametrized over ``surface_names()``: a surface is tested by being registered,
including ones other modules add (neural-network losses). Each uses ~50 random points in the
surface's default bounds, so the whole file stays fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import (
    KnownMinimum,
    Surface,
    get_surface,
    register_surface,
    surface_entries,
    surface_names,
)

NAMES = surface_names()
WITH_MINIMA = [n for n in NAMES if get_surface(n).minima]  # network losses publish none
N_POINTS = 50


def _points(surface: Surface, n: int = N_POINTS, seed: int = 0) -> np.ndarray:
    """``n`` uniform random points inside the default bounds (seeded by the name: reproducible)."""
    xmin, xmax, ymin, ymax = surface.bounds
    rng = np.random.default_rng([seed, *surface.name.encode()])
    return np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])


def _span(surface: Surface) -> float:
    xmin, xmax, ymin, ymax = surface.bounds
    return max(xmax - xmin, ymax - ymin)


def _stencil(fun, p: np.ndarray, h: float) -> np.ndarray:
    """Five-point central differences of ``fun`` along x and y; the last axis indexes the direction.

    Error O(h⁴), so a step of 3e-5 of the domain keeps truncation and rounding both far below the
    tolerances used here.
    """
    out = []
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        d = 8.0 * (fun(p + e) - fun(p - e)) - (fun(p + 2 * e) - fun(p - 2 * e))
        out.append(d / (12.0 * h))
    return np.stack(out, axis=-1)


def _assert_derivative(exact: np.ndarray, approx: np.ndarray, what: str, smooth: bool = True) -> None:
    """Exact vs finite-difference derivative, per point: error ≤ 1e-6 of the point's own magnitude,
    plus 1e-8 of the largest magnitude over the sample (for points where it nearly vanishes)."""
    n = len(exact)
    exact2 = exact.reshape(n, -1)
    approx2 = approx.reshape(n, -1)
    err = np.abs(exact2 - approx2).max(axis=1)
    own = np.maximum(np.abs(exact2).max(axis=1), np.abs(approx2).max(axis=1))
    tol = 1e-6 * own + 1e-8 * own.max()
    bad = np.flatnonzero(err > tol)
    if not smooth:
        # A piecewise-smooth surface (``surface.smooth is False``: network losses with creases where
        # Keras clips, a hinge or an absolute value switches) is exact off its creases; a stencil that
        # straddles one disagrees. Creases have measure zero, so nearly every point must agree.
        assert bad.size <= max(1, n // 5), f"{what} disagrees with finite differences at {bad.size} of {n} points"
        return
    assert bad.size == 0, (
        f"{what} disagrees with finite differences at {bad.size} of {n} points, e.g. index {bad[0]}: "
        f"exact {exact2[bad[0]]}, finite differences {approx2[bad[0]]}"
    )


def _check_grad(surface: Surface, p: np.ndarray) -> None:
    h = 3e-5 * _span(surface)
    _assert_derivative(surface.grad(p), _stencil(surface.value, p, h), f"{surface.name} gradient",
                       surface.smooth)


def _check_hessian(surface: Surface, p: np.ndarray) -> None:
    h = 3e-5 * _span(surface)
    # _stencil(grad) gives [n, i, j] = ∂g_i/∂x_j
    _assert_derivative(surface.hessian(p), _stencil(surface.grad, p, h), f"{surface.name} Hessian",
                       surface.smooth)


# --------------------------------------------------------------------------------------------------
# Derivatives, for every registered surface


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_finite_values(name: str) -> None:
    s = get_surface(name)
    for n in (1, N_POINTS):
        p = _points(s, n)
        v, g, h = s.value(p), s.grad(p), s.hessian(p)
        assert v.shape == (n,) and g.shape == (n, 2) and h.shape == (n, 2, 2)
        assert v.dtype == g.dtype == h.dtype == np.float64
        assert np.isfinite(v).all() and np.isfinite(g).all() and np.isfinite(h).all()


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name: str) -> None:
    s = get_surface(name)
    _check_grad(s, _points(s))


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_and_is_symmetric(name: str) -> None:
    s = get_surface(name)
    p = _points(s)
    _check_hessian(s, p)
    h = s.hessian(p)
    np.testing.assert_array_equal(h[:, 0, 1], h[:, 1, 0])


@pytest.mark.parametrize("name", NAMES)
def test_value_and_grad_equals_value_and_grad_separately(name: str) -> None:
    s = get_surface(name)
    p = _points(s)
    v, g = s.value_and_grad(p)
    scale_v = np.abs(s.value(p)).max()
    scale_g = np.abs(s.grad(p)).max()
    np.testing.assert_allclose(v, s.value(p), rtol=1e-13, atol=1e-14 * scale_v)
    np.testing.assert_allclose(g, s.grad(p), rtol=1e-13, atol=1e-14 * scale_g)


class _WrongCoefficient(Surface):
    """Himmelblau with one coefficient off by 1 % in the gradient (x-part) and in the Hessian (xy)."""

    name = "himmelblau"
    bounds = (-5.0, 5.0, -5.0, 5.0)

    def __init__(self) -> None:
        self._h = get_surface("himmelblau")

    def value(self, p: np.ndarray) -> np.ndarray:
        return self._h.value(p)

    def grad(self, p: np.ndarray) -> np.ndarray:
        x, y = p[:, 0], p[:, 1]
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        return np.column_stack([4.0 * a * x + 2.02 * b, 2.0 * a + 4.0 * b * y])

    def hessian(self, p: np.ndarray) -> np.ndarray:
        h = self._h.hessian(p)
        h[:, 0, 1] *= 1.01
        h[:, 1, 0] *= 1.01
        return h


def test_derivative_checks_catch_a_one_percent_coefficient_error() -> None:
    s = _WrongCoefficient()
    p = _points(s)
    with pytest.raises(AssertionError, match="gradient"):
        _check_grad(s, p)
    with pytest.raises(AssertionError, match="Hessian"):
        _check_hessian(s, p)


# --------------------------------------------------------------------------------------------------
# Listed minima, for every registered surface


def _spread(s: Surface) -> float:
    """Typical size of the surface's values over its domain (for value tolerances)."""
    v = s.value(_points(s))
    return float(np.ptp(v) + np.abs(v).max())


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_listed_minima_are_strict_local_minima_with_their_listed_values(name: str) -> None:
    s = get_surface(name)
    m = np.array([[k.x, k.y] for k in s.minima])
    xmin, xmax, ymin, ymax = s.bounds
    assert ((m[:, 0] >= xmin) & (m[:, 0] <= xmax) & (m[:, 1] >= ymin) & (m[:, 1] <= ymax)).all(), "minimum outside bounds"
    values = np.array([k.value for k in s.minima])
    np.testing.assert_allclose(s.value(m), values, rtol=0, atol=1e-12 * _spread(s))
    h = s.hessian(m)
    eig = np.linalg.eigvalsh(h)
    assert (eig[:, 0] > 1e-9 * np.abs(eig).max(axis=1)).all(), f"Hessian not positive definite: eigenvalues {eig}"
    # Stationary: the Newton step to the exact critical point is below 1e-9 of the domain.
    step = np.linalg.solve(h, s.grad(m)[:, :, None])[:, :, 0]
    assert (np.hypot(step[:, 0], step[:, 1]) <= 1e-9 * _span(s)).all(), f"not stationary: Newton steps {step}"


def test_most_catalogue_surfaces_publish_minima() -> None:
    assert len(WITH_MINIMA) >= 19


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_exactly_the_lowest_minima_are_flagged_global(name: str) -> None:
    s = get_surface(name)
    values = np.array([k.value for k in s.minima])
    lowest = values.min() + 1e-12 * _spread(s)
    assert [k.is_global for k in s.minima] == list(values <= lowest)


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_distinct(name: str) -> None:
    s = get_surface(name)
    m = np.array([[k.x, k.y] for k in s.minima]).reshape(-1, 2)
    d = np.hypot(*(m[:, None, :] - m[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert (d > 1e-6 * _span(s)).all()


# Published (rounded) minima: each must match a listed minimum to the digits printed. This catches a
# miscopied constant in a formula, which the self-consistency checks above cannot.
PUBLISHED_MINIMA: dict[str, list[tuple[str, str, str]]] = {
    "himmelblau": [("3.0", "2.0", "0"), ("-2.805118", "3.131312", "0"), ("-3.779310", "-3.283186", "0"), ("3.584428", "-1.848126", "0")],
    "rosenbrock": [("1", "1", "0")],
    "rastrigin": [("0", "0", "0")],
    "ackley": [("0", "0", "0")],
    "beale": [("3", "0.5", "0")],
    "booth": [("1", "3", "0")],
    "matyas": [("0", "0", "0")],
    "mccormick": [("-0.54719", "-1.54719", "-1.9133")],
    "three_hump_camel": [("0", "0", "0")],
    "six_hump_camel": [("0.0898", "-0.7126", "-1.0316"), ("-0.0898", "0.7126", "-1.0316")],
    "goldstein_price": [("0", "-1", "3"), ("-0.6", "-0.4", "30"), ("1.8", "0.2", "84"), ("1.2", "0.8", "840")],
    "styblinski_tang": [("-2.903534", "-2.903534", "-78.332")],
    "muller_brown": [("-0.558", "1.442", "-146.70"), ("0.623", "0.028", "-108.17"), ("-0.050", "0.467", "-80.77")],
    "peaks": [("0.2283", "-1.6255", "-6.5511")],
    "easom": [("3.14159", "3.14159", "-1")],
    "levy13": [("1", "1", "0")],
    "griewank": [("0", "0", "0")],
}


def _last_digit(text: str) -> float:
    """One unit in the last printed decimal place (published tables round or truncate)."""
    return 10.0 ** -len(text.split(".")[1]) if "." in text else 1e-9


@pytest.mark.parametrize("name", sorted(PUBLISHED_MINIMA))
def test_published_minima_are_listed(name: str) -> None:
    s = get_surface(name)
    for xs, ys, vs in PUBLISHED_MINIMA[name]:
        hits = [
            k
            for k in s.minima
            if abs(k.x - float(xs)) <= _last_digit(xs) and abs(k.y - float(ys)) <= _last_digit(ys)
        ]
        assert len(hits) == 1, f"published minimum ({xs}, {ys}) of {name} not listed"
        assert abs(hits[0].value - float(vs)) <= _last_digit(vs)
        assert abs(s.value(np.array([[hits[0].x, hits[0].y]]))[0] - float(vs)) <= _last_digit(vs)
        if float(vs) == min(float(v) for _, _, v in PUBLISHED_MINIMA[name]):
            assert hits[0].is_global


# Published saddle points (transition states): Newton refinement on our exact derivatives must stay
# within the published rounding and find an indefinite Hessian.
PUBLISHED_SADDLES: dict[str, list[tuple[str, str, str]]] = {
    "muller_brown": [("-0.822", "0.624", "-40.66"), ("0.212", "0.293", "-72.25")],
    "saddle": [("0", "0", "1")],
    "beale": [("0", "1", "14.203125")],
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_SADDLES))
def test_published_saddles_are_saddles(name: str) -> None:
    s = get_surface(name)
    for xs, ys, vs in PUBLISHED_SADDLES[name]:
        p = np.array([[float(xs), float(ys)]])
        for _ in range(20):
            p = p - np.linalg.solve(s.hessian(p), s.grad(p)[:, :, None])[:, :, 0]
        assert abs(p[0, 0] - float(xs)) <= _last_digit(xs) and abs(p[0, 1] - float(ys)) <= _last_digit(ys)
        assert abs(s.value(p)[0] - float(vs)) <= _last_digit(vs)
        eig = np.linalg.eigvalsh(s.hessian(p))[0]
        assert eig[0] < 0 < eig[1]


# Surfaces whose listed minima claim to be ALL local minima in the default bounds (the others, e.g.
# rastrigin with ~100, list only the global one).
COMPLETE = [
    "himmelblau", "rosenbrock", "beale", "booth", "matyas", "mccormick", "three_hump_camel", "six_hump_camel",
    "goldstein_price", "styblinski_tang", "muller_brown", "peaks", "saddle", "elongated_bowl",
]


def _newton_critical_points(s: Surface, resolution: int = 24, iterations: int = 60) -> np.ndarray:
    """Critical points reached by damped Newton from a grid of starts (vectorised), inside the bounds."""
    xmin, xmax, ymin, ymax = s.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution), indexing="ij")
    p = np.column_stack([gx.ravel(), gy.ravel()])
    cap = 0.05 * _span(s)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            h = s.hessian(p)
            det = h[:, 0, 0] * h[:, 1, 1] - h[:, 0, 1] ** 2
            g = s.grad(p)
            step = np.column_stack([h[:, 1, 1] * g[:, 0] - h[:, 0, 1] * g[:, 1], h[:, 0, 0] * g[:, 1] - h[:, 0, 1] * g[:, 0]])
            step /= det[:, None]
            norm = np.hypot(step[:, 0], step[:, 1])
            step *= np.minimum(1.0, cap / norm)[:, None]
            p = p - step
            p = p[np.isfinite(p).all(axis=1) & (np.abs(p[:, 0]) < 1e6) & (np.abs(p[:, 1]) < 1e6)]
        h = s.hessian(p)
        step = np.linalg.solve(h, s.grad(p)[:, :, None])[:, :, 0]
    ok = (
        (np.hypot(step[:, 0], step[:, 1]) < 1e-10 * _span(s))
        & (p[:, 0] >= xmin) & (p[:, 0] <= xmax) & (p[:, 1] >= ymin) & (p[:, 1] <= ymax)
    )
    return p[ok]


@pytest.mark.parametrize("name", COMPLETE)
def test_every_local_minimum_in_the_bounds_is_listed(name: str) -> None:
    s = get_surface(name)
    crit = _newton_critical_points(s)
    eig = np.linalg.eigvalsh(s.hessian(crit))
    found = crit[eig[:, 0] > 0]
    listed = np.array([[k.x, k.y] for k in s.minima])
    d = np.hypot(*(found[:, None, :] - listed[None, :, :]).transpose(2, 0, 1))
    tol = 1e-7 * _span(s)
    unlisted = found[d.min(axis=1) > tol]
    assert unlisted.size == 0, f"{name}: unlisted local minima {np.unique(unlisted.round(6), axis=0)}"
    assert (d.min(axis=0) <= tol).all(), f"{name}: the search did not reach every listed minimum"


# --------------------------------------------------------------------------------------------------
# Grid, metadata, registry


@pytest.mark.parametrize("name", NAMES)
def test_grid_is_indexed_x_first_on_non_square_bounds(name: str) -> None:
    s = get_surface(name)
    xmin, xmax, ymin, ymax = s.bounds
    bounds = (xmin, xmax, ymin + 0.4 * (ymax - ymin), ymax)  # a rectangle, even for square defaults
    xs, ys, z = s.grid(bounds, resolution=6)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == bounds
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    expected = s.value(np.column_stack([gx.ravel(), gy.ravel()])).reshape(6, 6)
    np.testing.assert_array_equal(z, expected)
    i, j = 1, 4
    assert z[i, j] == s.value(np.array([[xs[i], ys[j]]]))[0]


def test_grid_orientation_on_an_asymmetric_surface() -> None:
    s = get_surface("rosenbrock")  # f(x, y) != f(y, x)
    xs, ys, z = s.grid((-2.0, 2.0, -1.0, 3.0), resolution=5)
    assert z[0, 4] == s.value(np.array([[-2.0, 3.0]]))[0] == 109.0
    assert z[4, 0] == s.value(np.array([[2.0, -1.0]]))[0] == 2501.0


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name: str) -> None:
    s = get_surface(name)
    entry = next(e for e in surface_entries() if e.name == name)
    assert s.name == name
    assert s.title and s.description and "\n" not in s.description
    assert entry.description == s.description
    xmin, xmax, ymin, ymax = s.bounds
    assert xmin < xmax and ymin < ymax
    assert isinstance(s.log_height, bool)
    assert all(isinstance(k, KnownMinimum) for k in s.minima)


def test_names_and_titles_are_unique_and_the_catalogue_is_complete() -> None:
    names = surface_names()
    assert len(names) == len(set(names))
    titles = [get_surface(n).title for n in names]
    assert len(titles) == len(set(titles))
    required = {
        "himmelblau", "rosenbrock", "rastrigin", "ackley", "beale", "booth", "matyas", "mccormick",
        "three_hump_camel", "six_hump_camel", "goldstein_price", "styblinski_tang", "muller_brown", "peaks", "saddle",
    }
    assert required <= set(names)


def test_unknown_surface_names_the_valid_ones() -> None:
    with pytest.raises(LandscapeError) as info:
        get_surface("nope")
    message = str(info.value)
    assert "'nope'" in message and "\n" not in message
    for name in surface_names():
        assert name in message


def test_register_surface_adds_and_replaces() -> None:
    from landscape_gui.core import surfaces as mod

    before = dict(mod._REGISTRY)
    try:
        register_surface("test_bowl", "a test", lambda: get_surface("booth"))
        assert "test_bowl" in surface_names()
        register_surface("test_bowl", "replaced", lambda: get_surface("matyas"))
        assert surface_names().count("test_bowl") == 1
        assert get_surface("test_bowl").name == "matyas"
    finally:
        mod._REGISTRY.clear()
        mod._REGISTRY.update(before)


def test_integer_points_are_evaluated_in_float64() -> None:
    s = get_surface("six_hump_camel")
    p = np.array([[1, -1], [0, 2]])
    np.testing.assert_array_equal(s.value(p), s.value(p.astype(float)))
    assert s.grad(p).dtype == np.float64


def test_saddle_surface_settles_either_side_and_stalls_exactly_on_its_axis() -> None:
    """The teaching point of ``saddle``: plain descent from just above/below the x-axis ends in the two
    wells; from exactly on it, in the saddle point with zero gradient."""
    s = get_surface("saddle")
    p = np.array([[1.5, 1e-3], [1.5, -1e-3], [1.5, 0.0]])
    for _ in range(2000):
        p = p - 0.05 * s.grad(p)
    np.testing.assert_allclose(p, [[0.0, 1.0], [0.0, -1.0], [0.0, 0.0]], atol=1e-6)
    assert np.linalg.eigvalsh(s.hessian(p[2:]))[0, 0] < 0


def test_grad_defaults_to_value_and_grad_and_refuses_when_neither_exists() -> None:
    class Both(Surface):
        def value_and_grad(self, p):
            return p[:, 0] ** 2, np.column_stack([2 * p[:, 0], 0 * p[:, 1]])

    np.testing.assert_array_equal(Both().grad(np.array([[3.0, 1.0]])), [[6.0, 0.0]])
    with pytest.raises(NotImplementedError):
        Surface().grad(np.array([[0.0, 0.0]]))
