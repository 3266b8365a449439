"""Compiled value and gradient of network surfaces, generated from the engine's own rules.

The compiled basin maps (:mod:`landscape_gui.core.fastpath`) need a surface as
``point_fn(x, y) -> (f, fx, fy)`` on floats. For a network surface this module prints that
function: one forward and backward pass per sample through the surface's network, its data and
plane held as constants, calling the very functions the vectorised engine calls on arrays:

- the loss term ``e(t, y) -> (e, ∂e/∂y, ∂²e/∂y²)`` (:attr:`landscape_gui.core.nn.losses.Loss.element`),
  after the loss's target preparation (hinge: 0/1 labels to ±1), with the loss's scale
  (``1 / (N k)``, or ``1 / N`` for a sum over outputs); for the categorical cross-entropies, which
  renormalise each sample's outputs (``q = y / S``, ``S = Σ_k y_k``), their term of ``q``
  (:attr:`~landscape_gui.core.nn.losses.Loss.class_term`) and ``∂L/∂y_j = (−r_j + Σ_i r_i q_i) / S / N``
  with ``r = −∂e/∂q``, as the engine's gradient; sparse labels one-hot encoded;
- the activation rules ``z -> (f(z), f'(z))`` (:data:`landscape_gui.core.nn.models.ACTIVATION_RULES`);
  a softmax output ``s = exp(z − max z) / Σ exp(z − max z)`` with ``δ = s ⊙ (g − Σ s g)``;
- backpropagation in the order :meth:`Net.loss_and_grad <landscape_gui.core.nn.models.Net.loss_and_grad>`
  takes: ``δ_L = ∂e/∂y · scale · f'(z_L)``, ``∂L/∂W_l += a_{l−1} δ_l``, ``∂L/∂b_l += δ_l``,
  ``δ_{l−1} = (W_l δ_l) ⊙ f'(z_{l−1})``; the in-plane gradient ``(∇_w L · d1, ∇_w L · d2)``.

The weights of a plane point are ``w = w0 + x·d1 + y·d2`` as the engine forms them. Only the order of
the sums differs from the engine (BLAS and numpy's pairwise sums against sequential sums here) and
the transcendental functions (numpy's SIMD ``tanh``/``log``/``exp`` against the C library's), so
values and gradients agree to rounding, not bit for bit: tests/core/test_nn_kernel.py holds
``|Δ| ≤ 1e-12·(1 + |engine's|)`` for the value and each gradient component, per loss and activation
family, softmax outputs and 300-weight MLPs included (measured: at most 2e-15 relative), and equal
basin labels.

The function is loops with constant trip counts over arrays in its own stack frame
(:mod:`landscape_gui.core.nn.scratch`: the kernel runs without numba's allocator): the weights, their
gradient and one sample's activations. The compiler unrolls the short loops, so the two-weight
models run as fast as the straight-line code this generator printed before (and give the same bits),
and compile time no longer grows with the network: straight-line code on named floats took 3.9 s to
compile at 37 weights, 9.7 s at 105 and 308 s at 337 (hence the 64-weight limit it had), the loops
1–5 s up to 4,417.

What bounds a compiled surface is the cache (:data:`MAX_WEIGHTS`, :data:`MAX_DATA`): per sample the
pass reads and writes every weight and its gradient, so those ``2 Q`` doubles must stay in a core's
L1 data cache (``Q ≤ 1024``: 16 KiB, half of a 32 KiB L1d), and it streams the data, which must stay
in L2 (``≤ 32,768`` numbers, 256 KiB). That covers the two-weight models and MLPs up to
2-29-29-1, among them the catalogue's 2-16-16-1 slices. Wider networks stay on the engine, whose
batched matrix products (BLAS) and SIMD ``tanh`` do better there.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from landscape_gui.core.nn import losses, models

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.nn.slices import NetSurface

MAX_WEIGHTS = 1024
"""At most this many network weights for a compiled surface: the weights and their gradient (16 KiB)
stay in half of a 32 KiB L1 data cache while every sample's pass reads and writes them."""

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
    if loss.element is None and loss.class_term is None:
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
    n = X.shape[0]
    k = net.sizes[-1]
    if loss.sparse:
        T = losses.one_hot(surface.targets, k)
    else:
        T = np.asarray(surface.targets, dtype=float).reshape(n, k)
    if loss.prep is not None:
        T = np.asarray(loss.prep(T), dtype=float)
    classes = loss.element is None  # the categorical cross-entropies: a term of renormalised outputs
    term = loss.class_term if classes else loss.element
    assert term is not None
    scale = 1.0 / n if loss.sum_outputs else 1.0 / (n * k)
    sizes = net.sizes
    L = net.n_layers
    Q = net.n_weights
    slices = net.layer_slices()
    acts = [net.output if l == L - 1 else net.hidden for l in range(L)]
    used = sorted({a for a in acts if a not in ("identity", "softmax")})

    rules = [term, *(models.ACTIVATION_RULES[a] for a in used), *losses.KERNEL_HELPERS,
             *models.KERNEL_HELPERS]
    texts = [inspect.getsource(f) for f in rules] + [_scratch_source()]
    digest = hashlib.sha256("".join(texts).encode()).hexdigest()[:16]

    out: list[str] = []
    a = out.append
    a("import numpy as np")
    a("from numba import carray")
    a("from landscape_gui.core.nn.scratch import stack_pointer")
    a(f"from {term.__module__} import {term.__name__} as loss_term")
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
    a(f"NS = {float(n)!r}")
    a("")
    a("")
    # Loops with constant trip counts over arrays in the function's stack frame (no allocator: the
    # kernel runs without numba's runtime); the compiler unrolls the short ones. Every sum runs in the
    # order of the straight-line code this replaced: z = Σ_i a_i w_ij then + b_j; δ_i = Σ_j δ_j w_ij.
    a("def point_fn(x, y):")

    def scratch(name: str, size: int) -> None:
        a(f"    {name} = carray(stack_pointer({size}), {size})")

    scratch("w", Q)
    scratch("g", Q)
    for l in range(L):
        o = sizes[l + 1]
        scratch(f"H{l}", o)  # z, then the activation
        scratch(f"FD{l}", o)  # f'(z)
        scratch(f"DE{l}", o)  # δ = ∂L/∂z
    if L > 1:
        scratch("S", max(sizes[1:-1]))
    if classes:
        scratch("QN", k)
        scratch("R", k)
    a(f"    for q in range({Q}):")
    a("        w[q] = W0[q] + x * D1[q] + y * D2[q]")
    a("        g[q] = 0.0")
    a("    f = 0.0")
    a(f"    for n in range({n}):")

    def prev(l: int, i: str) -> str:
        return f"X[n, {i}]" if l == 0 else f"H{l - 1}[{i}]"

    for l in range(L):
        i_n, o = sizes[l], sizes[l + 1]
        sw, sb = slices[l]
        act = acts[l]
        a(f"        for j in range({o}):")
        a(f"            H{l}[j] = 0.0")
        a(f"        for i in range({i_n}):")
        a(f"            p = {prev(l, 'i')}")
        a(f"            for j in range({o}):")
        a(f"                H{l}[j] += p * w[{sw.start} + i * {o} + j]")
        a(f"        for j in range({o}):")
        a(f"            z = H{l}[j] + w[{sb.start} + j]")
        if act == "identity" or act == "softmax":
            a(f"            H{l}[j] = z")
            a(f"            FD{l}[j] = 1.0")
        else:
            a(f"            H{l}[j], FD{l}[j] = act_{act}(z)")
        if act == "softmax":
            # s = exp(z − max z) / Σ exp(z − max z), as models._softmax
            a(f"        m = H{l}[0]")
            a(f"        for j in range(1, {o}):")
            a(f"            m = max(m, H{l}[j])")
            a("        es = 0.0")
            a(f"        for j in range({o}):")
            a(f"            H{l}[j] = np.exp(H{l}[j] - m)")
            a(f"            es += H{l}[j]")
            a(f"        for j in range({o}):")
            a(f"            H{l}[j] = H{l}[j] / es")
    last = L - 1
    Y, G = f"H{last}", f"DE{last}"  # predictions; ∂L/∂y in D until the output activation is applied
    if classes:
        # Keras renormalises: q = y / S; ∂L/∂y_j = (−r_j + Σ_i r_i q_i) / S / N with r = −∂e/∂q
        a("        ys = 0.0")
        a(f"        for j in range({k}):")
        a(f"            ys += {Y}[j]")
        a("        rq = 0.0")
        a(f"        for j in range({k}):")
        a(f"            QN[j] = {Y}[j] / ys")
        a("            e, e1, e2 = loss_term(T[n, j], QN[j])")
        a("            f += e")
        a("            R[j] = -e1")
        a("            rq += R[j] * QN[j]")
        a(f"        for j in range({k}):")
        a(f"            {G}[j] = (-R[j] + rq) / ys / NS")
    else:
        a(f"        for j in range({k}):")
        a(f"            e, e1, e2 = loss_term(T[n, j], {Y}[j])")
        a("            f += e")
        a(f"            {G}[j] = e1 * SCALE")
    if acts[last] == "softmax":
        # δ = s ⊙ (g − Σ s g), as Net.loss_and_grad
        a("        sg = 0.0")
        a(f"        for j in range({k}):")
        a(f"            sg += {Y}[j] * {G}[j]")
        a(f"        for j in range({k}):")
        a(f"            {G}[j] = {Y}[j] * ({G}[j] - sg)")
    else:
        a(f"        for j in range({k}):")
        a(f"            {G}[j] = {G}[j] * FD{last}[j]")
    for l in range(L - 1, -1, -1):
        i_n, o = sizes[l], sizes[l + 1]
        sw, sb = slices[l]
        a(f"        for i in range({i_n}):")
        a(f"            p = {prev(l, 'i')}")
        a(f"            for j in range({o}):")
        a(f"                g[{sw.start} + i * {o} + j] += p * DE{l}[j]")
        a(f"        for j in range({o}):")
        a(f"            g[{sb.start} + j] += DE{l}[j]")
        if l > 0:
            # S_i = Σ_j δ_j w_ij, j outermost so that the sums over i run side by side
            a(f"        for i in range({i_n}):")
            a("            S[i] = 0.0")
            a(f"        for j in range({o}):")
            a(f"            dj = DE{l}[j]")
            a(f"            for i in range({i_n}):")
            a(f"                S[i] += dj * w[{sw.start} + i * {o} + j]")
            a(f"        for i in range({i_n}):")
            a(f"            DE{l - 1}[i] = S[i] * FD{l - 1}[i]")
    a("    f = f / NS" if classes else "    f = f * SCALE")
    a("    fx = 0.0")
    a("    fy = 0.0")
    a(f"    for q in range({Q}):")
    a("        fx += g[q] * D1[q]")
    a("        fy += g[q] * D2[q]")
    a("    return f, fx, fy")
    return "\n".join(out) + "\n"


def _scratch_source() -> str:
    """The text of :mod:`landscape_gui.core.nn.scratch` (read, not imported: it imports numba)."""
    return Path(__file__).with_name("scratch.py").read_text()


__all__ = ["MAX_DATA", "MAX_WEIGHTS", "compilable", "point_source"]
