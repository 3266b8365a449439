"""Exact Hessian-vector products of a network's loss with respect to every weight.

:func:`hvp` applies the Hessian ``H = ∇²_w L(w)`` at one weight vector ``w (Q,)`` to ``k`` directions
``V (k, Q)`` at once, exactly (no finite differences), by Pearlmutter's R-operator applied to
backpropagation ("Fast exact multiplication by the Hessian", Neural Computation 6(1):147–160, 1994):
``R{·} = d/dr (·)(w + r v) |_{r=0}`` is pushed through the forward pass and then through the backward
pass, so ``R{∇_w L} = H v``. With ``z_l = a_{l−1} W_l + b_l``, ``a_l = f(z_l)``, ``δ_l = ∂L/∂z_l``:

* forward: ``R z_l = R a_{l−1} W_l + a_{l−1} V_l + v_l`` (``V_l, v_l``: the direction's blocks),
  ``R a_l = f'(z_l) R z_l`` (softmax: ``R s = s ⊙ (R z − ⟨s, R z⟩)``), ``R a_0 = 0``;
* output: ``R g = ∇²_y ℓ · R y`` (the loss's own exact Hessian in the predictions), then for an
  elementwise output ``R δ_L = R g ⊙ f'(z_L) + g ⊙ f''(z_L) ⊙ R z_L`` and for softmax
  ``R δ = R s ⊙ (g − ⟨s, g⟩) + s ⊙ (R g − ⟨R s, g⟩ − ⟨s, R g⟩)``;
* backward: ``R δ_{l−1} = (R δ_l W_lᵀ + δ_l V_lᵀ) ⊙ f'(z_{l−1}) + (δ_l W_lᵀ) ⊙ f''(z_{l−1}) ⊙ R z_{l−1}``;
* ``H v`` blocks: ``R ∂L/∂W_l = R a_{l−1}ᵀ δ_l + a_{l−1}ᵀ R δ_l``, ``R ∂L/∂b_l = Σ_n R δ_l``.

Cost: about twice a gradient per direction; all ``k`` directions share one forward pass.
:func:`full_hessian` stacks ``Q`` of them (the identity's columns) into the exact ``(Q, Q)`` matrix,
which numpy's ``eigh`` then decomposes when ``Q`` is small.
"""

from __future__ import annotations

import numpy as np

from landscape_gui.core.nn.losses import Loss
from landscape_gui.core.nn.models import Net, _act, _softmax

_CHUNK_ELEMENTS = 1 << 22
"""Elements per ``(k, N, width)`` intermediate: directions are processed in chunks below this."""


def hvp(net: Net, w: np.ndarray, V: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss) -> np.ndarray:
    """``H V``: the exact Hessian of ``loss`` at weights ``w (Q,)`` applied to directions ``V (k, Q)``.

    Returns ``(k, Q)``; ``V`` may also be a single direction ``(Q,)`` (then the result is ``(Q,)``).
    """
    w = np.asarray(w, dtype=float).reshape(-1)
    V = np.asarray(V, dtype=float)
    single = V.ndim == 1
    V2 = V.reshape(-1, w.shape[0])
    width = max(net.sizes) * max(1, X.shape[0])
    chunk = max(1, _CHUNK_ELEMENTS // width)
    out = np.empty_like(V2)
    cache = _forward(net, w, X, t, loss)
    for lo in range(0, len(V2), chunk):
        out[lo:lo + chunk] = _hvp_chunk(net, cache, V2[lo:lo + chunk], X, t, loss)
    return out[0] if single else out


def full_hessian(net: Net, w: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss) -> np.ndarray:
    """The exact ``(Q, Q)`` Hessian ``∇²_w L`` at ``w``, symmetrised (``(H + Hᵀ) / 2``: exact
    arithmetic gives a symmetric matrix; this removes rounding-level asymmetry)."""
    q = net.n_weights
    H = hvp(net, w, np.eye(q), X, t, loss)
    return 0.5 * (H + H.T)


def _forward(net: Net, w: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss) -> dict:
    """Activations, derivatives and the backward pass at ``w`` (shared by every direction)."""
    layers = [(W[0], b[0]) for W, b in net.unpack(w[None, :])]
    acts = [X]
    zs = []
    d1s, d2s = [], []
    h = X
    for l, (W, b) in enumerate(layers):
        z = h @ W + b
        zs.append(z)
        name = net._act_name(l)
        if name == "softmax":
            h = _softmax(z)
            d1s.append(None)
            d2s.append(None)
        else:
            h, d1, d2 = _act(name, z)
            d1s.append(d1)
            d2s.append(d2)
        acts.append(h)
    y = h[None]
    g = loss.grad(t, y)[0]
    if net.output == "softmax":
        s = h
        g_c = g - (s * g).sum(axis=-1, keepdims=True)
        delta = s * g_c
    else:
        g_c = None
        delta = g * d1s[-1]
    deltas = [None] * net.n_layers
    deltas[-1] = delta
    for l in range(net.n_layers - 1, 0, -1):
        deltas[l - 1] = (deltas[l] @ layers[l][0].T) * d1s[l - 1]
    return dict(layers=layers, acts=acts, zs=zs, d1s=d1s, d2s=d2s, g=g, g_c=g_c, deltas=deltas, y=y)


def _hvp_chunk(net: Net, c: dict, V: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss) -> np.ndarray:
    k = V.shape[0]
    dirs = net.unpack(V)  # per layer (k, in, out), (k, out)
    layers, acts, d1s, d2s = c["layers"], c["acts"], c["d1s"], c["d2s"]
    Rz_all, Ra_all = [], []
    Ra = None
    for l, ((W, b), (dW, db)) in enumerate(zip(layers, dirs)):
        Rz = np.matmul(acts[l], dW) + db[:, None, :]  # (k, N, out); acts[0] = X is (N, in)
        if Ra is not None:
            Rz += np.matmul(Ra, W)
        Rz_all.append(Rz)
        if net._act_name(l) == "softmax":
            s = acts[l + 1]
            Ra = s * (Rz - (s * Rz).sum(axis=-1, keepdims=True))
        else:
            Ra = d1s[l] * Rz
        Ra_all.append(Ra)
    Ry = Ra
    y = np.broadcast_to(c["y"], Ry.shape)
    Rg = loss.hvp(t, y, Ry)
    g = c["g"]
    if net.output == "softmax":
        s = acts[-1]
        Rs = Ry
        Rdelta = Rs * c["g_c"] + s * (Rg - (Rs * g).sum(axis=-1, keepdims=True) - (s * Rg).sum(axis=-1, keepdims=True))
    else:
        Rdelta = Rg * d1s[-1] + g * d2s[-1] * Rz_all[-1]
    out = np.empty((k, net.n_weights))
    slices = net.layer_slices()
    for l in range(net.n_layers - 1, -1, -1):
        sw, sb = slices[l]
        delta = c["deltas"][l]
        a_prev = acts[l]
        RgW = np.matmul(a_prev.T, Rdelta)  # (k, in, out)
        if l > 0:
            RgW += np.matmul(Ra_all[l - 1].transpose(0, 2, 1), delta)
        out[:, sw] = RgW.reshape(k, -1)
        out[:, sb] = Rdelta.sum(axis=1)
        if l > 0:
            W = layers[l][0]
            dW = dirs[l][0]
            back = np.matmul(Rdelta, W.T) + np.matmul(delta, dW.transpose(0, 2, 1))
            Rdelta = back * d1s[l - 1] + (delta @ W.T) * d2s[l - 1] * Rz_all[l - 1]
    return out


__all__ = ["full_hessian", "hvp"]
