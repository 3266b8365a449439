"""Compiled value and gradient of small network surfaces, generated from the engine's own rules.

The compiled basin maps (:mod:`landscape_gui.core.fastpath`) need a surface as
``point_fn(x, y) -> (f, fx, fy)`` on floats. For a network surface this module prints that
function: one forward and backward pass per sample through the surface's network, its data and
plane held as constants, calling the very functions the vectorised engine calls on arrays:

- the loss term ``e(t, y) -> (e, ∂e/∂y, ∂²e/∂y²)`` (:attr:`landscape_gui.core.nn.losses.Loss.element`),
  after the loss's target preparation (hinge: 0/1 labels to ±1), with the loss's scale
  (``1 / (N k)``, or ``1 / N`` for a sum over outputs);
- the activation rules ``z -> (f(z), f'(z))`` (:data:`landscape_gui.core.nn.models.ACTIVATION_RULES`);
- backpropagation in the order :meth:`Net.loss_and_grad <landscape_gui.core.nn.models.Net.loss_and_grad>`
  takes: ``δ_L = ∂e/∂y · scale · f'(z_L)``, ``∂L/∂W_l += a_{l−1} δ_l``, ``∂L/∂b_l += δ_l``,
  ``δ_{l−1} = (W_l δ_l) ⊙ f'(z_{l−1})``; the in-plane gradient ``(∇_w L · d1, ∇_w L · d2)``.

The weights of a plane point are ``w = w0 + x·d1 + y·d2`` as the engine forms them. Only the order of
the sums differs from the engine (BLAS and numpy's pairwise sums against sequential sums here) and
the transcendental functions (numpy's SIMD ``tanh``/``log`` against the C library's), so values and
gradients agree to rounding, not bit for bit: tests/core/test_nn_kernel.py holds
``|Δ| ≤ 1e-12·(1 + |engine's|)`` for the value and each gradient component, per loss and activation
family (measured: at most 6e-14), and equal basin labels.

Only surfaces whose data and weights fit in a core's cache are compiled (:data:`MAX_WEIGHTS`,
:data:`MAX_DATA`): the two-weight models and small MLPs. Softmax outputs (the class losses) couple the
outputs and have no per-output term; they, and larger networks, stay on the engine.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import TYPE_CHECKING

import numpy as np

from landscape_gui.core.nn import losses, models

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.nn.slices import NetSurface

MAX_WEIGHTS = 64
"""At most this many network weights for a compiled surface."""

MAX_DATA = 1 << 15
"""At most this many data numbers (samples × (features + outputs), 256 KiB) for a compiled surface."""


def _array(name: str, a: np.ndarray) -> str:
    flat = ", ".join(repr(float(v)) for v in np.asarray(a, dtype=float).ravel())
    return f"{name} = np.array([{flat}], dtype=np.float64).reshape({tuple(int(s) for s in np.shape(a))!r})"


def compilable(surface: "NetSurface") -> bool:
    """Whether :func:`point_source` gives a compiled form for ``surface``."""
    net, loss = surface.net, surface.loss
    n, d = surface.dataset.X.shape
    k = net.sizes[-1]
    if loss.element is None or net.output == "softmax":
        return False
    if net.n_weights > MAX_WEIGHTS or n * (d + k) > MAX_DATA:
        return False
    if net.hidden not in models.ACTIVATION_RULES and net.hidden != "identity":
        return False
    arrays = (surface.dataset.X, surface.targets, surface._w0, surface._dw)
    return all(np.isfinite(np.asarray(a, dtype=float)).all() for a in arrays)


def point_source(surface: "NetSurface") -> str | None:
    """Python source defining ``point_fn(x, y) -> (f, fx, fy)`` for ``surface`` (see the module
    docstring), or ``None`` when it is not compiled (:func:`compilable`)."""
    if not compilable(surface):
        return None
    net, loss = surface.net, surface.loss
    X = np.ascontiguousarray(surface.dataset.X, dtype=float)
    n, d = X.shape
    k = net.sizes[-1]
    T = np.asarray(surface.targets, dtype=float).reshape(n, k)
    if loss.prep is not None:
        T = np.asarray(loss.prep(T), dtype=float)
    scale = 1.0 / n if loss.sum_outputs else 1.0 / (n * k)
    sizes = net.sizes
    L = net.n_layers
    slices = net.layer_slices()
    acts = [net.output if l == L - 1 else net.hidden for l in range(L)]
    used = sorted({a for a in acts if a != "identity"})

    rules = [loss.element, *(models.ACTIVATION_RULES[a] for a in used), *losses.KERNEL_HELPERS,
             *models.KERNEL_HELPERS]
    digest = hashlib.sha256("".join(inspect.getsource(f) for f in rules).encode()).hexdigest()[:16]

    out: list[str] = []
    a = out.append
    a("import numpy as np")
    a(f"from {loss.element.__module__} import {loss.element.__name__} as loss_term")
    for name in used:
        fn = models.ACTIVATION_RULES[name]
        a(f"from {fn.__module__} import {fn.__name__} as act_{name}")
    a("from landscape_gui.core.nn import losses as _losses, models as _models")
    a("from landscape_gui.core.optimizers import _select")
    a("for _h in (_select,) + _losses.KERNEL_HELPERS + _models.KERNEL_HELPERS:")
    a("    _jitable(_h)")
    a("_jitable(loss_term)")
    for name in used:
        a(f"_jitable(act_{name})")
    a(f"# network {net.sizes} {net.hidden}/{net.output}, loss {loss.name}; rules {digest}")
    a(_array("X", X))
    a(_array("T", T))
    a(_array("W0", surface._w0))
    a(_array("D1", surface._dw[0]))
    a(_array("D2", surface._dw[1]))
    a(f"SCALE = {scale!r}")
    a("")
    a("")
    # Straight-line code on named floats (no arrays: the kernel runs without numba's allocator).
    a("def point_fn(x, y):")
    Q = net.n_weights
    for q in range(Q):
        a(f"    w{q} = W0[{q}] + x * D1[{q}] + y * D2[{q}]")
    for q in range(Q):
        a(f"    g{q} = 0.0")
    a("    f = 0.0")
    a(f"    for n in range({n}):")

    def prev(l: int, i: int) -> str:
        return f"X[n, {i}]" if l == 0 else f"a{l - 1}_{i}"

    for l in range(L):
        i_n, o = sizes[l], sizes[l + 1]
        sw, sb = slices[l]
        for j in range(o):
            a("        z = 0.0")
            for i in range(i_n):
                a(f"        z += {prev(l, i)} * w{sw.start + i * o + j}")
            a(f"        z += w{sb.start + j}")
            if acts[l] == "identity":
                a(f"        a{l}_{j} = z")
                a(f"        f{l}_{j} = 1.0")
            else:
                a(f"        a{l}_{j}, f{l}_{j} = act_{acts[l]}(z)")
    last = L - 1
    for j in range(k):
        a(f"        e, e1, e2 = loss_term(T[n, {j}], a{last}_{j})")
        a("        f += e")
        a(f"        d{last}_{j} = (e1 * SCALE) * f{last}_{j}")
    for l in range(L - 1, -1, -1):
        i_n, o = sizes[l], sizes[l + 1]
        sw, sb = slices[l]
        for i in range(i_n):
            for j in range(o):
                q = sw.start + i * o + j
                a(f"        g{q} += {prev(l, i)} * d{l}_{j}")
        for j in range(o):
            a(f"        g{sb.start + j} += d{l}_{j}")
        if l > 0:
            for i in range(i_n):
                a("        s = 0.0")
                for j in range(o):
                    a(f"        s += d{l}_{j} * w{sw.start + i * o + j}")
                a(f"        d{l - 1}_{i} = s * f{l - 1}_{i}")
    a("    f = f * SCALE")
    a("    fx = 0.0")
    a("    fy = 0.0")
    for q in range(Q):
        a(f"    fx += g{q} * D1[{q}]")
        a(f"    fy += g{q} * D2[{q}]")
    a("    return f, fx, fy")
    return "\n".join(out) + "\n"


__all__ = ["MAX_DATA", "MAX_WEIGHTS", "compilable", "point_source"]
