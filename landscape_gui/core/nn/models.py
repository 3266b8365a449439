"""Fully connected networks with hand-written derivatives, batched over parameter vectors.

A :class:`Net` maps inputs ``X (N, d)`` through layers ``z_l = a_{l−1} W_l + b_l``,
``a_l = act(z_l)`` (the last layer with the output activation) to predictions ``(m, N, k)`` for
``m`` weight vectors at once. Weights live in one flat vector per network (``(m, Q)``), layer by
layer, ``W_l`` row-major ``(in, out)`` then ``b_l``.

Three derivative routines, none with a Python loop over weight vectors or samples:

* :meth:`Net.loss_and_grad`: reverse mode (backpropagation, Rumelhart, Hinton & Williams 1986):
  the loss and its gradient with respect to every weight, ``(m,)`` and ``(m, Q)``.
* :meth:`Net.loss_jets`: forward mode to second order along two weight directions ``u, v``: the
  exact first and second derivatives of ``L(w + a u + b v)`` in ``(a, b)`` at ``a = b = 0``.
  This is the exact 2×2 Hessian of a loss on a plane in weight space (no finite differences), the
  same quantity Pearlmutter's R-operator ("Fast exact multiplication by the Hessian", Neural
  Computation 6(1), 1994) gives as ``uᵀ H v``.
* :meth:`Net.forward`: predictions only (what grids of loss values need).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.losses import Loss
from landscape_gui.core.optimizers import _select

FORWARD_BLOCK_ELEMENTS = 1 << 16
"""Largest layer (``m × samples × width`` numbers, 512 KiB) :meth:`Net.forward` computes at once:
with the next layer's input beside it, well inside a core's L2 cache."""

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
"""Hidden-layer activations."""
OUTPUTS = ("identity", "sigmoid", "softmax")
"""Output activations."""


def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f(z), f'(z), f''(z))`` of an elementwise activation (relu: f' = 1 for z > 0, f'' = 0)."""
    if name == "tanh":
        s = np.tanh(z)
        d1 = 1.0 - s * s
        return s, d1, -2.0 * s * d1
    if name == "relu":
        pos = z > 0
        return np.where(pos, z, 0.0), pos.astype(float), np.zeros_like(z)
    if name == "sigmoid":
        s = _sigmoid(z)
        d1 = s * (1.0 - s)
        return s, d1, d1 * (1.0 - 2.0 * s)
    return z, np.ones_like(z), np.zeros_like(z)


def _act1(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f(z), f'(z))`` without the second derivative (the backward pass needs no more)."""
    rule = ACTIVATION_RULES.get(name)
    if rule is not None:
        return rule(z)
    return z, np.ones_like(z)


# The activation rules of backpropagation, ``z -> (f(z), f'(z))``: arithmetic, ufuncs and _select
# only, so the same functions run on the engine's arrays and compiled on floats
# (landscape_gui.core.nn.kernel); identity (f = z, f' = 1) needs no function.


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 0.5 (1 + tanh(z / 2)) never overflows, unlike 1 / (1 + exp(−z)).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _tanh_rule(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.tanh(z)
    return s, 1.0 - s * s


def _sigmoid_rule(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = _sigmoid(z)
    return s, s * (1.0 - s)


def _relu_rule(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos = z > 0.0
    return _select(pos, z, 0.0), _select(pos, 1.0, 0.0)


ACTIVATION_RULES = {"tanh": _tanh_rule, "sigmoid": _sigmoid_rule, "relu": _relu_rule}
"""Activation name -> ``z -> (f(z), f'(z))``, the rule backpropagation uses (not identity or softmax)."""

KERNEL_HELPERS = (_sigmoid,)
"""Helpers the rules call; the compiled path registers them with numba."""


def _forward_act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z, out=z)
    if name == "relu":
        return np.maximum(z, 0.0, out=z)
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "softmax":
        return _softmax(z)
    return z


_SCRATCH = threading.local()


def _scratch(slot: int, shape: tuple[int, ...]) -> np.ndarray:
    """A per-thread work array of ``shape`` (contents undefined), reused by later calls."""
    arrays = getattr(_SCRATCH, "arrays", None)
    if arrays is None:
        arrays = _SCRATCH.arrays = {}
    size = math.prod(shape)  # not np.prod: this runs per block, where its microseconds show
    a = arrays.get(slot)
    if a is None or a.size < size:
        a = arrays[slot] = np.empty(size)
    return a[:size].reshape(shape)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sum over samples and outputs: ``(m, N, k), (m, N, k) -> (m,)``."""
    return np.einsum("mnk,mnk->m", x, y)


@dataclass(frozen=True)
class Net:
    """A fully connected network: layer ``sizes`` ``(d, h1, ..., k)``, hidden and output activations."""

    sizes: tuple[int, ...]
    hidden: str = "tanh"
    output: str = "identity"

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(s) < 1 for s in self.sizes):
            raise LandscapeError(f"layer sizes must be at least two whole numbers >= 1, got {self.sizes}")
        if self.hidden not in ACTIVATIONS:
            raise LandscapeError(f"unknown activation {self.hidden!r}; choose one of: {', '.join(ACTIVATIONS)}")
        if self.output not in OUTPUTS:
            raise LandscapeError(f"unknown output activation {self.output!r}; choose one of: {', '.join(OUTPUTS)}")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_weights(self) -> int:
        """Length ``Q`` of the flat weight vector."""
        return sum(i * o + o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    def layer_slices(self) -> list[tuple[slice, slice]]:
        """Per layer, where ``W_l`` and ``b_l`` sit in the flat vector."""
        return list(self._layer_slices)

    @cached_property
    def _layer_slices(self) -> tuple[tuple[slice, slice], ...]:
        # Computed once per network: every forward block unpacks the weights with it.
        out = []
        at = 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:]):
            out.append((slice(at, at + i * o), slice(at + i * o, at + i * o + o)))
            at += i * o + o
        return tuple(out)

    def unpack(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(..., Q)`` flat weights -> per layer ``(W (..., in, out), b (..., out))`` views."""
        lead = w.shape[:-1]
        return [
            (w[..., sw].reshape(*lead, i, o), w[..., sb])
            for (sw, sb), i, o in zip(self._layer_slices, self.sizes[:-1], self.sizes[1:])
        ]

    def _first_layer(self, w: np.ndarray, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``z_1 = X W_1 + b_1`` as one product ``[X, 1] [W_1; b_1]`` (``b_1`` follows ``W_1`` in the
        flat layout), saving a pass over the ``(m, N, h)`` result."""
        d, o = self.sizes[0], self.sizes[1]
        Xa = np.empty((X.shape[0], d + 1))
        Xa[:, :d] = X
        Xa[:, d] = 1.0
        return np.matmul(Xa, w[:, : (d + 1) * o].reshape(w.shape[0], d + 1, o), out=out)

    def _act_name(self, layer: int) -> str:
        return self.output if layer == self.n_layers - 1 else self.hidden

    # ------------------------------------------------------------------------------------------
    def forward(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predictions ``(m, N, k)`` of weight vectors ``w (m, Q)`` on inputs ``X (N, d)``.

        Samples are independent, so when one layer's activations for all of them would not fit
        in a core's cache the samples go through in blocks of :meth:`sample_block` and only the
        ``(m, N, k)`` predictions are kept: a 2-64-64-1 network on 2,000 samples then spends
        about 15 % less time (its matrix products and ``tanh`` work on data in the L2 cache
        instead of memory). The blocks depend on the layer sizes only, and every weight vector
        gets its own matrix products, so a prediction does not depend on the batch it is part of.
        """
        m, n = w.shape[0], X.shape[0]
        block = self.sample_block()
        if block >= n:
            return self._forward_block(w, X)
        out = np.empty((m, n, self.sizes[-1]))
        for lo in range(0, n, block):
            out[:, lo:lo + block] = self._forward_block(w, X[lo:lo + block])
        return out

    def sample_block(self) -> int:
        """Samples :meth:`forward` takes at once: :data:`FORWARD_BLOCK_ELEMENTS` over the widest
        layer, at least 64."""
        return max(64, FORWARD_BLOCK_ELEMENTS // max(self.sizes[1:]))

    def _forward_block(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        # Hidden layers are computed in place in this thread's two scratch arrays (reused from call
        # to call: a fresh array per layer cost page faults, and with two threads twice the time).
        m, n = w.shape[0], X.shape[0]
        last = self.n_layers - 1
        h = X
        for l, (W, b) in enumerate(self.unpack(w)):
            buf = None if l == last else _scratch(l % 2, (m, n, self.sizes[l + 1]))
            if l == 0:
                z = self._first_layer(w, X, out=buf)
            else:
                z = np.matmul(h, W, out=buf)
                z += b[:, None, :]
            h = _forward_act(self._act_name(l), z)
        return h

    def loss_and_grad(self, w: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss) -> tuple[np.ndarray, np.ndarray]:
        """Loss ``(m,)`` and its gradient w.r.t. every weight ``(m, Q)`` by backpropagation.

        With ``δ_L = ∂L/∂z_L`` (through the output activation; softmax:
        ``δ = s ⊙ (g − Σ s g)``), ``∂L/∂W_l = a_{l−1}ᵀ δ_l``, ``∂L/∂b_l = Σ_n δ_l``,
        ``δ_{l−1} = (δ_l W_lᵀ) ⊙ act'(z_{l−1})``.
        """
        layers = self.unpack(w)
        acts = [X]
        derivs = []
        h = X
        for l, (W, b) in enumerate(layers):
            if l == 0:
                z = self._first_layer(w, X)
            else:
                z = np.matmul(h, W)
                z += b[:, None, :]
            name = self._act_name(l)
            if name == "softmax":
                h = _softmax(z)
                derivs.append(None)
            else:
                h, d1 = _act1(name, z)
                derivs.append(d1)
            acts.append(h)
        y = h
        value = loss.value(t, y)
        gy = loss.grad(t, y)
        if self.output == "softmax":
            delta = y * (gy - (y * gy).sum(axis=-1, keepdims=True))
        else:
            delta = gy * derivs[-1]
        grad = np.empty((w.shape[0], self.n_weights))
        for l in range(self.n_layers - 1, -1, -1):
            sw, sb = self.layer_slices()[l]
            a_prev = acts[l]
            W = layers[l][0]
            if a_prev.ndim == 2:
                gW = np.matmul(a_prev.T, delta)
            else:
                gW = np.matmul(a_prev.transpose(0, 2, 1), delta)
            grad[:, sw] = gW.reshape(w.shape[0], -1)
            grad[:, sb] = delta.sum(axis=1)
            if l > 0:
                delta = np.matmul(delta, W.transpose(0, 2, 1)) * derivs[l - 1]
        return value, grad

    def loss_jets(
        self, w: np.ndarray, u: np.ndarray, v: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss
    ) -> tuple[np.ndarray, ...]:
        """Exact derivatives of ``φ(a, b) = L(w + a u + b v)`` at ``a = b = 0``.

        ``w (m, Q)``; directions ``u, v (Q,)`` shared by all ``m``. Returns ``(φ, φ_a, φ_b, φ_aa,
        φ_ab, φ_bb)``, each ``(m,)``. Every layer carries its value and five derivative arrays;
        weights are linear in ``(a, b)`` so ``W_aa = W_ab = W_bb = 0``:
        ``z_ab = h_ab W + h_a V_b + h_b U_b``-style products, then ``act`` by the chain rule
        ``h_ab = f''(z) z_a z_b + f'(z) z_ab``; the loss closes with
        ``φ_ab = y_aᵀ ∇²L y_b + ∇L · y_ab``.
        """
        layers = self.unpack(w)
        du = self.unpack(u[None, :])
        dv = self.unpack(v[None, :])
        h = X
        ha = hb = haa = hab = hbb = None
        m = w.shape[0]
        for l, ((W, b), (Ua, ua), (Vb, vb)) in enumerate(zip(layers, du, dv)):
            Ua, Vb, ua, vb = Ua[0], Vb[0], ua[0], vb[0]
            if l == 0:
                z = self._first_layer(w, X)
            else:
                z = np.matmul(h, W)
                z += b[:, None, :]
            za = np.matmul(h, Ua) + ua
            zb = np.matmul(h, Vb) + vb
            if ha is None:
                za = np.broadcast_to(za, z.shape)
                zb = np.broadcast_to(zb, z.shape)
                zaa = zab = zbb = np.zeros(z.shape)
            else:
                za = za + np.matmul(ha, W)
                zb = zb + np.matmul(hb, W)
                zaa = np.matmul(haa, W) + 2.0 * np.matmul(ha, Ua)
                zab = np.matmul(hab, W) + np.matmul(ha, Vb) + np.matmul(hb, Ua)
                zbb = np.matmul(hbb, W) + 2.0 * np.matmul(hb, Vb)
            name = self._act_name(l)
            if name == "softmax":
                s = _softmax(z)

                def tangent(zx: np.ndarray) -> np.ndarray:
                    return s * (zx - (s * zx).sum(axis=-1, keepdims=True))

                ya, yb = tangent(za), tangent(zb)

                def second(yx: np.ndarray, zx: np.ndarray, yy: np.ndarray, zy: np.ndarray, zxy: np.ndarray) -> np.ndarray:
                    # ∂/∂y [s ⊙ (z_x − <s, z_x>)] = s_y ⊙ (z_x − <s, z_x>) + s ⊙ (z_xy − <s_y, z_x> − <s, z_xy>)
                    return yy * (zx - (s * zx).sum(axis=-1, keepdims=True)) + s * (
                        zxy - (yy * zx).sum(axis=-1, keepdims=True) - (s * zxy).sum(axis=-1, keepdims=True)
                    )

                h, ha, hb = s, ya, yb
                haa = second(ya, za, ya, za, zaa)
                hab = second(ya, za, yb, zb, zab)
                hbb = second(yb, zb, yb, zb, zbb)
            else:
                f, d1, d2 = _act(name, z)
                h = f
                ha, hb = d1 * za, d1 * zb
                haa = d2 * za * za + d1 * zaa
                hab = d2 * za * zb + d1 * zab
                hbb = d2 * zb * zb + d1 * zbb
        y = h
        ya = np.ascontiguousarray(np.broadcast_to(ha, y.shape))
        yb = np.ascontiguousarray(np.broadcast_to(hb, y.shape))
        g = loss.grad(t, y)
        Hya = loss.hvp(t, y, ya)
        Hyb = loss.hvp(t, y, yb)
        value = loss.value(t, y)
        return (
            value,
            _dot(g, ya),
            _dot(g, yb),
            _dot(ya, Hya) + _dot(g, haa),
            _dot(yb, Hya) + _dot(g, hab),
            _dot(yb, Hyb) + _dot(g, hbb),
        )

    # ------------------------------------------------------------------------------------------
    def glorot_init(self, rng: np.random.Generator) -> np.ndarray:
        """Keras' default initialisation: Glorot-uniform weights ``U(±√(6 / (in + out)))``, zero biases.

        Reference: Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
        networks", AISTATS 2010.
        """
        w = np.zeros(self.n_weights)
        for (sw, _), i, o in zip(self.layer_slices(), self.sizes[:-1], self.sizes[1:]):
            limit = np.sqrt(6.0 / (i + o))
            w[sw] = rng.uniform(-limit, limit, i * o)
        return w

    def filter_normalised_direction(self, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random direction scaled neuron by neuron to the centre's weights (Li et al. 2018).

        ``d ~ N(0, I)``; for each layer and each output neuron ``j`` (a "filter" of a fully connected
        layer is the column ``W[:, j]`` of weights into one neuron),
        ``d[:, j] ← d[:, j] / ‖d[:, j]‖ · ‖θc[:, j]‖``; bias directions are zero (their
        ``ignore='biasbn'`` setting). Reference: H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein,
        "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018, section 4.
        """
        d = np.zeros(self.n_weights)
        for (sw, _), i, o in zip(self.layer_slices(), self.sizes[:-1], self.sizes[1:]):
            r = rng.standard_normal((i, o))
            c = centre[sw].reshape(i, o)
            rn = np.linalg.norm(r, axis=0)
            cn = np.linalg.norm(c, axis=0)
            d[sw] = (r * (cn / np.where(rn > 0, rn, 1.0))).ravel()
        return d


__all__ = ["ACTIVATIONS", "FORWARD_BLOCK_ELEMENTS", "OUTPUTS", "Net"]
