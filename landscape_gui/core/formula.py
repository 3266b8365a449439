"""Typed formulas as surfaces: ``"sin(x) * y^2"`` -> a :class:`Surface` with exact derivatives.

The user's text is parsed with Python's own parser (:func:`ast.parse`, ``mode="eval"``) and then
walked node by node; only whitelisted nodes (numbers, ``x``, ``y``, ``pi``, ``e``, ``+ - * / **``,
unary ``+``/``-`` and calls of the functions in :data:`FUNCTIONS`) become a sympy expression. The text
itself never reaches ``eval``, ``exec``, ``sympify``, ``parse_expr`` or any other evaluator, so a
formula cannot run code, read files or touch attributes: everything it can mean is the whitelist.
Value, gradient and Hessian are derived symbolically during the walk (forward mode: each node's exact
first and second derivatives from :func:`sympy.diff` of its elementary function and the chain rule,
so the work grows linearly with the formula) and compiled with ``sympy.lambdify`` (numpy module, common
sub-expressions shared) into vectorised functions of ``(n, 2)`` arrays returning float64.

Grammar (``^`` is read as ``**``; both are right-associative powers binding tighter than unary minus,
so ``-x^2 = -(x^2)`` and ``2^3^2 = 2^9``)::

    expr   := expr ('+' | '-') expr | expr ('*' | '/') expr | expr ('**' | '^') expr
            | ('+' | '-') expr | '(' expr ')' | NAME '(' expr [',' expr] ')' | NUMBER | x | y | pi | e

Non-differentiable points follow torch's conventions: ``abs'(0) = sign(0) = 0``; at a tie
``max(a, b)`` and ``min(a, b)`` split the gradient evenly (each argument gets half, as
``torch.maximum`` does); ``sign`` has derivative 0 everywhere.

Where the formula is not a finite real number (``log`` of a negative, ``sqrt(-1)``, overflow) the
compiled functions return NaN/inf without warnings, so a grid shows a gap there and a run walking
into it ends ``diverged``.

Guards keep every refusal structural and bounded, so hostile text is refused fast without being
evaluated: a character whitelist, a length limit (:data:`MAX_LENGTH`), a parenthesis-depth limit, an
AST depth and node-count limit, constant sub-expressions folded in float64 (an overflowing constant
such as ``9**9**9**9`` or ``1e999999`` is refused, never handed to sympy's exact arithmetic),
constant exponents capped at :data:`MAX_EXPONENT` (also when nested: ``(x^1000)^1000``), and a size
limit on the derivatives. The worst accepted formulas compile in well under a second.

Names: ``x``, ``y``; constants ``pi``, ``e``; the functions of :data:`FUNCTIONS` and the aliases of
:data:`ALIASES`. Refused, with the column: anything else, including attribute access, subscripts,
keyword arguments, strings, comparisons, ``and``/``or``/``not``, ``if``/``else``, lambdas,
comprehensions, assignments, ``;`` and ``%``.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple, Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.simplify.cse_main import tree_cse

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.formula_functions import (
    DEFAULT_BOUNDS,
    NUMPY_HELPERS,
    FormulaFunctionsSurface,
    heaviside_half,
    store,
)
from landscape_gui.core.surfaces import Bounds

MAX_LENGTH = 1000
"""Longest formula accepted, in characters."""

MAX_PAREN_DEPTH = 40
"""Deepest nesting of parentheses accepted."""

MAX_DEPTH = 60
"""Deepest expression tree accepted (operators and calls nested inside each other)."""

MAX_NODES = 400
"""Most syntax-tree nodes accepted (numbers, names, operators, calls)."""

MAX_EXPONENT = 1000
"""Largest magnitude of a constant exponent of a non-constant base (``x^1000`` is the limit), and of
the product of nested ones (``(x^10)^100`` is the limit)."""

MAX_DERIVATIVE_SIZE = 20000
"""Most distinct sub-expressions of the value and its derivatives together, before compiling."""

X, Y = sp.symbols("x y")
_ALLOWED_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ \t+-*/^().,")
_FLOAT_MAX = np.finfo(np.float64).max


class FormulaError(LandscapeError):
    """A formula that cannot be used, with the 1-based ``column`` of the offending token.

    ``str(error)`` is one line such as ``"unknown name 'z' at column 5; use x, y, pi, e and ..."``;
    ``reason`` is the part before " at column".
    """

    def __init__(self, reason: str, column: int, hint: str = "") -> None:
        self.reason = reason
        self.column = int(column)
        self.hint = hint
        super().__init__(f"{reason} at column {self.column}" + (f"; {hint}" if hint else ""))


# --------------------------------------------------------------------------------------------------
# Functions with the derivative conventions we choose (sympy's own Abs/sign/Max assume a real argument
# or leave unevaluated derivatives). Each carries its numpy implementation in ``_imp_``, which
# lambdify picks up.


class _abs(sp.Function):
    """``|u|``; ``d|u|/du = sign(u)`` (0 at 0, as torch)."""

    nargs = 1
    _imp_ = staticmethod(np.abs)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return _sign(self.args[0])


class _sign(sp.Function):
    """``sign(u)`` in {-1, 0, 1}; derivative 0 (the Dirac spike at 0 is dropped)."""

    nargs = 1
    _imp_ = staticmethod(np.sign)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


_heaviside_half = heaviside_half


class _step(sp.Function):
    """Heaviside step with ``step(0) = 1/2``; derivative 0."""

    nargs = 1
    _imp_ = staticmethod(_heaviside_half)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class _max(sp.Function):
    """``max(a, b)``; ``d/da = step(a - b)``, so a tie gives each argument half the gradient."""

    nargs = 2
    _imp_ = staticmethod(np.maximum)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return _step(a - b) if argindex == 1 else _step(b - a)


class _min(sp.Function):
    """``min(a, b)``; ``d/da = step(b - a)``, so a tie gives each argument half the gradient."""

    nargs = 2
    _imp_ = staticmethod(np.minimum)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return _step(b - a) if argindex == 1 else _step(a - b)


def _cbrt(u: sp.Expr) -> sp.Expr:
    return _sign(u) * _abs(u) ** sp.Rational(1, 3)


@dataclass(frozen=True)
class FunctionSpec:
    """A callable name: its argument count, sympy builder and float64 evaluator (constant folding)."""

    arity: int
    build: Callable[..., sp.Expr]
    fold: Callable[..., float]
    help: str


def _fsign(u: float) -> float:
    return float((u > 0) - (u < 0))


def _fcbrt(u: float) -> float:
    return math.copysign(abs(u) ** (1.0 / 3.0), u)


def _flog_base(base: float) -> Callable[[float], float]:
    return lambda u: math.log(u) / math.log(base)


FUNCTIONS: dict[str, FunctionSpec] = {
    "sin": FunctionSpec(1, sp.sin, math.sin, "sine"),
    "cos": FunctionSpec(1, sp.cos, math.cos, "cosine"),
    "tan": FunctionSpec(1, sp.tan, math.tan, "tangent"),
    "arcsin": FunctionSpec(1, sp.asin, math.asin, "inverse sine (also asin)"),
    "arccos": FunctionSpec(1, sp.acos, math.acos, "inverse cosine (also acos)"),
    "arctan": FunctionSpec(1, sp.atan, math.atan, "inverse tangent (also atan)"),
    "arctan2": FunctionSpec(2, sp.atan2, math.atan2, "angle of the point (b, a): arctan2(a, b) (also atan2)"),
    "sinh": FunctionSpec(1, sp.sinh, math.sinh, "hyperbolic sine"),
    "cosh": FunctionSpec(1, sp.cosh, math.cosh, "hyperbolic cosine"),
    "tanh": FunctionSpec(1, sp.tanh, math.tanh, "hyperbolic tangent"),
    "arcsinh": FunctionSpec(1, sp.asinh, math.asinh, "inverse hyperbolic sine (also asinh)"),
    "arccosh": FunctionSpec(1, sp.acosh, math.acosh, "inverse hyperbolic cosine (also acosh)"),
    "arctanh": FunctionSpec(1, sp.atanh, math.atanh, "inverse hyperbolic tangent (also atanh)"),
    "exp": FunctionSpec(1, sp.exp, math.exp, "e to the power"),
    "log": FunctionSpec(1, sp.log, math.log, "natural logarithm (also ln)"),
    "log10": FunctionSpec(1, lambda u: sp.log(u) / sp.log(10), math.log10, "base-10 logarithm"),
    "log2": FunctionSpec(1, lambda u: sp.log(u) / sp.log(2), math.log2, "base-2 logarithm"),
    "sqrt": FunctionSpec(1, sp.sqrt, math.sqrt, "square root"),
    "cbrt": FunctionSpec(1, _cbrt, _fcbrt, "real cube root (negative for negative arguments)"),
    "square": FunctionSpec(1, lambda u: u**2, lambda u: u * u, "u^2"),
    "abs": FunctionSpec(1, _abs, abs, "absolute value; derivative sign(u), 0 at 0"),
    "sign": FunctionSpec(1, _sign, _fsign, "-1, 0 or 1; derivative 0"),
    "min": FunctionSpec(2, _min, min, "smaller of two; ties split the gradient evenly"),
    "max": FunctionSpec(2, _max, max, "larger of two; ties split the gradient evenly"),
    "hypot": FunctionSpec(2, lambda a, b: sp.sqrt(a**2 + b**2), math.hypot, "sqrt(a^2 + b^2)"),
    "pow": FunctionSpec(2, lambda a, b: a**b, lambda a, b: math.pow(a, b), "pow(a, b) = a^b"),
}
ALIASES: dict[str, str] = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "atan2": "arctan2",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "ln": "log",
}
CONSTANTS: dict[str, tuple[sp.Expr, float]] = {"pi": (sp.pi, math.pi), "e": (sp.E, math.e)}
_HINT = "use x, y, pi, e and the functions " + ", ".join(FUNCTIONS) + ", " + ", ".join(ALIASES)

EXAMPLES: tuple[str, ...] = (
    "x^2 + y^2",
    "(1 - x)^2 + 100*(y - x^2)^2",
    "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    "sin(x) * cos(y) + 0.1*(x^2 + y^2)",
    "20 + x^2 + y^2 - 10*(cos(2*pi*x) + cos(2*pi*y))",
    "log(1 + (x^2 + y^2 - 4)^2) + 0.05*x",
    "abs(x) + 2*abs(y)",
    "max(abs(x), abs(y))",
)
"""Formulas offered in the GUI next to recent ones: bowl, Rosenbrock, Himmelblau, egg crate,
Rastrigin, ring valley, kinked valleys."""


# --------------------------------------------------------------------------------------------------
# Parsing




def _number_then_name(text: str) -> tuple[str, str, int] | None:
    """First number written directly before a name (``2x``, ``1e5y``) as (number, name, name start).

    A linear scan (a regular expression here backtracks quadratically on long digit runs).
    """
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isalpha() or ch == "_":
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            start = i
            while i < n and text[i].isdigit():
                i += 1
            if i < n and text[i] == ".":
                i += 1
                while i < n and text[i].isdigit():
                    i += 1
            if i < n and text[i] in "eE":
                k = i + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    while k < n and text[k].isdigit():
                        k += 1
                    i = k
            if i < n and (text[i].isalpha() or text[i] == "_"):
                j = i
                while j < n and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                return text[start:i], text[i:j], i
        else:
            i += 1
    return None

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
_REFUSED_NODES = {
    "Attribute": "attribute access ('.name')",
    "Subscript": "subscripts ('[...]')",
    "Compare": "comparisons",
    "BoolOp": "'and'/'or'",
    "IfExp": "'if ... else'",
    "Lambda": "lambdas",
    "Tuple": "tuples (several values)",
    "List": "lists",
    "Set": "sets",
    "Dict": "dictionaries",
    "ListComp": "comprehensions",
    "SetComp": "comprehensions",
    "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions",
    "JoinedStr": "strings",
    "FormattedValue": "strings",
    "NamedExpr": "assignments",
    "Starred": "'*' unpacking",
    "Await": "'await'",
    "Yield": "'yield'",
    "YieldFrom": "'yield'",
    "Slice": "slices",
}
_CHAR_HINTS = {
    "=": "a formula is one expression: no assignments or comparisons",
    "[": "use parentheses for grouping",
    "]": "use parentheses for grouping",
    "{": "use parentheses for grouping",
    "}": "use parentheses for grouping",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ";": "a formula is one expression",
    "%": "the operators are + - * / ^ **",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
}


class _Parser:
    """One formula: pre-scan, parse, whitelisted walk to a sympy expression."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.scanned: dict[int, sp.Basic] = {}  # id -> object (kept alive so ids stay unique)

    # -- columns -------------------------------------------------------------------------------
    def _col(self, offset: int) -> int:
        """1-based column in the user's text of 0-based ``offset`` into the parsed (``^``->``**``) text."""
        offset = max(0, min(offset, len(self.colmap) - 1))
        return self.colmap[offset]

    def _node_col(self, node: ast.AST) -> int:
        return self._col(getattr(node, "col_offset", 0))

    def _op_col(self, node: ast.BinOp) -> int:
        """Column of the operator between the two operands of a binary operation."""
        start, stop = node.left.end_col_offset or 0, node.right.col_offset
        for i in range(start, stop):
            if self.src[i] not in " \t()":
                return self._col(i)
        return self._col(start)

    # -- pre-scan ------------------------------------------------------------------------------
    def parse(self) -> Jet:
        text = self.original
        if not isinstance(text, str):
            raise FormulaError(f"a formula must be text, not {type(text).__name__}", 1)
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"formula too long ({len(text)} characters, limit {MAX_LENGTH})", MAX_LENGTH + 1)
        lead = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        depth = 0
        for i, ch in enumerate(text):
            if ch not in _ALLOWED_CHARS and not (ch.isspace() and (i < lead or i >= end)):
                shown = "NUL byte" if ch == "\0" else f"character {ch!r}"
                raise FormulaError(
                    f"{shown} is not allowed", i + 1, _CHAR_HINTS.get(ch, "use numbers, x, y, functions and + - * / ^ ( )")
                )
            if ch == "(":
                depth += 1
                if depth > MAX_PAREN_DEPTH:
                    raise FormulaError(f"parentheses nested too deeply (limit {MAX_PAREN_DEPTH})", i + 1)
            elif ch == ")":
                depth = max(0, depth - 1)
        if not text.strip():
            raise FormulaError("empty formula", 1, "type an expression in x and y, e.g. x^2 + y^2")
        juxtaposed = _number_then_name(text)
        if juxtaposed is not None:
            number, name, start = juxtaposed
            raise FormulaError(f"missing '*' between {number!r} and {name!r}", start + 1, f"write {number}*{name}")
        # Leading blanks would be an indentation error in Python; '^' means power.
        src, colmap = [], []
        for i, ch in enumerate(text[lead:end], start=lead):
            if ch == "^":
                src.append("**")
                colmap += [i + 1, i + 1]
            else:
                src.append(ch)
                colmap.append(i + 1)
        colmap.append(end + 1)
        self.src, self.colmap = "".join(src), colmap
        tree = self._ast()
        self._check_shape(tree)
        return self._walk(tree.body).jet

    def _ast(self) -> ast.Expression:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(self.src, mode="eval")
        except SyntaxError as exc:
            raise self._syntax_error(exc) from None
        except (RecursionError, MemoryError, ValueError, OverflowError):
            raise FormulaError("formula too deeply nested", 1) from None

    def _syntax_error(self, exc: SyntaxError) -> FormulaError:
        msg = (exc.msg or "invalid syntax").split(" (", 1)[0]
        offset = exc.offset or 0
        stripped = self.src.rstrip()
        if offset <= 0 or offset > len(stripped) or (msg == "invalid syntax" and not self.src[offset - 1 :].strip()):
            last = self.original[self._col(len(stripped) - 1) - 1] if stripped else ""
            after = f" after {last!r}" if last and last not in ")" and not last.isalnum() else ""
            return FormulaError(f"formula ends too early{after}", self._col(len(stripped)), "expected a number, x, y or '('")
        if msg == "invalid syntax":
            col = self._col(offset - 1)
            text, stop = self.original, col
            while text[col - 1].isalnum() and stop < len(text) and text[stop].isalnum():
                stop += 1
            return FormulaError(f"unexpected {text[col - 1 : stop]!r}", col)
        if msg.startswith("'(' was never closed"):
            return FormulaError("'(' is never closed", self._col(offset - 1), "add ')'")
        if msg.startswith("unmatched"):
            return FormulaError("')' without a matching '('", self._col(offset - 1))
        return FormulaError(msg, self._col(offset - 1))

    def _check_shape(self, tree: ast.AST) -> None:
        """Bound depth and size iteratively, before any recursive walk.

        A chain ``a + b + c ...`` counts as one level (it is walked as one flat sum). The column
        reported is the leftmost node beyond the depth limit, or the first node past the size limit.
        """
        stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]  # type: ignore[attr-defined]
        columns: list[int] = []
        too_deep: list[int] = []
        while stack:
            node, depth = stack.pop()
            col = getattr(node, "col_offset", 0)
            columns.append(col)
            if depth > MAX_DEPTH:
                too_deep.append(col)
                continue
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)):
                    continue
                same_sum = (
                    isinstance(node, ast.BinOp)
                    and isinstance(node.op, (ast.Add, ast.Sub))
                    and child is node.left
                    and isinstance(child, ast.BinOp)
                    and isinstance(child.op, (ast.Add, ast.Sub))
                )
                stack.append((child, depth if same_sum else depth + 1))
        if too_deep:
            raise FormulaError(f"formula nested too deeply (limit {MAX_DEPTH} levels)", self._col(min(too_deep)))
        if len(columns) > MAX_NODES:
            col = sorted(columns)[MAX_NODES]
            raise FormulaError(f"formula too long (at most {MAX_NODES} numbers, names and operators)", self._col(col))

    # -- walk ----------------------------------------------------------------------------------
    def _walk(self, node: ast.AST) -> _Term:
        """Jet of ``node``, its float64 value if constant, and its power product (see :class:`_Term`)."""
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _REFUSED_NODES.get(type(node).__name__, f"'{type(node).__name__}'")
        raise FormulaError(f"{what} not allowed", self._node_col(node), "use numbers, x, y, functions and + - * / ^ ( )")

    def _number(self, v: float, col: int) -> _Term:
        if not math.isfinite(v) or abs(v) > _FLOAT_MAX:
            raise FormulaError("number too large (beyond 1.8e308)", col)
        return _Term(_constant_jet(_sympy_number(v)), v)

    def _constant(self, node: ast.Constant) -> _Term:
        v, col = node.value, self._node_col(node)
        if isinstance(v, bool) or v is None or v is Ellipsis:
            raise FormulaError(f"unknown name {str(v)!r}", col, _HINT)
        if isinstance(v, complex):
            raise FormulaError("imaginary numbers are not supported", col)
        if isinstance(v, int):
            if v.bit_length() > 1100:
                raise FormulaError("number too large (beyond 1.8e308)", col)
            v = float(v) if abs(v) <= _FLOAT_MAX else math.inf
        if not isinstance(v, float):
            raise FormulaError(f"{type(v).__name__} values are not allowed", col)
        return self._number(v, col)

    def _name(self, node: ast.Name) -> _Term:
        name, col = node.id, self._node_col(node)
        if name == "x":
            return _Term(_X_JET)
        if name == "y":
            return _Term(_Y_JET)
        if name in CONSTANTS:
            expr, val = CONSTANTS[name]
            return _Term(_constant_jet(expr), val)
        if name in FUNCTIONS or name in ALIASES:
            raise FormulaError(f"function {name!r} needs an argument in parentheses", col, f"write {name}(...)")
        raise FormulaError(f"unknown name {name!r}", col, _HINT)

    def _unary(self, node: ast.UnaryOp) -> _Term:
        col = self._node_col(node)
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            op = {ast.Not: "'not'", ast.Invert: "'~'"}.get(type(node.op), "operator")
            raise FormulaError(f"{op} not allowed", col)
        term = self._walk(node.operand)
        if isinstance(node.op, ast.UAdd):
            return term
        if term.value is not None:
            return self._number(-term.value, col)
        return _Term(self._checked(_neg_jet(term.jet), col), None, term.powers)

    def _binop(self, node: ast.BinOp) -> _Term:
        col = self._op_col(node)
        if type(node.op) not in _OPERATORS:
            sym = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
                   ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>"}.get(type(node.op), "?")
            raise FormulaError(f"operator {sym!r} not supported", col, "the operators are + - * / ^ **")
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return self._sum(node)
        a = self._walk(node.left)
        b = self._walk(node.right)
        op = _OPERATORS[type(node.op)]
        return self._apply(op, a, b, col)

    def _sum(self, node: ast.BinOp) -> _Term:
        """A chain ``a + b - c + ...`` as one n-ary sum (no recursion along the chain).

        Constants are folded left to right as long as the chain is constant, as Python would.
        """
        chain: list[tuple[bool, ast.AST, int]] = []  # (negated, operand, column of its operator)
        left: ast.AST = node
        while isinstance(left, ast.BinOp) and isinstance(left.op, (ast.Add, ast.Sub)):
            chain.append((isinstance(left.op, ast.Sub), left.right, self._op_col(left)))
            left = left.left
        acc = self._walk(left)
        for negated, operand, col in reversed(chain):
            term = self._walk(operand)
            op = "-" if negated else "+"
            if acc.value is not None and term.value is not None:
                acc = self._fold(op, lambda: _FOLD[op](acc.value, term.value), col)
                continue
            jet = _add_jets(acc.jet, _neg_jet(term.jet) if negated else term.jet)
            acc = _Term(self._checked(jet, col), None, max(acc.powers, term.powers))
        return acc

    def _apply(self, op: str, a: _Term, b: _Term, col: int) -> _Term:
        av, bv = a.value, b.value
        if av is not None and bv is not None:
            return self._fold(op, lambda: _FOLD[op](av, bv), col)
        powers = max(a.powers, b.powers)
        if op == "^" and bv is not None:
            powers = abs(bv) * max(1.0, a.powers)
            if powers > MAX_EXPONENT:
                what = f"exponent {bv:g} too large" if a.powers <= 1 else f"nested exponents multiply to {powers:g}"
                raise FormulaError(f"{what} (limit {MAX_EXPONENT})", col)
            return _Term(self._checked(_chain_pow(a.jet, b.jet.f), col), None, powers)
        if op == "/" and bv == 0:
            raise FormulaError("division by zero", col)
        return _Term(self._checked(_chain2(op, a.jet, b.jet), col), None, powers)

    def _call(self, node: ast.Call) -> _Term:
        col = self._node_col(node)
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)):
                paren = self.src.index("(", node.func.end_col_offset or 0)
                raise FormulaError("missing '*' before '('", self._col(paren))
            return self._walk(node.func)  # refuses the attribute access etc. with its own message
        name = node.func.id
        if name in ("x", "y", "pi", "e"):
            paren = self.src.index("(", node.func.end_col_offset or 0)
            raise FormulaError(f"missing '*' between {name!r} and '('", self._col(paren))
        canonical = ALIASES.get(name, name)
        spec = FUNCTIONS.get(canonical)
        if spec is None:
            raise FormulaError(f"unknown function {name!r}", col, _HINT)
        if node.keywords:
            raise FormulaError(f"{name}() takes no keyword arguments", self._node_col(node.keywords[0].value))
        if len(node.args) != spec.arity:
            what = "one argument" if spec.arity == 1 else f"{spec.arity} arguments"
            raise FormulaError(f"{name}() takes {what}, got {len(node.args)}", col)
        args = [self._walk(arg) for arg in node.args]
        vals = [t.value for t in args]
        if all(v is not None for v in vals):
            return self._fold(f"{name}()", lambda: spec.fold(*vals), col)
        if canonical == "pow":
            return self._apply("^", args[0], args[1], col)
        powers = max(t.powers for t in args)
        if spec.arity == 1:
            jet = _chain1(canonical, args[0].jet)
        else:
            jet = _chain2(canonical, args[0].jet, args[1].jet)
        return _Term(self._checked(jet, col), None, powers)

    def _fold(self, what: str, compute: Callable[[], float], col: int) -> _Term:
        """Evaluate a constant sub-expression in float64 (bounded time), refusing non-finite results."""
        try:
            with np.errstate(all="ignore"):
                v = float(compute())
        except ZeroDivisionError:
            raise FormulaError("division by zero", col) from None
        except OverflowError:
            raise FormulaError(f"number too large in {what} (beyond 1.8e308)", col) from None
        except (ValueError, TypeError):
            raise FormulaError(f"{what} of these numbers is not a real number", col) from None
        if math.isnan(v):
            raise FormulaError(f"{what} of these numbers is not a real number", col)
        if math.isinf(v):
            raise FormulaError(f"number too large in {what} (beyond 1.8e308)", col)
        return self._number(v, col)

    def _checked(self, jet: Jet, col: int) -> Jet:
        """Refuse a jet holding a non-finite or oversized term, or one grown too large.

        Only sub-expressions not scanned before are visited, so the total work over a formula is
        proportional to the size of its expression graph.
        """
        reason = _unusable(jet, self.scanned)
        if reason:
            raise FormulaError(reason, col)
        if len(self.scanned) > MAX_DERIVATIVE_SIZE:
            raise FormulaError("formula too complex to differentiate", col, "try a shorter formula")
        return jet


# --------------------------------------------------------------------------------------------------
# Forward-mode second-order differentiation
#
# Every sub-expression u carries its jet (u, u_x, u_y, u_xx, u_xy, u_yy). An elementary function
# phi(u) or phi(a, b) gets its partial derivatives from sympy.diff (once per function, on dummy
# arguments) and the chain rule combines them with the children's jets:
#     f_i  = phi_a a_i + phi_b b_i
#     f_ij = phi_aa a_i a_j + phi_ab (a_i b_j + b_i a_j) + phi_bb b_i b_j + phi_a a_ij + phi_b b_ij
# Each node adds a bounded number of new terms that refer to its children's jets, and every node is
# built unevaluated (sympy's automatic simplification queries assumptions through the whole tree, which
# took seconds on 20 nested functions), so the expression graph and the work grow linearly with the
# formula, and the compiled code evaluates the formula in the order it was written. Differentiating the
# finished expression with sympy instead grows like the cube of a product's length.


class Jet(NamedTuple):
    """A value and its exact first and second derivatives in x and y."""

    f: sp.Expr
    fx: sp.Expr
    fy: sp.Expr
    fxx: sp.Expr
    fxy: sp.Expr
    fyy: sp.Expr


@dataclass(frozen=True)
class _Term:
    """A walked sub-expression: its jet; its float64 value if it is constant; and ``powers``, the
    product of the constant exponents nested inside it (``(x^10)^3`` -> 30), capped at
    :data:`MAX_EXPONENT` so nested powers cannot build astronomically large exponents."""

    jet: Jet
    value: float | None = None
    powers: float = 1.0


_ZERO, _ONE = sp.S.Zero, sp.S.One
_X_JET = Jet(X, _ONE, _ZERO, _ZERO, _ZERO, _ZERO)
_Y_JET = Jet(Y, _ZERO, _ONE, _ZERO, _ZERO, _ZERO)
_U, _A, _B = sp.Dummy("u"), sp.Dummy("a"), sp.Dummy("b")
_PAIRS = ((1, 1, 3), (1, 2, 4), (2, 2, 5))  # (i, j, index of f_ij) in a Jet


def _sympy_number(v: float) -> sp.Expr:
    """A float64 as a sympy number: an exact Integer when it is a whole number below 2**53."""
    if v == int(v) and abs(v) <= 2**53:
        return sp.Integer(int(v))
    return sp.Float(v, 17)  # 17 digits print back to the same float64


def _constant_jet(c: sp.Expr) -> Jet:
    return Jet(c, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO)


def _mul(*factors: sp.Expr) -> sp.Expr:
    if any(f is _ZERO for f in factors):
        return _ZERO
    factors = tuple(f for f in factors if f is not _ONE)
    if not factors:
        return _ONE
    return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)


def _add(*terms: sp.Expr) -> sp.Expr:
    terms = tuple(t for t in terms if t is not _ZERO)
    if not terms:
        return _ZERO
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _neg(e: sp.Expr) -> sp.Expr:
    return _ZERO if e is _ZERO else sp.Mul(sp.S.NegativeOne, e, evaluate=False)


def _neg_jet(u: Jet) -> Jet:
    return Jet(*(_neg(e) for e in u))


def _add_jets(a: Jet, b: Jet) -> Jet:
    """``a + b``, extending ``a``'s sum in place of nesting (a long sum stays one flat Add)."""

    def add(p: sp.Expr, q: sp.Expr) -> sp.Expr:
        if p is _ZERO:
            return q
        if q is _ZERO:
            return p
        if p.is_Add:
            return sp.Add(*p.args, q, evaluate=False)
        return sp.Add(p, q, evaluate=False)

    return Jet(*(add(p, q) for p, q in zip(a, b)))


def _subs(template: sp.Expr, at: dict) -> sp.Expr:
    """``template`` with the dummies replaced, without re-simplifying the (possibly large) arguments."""
    if template in at:
        return at[template]
    if template.is_Number:
        return template
    with sp.evaluate(False):
        return template.xreplace(at)


_BINARY: dict[str, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    "+": lambda a, b: sp.Add(a, b, evaluate=False),
    "-": lambda a, b: sp.Add(a, _neg(b), evaluate=False),
    "*": lambda a, b: sp.Mul(a, b, evaluate=False),
    "/": lambda a, b: sp.Mul(a, sp.Pow(b, sp.S.NegativeOne, evaluate=False), evaluate=False),
}
_BINARY_EVALUATED: dict[str, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}


@lru_cache(maxsize=None)
def _templates1(name: str) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``phi(u), phi'(u), phi''(u)`` of a one-argument function, by sympy.diff on a dummy."""
    with sp.evaluate(True):
        phi = FUNCTIONS[name].build(_U)
        d1 = sp.diff(phi, _U)
        return phi, d1, sp.diff(d1, _U)


@lru_cache(maxsize=256)
def _templates_pow(n: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``u^n``, ``n u^(n-1)``, ``n (n-1) u^(n-2)`` for a constant exponent ``n``."""
    with sp.evaluate(True):
        phi = _U**n
        d1 = sp.diff(phi, _U)
        return phi, d1, sp.diff(d1, _U)


@lru_cache(maxsize=None)
def _templates2(name: str) -> tuple[sp.Expr, ...]:
    """``phi, phi_a, phi_b, phi_aa, phi_ab, phi_bb`` of an operator or two-argument function."""
    with sp.evaluate(True):
        phi = _BINARY_EVALUATED[name](_A, _B) if name in _BINARY_EVALUATED else FUNCTIONS[name].build(_A, _B)
        pa, pb = sp.diff(phi, _A), sp.diff(phi, _B)
        return phi, pa, pb, sp.diff(pa, _A), sp.diff(pa, _B), sp.diff(pb, _B)


def _chain_from(value: sp.Expr, d1: sp.Expr, d2: sp.Expr, u: Jet) -> Jet:
    """Jet of ``phi(u)`` given ``phi(u)``, ``phi'(u)`` and ``phi''(u)`` (already substituted)."""
    first = (_mul(d1, u.fx), _mul(d1, u.fy))
    second = [_add(_mul(d2, u[i], u[j]), _mul(d1, u[k])) for i, j, k in _PAIRS]
    return Jet(value, *first, *second)


def _chain1(name: str, u: Jet) -> Jet:
    phi, d1, d2 = _templates1(name)
    at = {_U: u.f}
    return _chain_from(_subs(phi, at), _subs(d1, at), _subs(d2, at), u)


def _chain_pow(u: Jet, n: sp.Expr) -> Jet:
    """Jet of ``u ** n`` for a constant exponent ``n``."""
    phi, d1, d2 = _templates_pow(n)
    at = {_U: u.f}
    value = sp.Pow(u.f, n, evaluate=False)
    return _chain_from(value, _subs(d1, at), _subs(d2, at), u)


def _chain2(name: str, a: Jet, b: Jet) -> Jet:
    phi, pa, pb, paa, pab, pbb = _templates2(name)
    at = {_A: a.f, _B: b.f}
    cache: dict[int, sp.Expr] = {}

    def sub(t: sp.Expr) -> sp.Expr:  # substitute once, only when a term needs it
        if id(t) not in cache:
            cache[id(t)] = _subs(t, at)
        return cache[id(t)]

    value = _BINARY[name](a.f, b.f) if name in _BINARY else _subs(phi, at)
    first = tuple(
        _add(_mul(sub(pa), a[i]) if a[i] is not _ZERO else _ZERO, _mul(sub(pb), b[i]) if b[i] is not _ZERO else _ZERO)
        for i in (1, 2)
    )
    second = []
    for i, j, k in _PAIRS:
        terms = []
        if paa is not _ZERO and a[i] is not _ZERO and a[j] is not _ZERO:
            terms.append(_mul(sub(paa), a[i], a[j]))
        if pab is not _ZERO:
            cross = _add(_mul(a[i], b[j]), _mul(b[i], a[j]))
            if cross is not _ZERO:
                terms.append(_mul(sub(pab), cross))
        if pbb is not _ZERO and b[i] is not _ZERO and b[j] is not _ZERO:
            terms.append(_mul(sub(pbb), b[i], b[j]))
        if a[k] is not _ZERO and pa is not _ZERO:
            terms.append(_mul(sub(pa), a[k]))
        if b[k] is not _ZERO and pb is not _ZERO:
            terms.append(_mul(sub(pb), b[k]))
        second.append(_add(*terms))
    return Jet(value, *first, *second)


_FOLD: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": math.pow,
}


def _too_big(number: sp.Expr) -> bool:
    try:
        return not abs(float(number)) <= _FLOAT_MAX
    except (OverflowError, TypeError):
        return True


def _unusable(exprs: Sequence[sp.Expr], scanned: dict[int, sp.Basic]) -> str:
    """Why ``exprs`` cannot be compiled to float64 code, or ``""`` if they can.

    Visits each sub-expression once (``scanned`` remembers those already passed).
    """
    stack = list(exprs)
    while stack:
        sub = stack.pop()
        if id(sub) in scanned:
            continue
        scanned[id(sub)] = sub
        if sub in _NON_FINITE or sub is sp.I:
            return "the result is not a finite real number"
        if sub.is_Number:
            if _too_big(sub):
                return "number too large (beyond 1.8e308)"
        elif sub.is_Pow and sub.exp.is_Number and abs(sub.exp) > MAX_EXPONENT:
            return f"exponent too large (limit {MAX_EXPONENT})"
        elif isinstance(sub, (sp.Derivative, sp.Subs, sp.Integral, sp.DiracDelta)):
            return "cannot differentiate this formula"
        stack.extend(sub.args)
    return ""


_NON_FINITE = (sp.zoo, sp.nan, sp.oo, -sp.oo)


def parse_formula(text: str) -> sp.Expr:
    """The sympy expression of ``text`` in the symbols ``x``, ``y``; raises :class:`FormulaError`.

    Nothing in ``text`` is executed: see the module docstring for the grammar and the guards.
    """
    return _Parser(text).parse().f


# --------------------------------------------------------------------------------------------------
# Compiling


@dataclass(frozen=True)
class CompiledFormula:
    """Exact value, gradient and Hessian of a formula and their compiled numpy functions."""

    text: str
    jet: Jet
    value_fn: Callable
    value_grad_fn: Callable
    hessian_fn: Callable

    @property
    def expr(self) -> sp.Expr:
        return self.jet.f


# Our piecewise helpers, for lambdify (use_imps=False: its implementation search walks the expression
# as a tree, which can be far larger than the shared graph).
_NUMPY_HELPERS = NUMPY_HELPERS


def _cse(exprs: Sequence[sp.Expr] | sp.Expr) -> tuple[list[tuple[sp.Symbol, sp.Expr]], object]:
    """Common sub-expressions of the derivative graph, named once each (cost linear in the graph).

    sympy's ``cse`` adds an ``opt_cse`` pass (pairwise search for common argument subsets, quadratic)
    and by default orders arguments by tree size (walking the unshared tree); the jets already share
    their sub-expressions, so the plain tree pass is what pays off.
    """
    single = isinstance(exprs, sp.Basic)
    exprs_list = [exprs] if single else list(exprs)
    replacements, reduced = tree_cse(exprs_list, sp.numbered_symbols("_t"), {}, "none", ())
    return replacements, (reduced[0] if single else reduced)


def _lambdify(exprs: Sequence[sp.Expr] | sp.Expr) -> Callable:
    # order="none" prints sums and products in their stored order: sorting terms for display walks
    # and evaluates whole sub-trees, and the stored order is the order the formula was written in.
    printer = NumPyPrinter(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {name: name for name in _NUMPY_HELPERS},
            "order": "none",
        }
    )
    return sp.lambdify(
        (X, Y), exprs, modules=[_NUMPY_HELPERS, "numpy"], printer=printer, cse=_cse, use_imps=False, docstring_limit=0
    )


@lru_cache(maxsize=64)
def compile_formula(text: str) -> CompiledFormula:
    """Parse, differentiate and compile ``text`` (cached by text); raises :class:`FormulaError`."""
    jet = _Parser(text).parse()
    with warnings.catch_warnings(), sp.evaluate(False):
        warnings.simplefilter("ignore")
        value_fn = _lambdify(jet.f)
        value_grad_fn = _lambdify([jet.f, jet.fx, jet.fy])
        hessian_fn = _lambdify([jet.fxx, jet.fxy, jet.fyy])
    return CompiledFormula(text.strip(), jet, value_fn, value_grad_fn, hessian_fn)


class FormulaSurface(FormulaFunctionsSurface):
    """A surface typed by the user: ``f(x, y)`` from a formula, with exact derivatives.

    ``name`` is the formula as typed (stripped), which is what the CSV ``surface`` column and sessions
    store; :func:`landscape_gui.core.surfaces.surface_from_spec` turns it back into this surface.
    """

    def __init__(self, compiled: CompiledFormula, bounds: Bounds) -> None:
        self.compiled = compiled
        # abs, sign, min, max (and cbrt, built from them) put creases in the surface
        smooth = not compiled.jet.f.has(_abs, _sign, _max, _min)
        super().__init__(compiled.text, compiled.value_fn, compiled.value_grad_fn, compiled.hessian_fn, smooth,
                         bounds)

    @property
    def expression(self) -> sp.Expr:
        """The sympy expression (for display, e.g. ``sympy.latex``)."""
        return self.compiled.expr

    def point_source(self) -> str | None:
        """Python source defining ``point_fn(x, y) -> (f, fx, fy)`` on floats, printed from the same
        expression tree (and common sub-expressions) as :meth:`value_and_grad`'s numpy function, for
        the compiled basin-map kernels (:mod:`landscape_gui.core.fastpath`). ``None`` if the printed
        function does not have the expected shape."""
        return _point_source(self.compiled)


_KERNEL_PRELUDE = """
def _abs(u):
    return np.abs(u)


def _sign(u):
    return np.sign(u)


def _max(a, b):
    return np.maximum(a, b)


def _min(a, b):
    return np.minimum(a, b)


def _step(u):
    if u > 0.0:
        return 1.0
    if u < 0.0:
        return 0.0
    if u == 0.0:
        return 0.5
    return u


for _h in (_abs, _sign, _max, _min, _step):
    _jitable(_h)
"""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _point_source(compiled: CompiledFormula) -> str | None:
    """See :meth:`FormulaSurface.point_source`: the lambdified value-and-gradient function (its source
    is what numpy runs), renamed, returning a tuple of floats, with numpy's names imported and our
    piecewise helpers given scalar forms (``step(0) = 1/2`` as :func:`numpy.heaviside` with 0.5)."""
    try:
        src = inspect.getsource(compiled.value_grad_fn)
    except (OSError, TypeError):
        return None
    lines = src.rstrip().splitlines()
    if not lines or not lines[0].startswith("def _lambdifygenerated(x, y):"):
        return None
    last = lines[-1]
    if not (last.startswith("    return [") and last.endswith("]")):
        return None
    body = lines[1:-1] + ["    return (" + last[len("    return ["):-1] + ")"]
    code = "\n".join(body)
    names = sorted({n for n in _IDENTIFIER.findall(code) if n in _NUMPY_NAMES})
    out = ["import numpy as np"]
    if names:
        out.append(f"from numpy import {', '.join(names)}")
    out.append(_KERNEL_PRELUDE)
    out.append("def _formula(x, y):")
    out.append(code)
    out.append("")
    out.append("")
    out.append("_jitable(_formula)")
    out.append("")
    out.append("")
    out.append("def point_fn(x, y):")
    out.append("    f, fx, fy = _formula(x, y)")
    out.append("    return float(f), float(fx), float(fy)")
    out.append(f"# formula: {compiled.text!r}")
    return "\n".join(out) + "\n"


_NUMPY_NAMES = frozenset(n for n in dir(np) if not n.startswith("_") and n not in ("x", "y"))


def formula_surface(text: str, bounds: Bounds | None = None) -> FormulaSurface:
    """A :class:`Surface` from formula ``text`` on ``bounds`` (default ``(-5, 5, -5, 5)``).

    Raises :class:`FormulaError` (a :class:`LandscapeError`) with the column of the problem.
    """
    from landscape_gui.core.engine import check_bounds

    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, not {type(text).__name__}", 1)
    compiled = compile_formula(text)
    surface = FormulaSurface(compiled, check_bounds(bounds) if bounds is not None else DEFAULT_BOUNDS)
    _remember(compiled, surface)
    return surface


_REMEMBERED: set[str] = set()


def _remember(compiled: CompiledFormula, surface: FormulaSurface) -> None:
    """Keep the printed functions on disk (once per process and formula) so that the command line
    can rebuild this surface later without sympy (:func:`~landscape_gui.core.formula_functions.
    cached_formula_surface`)."""
    if compiled.text in _REMEMBERED:
        return
    _REMEMBERED.add(compiled.text)
    try:
        sources = {name: inspect.getsource(fn).replace("def _lambdifygenerated(", f"def _{name}(", 1)
                   for name, fn in (("value", compiled.value_fn), ("value_grad", compiled.value_grad_fn),
                                    ("hessian", compiled.hessian_fn))}
    except (OSError, TypeError):
        return
    store(compiled.text, dict(sources, smooth=surface.smooth, point=surface.point_source()))
