"""Formula surfaces: exact values and derivatives, refusals of hostile text, round trips."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.formula import (
    ALIASES,
    EXAMPLES,
    FUNCTIONS,
    FormulaError,
    FormulaSurface,
    formula_surface,
    parse_formula,
)
from landscape_gui.core.surfaces import get_surface, surface_from_spec

RNG = np.random.default_rng(7)
POINTS = RNG.uniform(0.3, 2.2, size=(40, 2))  # inside every function's domain below


def fd_grad(s: FormulaSurface, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    e = np.eye(2) * h
    return np.stack([(s.value(p + e[k]) - s.value(p - e[k])) / (2 * h) for k in range(2)], axis=1)


def fd_hessian(s: FormulaSurface, p: np.ndarray, h: float = 1e-5) -> np.ndarray:
    e = np.eye(2) * h
    cols = [(s.grad(p + e[k]) - s.grad(p - e[k])) / (2 * h) for k in range(2)]
    return np.stack(cols, axis=2)


SMOOTH = [
    "x^2 + y^2",
    "(1 - x)^2 + 100*(y - x^2)^2",
    "sin(x) * cos(y) + 0.1*(x^2 + y^2)",
    "exp(-(x^2 + y^2)/2) * x",
    "log(x*y) + sqrt(x)/exp(y)",
    "x^y",
    "atan2(y, x) + hypot(x, y)",
    "tanh(x)*sinh(y)/cosh(x)",
    "asin(x/3) + acos(y/3) + atan(x*y)",
    "asinh(x) + acosh(1 + y) + atanh(x/3)",
    "log10(x) + log2(y) + ln(x + y)",
    "square(x - y) + pow(x, 3) + cbrt(x*y)",
    "x*y/(x + y)^3 - 2^-x",
    "20 + x^2 + y^2 - 10*(cos(2*pi*x) + cos(2*pi*y))",
    "tan(x/3) * e^y",
]


@pytest.mark.parametrize("text", SMOOTH)
def test_gradient_and_hessian_match_finite_differences(text: str) -> None:
    s = formula_surface(text)
    g = s.grad(POINTS)
    np.testing.assert_allclose(g, fd_grad(s, POINTS), rtol=1e-6, atol=1e-6)
    h = s.hessian(POINTS)
    np.testing.assert_allclose(h, fd_hessian(s, POINTS), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(h[:, 0, 1], h[:, 1, 0])


@pytest.mark.parametrize("text", SMOOTH + ["abs(x - y)*y", "max(x, y)^2", "min(x*y, 1)", "sign(x - 1)*y"])
def test_derivatives_equal_sympy_diff_of_the_expression(text: str) -> None:
    """The forward-mode jets agree with sympy.diff of the whole expression, away from kinks."""
    s = formula_surface(text)
    x, y = sp.symbols("x y", real=True)
    helpers = {"_abs": sp.Abs, "_sign": sp.sign, "_max": sp.Max, "_min": sp.Min, "x": x, "y": y}
    with sp.evaluate(True):
        f = sp.sympify(str(s.expression), locals=helpers)  # our own printed expression, not user text
    exprs = [f, f.diff(x), f.diff(y), f.diff(x, 2), f.diff(x, y), f.diff(y, 2)]
    exprs = [e.replace(lambda t: isinstance(t, sp.DiracDelta), lambda t: 0) for e in exprs]
    ref = [np.broadcast_to(np.asarray(v, float), (len(POINTS),)) for v in sp.lambdify((x, y), exprs)(*POINTS.T)]
    v, g = s.value_and_grad(POINTS)
    h = s.hessian(POINTS)
    got = [v, g[:, 0], g[:, 1], h[:, 0, 0], h[:, 0, 1], h[:, 1, 1]]
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("(1 - x)^2 + 100*(y - x^2)^2", "rosenbrock"),
        ("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "himmelblau"),
    ],
)
def test_formula_reproduces_the_catalogue_surface(text: str, name: str) -> None:
    s, ref = formula_surface(text), get_surface(name)
    p = RNG.uniform(-4, 4, size=(100, 2))
    np.testing.assert_allclose(s.value(p), ref.value(p), rtol=1e-13)
    np.testing.assert_allclose(s.grad(p), ref.grad(p), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(s.hessian(p), ref.hessian(p), rtol=1e-12, atol=1e-9)


def test_closed_forms() -> None:
    p = np.array([[1.0, 2.0], [-0.5, 0.25], [3.0, -1.0]])
    x, y = p.T
    s = formula_surface("x^3*y - exp(x*y)")
    np.testing.assert_allclose(s.value(p), x**3 * y - np.exp(x * y))
    np.testing.assert_allclose(s.grad(p), np.column_stack([3 * x**2 * y - y * np.exp(x * y), x**3 - x * np.exp(x * y)]))
    h = s.hessian(p)
    np.testing.assert_allclose(h[:, 0, 0], 6 * x * y - y**2 * np.exp(x * y))
    np.testing.assert_allclose(h[:, 0, 1], 3 * x**2 - (1 + x * y) * np.exp(x * y))
    np.testing.assert_allclose(h[:, 1, 1], -(x**2) * np.exp(x * y))


def test_caret_is_power_with_python_precedence() -> None:
    p = np.array([[3.0, 2.0]])
    assert formula_surface("2^3^2").value(p)[0] == 512.0  # right-associative
    assert formula_surface("-x^2").value(p)[0] == -9.0  # -(x^2)
    assert formula_surface("x^-1").value(p)[0] == pytest.approx(1 / 3)
    assert formula_surface("x^y + 1").value(p)[0] == 10.0  # ^ binds tighter than +
    np.testing.assert_array_equal(formula_surface("x ^ 2 * y").grad(p), formula_surface("x**2*y").grad(p))


@pytest.mark.parametrize("text", ["1", "x", "y", "pi", "-e", "2*pi - 1"])
def test_constant_and_linear_formulas_broadcast(text: str) -> None:
    s = formula_surface(text)
    p = RNG.normal(size=(5, 2))
    v, g = s.value_and_grad(p)
    h = s.hessian(p)
    assert v.shape == (5,) and g.shape == (5, 2) and h.shape == (5, 2, 2)
    assert v.dtype == g.dtype == h.dtype == np.float64
    expected = {"1": 1.0, "pi": np.pi, "-e": -np.e, "2*pi - 1": 2 * np.pi - 1}
    if text in expected:
        np.testing.assert_allclose(v, expected[text])
        assert not g.any() and not h.any()
    else:
        k = "xy".index(text)
        np.testing.assert_array_equal(v, p[:, k])
        np.testing.assert_array_equal(g, np.tile(np.eye(2)[k], (5, 1)))


def test_kinks_follow_torch_conventions() -> None:
    """abs'(0) = 0, sign' = 0, and max/min ties split the gradient evenly (torch.maximum)."""
    p = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 1.0]])
    np.testing.assert_array_equal(formula_surface("abs(x) + abs(y)").grad(p)[0], [0.0, 0.0])
    np.testing.assert_array_equal(formula_surface("max(x, y)").grad(p), [[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_array_equal(formula_surface("min(x, y)").grad(p), [[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_array_equal(formula_surface("sign(x - 1) * 3").grad(p), np.zeros((3, 2)))
    np.testing.assert_array_equal(formula_surface("max(x, y)").value(p), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(formula_surface("cbrt(x)").value(np.array([[-8.0, 0.0]])), [-2.0])


def test_every_listed_function_and_alias_compiles() -> None:
    for name, spec in FUNCTIONS.items():
        first = "x + 1.5" if name == "arccosh" else "x/10 + 0.5"
        args = ", ".join([first, "y/10 + 0.5"][: spec.arity])
        s = formula_surface(f"{name}({args})")
        v, g = s.value_and_grad(POINTS)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), name
    for alias, name in ALIASES.items():
        arity = FUNCTIONS[name].arity
        args = ", ".join(["x/3", "y/3 + 0.2"][:arity])
        a = formula_surface(f"{alias}({args})").value(POINTS / 10 + 1.1 * (name == "arccosh"))
        b = formula_surface(f"{name}({args})").value(POINTS / 10 + 1.1 * (name == "arccosh"))
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_compile_and_are_finite_on_their_bounds(text: str) -> None:
    xs, ys, z = formula_surface(text).grid(resolution=41)
    assert z.shape == (41, 41) and np.all(np.isfinite(z))


def test_surface_attributes_and_round_trip_through_spec() -> None:
    s = formula_surface("  sin(x) * y^2 \n")
    assert s.name == "sin(x) * y^2"
    assert s.title == "f(x, y) = sin(x) * y^2"
    assert s.bounds == (-5.0, 5.0, -5.0, 5.0) and s.minima == () and s.log_height is False
    back = surface_from_spec(s.name)
    p = RNG.uniform(-5, 5, size=(30, 2))
    np.testing.assert_array_equal(back.value(p), s.value(p))
    np.testing.assert_array_equal(back.hessian(p), s.hessian(p))
    assert back.name == s.name
    assert formula_surface("x", bounds=(0, 1, -2, 2)).bounds == (0.0, 1.0, -2.0, 2.0)
    with pytest.raises(LandscapeError):
        formula_surface("x", bounds=(1, 0, 0, 1))


def test_parse_formula_gives_a_sympy_expression_in_x_and_y() -> None:
    expr = parse_formula("x^2 + sin(y)")
    assert {str(s) for s in expr.free_symbols} == {"x", "y"}
    x, y = sp.symbols("x y")
    assert float(expr.subs({x: 2, y: 0})) == 4.0


def test_not_finite_gives_nan_gaps_and_a_diverged_run() -> None:
    s = formula_surface("log(x) + y^2")
    p = np.array([[-1.0, 0.0], [1.0, 0.0]])
    with np.errstate(all="raise"):  # no warning escapes
        v = s.value(p)
        g = s.grad(p)
    assert np.isnan(v[0]) and v[1] == 0.0
    assert np.isfinite(g[1]).all()
    xs, ys, z = s.grid(resolution=21)
    assert np.isnan(z[xs < 0]).all() and np.isfinite(z[xs > 0]).all()
    # minimising log(x) walks x towards 0 and past it: x = 1 -> 0.5 -> -0.5 (log undefined)
    result = engine.run(s, "sgd", [[1.0, 0.0]], {"lr": 0.5}, max_steps=50)
    assert result.statuses == ["diverged"]
    assert result.runs[0].positions[-1, 0] == 0.5


def test_run_on_a_formula_converges_to_its_minimum() -> None:
    s = formula_surface("(x - 1)^2 + 2*(y + 0.5)^2")
    result = engine.run(s, "sgd", [[3.0, 2.0], [-2.0, -3.0]], {"lr": 0.1}, max_steps=500)
    assert result.statuses == ["converged", "converged"]
    np.testing.assert_allclose(result.final_positions, [[1.0, -0.5]] * 2, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# Refusals: (text, column, words the message must contain)

REFUSED = [
    ("x +", 4, "ends too early after '+'"),
    ("x + * y", 5, "unexpected '*'"),
    ("x ^^ 2", 4, "unexpected '^'"),
    ("sin(x", 4, "never closed"),
    ("x)", 2, "without a matching"),
    ("z", 1, "unknown name 'z'"),
    ("x + z*2", 5, "unknown name 'z'"),
    ("loadtxt(x)", 1, "unknown function 'loadtxt'"),
    ("os.system(x)", 1, "attribute access"),
    ("x.real", 1, "attribute access"),
    ("sin(x, y)", 1, "sin() takes one argument, got 2"),
    ("max(x)", 1, "max() takes 2 arguments, got 1"),
    ("atan2(x, y, 1)", 1, "atan2() takes 2 arguments, got 3"),
    ("sin", 1, "needs an argument"),
    ("x[0]", 2, "character '['"),
    ("sin(x=1)", 6, "character '='"),
    ("lambda x: x", 9, "character ':'"),
    ("[x for x in (1, 2)]", 1, "character '['"),
    ("(x for x in y)", 1, "comprehensions"),
    ("'x'", 1, "strings are not allowed"),
    ("b'x'", 2, "strings are not allowed"),
    ("f'{x}'", 2, "strings are not allowed"),
    ("x = 1", 3, "character '='"),
    ("(y := 1)", 4, "character ':'"),
    ("x; y", 2, "character ';'"),
    ("import os", 1, "unexpected 'import'"),
    ("x < y", 3, "comparisons are not allowed"),
    ("x and y", 1, "'and'/'or'"),
    ("not x", 1, "'not'"),
    ("x if y else 1", 1, "'if ... else'"),
    ("(x, y)", 1, "tuples"),
    ("x // 2", 3, "operator '//'"),
    ("x % 2", 3, "character '%'"),
    ("x\0", 2, "NUL byte"),
    ("x\n+ y", 2, "character '\\n'"),
    ("x" * 1001, 1001, "formula too long (1001 characters"),
    ("(" * 3000 + "x" + ")" * 3000, 1001, "formula too long"),
    ("(" * 41 + "x" + ")" * 41, 41, "parentheses nested too deeply"),
    ("-" * 200 + "x", 61, "nested too deeply"),
    ("x" + "*x" * 450, 1, "nested too deeply"),
    ("+".join(["x*y"] * 150), 335, "formula too long (at most 400"),
    ("9**9**9**9", 5, "number too large"),
    ("10**10**10", 3, "number too large"),
    ("1e999999*x", 1, "number too large"),
    ("9" * 400 + "*x", 1, "number too large"),
    ("1e300*1e300*x", 6, "number too large in *"),
    ("exp(1000)*x", 1, "number too large in exp()"),
    ("x**10000", 2, "exponent 10000 too large"),
    ("(x**1000)**1000", 10, "nested exponents multiply to 1e+06"),
    ("pow(x, 1e9)", 1, "exponent 1e+09 too large"),
    ("x/0", 2, "division by zero"),
    ("1/(2-2)*x", 2, "division by zero"),
    ("log(0) + x", 1, "log() of these numbers is not a real number"),
    ("sqrt(-1)*x", 1, "sqrt() of these numbers is not a real number"),
    ("2x", 2, "missing '*' between '2' and 'x'"),
    ("1j*x", 2, "missing '*' between '1' and 'j'"),
    ("x(y)", 2, "missing '*' between 'x' and '('"),
    ("2(x)", 2, "missing '*' before '('"),
    ("True + x", 1, "unknown name 'True'"),
    ("...", 1, "unknown name 'Ellipsis'"),
    ("", 1, "empty formula"),
    ("   ", 1, "empty formula"),
    ("   x ^ ", 7, "ends too early after '^'"),
]


@pytest.mark.parametrize(("text", "column", "words"), REFUSED, ids=[repr(t[0][:24]) for t in REFUSED])
def test_hostile_and_broken_input_is_refused_with_its_column(text: str, column: int, words: str) -> None:
    with pytest.raises(FormulaError) as info:
        formula_surface(text)
    err = info.value
    assert isinstance(err, LandscapeError)
    assert words in str(err)
    assert err.column == column, str(err)
    assert f"at column {column}" in str(err)
    assert "\n" not in str(err)


def test_refusals_are_fast_and_nothing_is_evaluated(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how long each refusal took (a figure, not an assertion), and checks no side effect ran."""
    worst = 0.0
    for text, _, _ in REFUSED:
        t0 = time.perf_counter()
        with pytest.raises(FormulaError):
            formula_surface(text)
        worst = max(worst, time.perf_counter() - t0)
    with pytest.raises(FormulaError):
        formula_surface("__import__(x).exit(1)")
    print(f"slowest refusal: {worst * 1000:.1f} ms")


def test_formulas_with_kinks_are_marked_not_smooth() -> None:
    assert formula_surface("x^2 + sin(y)").smooth is True
    for text in ("abs(x) + y^2", "max(x, y)", "min(x, 1)*y", "sign(x)*y", "cbrt(x)"):
        assert formula_surface(text).smooth is False, text


def test_formula_survives_the_csv_round_trip(tmp_path) -> None:
    from landscape_gui.core.export import read_csv, write_csv

    text = "(x - 1)^2 + 2*sin(y)^2 + 0.1*x*y"
    s = formula_surface(text)
    runs = engine.run_many(s, "sgd", [[2.0, 1.0], [-1.0, 0.5]], {"lr": 0.05}, max_steps=40)
    path = tmp_path / "runs.csv"
    write_csv(path, runs)
    back = read_csv(path)
    assert [r.surface for r in back] == [text, text]
    again = surface_from_spec(back[0].surface)
    np.testing.assert_array_equal(again.value(back[0].positions), s.value(runs[0].positions))
    np.testing.assert_allclose(back[0].losses, runs[0].losses)


LARGEST_ACCEPTED = {
    "59 nested powers": "^".join("xy"[i % 2] for i in range(59)),
    "product of 59 factors": "*".join(f"(x+{i})" for i in range(59)),
    "40 nested functions": "".join(["sin(", "exp(", "log(", "tanh("][i % 4] for i in range(40)) + "x*y" + ")" * 40,
    "sum of 100 terms": "+".join(f"{i}*x*y" for i in range(40)) + "+" + "+".join(["x"] * 60),
    "product of 40 powers": "*".join(f"(x+y*{i})^(x-{i})" for i in range(40)),
}


@pytest.mark.parametrize("name", LARGEST_ACCEPTED)
def test_largest_accepted_formulas_compile_and_evaluate(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """At the depth and size limits a formula still compiles (time printed, not asserted)."""
    text = LARGEST_ACCEPTED[name]
    t0 = time.perf_counter()
    s = formula_surface(text)
    elapsed = time.perf_counter() - t0
    v, g = s.value_and_grad(POINTS)
    h = s.hessian(POINTS)
    assert v.shape == (40,) and g.shape == (40, 2) and h.shape == (40, 2, 2)
    with capsys.disabled():
        print(f"\n{name}: {len(text)} characters compiled in {elapsed * 1000:.0f} ms")


def test_parsing_runs_no_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text to expression works with eval, exec and parse_expr disabled and sympify refusing strings."""
    import builtins
    import sys

    import sympy.parsing.sympy_parser as sympy_parser

    sympify_module = sys.modules["sympy.core.sympify"]  # the attribute of sympy.core is the function

    def refuse(*args, **kwargs):
        raise AssertionError("an evaluator was called")

    real_sympify = sympify_module.sympify

    def sympify_no_text(a, *args, **kwargs):
        if isinstance(a, str):
            raise AssertionError("sympify was given text")
        return real_sympify(a, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    monkeypatch.setattr(sympify_module, "sympify", sympify_no_text)
    monkeypatch.setattr(sp, "sympify", sympify_no_text)
    for text in SMOOTH + ["max(x, y) + abs(x) - sign(y)", "__import__", "eval(x)", "sympify(x)"]:
        try:
            parse_formula(text)
        except FormulaError:
            pass
