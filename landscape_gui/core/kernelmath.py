"""``sin``, ``cos`` and ``exp`` in plain arithmetic, for compiled kernels that must vectorise.

A compiled basin-map kernel advances a block of runs through one loop body (:mod:`landscape_gui.core.fastpath`).
The compiler turns that body into SIMD code, four or eight runs per instruction, as long as it holds only
arithmetic. A call to the C library's ``sin``, ``cos`` or ``exp`` is a scalar call it cannot vectorise: a
surface with such a call costs 15–58 ns per run and step against about 2 ns for a polynomial surface. The
functions here are the classic fdlibm algorithms (Sun Microsystems' freely distributable libm, the source
of most C libraries' ``sin``/``cos``/``exp``; Muller, *Elementary Functions*, 3rd ed., 2016, ch. 11),
written branch-free so that the compiler vectorises them:

- ``sin``/``cos``: Cody–Waite reduction ``r = x − n·π/2`` with π/2 split in three parts whose products
  with ``n`` are exact (Cody & Waite, *Software Manual for the Elementary Functions*, 1980), then fdlibm's
  minimax polynomials ``__kernel_sin``/``__kernel_cos`` on ``|r| ≤ π/4`` and the quadrant ``n mod 4``
  chosen by bit masks (:func:`_pick`). Accurate for ``|x| ≤`` :data:`TRIG_LIMIT`; beyond it the argument is clamped (the
  result stays finite, in [−1, 1], and is no longer the sine of ``x``).
- ``exp``: ``x = k·ln 2 + r`` (ln 2 in two parts), fdlibm's rational approximation on ``|r| ≤ ln2/2``,
  and ``2^k`` made from its bits, in two factors so that results near overflow and in the subnormal range
  come out right.

Each agrees with numpy's result to within one unit in the last place (``sin`` two, rarely, for
|x| beyond 10⁴), equal in about 85 % of arguments (tests/core/test_kernelmath.py measures it on
200,000 arguments per range, and the edges exactly); the engine keeps numpy's functions, so a kernel
using these and the engine may differ by an ulp where a surface calls them, as they already did for
``exp``. The numbers are the same on every machine: IEEE-754 arithmetic, no fused
multiply-adds (the kernels are compiled without ``fastmath``).
"""

from __future__ import annotations

import types

import numpy as np

TRIG_LIMIT = 2.0**19 * np.pi
"""|x| up to which :func:`sin` and :func:`cos` reduce exactly enough for 1-ulp results (n < 2^20)."""

_INV_PIO2 = 6.36619772367581382433e-01  # 2/π
# π/2 in three parts of 33 bits (fdlibm's pio2_1, pio2_2, pio2_3): n·part is exact for |n| < 2^20
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21
_PIO2_3 = 2.02226624871116645580e-21
_PIO2_3T = 8.47842766036889956997e-32
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
_ROUND = 6755399441055744.0  # 1.5·2^52: adding and subtracting it rounds to the nearest integer


def _pick(cond, a, b):
    """``a`` where ``cond`` else ``b``, bit for bit, without a branch (a mask on the bits: the compiler
    vectorises it, where a conditional expression would split the loop body into blocks)."""
    m = -np.int64(cond)
    return np.int64((np.float64(a).view(np.int64) & m) | (np.float64(b).view(np.int64) & ~m)).view(np.float64)


def _reduce(x):
    """``(r_hi, r_lo, q)`` with ``x ≈ n·π/2 + r_hi + r_lo``, ``|r| ≤ π/4`` and ``q = n mod 4`` (fdlibm's
    ``__ieee754_rem_pio2`` for medium arguments, its three rounds always taken). Arguments beyond
    :data:`TRIG_LIMIT`, infinities included, are clamped to it (the callers give NaN for infinities
    and NaN)."""
    xc = min(max(x, -TRIG_LIMIT), TRIG_LIMIT)
    xc = _pick(x != x, 0.0, xc)
    n = (xc * _INV_PIO2 + _ROUND) - _ROUND
    r = xc - n * _PIO2_1
    t = r
    w = n * _PIO2_2
    r = t - w
    w = n * _PIO2_2T - ((t - r) - w)
    t = r
    w = n * _PIO2_3
    r = t - w
    w = n * _PIO2_3T - ((t - r) - w)
    hi = r - w
    lo = (r - hi) - w
    q = n - 4.0 * np.floor(n * 0.25)
    return hi, lo, q


def _k_sin(x, y):
    """fdlibm ``__kernel_sin(x, y, 1)``: sin(x + y) for |x| ≤ π/4, y the tail of x."""
    z = x * x
    v = z * x
    r = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    return x - ((z * (0.5 * y - v * r) - y) - v * _S1)


def _k_cos(x, y):
    """fdlibm ``__kernel_cos(x, y)``: cos(x + y) for |x| ≤ π/4, y the tail of x."""
    z = x * x
    r = z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


def sin(x):
    """sin x to within one ulp for |x| ≤ :data:`TRIG_LIMIT` (see the module's docstring)."""
    hi, lo, q = _reduce(x)
    v = _pick((q == 1.0) | (q == 3.0), _k_cos(hi, lo), _k_sin(hi, lo))
    v = _pick(q >= 2.0, -v, v)
    return _pick(x - x == 0.0, v, x - x)  # NaN for ±inf and NaN


def cos(x):
    """cos x to within one ulp for |x| ≤ :data:`TRIG_LIMIT` (see the module's docstring)."""
    hi, lo, q = _reduce(x)
    v = _pick((q == 1.0) | (q == 3.0), _k_sin(hi, lo), _k_cos(hi, lo))
    v = _pick((q == 1.0) | (q == 2.0), -v, v)
    return _pick(x - x == 0.0, v, x - x)


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08


def _pow2(k):
    """2^k as a float64, for integer ``k`` in [−1022, 1023], from its exponent bits."""
    return np.int64((k + 1023) << 52).view(np.float64)


def exp(x):
    """e^x to within one ulp (fdlibm's ``__ieee754_exp``, branch-free; see the module's docstring).
    Arguments are clamped to [−746, 710], where the result has under- or overflowed already: the
    scaling by ``2^k`` then gives 0 or inf by itself."""
    xc = min(max(x, -746.0), 710.0)
    xc = _pick(x != x, 0.0, xc)
    k = (xc * _INV_LN2 + _ROUND) - _ROUND
    hi = xc - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    ki = np.int64(k)
    k1 = ki >> 1
    return _pick(x != x, x, y * _pow2(k1) * _pow2(ki - k1))


KERNEL_FUNCTIONS = (_pick, _reduce, _k_sin, _k_cos, _pow2, sin, cos, exp)
"""Everything a kernel compiles from this module (registered with numba by the compiled path)."""


def numpy_namespace() -> types.ModuleType:
    """A stand-in for ``numpy`` inside compiled point functions: numpy's names, with ``sin``, ``cos`` and
    ``exp`` replaced by the functions above."""
    ns = types.ModuleType("numpy_kernel_math", "numpy with vectorisable sin, cos and exp")
    ns.__getattr__ = lambda name: getattr(np, name)  # type: ignore[method-assign]
    ns.sin, ns.cos, ns.exp = sin, cos, exp
    return ns
