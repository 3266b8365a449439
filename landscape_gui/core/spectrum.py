"""The Hessian of a network's loss in its full parameter space: products, eigenpairs, spectrum.

For a network surface (:class:`~landscape_gui.core.nn.slices.NetSurface`) the parameters ``θ (P,)``
map to the network's weights by ``w = θ M + c`` (``M = I`` for an MLP), so the Hessian in parameter
space is ``H_θ = M H_w Mᵀ`` and a product with it costs one exact Hessian-vector product of the network
(:func:`landscape_gui.core.nn.hessian.hvp`, Pearlmutter's R-operator).

* :func:`hessian_matrix`: the exact ``(P, P)`` Hessian (``P`` products, one batched pass).
* :func:`top_eigenpairs`: the ``k`` largest (algebraic) eigenvalues and their orthonormal eigenvectors:
  ``numpy.linalg.eigh`` of the exact matrix when ``P <= EXACT_MAX``, otherwise Lanczos
  (implicitly restarted, ARPACK via ``scipy.sparse.linalg.eigsh`` on a ``LinearOperator`` of exact
  products; Lehoucq, Sorensen & Yang, *ARPACK Users' Guide*, SIAM 1998). This is the method of
  PyHessian (Yao, Gholami, Keutzer & Mahoney, "PyHessian: Neural networks through the lens of the
  Hessian", IEEE BigData 2020), with exact products instead of automatic differentiation.
* :func:`hessian_spectrum`: every eigenvalue (small networks; a histogram's data), the trace and the
  condition number ``max|λ| / min|λ|``; for larger networks the top-``k`` by Lanczos and the trace by
  Hutchinson's estimator ``tr H ≈ (1/s) Σ zᵢᵀ H zᵢ`` with Rademacher ``zᵢ`` (Hutchinson 1990; Avron &
  Toledo, "Randomized algorithms for estimating the trace of an implicit symmetric positive
  semi-definite matrix", J. ACM 58(2), 2011), with its standard error.

Eigenvector signs are fixed so that each vector's largest-magnitude entry is positive (a
deterministic choice: eigenvectors are defined only up to sign).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError

EXACT_MAX = 1500
"""Largest parameter count for which the full Hessian is formed and decomposed exactly."""
HUTCHINSON_SAMPLES = 64
"""Rademacher probes for the trace estimate of a large network."""


def _check_net(surface: object) -> None:
    from landscape_gui.core.nn.slices import NetSurface

    if not isinstance(surface, NetSurface):
        raise LandscapeError("the full Hessian needs a neural-network surface (an nn: spec)")


def _theta(surface, theta: np.ndarray | None) -> np.ndarray:
    if theta is None:
        return surface.theta_c.copy()
    theta = np.asarray(theta, dtype=float).reshape(-1)
    if theta.shape[0] != surface.n_params:
        raise LandscapeError(f"expected {surface.n_params} parameters, got {theta.shape[0]}")
    if not np.isfinite(theta).all():
        raise LandscapeError("the parameters must be finite")
    return theta


def hessian_vector_product(surface, theta: np.ndarray | None, V: np.ndarray) -> np.ndarray:
    """``H_θ V`` for directions ``V (k, P)`` (or one ``(P,)``) at parameters ``θ`` (the centre if None)."""
    from landscape_gui.core.nn.hessian import hvp

    _check_net(surface)
    theta = _theta(surface, theta)
    V = np.asarray(V, dtype=float)
    single = V.ndim == 1
    V2 = V.reshape(-1, surface.n_params)
    w = surface._weights(theta[None, :])[0]
    M = surface.weight_map
    Vw = V2 if M is None else V2 @ M
    with np.errstate(all="ignore"):
        out = hvp(surface.net, w, Vw, surface.dataset.X, surface.targets, surface.loss)
    if M is not None:
        out = out @ M.T
    return out[0] if single else out


def hessian_matrix(surface, theta: np.ndarray | None = None,
                   progress: Callable[[float], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """The exact, symmetrised ``(P, P)`` Hessian of the loss in parameter space at ``θ`` (products
    with the identity's columns, in blocks between which ``progress``/``should_cancel`` are called)."""
    from landscape_gui.core.engine import Cancelled

    _check_net(surface)
    theta = _theta(surface, theta)
    P = surface.n_params
    H = np.empty((P, P))
    block = max(16, P // 16)
    for lo in range(0, P, block):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        hi = min(P, lo + block)
        E = np.zeros((hi - lo, P))
        E[np.arange(hi - lo), np.arange(lo, hi)] = 1.0
        H[lo:hi] = hessian_vector_product(surface, theta, E)
        if progress is not None:
            progress(hi / P)
    return 0.5 * (H + H.T)


def fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled by ±1 so that each row's largest-magnitude entry is positive."""
    vectors = np.array(vectors, dtype=float)
    idx = np.argmax(np.abs(vectors), axis=1)
    signs = np.sign(vectors[np.arange(len(vectors)), idx])
    signs[signs == 0] = 1.0
    return vectors * signs[:, None]


def lanczos_top(matvec: Callable[[np.ndarray], np.ndarray], n: int, k: int = 1,
                seed: int = 0, v0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending) and eigenvectors ``(k, n)`` of a symmetric operator.

    ``matvec`` maps ``(n,)`` to ``(n,)`` (or ``(n, j)`` to ``(n, j)``). Implicitly restarted Lanczos
    (ARPACK's ``dsaupd`` through ``scipy.sparse.linalg.eigsh``, ``which='LA'``) from a seeded start
    vector (or ``v0``, e.g. the previous step's eigenvector: a warm start converges in a few
    iterations), to machine precision; falls back to a dense decomposition when ``n`` is tiny.
    """
    if k < 1 or k > n:
        raise LandscapeError(f"asked for {k} eigenvalues of a {n}×{n} matrix")
    if n <= max(8, 2 * k + 1):
        A = matvec(np.eye(n))
        vals, vecs = np.linalg.eigh(0.5 * (A + A.T))
        order = np.argsort(vals)[::-1][:k]
        return vals[order], fix_signs(vecs[:, order].T)
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    op = LinearOperator((n, n), matvec=matvec, matmat=matvec, dtype=float)
    if v0 is None or not np.isfinite(v0).all() or not np.any(v0):
        v0 = np.random.default_rng(seed).standard_normal(n)
    try:
        vals, vecs = eigsh(op, k=k, which="LA", v0=v0, tol=0.0, ncv=min(n, max(2 * k + 1, 20)),
                           maxiter=max(1000, 10 * n))
    except ArpackNoConvergence as exc:  # pragma: no cover - depends on the spectrum
        raise LandscapeError(f"Lanczos did not converge ({exc})") from None
    order = np.argsort(vals)[::-1]
    return vals[order], fix_signs(vecs[:, order].T)


def top_eigenpairs(surface, theta: np.ndarray | None = None, k: int = 2,
                   exact: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest Hessian eigenvalues at ``θ`` (descending) and their orthonormal
    eigenvectors ``(k, P)``; ``exact`` None chooses ``eigh`` for ``P <= EXACT_MAX``, Lanczos above."""
    _check_net(surface)
    theta = _theta(surface, theta)
    P = surface.n_params
    if exact is None:
        exact = P <= EXACT_MAX
    if exact:
        vals, vecs = np.linalg.eigh(hessian_matrix(surface, theta))
        order = np.argsort(vals)[::-1][:k]
        return vals[order], fix_signs(vecs[:, order].T)

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            return hessian_vector_product(surface, theta, x)
        return hessian_vector_product(surface, theta, x.T).T

    return lanczos_top(matvec, P, k)


@dataclass(frozen=True)
class HessianSpectrum:
    """The Hessian's spectrum at one point of a network's parameter space.

    Attributes:
        eigenvalues: ascending; every eigenvalue when ``exact``, else the top ``k`` (by Lanczos).
        exact: all ``P`` eigenvalues were computed.
        n_params: ``P``.
        trace: ``tr H`` (exact: the sum of the eigenvalues; else Hutchinson's estimate).
        trace_stderr: standard error of the trace (0 when exact).
        condition_number: ``max|λ| / min|λ|`` (``inf`` for a singular Hessian); ``None`` unless exact.
        n_negative: eigenvalues below ``-tol`` (exact only; else ``None``), ``tol = 1e-10·max|λ|``.
    """

    eigenvalues: np.ndarray
    exact: bool
    n_params: int
    trace: float
    trace_stderr: float
    condition_number: float | None
    n_negative: int | None

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    def histogram(self, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """``(counts, edges)`` of the eigenvalues (``numpy.histogram``), for a bar plot."""
        return np.histogram(self.eigenvalues, bins=bins)


def hessian_spectrum(surface, theta: np.ndarray | None = None, top_k: int = 10,
                     exact: bool | None = None, seed: int = 0,
                     progress: Callable[[float], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None) -> HessianSpectrum:
    """The spectrum at ``θ`` (the centre if None); see :class:`HessianSpectrum` and the module docstring.
    ``progress`` follows the formation of the exact Hessian (the decomposition is one LAPACK call)."""
    _check_net(surface)
    theta = _theta(surface, theta)
    P = surface.n_params
    if exact is None:
        exact = P <= EXACT_MAX
    if exact:
        vals = np.linalg.eigvalsh(hessian_matrix(surface, theta, progress, should_cancel))
        a = np.abs(vals)
        tol = 1e-10 * max(a.max(), 1e-300)
        cond = float(a.max() / a.min()) if a.min() > 0 else float("inf")
        return HessianSpectrum(vals, True, P, float(vals.sum()), 0.0, cond, int((vals < -tol).sum()))
    k = max(1, min(int(top_k), P - 1))
    vals, _ = top_eigenpairs(surface, theta, k, exact=False)
    rng = np.random.default_rng(seed)
    Z = rng.choice(np.array([-1.0, 1.0]), size=(HUTCHINSON_SAMPLES, P))
    samples = np.einsum("ij,ij->i", Z, hessian_vector_product(surface, theta, Z))
    stderr = float(samples.std(ddof=1) / np.sqrt(len(samples)))
    if progress is not None:
        progress(1.0)
    return HessianSpectrum(np.sort(vals), False, P, float(samples.mean()), stderr, None, None)


__all__ = ["EXACT_MAX", "HessianSpectrum", "fix_signs", "hessian_matrix", "hessian_spectrum",
           "hessian_vector_product", "lanczos_top", "top_eigenpairs"]
