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
engine's compaction cannot change a single draw. Normals come from pairs of 53-bit uniforms by the
Box–Muller transform (numpy's ``log``/``cos``/``sin`` on every path). The integer rounds run
compiled when numba is installed, in numpy otherwise: integers are exact, so both give the same
draws (a test checks). ``i`` is the run's id (the engine's ``first_id`` plus its index), so run 7 of
a call sees the same noise whichever call computes it.

``scale = 0`` with no batch size leaves the gradient untouched: results equal the noiseless run
bit for bit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import Surface

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
MAX_SEED = 2**64 - 1
NOISE, BATCH = 0, 1
"""The ``purpose`` word of the counter: Gaussian noise, mini-batch sampling."""


def philox4x32(c0: Any, c1: Any, c2: Any, c3: Any, k0: int, k1: int) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 of the counters ``(c0, c1, c2, c3)`` (broadcasting uint32 arrays) under key
    ``(k0, k1)``: four uint32 arrays, as Random123's ``philox4x32(ctr, key)``.

    One round: ``(hi, lo) = M0·c0`` and ``(hi', lo') = M1·c2`` as 64-bit products, then
    ``c ← (hi' ⊕ c1 ⊕ k0, lo', hi ⊕ c3 ⊕ k1, lo)``; the key grows by the Weyl constants
    ``(0x9E3779B9, 0xBB67AE85)`` between rounds.
    """
    x0, x1, x2, x3 = (np.asarray(c, dtype=np.uint64) & _MASK32 for c in np.broadcast_arrays(c0, c1, c2, c3))
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        p0 = _M0 * x0
        p1 = _M1 * x2
        x0, x1, x2, x3 = ((p1 >> _S32) ^ x1 ^ np.uint64(k0), p1 & _MASK32,
                          (p0 >> _S32) ^ x3 ^ np.uint64(k1), p0 & _MASK32)
    return tuple(x.astype(np.uint32) for x in (x0, x1, x2, x3))


def _philox_block_numpy(step: int, ids: np.ndarray, blocks: int, purpose: int, k0: int, k1: int) -> np.ndarray:
    b = np.arange(blocks, dtype=np.uint64).reshape(1, -1)
    w = philox4x32(np.uint64(step & 0xFFFFFFFF), ids.astype(np.uint64).reshape(-1, 1), b, np.uint64(purpose), k0, k1)
    return np.stack(w, axis=-1)


def _philox_block_loops(step, ids, blocks, purpose, k0, k1):  # pragma: no cover - run compiled
    out = np.empty((ids.shape[0], blocks, 4), dtype=np.uint32)
    m0 = np.uint64(0xD2511F53)
    m1 = np.uint64(0xCD9E8D57)
    mask = np.uint64(0xFFFFFFFF)
    for i in range(ids.shape[0]):
        for b in range(blocks):
            x0 = np.uint64(step) & mask
            x1 = np.uint64(ids[i]) & mask
            x2 = np.uint64(b)
            x3 = np.uint64(purpose)
            a0 = np.uint64(k0)
            a1 = np.uint64(k1)
            for r in range(10):
                if r > 0:
                    a0 = (a0 + np.uint64(0x9E3779B9)) & mask
                    a1 = (a1 + np.uint64(0xBB67AE85)) & mask
                p0 = m0 * x0
                p1 = m1 * x2
                y0 = (p1 >> np.uint64(32)) ^ x1 ^ a0
                y1 = p1 & mask
                y2 = (p0 >> np.uint64(32)) ^ x3 ^ a1
                y3 = p0 & mask
                x0, x1, x2, x3 = y0, y1, y2, y3
            out[i, b, 0] = np.uint32(x0)
            out[i, b, 1] = np.uint32(x1)
            out[i, b, 2] = np.uint32(x2)
            out[i, b, 3] = np.uint32(x3)
    return out


@functools.cache
def _compiled_rounds() -> Any:
    """The loops above compiled by numba (an optional accelerator: the same integers either way), or
    ``None`` without numba. Compiled on first use, not at import: importing numba costs more than half
    a second, which the window's start and the command line must not pay when no noise is drawn."""
    try:
        import numba
    except ImportError:  # pragma: no cover - exercised where numba is absent
        return None
    return numba.njit(cache=True, nogil=True)(_philox_block_loops)


def _key(seed: int) -> tuple[int, int]:
    return int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF


def _words(seed: int, run_ids: np.ndarray, step: int, blocks: int, purpose: int,
           compiled: bool | None = None) -> tuple[np.ndarray, ...]:
    """Four ``(n, blocks)`` uint32 arrays for the runs ``run_ids`` at ``step``: the compiled rounds
    when numba is there (``compiled=None``), else numpy; the integers are the same (a test checks)."""
    ids = np.ascontiguousarray(np.asarray(run_ids, dtype=np.int64).reshape(-1))
    k0, k1 = _key(seed)
    rounds = _compiled_rounds() if compiled is None or compiled else None
    if compiled and rounds is None:
        raise LandscapeError("the compiled Philox rounds need numba, which is not installed")
    if rounds is not None:
        w = rounds(int(step) & 0xFFFFFFFF, ids, int(blocks), int(purpose), k0, k1)
    else:
        w = _philox_block_numpy(int(step), ids, int(blocks), int(purpose), k0, k1)
    return w[..., 0], w[..., 1], w[..., 2], w[..., 3]


def standard_normals(seed: int, run_ids: Any, step: int, d: int) -> np.ndarray:
    """``(n, d)`` independent N(0, 1) draws for runs ``run_ids`` at ``step`` (a pure function of
    ``(seed, run id, step)``): Box–Muller on two 53-bit uniforms per Philox block."""
    ids = np.asarray(run_ids, dtype=np.int64).reshape(-1)
    blocks = (d + 1) // 2
    w0, w1, w2, w3 = (w.astype(np.uint64) for w in _words(seed, ids, step, blocks, NOISE))
    inv = 1.0 / 9007199254740992.0  # 2**-53
    u1 = 1.0 - (((w0 << np.uint64(21)) ^ (w1 >> np.uint64(11))) & np.uint64((1 << 53) - 1)).astype(float) * inv
    u2 = (((w2 << np.uint64(21)) ^ (w3 >> np.uint64(11))) & np.uint64((1 << 53) - 1)).astype(float) * inv
    r = np.sqrt(-2.0 * np.log(u1))  # u1 in (0, 1]
    a = 2.0 * math.pi * u2
    z = np.empty((len(ids), 2 * blocks))
    z[:, 0::2] = r * np.cos(a)
    z[:, 1::2] = r * np.sin(a)
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


__all__ = ["GradientNoise", "batch_masks", "philox4x32", "standard_normals"]
