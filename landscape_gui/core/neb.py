"""Minimum-energy paths between two minima: the climbing-image nudged elastic band.

A chain of images ``R_0 … R_{N−1}`` joins two minima (``R_0`` and ``R_{N−1}`` fixed). Each interior
image ``i`` feels the true force perpendicular to the path and a spring force along it:

``F_i = −∇V(R_i) + (∇V(R_i)·τ_i) τ_i + k (|R_{i+1} − R_i| − |R_i − R_{i−1}|) τ_i``

with the *improved tangent* ``τ_i`` of Henkelman & Jónsson (J. Chem. Phys. 113:9978, 2000): the
vector to the higher neighbour, and at an energy extremum along the band the neighbour vectors
weighted by the energy differences ``ΔV_max, ΔV_min``, so the band does not kink. Once the band has
roughly relaxed, every image that is a local maximum of energy along the band *climbs*: its spring
force is dropped and the parallel component of the true force inverted, ``F = −∇V + 2(∇V·τ)τ``, so it
converges to the saddle point (Henkelman, Uberuaga & Jónsson, "A climbing image nudged elastic band
method for finding saddle points and minimum energy paths", J. Chem. Phys. 113:9901–9904, 2000).
Several climbing images are allowed, so a path through an intermediate minimum finds both saddles.

The forces are relaxed by projected velocity Verlet image by image ("quick-min": each image keeps
only the part of its velocity along its force, none when it points against it), the optimizer of
the original NEB papers (Jónsson, Mills & Jacobsen, "Nudged elastic band method for finding minimum
energy paths of transitions", in *Classical and Quantum Dynamics in Condensed Phase Simulations*,
World Scientific 1998, 385–404). (FIRE with one global power test was tried first and let single
images run away on bands of 40+ images.) Each climbing image is then refined by Newton's method on the exact gradient
(:func:`landscape_gui.core.minima.refine`) and classified with the exact Hessian: a transition state
has exactly one negative eigenvalue. The barrier from each side is the highest saddle's loss minus
that end's loss.

Literature values the tests hold it to (1e-4): Müller–Brown (Müller & Brown, Theor. Chim. Acta
53:75–93, 1979, Table 1) has saddles (−0.822, 0.624), V = −40.66, between the reactant minimum and
the intermediate, and (0.212, 0.293), V = −72.25, between the intermediate and the product; to ten
digits, as reproduced by saddle-search codes, (−0.8220015587, 0.6243128028) V = −40.66484351 and
(0.2124865820, 0.2929883251) V = −72.24894011. A band from the reactant to the product finds both.
MATLAB's ``peaks`` (see :class:`landscape_gui.core.surfaces.Peaks`) has the saddle
(−0.2659375568, 0.4667399937), f = 0.7882934627, between its minima at (−1.3474, 0.2045) and
(0.2965, 0.3202), and (0.4163233217, −0.3941450984), f = 0.4085479246, between the global minimum
(0.2283, −1.6255) and (0.2965, 0.3202) (Newton-refined critical points, as the surface lists them).
The lowest path between its two deepest minima runs out onto the flat plain (f → 0 far away), where
there is no saddle to find.

The ends are first relaxed to the nearest local minimum (L-BFGS on the exact gradient, then Newton),
so a band always joins two true minima even when the given points are rounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import GRAD_TOL, classify, eigenvalues_2x2, refine
from landscape_gui.core.surfaces import Bounds, Surface

END, IMAGE, SADDLE = "end", "image", "saddle"
"""Kinds of rows of a path."""

DT_FACTOR = 0.2
"""Time step ``DT_FACTOR / √λ`` for the stiffest curvature ``λ`` in play (springs or the minima); unit
masses, so the explicit integration is stable well inside ``2 / √(4λ)``."""
FTOL = 1e-4
"""Default force tolerance, relative to the largest force on the initial straight band (the saddle is
then Newton-refined to machine precision, so the band needs no more)."""
MAX_MOVE = 0.5
"""No image moves more than this share of the initial image spacing in one step."""


@dataclass(frozen=True)
class Saddle:
    """A refined transition state on the path.

    Attributes:
        x, y, loss: location and loss.
        eigenvalues: Hessian eigenvalues ``(λ₁, λ₂)`` ascending (``λ₁ < 0 < λ₂`` for a saddle).
        grad_norm: ``|∇V|`` after Newton refinement.
        image: index of the climbing image it replaced.
        is_saddle: exactly one negative eigenvalue (first-order saddle).
    """

    x: float
    y: float
    loss: float
    eigenvalues: tuple[float, float]
    grad_norm: float
    image: int
    is_saddle: bool


@dataclass
class MinimumEnergyPath:
    """Result of :func:`nudged_elastic_band`.

    Attributes:
        points: ``(N, 2)`` the images; climbing images replaced by their refined saddles.
        losses: ``(N,)``; grads: ``(N, 2)``.
        kinds: ``N`` strings: ``end``, ``image`` or ``saddle``.
        saddles: the refined saddles, in path order.
        start, end: the relaxed end minima; ``start_loss``, ``end_loss`` their losses.
        iterations: relaxation iterations used; converged: the band's largest force fell below the tolerance.
    """

    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    kinds: list[str]
    saddles: list[Saddle]
    start: tuple[float, float]
    end: tuple[float, float]
    start_loss: float
    end_loss: float
    iterations: int
    converged: bool

    @property
    def saddle(self) -> Saddle:
        """The highest saddle: the transition state that sets the barrier."""
        return max(self.saddles, key=lambda s: s.loss)

    @property
    def barrier_forward(self) -> float:
        """Highest saddle's loss minus the start's."""
        return self.saddle.loss - self.start_loss

    @property
    def barrier_backward(self) -> float:
        """Highest saddle's loss minus the end's."""
        return self.saddle.loss - self.end_loss


def _vg(surface: Surface, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        f, g = surface.value_and_grad(p)
    return np.asarray(f, dtype=float), np.asarray(g, dtype=float).reshape(-1, 2)


def relax_to_minimum(surface: Surface, point, bounds: Bounds, name: str = "point") -> np.ndarray:
    """The local minimum that ``point`` lies in (L-BFGS-B on the exact gradient, then Newton).

    Raises :class:`LandscapeError` when no minimum is found nearby (flat plateau, divergence, or the
    nearest critical point is not a minimum).
    """
    from scipy.optimize import minimize

    p0 = np.asarray(point, dtype=float).reshape(2)
    f0, g0 = _vg(surface, p0[None])
    if not (np.isfinite(f0).all() and np.isfinite(g0).all()):
        raise LandscapeError(f"the loss is not defined at the {name} ({p0[0]:g}, {p0[1]:g})")

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = _vg(surface, x[None])
        if not np.isfinite(f[0]) or not np.isfinite(g).all():
            return 1e300, np.zeros(2)
        return float(f[0]), g[0]

    xmin, xmax, ymin, ymax = bounds
    wx, wy = xmax - xmin, ymax - ymin
    box = [(xmin - wx, xmax + wx), (ymin - wy, ymax + wy)]
    res = minimize(fun, p0, jac=True, method="L-BFGS-B", bounds=box,
                   options={"maxiter": 2000, "ftol": 0.0, "gtol": 1e-12})
    p = refine(surface, res.x[None], bounds)[0]
    f, g = _vg(surface, p[None])
    h = np.asarray(surface.hessian(p[None]), dtype=float).reshape(1, 2, 2)
    kind = classify(eigenvalues_2x2(h))[0]
    if not (np.hypot(*g[0]) <= GRAD_TOL and kind == "minimum"):
        raise LandscapeError(f"no local minimum found from the {name} ({p0[0]:g}, {p0[1]:g}); "
                             "give a point inside a basin")
    return p


def _tangents(R: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Improved tangents (Henkelman & Jónsson 2000) of the interior images ``1 … N−2``."""
    tp = R[2:] - R[1:-1]
    tm = R[1:-1] - R[:-2]
    vp, v0, vm = V[2:], V[1:-1], V[:-2]
    up = (vp > v0) & (v0 > vm)
    down = (vp < v0) & (v0 < vm)
    dmax = np.maximum(np.abs(vp - v0), np.abs(vm - v0))[:, None]
    dmin = np.minimum(np.abs(vp - v0), np.abs(vm - v0))[:, None]
    mixed = np.where((vp > vm)[:, None], tp * dmax + tm * dmin, tp * dmin + tm * dmax)
    tau = np.where(up[:, None], tp, np.where(down[:, None], tm, mixed))
    n = np.linalg.norm(tau, axis=1, keepdims=True)
    bad = ~(n[:, 0] > 0)
    tau[bad] = (R[2:] - R[:-2])[bad]
    n[bad] = np.linalg.norm(tau[bad], axis=1, keepdims=True)
    return tau / np.where(n > 0, n, 1.0)


def _climbers(V: np.ndarray) -> np.ndarray:
    """Interior images (indices into the full band) that are local maxima of energy along it."""
    i = np.arange(1, len(V) - 1)
    return i[(V[1:-1] >= V[:-2]) & (V[1:-1] >= V[2:])]


def nudged_elastic_band(
    surface: Surface,
    start,
    end,
    images: int = 21,
    *,
    bounds: Bounds | None = None,
    spring: float | None = None,
    ftol: float | None = None,
    max_iterations: int = 100_000,
    relax_ends: bool = True,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> MinimumEnergyPath:
    """The minimum-energy path between the minima at ``start`` and ``end`` (see module docstring).

    Args:
        images: number of images including the two ends (>= 3).
        bounds: domain for Newton's step limits and the ends' relaxation (default the surface's).
        spring: spring constant ``k`` (default: the mean largest Hessian eigenvalue at the two ends, so
            the springs are as stiff as the minima).
        ftol: force tolerance (default :data:`FTOL` times the largest force on the initial straight band).
        relax_ends: move the ends to the exact minima they lie in first.
        progress, should_cancel: as :func:`landscape_gui.core.engine.run`.
    """
    from landscape_gui.core.engine import Cancelled, check_bounds

    if isinstance(images, bool) or int(images) != images or images < 3:
        raise LandscapeError(f"a path needs at least 3 images (the two ends and one between), got {images!r}")
    if images > 1000:
        raise LandscapeError(f"at most 1000 images, got {images}")
    images = int(images)
    bounds = check_bounds(bounds if bounds is not None else surface.bounds)
    a = np.asarray(start, dtype=float).reshape(2)
    b = np.asarray(end, dtype=float).reshape(2)
    if relax_ends:
        a = relax_to_minimum(surface, a, bounds, "start")
        b = relax_to_minimum(surface, b, bounds, "end")
    diag = math.hypot(bounds[1] - bounds[0], bounds[3] - bounds[2])
    if np.hypot(*(b - a)) <= 1e-9 * diag:
        raise LandscapeError("the start and the end are the same minimum; choose two different minima")

    t = np.linspace(0.0, 1.0, images)[:, None]
    R = (1 - t) * a + t * b
    V, G = _vg(surface, R)
    if not (np.isfinite(V).all() and np.isfinite(G).all()):
        raise LandscapeError("the loss is not defined somewhere on the straight line between the ends")
    H_ends = np.asarray(surface.hessian(np.vstack([a, b])), dtype=float).reshape(2, 2, 2)
    curv = float(np.mean(eigenvalues_2x2(H_ends)[:, 1]))
    k = float(spring) if spring is not None else max(curv, 1e-12)
    if not (np.isfinite(k) and k > 0):
        raise LandscapeError(f"the spring constant must be a positive number, got {spring!r}")
    fscale = float(np.abs(G[1:-1]).max()) if images > 2 else 1.0
    tol = float(ftol) if ftol is not None else FTOL * max(fscale, 1e-12)
    # time step from the stiffest curvature in play (unit masses)
    dt = DT_FACTOR / math.sqrt(max(k, curv, 1e-300))
    max_move = MAX_MOVE * np.hypot(*(b - a)) / (images - 1)
    vel = np.zeros((images - 2, 2))
    climbing = False
    climbers = np.array([], dtype=int)
    converged = False
    it = 0
    with np.errstate(all="ignore"):
        for it in range(1, max_iterations + 1):
            tau = _tangents(R, V)
            g = G[1:-1]
            g_par = (g * tau).sum(axis=1, keepdims=True)
            d_next = np.linalg.norm(R[2:] - R[1:-1], axis=1)
            d_prev = np.linalg.norm(R[1:-1] - R[:-2], axis=1)
            F = -(g - g_par * tau) + (k * (d_next - d_prev))[:, None] * tau
            if climbing:
                climbers = _climbers(V)
                ci = climbers - 1
                F[ci] = -g[ci] + 2.0 * g_par[ci] * tau[ci]
            fmax = float(np.linalg.norm(F, axis=1).max())
            if not np.isfinite(fmax):
                raise LandscapeError("the band left the loss's domain (a value became undefined)")
            if not climbing and (fmax < 100 * tol or it > max_iterations // 4):
                climbing = True
                continue
            if climbing and fmax < tol:
                converged = True
                break
            # projected velocity Verlet, image by image ("quick-min"): keep only the velocity
            # component along the force, and none when it points against it
            fhat = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-300)
            vp = (vel * fhat).sum(axis=1, keepdims=True)
            vel = np.where(vp > 0, vp * fhat, 0.0) + dt * F
            step = dt * vel
            length = np.linalg.norm(step, axis=1, keepdims=True)
            step *= np.minimum(1.0, max_move / np.where(length > 0, length, 1.0))
            R[1:-1] += step
            V_new, G_new = _vg(surface, R[1:-1])
            V[1:-1], G[1:-1] = V_new, G_new
            if it % 64 == 0:
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                if progress is not None:
                    progress(min(0.99, it / max_iterations))
    if not climbing or len(climbers) == 0:
        climbers = _climbers(V)
    if len(climbers) == 0:
        raise LandscapeError("no barrier between the two minima along the path (the loss falls all the way)")

    kinds = [END] + [IMAGE] * (images - 2) + [END]
    saddles = []
    refined = refine(surface, R[climbers], bounds)
    Hs = np.asarray(surface.hessian(refined), dtype=float).reshape(-1, 2, 2)
    eigs = eigenvalues_2x2(Hs)
    f_s, g_s = _vg(surface, refined)
    for j, i in enumerate(climbers):
        lam = (float(eigs[j, 0]), float(eigs[j, 1]))
        gn = float(np.hypot(*g_s[j]))
        one_negative = bool(lam[0] < 0 < lam[1]) and gn <= GRAD_TOL
        if one_negative:
            R[i], V[i], G[i] = refined[j], f_s[j], g_s[j]
            kinds[i] = SADDLE
        saddles.append(Saddle(float(R[i, 0]), float(R[i, 1]), float(V[i]), lam, gn, int(i), one_negative))
    if not any(s.is_saddle for s in saddles):
        raise LandscapeError("the band did not converge to a saddle point (no point with exactly one negative "
                             "Hessian eigenvalue); try more images")
    saddles = [s for s in saddles if s.is_saddle]
    if progress is not None:
        progress(1.0)
    return MinimumEnergyPath(R.copy(), V.copy(), G.copy(), kinds, saddles, (float(a[0]), float(a[1])),
                             (float(b[0]), float(b[1])), float(V[0]), float(V[-1]), it, converged)


__all__ = ["END", "IMAGE", "SADDLE", "MinimumEnergyPath", "Saddle", "nudged_elastic_band", "relax_to_minimum"]
