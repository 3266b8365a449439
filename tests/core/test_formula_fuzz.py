"""Property-based fuzzing of the formula parser (hypothesis).

Random token soups and random text must either compile or be refused with :class:`FormulaError`
(never another exception, never a hang); random valid expression trees must compile to functions that
agree with a direct numpy evaluation of the same tree wherever that is finite, and whose gradients and
Hessians agree with sympy.diff of the same tree.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landscape_gui.core.formula import FormulaError, formula_surface

# Dyadic grid points: sums and products of these are exact, so reordering cannot change them.
_G = np.arange(-2.0, 2.01, 0.5)
POINTS = np.array([(a, b) for a in _G for b in _G])

FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def check_compiles_or_refuses(text: str):
    """Compile ``text``; a refusal must be a FormulaError. A compiled surface must evaluate cleanly."""
    try:
        s = formula_surface(text)
    except FormulaError as err:
        assert "\n" not in str(err) and err.column >= 1
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning may escape
        v, g = s.value_and_grad(POINTS)
        h = s.hessian(POINTS)
        v2 = s.value(POINTS)
    assert v.shape == (len(POINTS),) and g.shape == (len(POINTS), 2) and h.shape == (len(POINTS), 2, 2)
    assert v.dtype == g.dtype == h.dtype == np.float64
    np.testing.assert_allclose(v, v2, rtol=1e-12)  # value() and value_and_grad() agree (to rounding)
    return s


TOKENS = [
    "x", "y", "pi", "e", "0", "1", "2", "2.5", ".5", "1e308", "1e-300", "9", "1000",
    "(", ")", "(", ")", "+", "-", "*", "/", "^", "**", ",", " ",
    "sin", "cos", "log", "sqrt", "exp", "abs", "max", "min", "atan2", "pow", "hypot", "sign", "cbrt",
    ".", "[", "]", "'", '"', "=", ":", ";", "lambda", "__import__", "os", "z", "if", "else", "for", "in",
    "<", "and", "not", "\0", "\n", "j", "%", "@", "{", "}", "#", "\\", "~", "!", "9**9**9", "1e999",
]


@settings(FUZZ, max_examples=1500)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25))
def test_token_soups_compile_or_are_refused(tokens: list[str]) -> None:
    check_compiles_or_refuses("".join(tokens))


@settings(FUZZ, max_examples=500)
@given(st.text(max_size=60))
def test_arbitrary_text_compiles_or_is_refused(text: str) -> None:
    check_compiles_or_refuses(text)


# --------------------------------------------------------------------------------------------------
# Random valid trees: (text, numpy evaluator returning (value, largest intermediate), sympy expr, smooth)

Node = tuple[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], sp.Expr, bool]
SX, SY = sp.symbols("x y")  # no assumptions: sympy keeps sqrt(y**2) rather than |y|


def _leaf(text: str, fn: Callable, expr: sp.Expr) -> Node:
    return (text, lambda x, y: (fn(x, y), np.abs(fn(x, y))), expr, True)


LEAVES = st.sampled_from(
    [
        _leaf("x", lambda x, y: x, SX),
        _leaf("y", lambda x, y: y, SY),
        _leaf("2", lambda x, y: np.full_like(x, 2.0), sp.Integer(2)),
        _leaf("0.5", lambda x, y: np.full_like(x, 0.5), sp.Rational(1, 2)),
        _leaf("3", lambda x, y: np.full_like(x, 3.0), sp.Integer(3)),
        _leaf("pi", lambda x, y: np.full_like(x, np.pi), sp.pi),
    ]
)
UNARY = {  # name: (numpy, sympy or None if not smooth everywhere)
    "sin": (np.sin, sp.sin),
    "cos": (np.cos, sp.cos),
    "tanh": (np.tanh, sp.tanh),
    "atan": (np.arctan, sp.atan),
    "exp": (np.exp, sp.exp),
    "log": (np.log, sp.log),
    "sqrt": (np.sqrt, sp.sqrt),
    "asin": (np.arcsin, sp.asin),
    "square": (np.square, lambda u: u**2),
    "abs": (np.abs, None),
    "cbrt": (np.cbrt, None),
}
BINARY = {
    "+": (np.add, lambda a, b: a + b),
    "-": (np.subtract, lambda a, b: a - b),
    "*": (np.multiply, lambda a, b: a * b),
    "/": (np.divide, lambda a, b: a / b),
    "max": (np.maximum, None),
    "min": (np.minimum, None),
    "hypot": (np.hypot, lambda a, b: sp.sqrt(a**2 + b**2)),
}


def _unary(name: str, u: Node) -> Node:
    np_f, sp_f = UNARY[name]
    text, fn, expr, smooth = u

    def ev(x, y):
        a, m = fn(x, y)
        r = np_f(a)
        return r, np.maximum(m, np.abs(r))

    return (f"{name}({text})", ev, sp_f(expr) if sp_f else expr, smooth and sp_f is not None)


def _binary(name: str, a: Node, b: Node) -> Node:
    np_f, sp_f = BINARY[name]

    def ev(x, y):
        (p, mp), (q, mq) = a[1](x, y), b[1](x, y)
        r = np_f(p, q)
        return r, np.maximum(np.maximum(mp, mq), np.abs(r))

    text = f"({a[0]} {name} {b[0]})" if len(name) == 1 else f"{name}({a[0]}, {b[0]})"
    return (text, ev, sp_f(a[2], b[2]) if sp_f else a[2], a[3] and b[3] and sp_f is not None)


def _power(u: Node, k: int, caret: bool) -> Node:
    text, fn, expr, smooth = u

    def ev(x, y):
        a, m = fn(x, y)
        r = a ** float(k)
        return r, np.maximum(m, np.abs(r))

    return (f"({text}){'^' if caret else '**'}{k}", ev, expr**k, smooth)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(_unary, st.sampled_from(sorted(UNARY)), children),
        st.builds(_binary, st.sampled_from(sorted(BINARY)), children, children),
        st.builds(_power, children, st.integers(-2, 4), st.booleans()),
    )


TREES = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(FUZZ, max_examples=250)
@given(TREES)
def test_random_trees_evaluate_like_numpy(tree: Node) -> None:
    text, fn, _, _ = tree
    s = check_compiles_or_refuses(text)
    if s is None:
        return
    with np.errstate(all="ignore"):
        ref, biggest = fn(POINTS[:, 0], POINTS[:, 1])
    ref = np.broadcast_to(ref, (len(POINTS),))
    got = s.value(POINTS)
    ok = np.isfinite(ref) & (biggest < 1e6)
    scale = (1.0 + biggest[ok]) ** 2
    assert np.all(np.abs(got[ok] - ref[ok]) <= 1e-9 * scale), text


@settings(FUZZ, max_examples=120)
@given(TREES.filter(lambda t: t[3]))
def test_random_smooth_trees_differentiate_like_sympy(tree: Node) -> None:
    text, _, expr, _ = tree
    s = check_compiles_or_refuses(text)
    if s is None:
        return
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):  # sympy simplified it to "undefined everywhere"
        return
    exprs = [expr, expr.diff(SX), expr.diff(SY), expr.diff(SX, 2), expr.diff(SX, SY), expr.diff(SY, 2)]
    with np.errstate(all="ignore"):
        ref = [np.broadcast_to(np.asarray(r, dtype=float), (len(POINTS),)) for r in sp.lambdify((SX, SY), exprs)(*POINTS.T)]
        v, g = s.value_and_grad(POINTS)
        h = s.hessian(POINTS)
    got = [v, g[:, 0], g[:, 1], h[:, 0, 0], h[:, 0, 1], h[:, 1, 1]]
    # Compare where both are finite: sympy's simplification may extend the domain (x/x -> 1 at x = 0).
    ok = np.all([np.isfinite(r) & (np.abs(r) < 1e6) & np.isfinite(a) for r, a in zip(ref, got)], axis=0)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-7, atol=1e-7 * (1 + np.abs(b[ok]).max(initial=0)), err_msg=text)
