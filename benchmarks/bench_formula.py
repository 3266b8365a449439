"""Formula surfaces: compile time, and evaluation speed against the hand-written catalogue surfaces.

Compile: median time to parse, differentiate and compile each example and each adversarial formula
(the largest the guards accept), cache cleared each time, compared with sympy.diff of the finished
expression (the straightforward route) on the products where that grows cubically.
Evaluate: median time of value_and_grad and hessian on a 200 x 200 grid for the Rosenbrock and
Himmelblau formulas vs the hand-written surfaces; the ratio is formula / hand-written. Measured first:
after compiling large formulas the allocator's state made every numpy call here ~4x slower for a while
(hand-written and formula code alike, when they run in that order), which is not what we want to time.

    python benchmarks/bench_formula.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_time  # noqa: E402

from landscape_gui.core.formula import EXAMPLES, compile_formula, formula_surface, parse_formula  # noqa: E402
from landscape_gui.core.surfaces import get_surface  # noqa: E402

ADVERSARIAL = {
    "product of 55 sines": "*".join(f"sin(x+{i})" for i in range(55)),
    "38 nested functions": "".join(["sin(", "exp(", "log(", "tanh("][i % 4] for i in range(38)) + "x*y" + ")" * 38,
    "power tower x^y^x^...": "^".join("xy"[i % 2] for i in range(59)),
    "sum of 25 products": "+".join(f"x^{i % 7}*y^{i % 5}*sin(x*y)" for i in range(25)),
    "product of 40 powers": "*".join(f"(x+y*{i})^(x-{i})" for i in range(40)),
}


def median_per_call(fn, repeats: int, number: int = 20) -> float:
    """Median over ``repeats`` of the mean time of ``number`` back-to-back calls (less timer noise)."""
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeats))


def compile_once(text: str) -> None:
    compile_formula.cache_clear()
    formula_surface(text)


def sympy_route(text: str) -> None:
    """Differentiate the finished expression twice with sympy.diff (no compile)."""
    x, y = sp.symbols("x y")
    with sp.evaluate(True):
        f = sp.sympify(str(parse_formula(text)))  # our own printed expression
        for gx in (f.diff(x), f.diff(y)):
            gx.diff(x), gx.diff(y)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    formula_surface("x")  # warm imports

    print("evaluation on a 200 x 200 grid, median ms (ratio formula / hand-written)")
    g = np.linspace(-2, 2, 200)
    gx, gy = np.meshgrid(g, g, indexing="ij")
    p = np.column_stack([gx.ravel(), gy.ravel()])
    for name, text in [("rosenbrock", "(1 - x)^2 + 100*(y - x^2)^2"), ("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2")]:
        ref, fs = get_surface(name), formula_surface(text)
        for what in ("value_and_grad", "hessian"):
            a = median_per_call(lambda: getattr(fs, what)(p), args.repeats * 3)
            b = median_per_call(lambda: getattr(ref, what)(p), args.repeats * 3)
            print(f"  {name:10s} {what:15s} formula {a * 1e3:7.2f}   hand-written {b * 1e3:7.2f}   ratio {a / b:5.2f}")
    print("\ncompile (parse + derivatives + lambdify), median ms")
    for text in EXAMPLES:
        print(f"  {median_time(lambda: compile_once(text), args.repeats) * 1e3:8.1f}  {text}")
    for name, text in ADVERSARIAL.items():
        t = median_time(lambda: compile_once(text), args.repeats)
        print(f"  {t * 1e3:8.1f}  {name} ({len(text)} chars)")

    print("\nforward-mode jets vs sympy.diff of the finished expression, products of k sines, median ms")
    for k in (5, 10, 20):
        text = "*".join(f"sin(x+{i}*y)" for i in range(k))
        ours = median_time(lambda: compile_once(text), args.repeats)
        theirs = median_time(lambda: sympy_route(text), 1)
        print(f"  k={k:2d}: ours {ours * 1e3:8.1f} (incl. compile)   sympy.diff {theirs * 1e3:8.1f} (diff only)   ratio {theirs / ours:6.1f}")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
