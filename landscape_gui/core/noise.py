"""Gradient noise: seeded Gaussian noise or mini-batch gradients, the same on every path.

Stochastic gradient descent does not see the true gradient ``∇f(p)``. Two models of what it sees:

* **additive Gaussian noise** on any surface or formula: ``g̃_t = ∇f(p_t) + σ ξ_t`` with
  ``ξ_t ~ N(0, I)`` (the Langevin picture of SGD; e.g. Mandt, Hoffman & Blei 2017, "Stochastic
  gradient descent as approximate Bayesian inference", JMLR 18);
* **mini-batch gradients** on network surfaces: ``g̃_t`` is the gradient of the loss on ``B`` of the
  ``N`` samples drawn without replacement, ``(1/B) Σ_{n∈batch} ∇ℓ_n``; every loss here is a mean
  over samples, so this equals backpropagating the per-sample loss gradient times ``(N/B)·[n ∈
  batch]`` (:meth:`NetSurface.batch_grad`). Both may be combined.

**Same seed, same result, on every path.** The random numbers of run ``i`` at step ``t`` are a pure
function of ``(seed, i, t)``: the counter-based generator Philox4x32-10 (Salmon, Moraes, Dror &
Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11) maps the counter ``(t, i, block,
purpose)`` under the key ``(seed mod 2³², seed div 2³²)`` to four 32-bit words. No generator state
is carried from step to step, so which runs share a batch, the order they finish in and the
engine's compaction cannot change a single draw. ``i`` is the run's id (the engine's ``first_id``
plus its index), so run 7 of a call sees the same noise whichever call computes it.

Normals come from pairs of 53-bit uniforms by the Box–Muller transform, ``r = √(−2 ln u₁)``,
``(z₀, z₁) = (r cos 2πu₂, r sin 2πu₂)`` (Box & Muller 1958). Every function here is written once
and runs both on numpy arrays (the engine) and compiled on floats (the basin-map kernels of
:mod:`landscape_gui.core.fastpath`, and the engine's own draws when numba is there). To make the two
give the same bits on every machine the transform uses only IEEE-754 arithmetic and ``sqrt``
(correctly rounded everywhere): its ``ln``, ``sin`` and ``cos`` are short polynomials of our own
(:func:`_log_u53`, :func:`_sincos_turn`, a few units in the last place from the true values), not
the library functions, which differ between numpy's SIMD code and the C library in the last bit.
The integer rounds are exact on both paths anyway (tests check integers and normals).

``scale = 0`` with no batch size leaves the gradient untouched: results equal the noiseless run
bit for bit.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import _select
from landscape_gui.core.surfaces import Surface

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
MAX_SEED = 2**64 - 1
NOISE, BATCH = 0, 1
"""The ``purpose`` word of the counter: Gaussian noise, mini-batch sampling."""

_U0, _U1, _U2 = np.uint64(0), np.uint64(1), np.uint64(2)
_S11, _S21, _S50 = np.uint64(11), np.uint64(21), np.uint64(50)
_MASK50 = np.uint64((1 << 50) - 1)
_MASK53 = np.uint64((1 << 53) - 1)
_TWO53 = np.uint64(1 << 53)
_NOISE_WORD = np.uint64(NOISE)
_BIT_STEPS = (np.uint64(32), np.uint64(16), np.uint64(8), np.uint64(4), np.uint64(2), np.uint64(1))
_INV50 = 1.0 / 1125899906842624.0  # 2**-50
_SQRT2 = 1.4142135623730951
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split as in fdlibm: k·_LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_PI_4 = 0.7853981633974483


def _philox_round(x0: Any, x1: Any, x2: Any, x3: Any, k0: Any, k1: Any) -> tuple[Any, Any, Any, Any]:
    """One round: ``(hi, lo) = M0·x0`` and ``(hi', lo') = M1·x2`` as 64-bit products, then
    ``x ← (hi' ⊕ x1 ⊕ k0, lo', hi ⊕ x3 ⊕ k1, lo)``."""
    p0 = _M0 * x0
    p1 = _M1 * x2
    return (p1 >> _S32) ^ x1 ^ k0, p1 & _MASK32, (p0 >> _S32) ^ x3 ^ k1, p0 & _MASK32


def _bump(k0: Any, k1: Any) -> tuple[Any, Any]:
    """The key schedule between rounds: add the Weyl constants ``(0x9E3779B9, 0xBB67AE85)`` mod 2³²."""
    return (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32


def philox_rounds(x0: Any, x1: Any, x2: Any, x3: Any, k0: Any, k1: Any) -> tuple[Any, Any, Any, Any]:
    """The ten rounds of Philox4x32-10 on uint64 values holding 32-bit words (numpy arrays that
    broadcast, or compiled scalars): counter ``(x0, x1, x2, x3)``, key ``(k0, k1)``.

    Written out round by round (no loop): compiled, the loop over runs around it is then vectorised
    whatever the key."""
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    x0, x1, x2, x3 = _philox_round(x0, x1, x2, x3, k0, k1)
    k0, k1 = _bump(k0, k1)
    return _philox_round(x0, x1, x2, x3, k0, k1)


def philox4x32(c0: Any, c1: Any, c2: Any, c3: Any, k0: int, k1: int) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 of the counters ``(c0, c1, c2, c3)`` (broadcasting integer arrays, taken mod
    2³²) under key ``(k0, k1)``: four uint32 arrays, as Random123's ``philox4x32(ctr, key)``."""
    x = [np.asarray(c, dtype=np.uint64) & _MASK32 for c in np.broadcast_arrays(c0, c1, c2, c3)]
    out = philox_rounds(*x, np.uint64(int(k0) & 0xFFFFFFFF), np.uint64(int(k1) & 0xFFFFFFFF))
    return tuple(np.asarray(w).astype(np.uint32) for w in out)


def _log_u53(m: Any) -> Any:
    """``ln(m · 2⁻⁵³)`` for whole numbers ``1 ≤ m ≤ 2⁵³`` held in uint64, in arithmetic only.

    ``m = x · 2^e`` with ``x ∈ (1/√2, √2]`` found from the integer's bit length (exact), then
    ``ln x = 2 artanh s = 2(s + s³/3 + s⁵/5 + …)`` with ``s = (x−1)/(x+1)``, ``|s| ≤ 0.172`` (twelve
    terms reach 10⁻¹⁸), and ``ln u = ln x + (e − 53) ln 2`` with ``ln 2`` split in two so that the
    large part is exact (Cody & Waite's reduction, as fdlibm's ``log``).
    """
    e = m * _U0
    for sh in _BIT_STEPS:
        up = e + sh
        e = _select((m >> up) != _U0, up, e)
    x = (m * 1.0) / ((_U1 << e) * 1.0)  # in [1, 2); dividing by a power of two is exact
    big = x > _SQRT2
    x = _select(big, x * 0.5, x)
    k = e * 1.0 + (_select(big, 1.0, 0.0) - 53.0)
    s = (x - 1.0) / (x + 1.0)
    s2 = s * s
    p = 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return k * _LN2_HI + (2.0 * s * p + k * _LN2_LO)


def _sincos_turn(b: Any) -> tuple[Any, Any]:
    """``(sin 2πu, cos 2πu)`` for ``u = b · 2⁻⁵³``, ``b`` a whole number below 2⁵³ in uint64, in
    arithmetic only: the top three bits pick the octant (exact), the angle is reduced to
    ``θ ∈ [−π/4, π/4)`` around the nearest multiple ``q·π/2``, ``sin θ`` and ``cos θ`` are their
    Taylor polynomials (through θ¹⁷ and θ¹⁸: truncation below 10⁻¹⁹), and the quadrant ``q`` swaps
    and signs them."""
    o = b >> _S50
    v = (b & _MASK50) * _INV50  # [0, 1), exact
    odd = (o & _U1) != _U0
    q = (o + _U1) >> _U1
    th = _select(odd, v - 1.0, v) * _PI_4
    t2 = th * th
    s = -1.0 / 355687428096000.0
    s = s * t2 + 1.0 / 1307674368000.0
    s = s * t2 - 1.0 / 6227020800.0
    s = s * t2 + 1.0 / 39916800.0
    s = s * t2 - 1.0 / 362880.0
    s = s * t2 + 1.0 / 5040.0
    s = s * t2 - 1.0 / 120.0
    s = s * t2 + 1.0 / 6.0
    s = th - th * t2 * s  # θ − θ³/3! + θ⁵/5! − …
    c = 1.0 / 6402373705728000.0
    c = c * t2 - 1.0 / 20922789888000.0
    c = c * t2 + 1.0 / 87178291200.0
    c = c * t2 - 1.0 / 479001600.0
    c = c * t2 + 1.0 / 3628800.0
    c = c * t2 - 1.0 / 40320.0
    c = c * t2 + 1.0 / 720.0
    c = c * t2 - 1.0 / 24.0
    c = c * t2 + 0.5
    c = 1.0 - t2 * c  # 1 − θ²/2! + θ⁴/4! − …
    swap = (q & _U1) != _U0
    sin_a = _select(swap, c, s) * _select((q & _U2) != _U0, -1.0, 1.0)
    cos_a = _select(swap, s, c) * _select(((q + _U1) & _U2) != _U0, -1.0, 1.0)
    return sin_a, cos_a


def box_muller(w0: Any, w1: Any, w2: Any, w3: Any) -> tuple[Any, Any]:
    """Two independent N(0, 1) draws from one Philox block (four 32-bit words in uint64): 53-bit
    uniforms ``u₁ = 1 − a·2⁻⁵³ ∈ (0, 1]`` and ``u₂ = b·2⁻⁵³``, then ``(r cos 2πu₂, r sin 2πu₂)``
    with ``r = √(−2 ln u₁)``."""
    a = ((w0 << _S21) ^ (w1 >> _S11)) & _MASK53
    b = ((w2 << _S21) ^ (w3 >> _S11)) & _MASK53
    r = np.sqrt(-2.0 * _log_u53(_TWO53 - a))
    sin_a, cos_a = _sincos_turn(b)
    return r * cos_a, r * sin_a


def normal_pair(k0: Any, k1: Any, run_id: Any, step: Any, block: Any) -> tuple[Any, Any]:
    """Normals ``2·block`` and ``2·block + 1`` of run ``run_id`` at ``step`` under the key
    ``(k0, k1)`` (all uint64): the draw :func:`standard_normals` makes, one run at a time. The
    compiled basin-map kernels call this."""
    w0, w1, w2, w3 = philox_rounds(step & _MASK32, run_id & _MASK32, block, _NOISE_WORD, k0, k1)
    return box_muller(w0, w1, w2, w3)


for _fn in (_philox_round, _bump, philox_rounds, box_muller, normal_pair):
    _fn.kernel_inline = True  # type: ignore[attr-defined]  # compiled inline (see fastpath._jitable)

KERNEL_HELPERS: tuple[Callable, ...] = (_philox_round, _bump, philox_rounds, _log_u53, _sincos_turn, box_muller,
                                        normal_pair)
"""The functions compiled code calls (registered with numba by :mod:`landscape_gui.core.fastpath`)."""


def _key(seed: int) -> tuple[int, int]:
    return int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF


def key_words(seed: int) -> tuple[int, int]:
    """The Philox key ``(seed mod 2³², seed div 2³²)`` of a seed."""
    return _key(seed)


def _words_loop(step, ids, blocks, purpose, k0, k1, out):  # noqa: ANN001 - compiled
    for i in range(ids.shape[0]):
        for b in range(blocks):
            w = philox_rounds(step & _MASK32, np.uint64(ids[i]) & _MASK32, np.uint64(b), purpose, k0, k1)
            for j in range(4):
                out[i, b, j] = np.uint32(w[j])


def _normals_loop(step, ids, blocks, k0, k1, z0, z1):  # noqa: ANN001 - compiled
    for b in range(blocks):  # the inner loop over runs is vectorised
        for i in range(ids.shape[0]):
            a, c = normal_pair(k0, k1, np.uint64(ids[i]), step, np.uint64(b))
            z0[b, i] = a
            z1[b, i] = c


_COMPILED: dict[str, Any] = {}
_COMPILE_LOCK = threading.Lock()


def _compiled(name: str) -> Any:
    """The numba-compiled loop ``name`` (compiled on first use, cached on disk), or None without numba."""
    fn = _COMPILED.get(name)
    if fn is not None or name in _COMPILED:
        return fn
    with _COMPILE_LOCK:
        if name not in _COMPILED:
            from landscape_gui.core import fastpath

            if not fastpath.AVAILABLE:
                _COMPILED[name] = None
            else:
                import numba

                fastpath._register_helpers()
                _COMPILED[name] = numba.njit(cache=True, nogil=True, error_model="numpy")(
                    {"words": _words_loop, "normals": _normals_loop}[name])
    return _COMPILED[name]


def _words(seed: int, run_ids: np.ndarray, step: int, blocks: int, purpose: int,
           compiled: bool | None = None) -> tuple[np.ndarray, ...]:
    """Four ``(n, blocks)`` uint32 arrays for the runs ``run_ids`` at ``step``: the compiled rounds
    when numba is there (``compiled=None``), else numpy; the integers are the same (a test checks)."""
    ids = np.ascontiguousarray(np.asarray(run_ids, dtype=np.int64).reshape(-1))
    k0, k1 = _key(seed)
    fn = _compiled("words") if compiled is None or compiled else None
    if compiled and fn is None:
        raise RuntimeError("numba is not installed")
    if fn is not None:
        out = np.empty((len(ids), int(blocks), 4), dtype=np.uint32)
        fn(np.uint64(int(step) & 0xFFFFFFFF), ids, int(blocks), np.uint64(purpose), np.uint64(k0), np.uint64(k1),
           out)
        return out[..., 0], out[..., 1], out[..., 2], out[..., 3]
    b = np.arange(blocks, dtype=np.uint64).reshape(1, -1)
    return philox4x32(np.uint64(int(step) & 0xFFFFFFFF), ids.astype(np.uint64).reshape(-1, 1), b,
                      np.uint64(purpose), k0, k1)


def standard_normals(seed: int, run_ids: Any, step: int, d: int, compiled: bool | None = None) -> np.ndarray:
    """``(n, d)`` independent N(0, 1) draws for runs ``run_ids`` at ``step`` (a pure function of
    ``(seed, run id, step)``): :func:`box_muller` on each Philox block (:func:`normal_pair`).
    Compiled when numba is there (``compiled=None``), numpy otherwise: the same bits."""
    ids = np.ascontiguousarray(np.asarray(run_ids, dtype=np.int64).reshape(-1))
    blocks = (d + 1) // 2
    k0, k1 = (np.uint64(k) for k in _key(seed))
    st = np.uint64(int(step) & 0xFFFFFFFF)
    fn = _compiled("normals") if compiled is None or compiled else None
    if compiled and fn is None:
        raise RuntimeError("numba is not installed")
    z = np.empty((len(ids), 2 * blocks))
    if fn is not None:
        z0, z1 = np.empty((blocks, len(ids))), np.empty((blocks, len(ids)))
        fn(st, ids, blocks, k0, k1, z0, z1)
        z[:, 0::2] = z0.T
        z[:, 1::2] = z1.T
    else:
        b = np.arange(blocks, dtype=np.uint64).reshape(1, -1)
        z[:, 0::2], z[:, 1::2] = normal_pair(k0, k1, ids.astype(np.uint64).reshape(-1, 1), st, b)
    return z[:, :d]


def batch_masks(seed: int, run_ids: Any, step: int, n_samples: int, batch_size: int) -> np.ndarray:
    """``(n, n_samples)`` bool: the ``batch_size`` samples each run draws at ``step``, without
    replacement (the smallest of ``n_samples`` keyed 32-bit words; ties by sample index)."""
    ids = np.asarray(run_ids, dtype=np.int64).reshape(-1)
    blocks = (n_samples + 3) // 4
    w = np.stack(_words(seed, ids, step, blocks, BATCH), axis=-1).reshape(len(ids), 4 * blocks)[:, :n_samples]
    order = np.argsort(w, axis=1, kind="stable")[:, :batch_size]
    mask = np.zeros((len(ids), n_samples), dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


@dataclass(frozen=True)
class GradientNoise:
    """What the optimizer sees instead of the true gradient.

    Attributes:
        scale: ``σ`` of the additive Gaussian noise (0: none).
        seed: the key of the random numbers (whole number ``0 .. 2⁶⁴−1``).
        batch_size: on a network surface, use the gradient of a random mini-batch of this many
            samples (0: the full data set).
    """

    scale: float = 0.0
    seed: int = 0
    batch_size: int = 0

    def __post_init__(self) -> None:
        try:
            scale = float(self.scale)
        except (TypeError, ValueError):
            scale = float("nan")
        if not (math.isfinite(scale) and scale >= 0):
            raise LandscapeError(f"noise scale must be a finite number >= 0, got {self.scale!r}")
        for name, value, high in (("noise seed", self.seed, MAX_SEED), ("batch size", self.batch_size, None)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0 or (
                    high is not None and value > high):
                raise LandscapeError(f"{name} must be a whole number >= 0, got {value!r}")
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "batch_size", int(self.batch_size))

    @property
    def active(self) -> bool:
        """Whether the gradient changes at all."""
        return self.scale > 0 or self.batch_size > 0

    def check(self, surface: Surface) -> None:
        """Refuse a batch size where there are no samples, or more than the data set has."""
        if self.batch_size <= 0:
            return
        from landscape_gui.core.nn.slices import NetSurface

        if not isinstance(surface, NetSurface):
            raise LandscapeError("a mini-batch size needs a neural-network surface (nn:...); use a noise scale "
                                 "on other surfaces")
        n = surface.dataset.n_samples
        if self.batch_size > n:
            raise LandscapeError(f"batch size must be at most the {n} samples of the data set, got {self.batch_size}")

    def gradient(self, surface: Surface, p: np.ndarray, g: np.ndarray, run_ids: np.ndarray, step: int) -> np.ndarray:
        """The gradient update ``step`` of the runs ``run_ids`` (at positions ``p``, true gradient
        ``g``) uses; ``g`` itself (the same array) when the noise is off."""
        if not self.active:
            return g
        out = g
        if self.batch_size > 0:
            n = surface.dataset.n_samples  # type: ignore[attr-defined]
            if self.batch_size < n:
                mask = batch_masks(self.seed, run_ids, step, n, self.batch_size)
                weights = mask * (n / self.batch_size)
                out = surface.batch_grad(p, weights)  # type: ignore[attr-defined]
        if self.scale > 0:
            out = out + self.scale * standard_normals(self.seed, run_ids, step, g.shape[1])
        return out

    def full_gradient(self, surface: Any, theta: np.ndarray, g: np.ndarray, run_ids: np.ndarray,
                      step: int) -> np.ndarray:
        """:meth:`gradient` for a run in a network's full weight space (``theta``, ``g``: ``(n, P)``):
        the same draws, keyed the same way, in ``P`` dimensions."""
        if not self.active:
            return g
        out = g
        if self.batch_size > 0:
            n = surface.dataset.n_samples
            if self.batch_size < n:
                mask = batch_masks(self.seed, run_ids, step, n, self.batch_size)
                out = surface.full_batch_grad(theta, mask * (n / self.batch_size))
        if self.scale > 0:
            out = out + self.scale * standard_normals(self.seed, run_ids, step, g.shape[1])
        return out

    def record(self) -> dict[str, Any]:
        """The CSV ``params`` entry."""
        out: dict[str, Any] = {"scale": self.scale, "seed": self.seed}
        if self.batch_size:
            out["batch_size"] = self.batch_size
        return out


__all__ = ["GradientNoise", "KERNEL_HELPERS", "batch_masks", "box_muller", "key_words", "normal_pair", "philox4x32",
           "philox_rounds", "standard_normals"]
