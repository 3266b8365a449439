"""Optional compiled fast path for basin maps (used only when numba is installed).

A basin map runs one optimizer from every cell of a grid. The numpy engine makes ~40 passes over
arrays of all active runs per step; here blocks of :data:`BLOCK` runs advance together through one
fused, branch-free loop body that the compiler vectorises (AVX: several runs per division and square
root), their state small enough to stay in the L1 cache, finished runs compacted away, blocks spread
over the cores (``prange``), the GIL released. The kernels repeat, operation for operation and in the
same order, the numpy code they replace:

- surfaces: ``Himmelblau.value_and_grad`` and ``Rosenbrock.value``/``grad``
  (:mod:`landscape_gui.core.surfaces`);
- optimizers: the SGD family (``sgd``, ``momentum``, ``nesterov``: ``_sgd_update``) and ``adam`` /
  ``adamw`` as ``_adam_step`` (torch's ``_single_tensor_adam``: lerp for the first moment, addcmul,
  addcdiv; bias corrections computed in Python floats per step and passed in), without amsgrad;
- stop rules: :func:`landscape_gui.core.engine.run` (converged at ``|g|² <= tol²``, ``max_steps``,
  non-finite step not kept, far outside the bounds recorded then diverged).

IEEE-754 arithmetic is deterministic and numba does not contract ``a*b + c`` into fused
multiply-adds without ``fastmath``, so results equal the numpy engine's bit for bit; a test compares
the two. Any other surface, optimizer or flag returns ``None`` from :func:`fused_runner` and the
caller uses the engine.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, Mapping

import numpy as np

from landscape_gui.core.engine import FAR, Cancelled
from landscape_gui.core.optimizers import Optimizer
from landscape_gui.core.surfaces import Bounds, Himmelblau, Rosenbrock, Surface

try:  # optional accelerator
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

AVAILABLE = numba is not None
"""Whether numba is installed (the fast path exists)."""

_LAUNCH_LOCK = threading.Lock()
"""numba's ``workqueue`` threading layer (its fallback when neither OpenMP nor TBB is present) aborts
the process when two threads launch parallel kernels at once, e.g. a cancelled GUI job still in its
last chunk while the next one starts: launches take turns."""

CHUNK = 16384
"""Starts per compiled call; progress and cancel are handled between calls."""

_SURFACES = {Himmelblau: 0, Rosenbrock: 1}
_SGD, _ADAM = 0, 1
BLOCK = 256
"""Starts advanced in lockstep inside one compiled task."""


def _surface_code(surface: Surface) -> int | None:
    return _SURFACES.get(type(surface))


def _optimizer_params(opt: Optimizer, hp: Mapping[str, Any], max_steps: int) -> tuple[int, np.ndarray, np.ndarray] | None:
    """``(code, scalars, per-step table)`` for supported optimizers, else None.

    scalars (float64): sgd family ``[lr, momentum, dampening, weight_decay, nesterov, maximize]``;
    adam/adamw ``[lr, beta1, beta2, eps, weight_decay, maximize, decoupled]``. The adam table holds, for step
    ``t = 1..max_steps``, ``step_size = lr / (1 − β₁ᵗ)`` and ``√(1 − β₂ᵗ)`` computed with Python
    floats as torch does.
    """
    keys = set(hp)
    if opt.name in ("sgd", "momentum", "nesterov") and keys == {
        "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"
    }:
        s = np.array([hp["lr"], hp["momentum"], hp["dampening"], hp["weight_decay"], float(bool(hp["nesterov"])),
                      float(bool(hp["maximize"]))], dtype=float)
        return _SGD, s, np.zeros((1, 2))
    if opt.name in ("adam", "adamw") and {"lr", "beta1", "beta2", "eps"} <= keys <= {
        "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay", "maximize"
    }:
        if hp.get("amsgrad", False):
            return None
        lr, b1, b2 = float(hp["lr"]), float(hp["beta1"]), float(hp["beta2"])
        decoupled = opt.name == "adamw" or bool(hp.get("decoupled_weight_decay", False))
        s = np.array([lr, b1, b2, hp["eps"], hp.get("weight_decay", 0.0), float(bool(hp.get("maximize", False))),
                      float(decoupled)])
        table = np.zeros((max_steps + 2, 2))  # row max_steps + 1: computed, never used
        for t in range(1, max_steps + 2):
            table[t, 0] = lr / (1 - b1 ** float(t))
            table[t, 1] = (1 - b2 ** float(t)) ** 0.5
        return _ADAM, s, table
    return None


def fused_runner(
    surface: Surface, opt: Optimizer, hp: Mapping[str, Any]
) -> Callable[..., tuple[np.ndarray, np.ndarray]] | None:
    """A function ``(starts, bounds, max_steps, tol, progress, should_cancel) -> (final_positions,
    status_codes)`` equivalent to ``engine.run(..., record=False)``, or None when there is no fused
    kernel for this pair (or numba is missing)."""
    if numba is None:
        return None
    sc = _surface_code(surface)
    if sc is None:
        return None
    probe = _optimizer_params(opt, hp, 1)
    if probe is None:
        return None

    def run(
        starts: np.ndarray,
        bounds: Bounds,
        max_steps: int,
        tol: float,
        progress: Callable[[float], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        oc, scal, table = _optimizer_params(opt, hp, max_steps)  # type: ignore[misc]
        xmin, xmax, ymin, ymax = bounds
        wx, wy = xmax - xmin, ymax - ymin
        far = np.array([xmin - FAR * wx, ymin - FAR * wy, xmax + FAR * wx, ymax + FAR * wy])
        p0 = np.ascontiguousarray(starts, dtype=float)
        n = len(p0)
        out_p = np.empty((n, 2))
        codes = np.empty(n, dtype=np.int8)
        tol2 = tol * tol if tol > 0 else -1.0
        kernel = _kernel()
        for lo in range(0, n, CHUNK):
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            if progress is not None:
                progress(lo / n)
            hi = min(n, lo + CHUNK)
            with _LAUNCH_LOCK:
                kernel(p0[lo:hi], out_p[lo:hi], codes[lo:hi], sc, oc, scal, table, far, max_steps, tol2)
        if progress is not None:
            progress(1.0)
        return out_p, codes

    return run


def _kernel():
    """The compiled kernel (compiled on first use; numba caches the machine code on disk)."""
    return _fused_kernel


if numba is not None:  # pragma: no cover - bodies compiled by numba
    njit = numba.njit

    @njit(cache=True, inline="always")
    def surface_vg(sc, x, y):
        if sc == 0:  # Himmelblau.value_and_grad
            a = x * x + y - 11.0
            b = x + y * y - 7.0
            return a * a + b * b, 4.0 * a * x + 2.0 * b, 2.0 * a + 4.0 * b * y
        # Rosenbrock.value / grad
        u = 1.0 - x
        r0 = y - x * x
        f = u**2 + 100.0 * r0**2
        r = y - x * x
        return f, -2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r

    @njit(cache=True, inline="always")
    def step(sc, oc, s, table, t, x, y, gx, gy, m0, m1, v0, v1):
        """One optimizer update then the surface at the new point: (x, y, f, gx, gy, m0, m1, v0, v1)."""
        ex = gx
        ey = gy
        if oc == 0:  # optimizers._sgd_update
            lr, mu, damp, wd, nest, maxi = s[0], s[1], s[2], s[3], s[4], s[5]
            if maxi != 0.0:
                ex = -ex
                ey = -ey
            if wd != 0.0:
                ex = ex + wd * x
                ey = ey + wd * y
            if mu != 0.0:
                if t == 1:
                    m0 = ex
                    m1 = ey
                else:
                    m0 = m0 * mu
                    m1 = m1 * mu
                    m0 = m0 + (1.0 - damp) * ex
                    m1 = m1 + (1.0 - damp) * ey
                if nest != 0.0:
                    ex = ex + mu * m0
                    ey = ey + mu * m1
                else:
                    ex = m0
                    ey = m1
            nx = x - lr * ex
            ny = y - lr * ey
        else:  # torch _single_tensor_adam
            lr, b1, b2, eps, wd, maxi, dec = s[0], s[1], s[2], s[3], s[4], s[5], s[6]
            if maxi != 0.0:
                ex = -ex
                ey = -ey
            bx = x
            by = y
            if wd != 0.0:
                if dec != 0.0:  # decoupled: params *= 1 - lr * weight_decay
                    bx = x * (1.0 - lr * wd)
                    by = y * (1.0 - lr * wd)
                else:
                    ex = ex + wd * x
                    ey = ey + wd * y
            w = 1.0 - b1
            if w < 0.5:  # torch lerp: start + w (end - start)
                m0 = m0 + w * (ex - m0)
                m1 = m1 + w * (ey - m1)
            else:
                m0 = ex - (ex - m0) * (1.0 - w)
                m1 = ey - (ey - m1) * (1.0 - w)
            c2 = 1.0 - b2
            v0 = v0 * b2 + c2 * ex * ex
            v1 = v1 * b2 + c2 * ey * ey
            step_size = table[t, 0]
            bc2 = table[t, 1]
            d0 = math.sqrt(v0) / bc2 + eps
            d1 = math.sqrt(v1) / bc2 + eps
            nx = bx + (-step_size * m0) / d0  # torch.addcdiv: base + (value * a) / b
            ny = by + (-step_size * m1) / d1
        nf, ngx, ngy = surface_vg(sc, nx, ny)
        return nx, ny, nf, ngx, ngy, m0, m1, v0, v1

    @njit(cache=True, parallel=True, nogil=True)
    def kernel(p0, out_p, codes, sc, oc, s, table, far, max_steps, tol2):
        # Blocks of BLOCK starts advance in lockstep over dense arrays with a branch-free inner loop
        # (selects instead of jumps), which the compiler turns into SIMD code: several runs share
        # each vector division and square root. Finished runs freeze in place and are compacted
        # away once an eighth of the block has finished.
        n = p0.shape[0]
        nblocks = (n + BLOCK - 1) // BLOCK
        for blk in numba.prange(nblocks):
            lo = blk * BLOCK
            hi = min(n, lo + BLOCK)
            w = hi - lo
            X = np.empty(w)
            Y = np.empty(w)
            GX = np.empty(w)
            GY = np.empty(w)
            M0 = np.zeros(w)
            M1 = np.zeros(w)
            V0 = np.zeros(w)
            V1 = np.zeros(w)
            IDX = np.empty(w, dtype=np.int64)
            ST = np.empty(w, dtype=np.int64)
            na = 0
            for k in range(w):
                x = p0[lo + k, 0]
                y = p0[lo + k, 1]
                f, gx, gy = surface_vg(sc, x, y)
                out_p[lo + k, 0] = x
                out_p[lo + k, 1] = y
                if math.isfinite(f) and math.isfinite(gx) and math.isfinite(gy):
                    X[na] = x
                    Y[na] = y
                    GX[na] = gx
                    GY[na] = gy
                    IDX[na] = lo + k
                    ST[na] = 3
                    na += 1
                else:
                    codes[lo + k] = 1
            t = 0
            finished = 0
            while na > 0:
                last = t == max_steps
                for k in range(na):
                    x = X[k]
                    y = Y[k]
                    gx = GX[k]
                    gy = GY[k]
                    m0 = M0[k]
                    m1 = M1[k]
                    v0 = V0[k]
                    v1 = V1[k]
                    live = ST[k] == 3
                    nx, ny, nf, ngx, ngy, nm0, nm1, nv0, nv1 = step(sc, oc, s, table, t + 1, x, y, gx, gy, m0, m1, v0, v1)
                    conv = gx * gx + gy * gy <= tol2
                    bad = not (math.isfinite(nx) and math.isfinite(ny) and math.isfinite(nf)
                               and math.isfinite(ngx) and math.isfinite(ngy))
                    out = (nx < far[0]) | (ny < far[1]) | (nx > far[2]) | (ny > far[3])
                    code = 0 if conv else (2 if last else (1 if (bad or out) else 3))
                    adv = live and code != 0 and code != 2 and not bad
                    ST[k] = code if live else ST[k]
                    X[k] = nx if adv else x
                    Y[k] = ny if adv else y
                    GX[k] = ngx if adv else gx
                    GY[k] = ngy if adv else gy
                    M0[k] = nm0 if adv else m0
                    M1[k] = nm1 if adv else m1
                    V0[k] = nv0 if adv else v0
                    V1[k] = nv1 if adv else v1
                    finished += 1 if (live and code != 3) else 0
                t += 1
                if finished * 8 >= na or last:
                    keep = 0
                    for k in range(na):
                        if ST[k] == 3:
                            X[keep] = X[k]
                            Y[keep] = Y[k]
                            GX[keep] = GX[k]
                            GY[keep] = GY[k]
                            M0[keep] = M0[k]
                            M1[keep] = M1[k]
                            V0[keep] = V0[k]
                            V1[keep] = V1[k]
                            IDX[keep] = IDX[k]
                            ST[keep] = 3
                            keep += 1
                        else:
                            i = IDX[k]
                            codes[i] = ST[k]
                            out_p[i, 0] = X[k]
                            out_p[i, 1] = Y[k]
                    na = keep
                    finished = 0

    _fused_kernel = kernel


__all__ = ["AVAILABLE", "CHUNK", "fused_runner"]
