"""The compiled kernels' sin, cos and exp (landscape_gui.core.kernelmath) against numpy's: within one
unit in the last place where a surface's runs can take them, right at the edges (zeros, infinities,
NaN, overflow, underflow), and branch-free, so that a kernel calling them still vectorises."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import fastpath, kernelmath

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no compiled path")


def _compiled():
    import numba

    for f in kernelmath.KERNEL_FUNCTIONS:
        fastpath._jitable(f)

    def over(f):
        @numba.njit(error_model="numpy")
        def apply(a, out):
            for i in range(a.size):
                out[i] = f(a[i])

        def call(a):
            out = np.empty_like(a)
            apply(a, out)
            return out

        return call

    return {"sin": over(kernelmath.sin), "cos": over(kernelmath.cos), "exp": over(kernelmath.exp)}


FUNCS = _compiled() if fastpath.AVAILABLE else {}


def _ulps(ref, got):
    same = (ref == got) | (np.isnan(ref) & np.isnan(got))
    with np.errstate(invalid="ignore"):
        gap = np.abs(ref - got) / np.spacing(np.maximum(np.abs(ref), np.abs(got)))
    return np.where(same, 0.0, gap)


@pytest.mark.parametrize("name", ["sin", "cos"])
@pytest.mark.parametrize("span", [4.0, 100.0, 1e4, kernelmath.TRIG_LIMIT])
def test_sin_and_cos_are_within_one_ulp_of_numpys(name, span):
    x = np.random.default_rng(int(span) % 1000).uniform(-span, span, 200_000)
    ulps = _ulps(getattr(np, name)(x), FUNCS[name](x))
    limit = 1.0 if span <= 1e4 else 2.0
    assert ulps.max() <= limit
    assert np.mean(ulps == 0) > 0.8  # mostly the very same number


def test_sin_and_cos_near_multiples_of_half_pi():
    """Where the reduced argument cancels (x near n·π/2) the three-part reduction keeps its digits."""
    n = np.arange(-2000, 2001, dtype=float)
    x = np.concatenate([n * np.pi / 2, np.nextafter(n * np.pi / 2, np.inf), np.nextafter(n * np.pi / 2, -np.inf)])
    for name in ("sin", "cos"):
        ref = getattr(np, name)(x)
        got = FUNCS[name](x)
        assert np.all(np.abs(ref - got) <= 2 * np.spacing(np.abs(ref)) + 1e-300)


def test_exp_is_within_one_ulp_from_underflow_to_overflow():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-750, 709, 300_000), rng.uniform(-3, 3, 100_000)])
    ulps = _ulps(np.exp(x), FUNCS["exp"](x))
    assert ulps.max() <= 1.0 and np.mean(ulps == 0) > 0.8


def test_edges_match_numpy():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 5e-324, -5e-324])
    with np.errstate(all="ignore"):
        for name in ("sin", "cos", "exp"):
            ref = getattr(np, name)(x)
            got = FUNCS[name](x)
            assert np.array_equal(ref, got, equal_nan=True), name
            assert np.array_equal(np.signbit(ref), np.signbit(got)), name
    # exp's overflow and underflow thresholds, and the subnormal range between
    x = np.array([709.78, 709.7827128933839, 709.79, -708.5, -745.1, -745.13321910194111, -745.2, -1000.0, 1000.0])
    with np.errstate(over="ignore"):
        assert np.all(_ulps(np.exp(x), FUNCS["exp"](x)) <= 1.0)


def test_huge_arguments_stay_finite():
    """Beyond TRIG_LIMIT the sine is no longer right (maps there use the C library's, see
    test_fastpath), but it stays a number in [-1, 1]: a run that jumps that far is stopped as diverged
    on both paths, not turned into NaN on one."""
    x = np.array([1e7, -1e12, 1e300, -1e300])
    for name in ("sin", "cos"):
        got = FUNCS[name](x)
        assert np.all(np.isfinite(got)) and np.all(np.abs(got) <= 1.0)


def test_a_kernel_calling_them_is_vectorised():
    """The point of the module: the rastrigin kernel's loop runs on SIMD vectors of doubles."""
    import re

    from landscape_gui.core.optimizers import get_optimizer
    from landscape_gui.core.surfaces import get_surface

    sgd = get_optimizer("sgd")
    spec = fastpath._Spec(get_surface("rastrigin"), sgd, sgd.resolve({}))
    assert spec.kernel_math
    import sys
    import types

    # compiled afresh (no disk cache: a kernel loaded from numba's cache keeps no IR to inspect)
    fastpath._register_helpers()
    name = spec.name + "_inspected"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(spec.source.replace("cache=True", "cache=False"), name, "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    namespace = vars(module)
    kernel = namespace["kernel"]
    n = 64
    p0 = np.zeros((n, 2))
    state = [np.zeros((n, 2)) for _ in spec.rule.state]
    table = np.zeros((12, max(spec.ncoef, 1)))
    rows = namespace["WORK_ROWS"]
    kernel(p0, np.empty((n, 2)), np.empty(n, np.int8), table, np.array([0, 0, 1, 1, 21.0]), 10, 1e-12, 0.0,
           np.zeros(3, np.int64), np.empty((rows, fastpath.BLOCK)), np.empty((2, fastpath.BLOCK), np.int64), *state)
    ir = kernel.inspect_llvm(kernel.signatures[0])
    assert re.search(r"<[48] x double>", ir)
    assert "@sin" not in ir and "@cos" not in ir and "llvm.sin" not in ir and "llvm.cos" not in ir
