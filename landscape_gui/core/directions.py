"""Chosen slice planes for network landscapes: trajectory PCA, Hessian eigenvectors, three points.

A network slice is the plane ``θ(a, b) = θ₀ + a·d1 + b·d2`` in parameter space
(:mod:`landscape_gui.core.nn.slices`). Besides seeded filter-normalised random directions (Li et al.
2018) the plane can be chosen to show something:

* **PCA of trajectories** (:func:`pca_plane`): stack the weights visited by every run (the union of
  all runs, so every optimizer is drawn on one shared plane), centre them on their mean ``μ`` and take
  the two leading right singular vectors of the centred matrix, ``X − μ = U S Vᵀ``, ``d1, d2 = Vᵀ[:2]``;
  the plane ``μ + span{d1, d2}`` is the affine plane closest to all visited weights in the
  least-squares sense (Eckart–Young). Explained variance ``S²/(n−1)`` as scikit-learn's ``PCA``.
  Reference: Li, Xu, Taylor, Studer & Goldstein, "Visualizing the Loss Landscape of Neural Nets",
  NeurIPS 2018, section 7 (they centre on the final weights; the mean is the least-squares choice for
  several runs at once).
* **Hessian eigenvectors** (:func:`hessian_plane`): the orthonormal eigenvectors of the two largest
  Hessian eigenvalues at the centre (exact ``eigh`` for small networks, Lanczos above
  :data:`landscape_gui.core.spectrum.EXACT_MAX`): the directions of greatest curvature, the ones
  PyHessian's tutorial calls "more informative than random directions" (Yao et al. 2020).
* **Three points** (:func:`three_point_plane`): the plane through ``w1, w2, w3`` with the orthonormal
  basis of Garipov, Izmailov, Podoprikhin, Vetrov & Wilson, "Loss Surfaces, Mode Connectivity, and
  Fast Ensembling of DNNs", NeurIPS 2018, section 4: ``u = w2 − w1``,
  ``v = (w3 − w1) − ⟨w3 − w1, u⟩/‖u‖² · u``, ``d1 = u/‖u‖``, ``d2 = v/‖v‖``, origin ``w1``.

Chosen planes use orthonormal directions, so plane coordinates are Euclidean distances in parameter
space and the least-squares projection ``(a, b) = D (θ − θ₀)`` is an orthogonal projection. A run in
full weight space drawn on a plane it left keeps its true loss and its distance from the plane beside
the plane's loss (:func:`project_path`).

In an ``nn:`` spec (see :mod:`landscape_gui.core.nn.slices`): ``directions=random|pca|hessian|points``;
``runs=OPT:LR[@SEED],...`` the full-batch training runs whose trajectories PCA uses (each from the
Glorot initialisation of ``SEED``, default the spec's ``seed``, for ``steps`` steps; default the spec's
own ``optimizer:lr``); ``through=P1,P2,P3`` the three points, each ``init[@SEED]`` (initial weights),
``trained[@SEED]`` (trained with the spec's optimizer and lr) or ``OPT:LR[@SEED]`` (trained with that
optimizer and learning rate); default ``init,trained,trained@SEED+1``. ``span`` scales the plotted
half-width: ±span around the centre for ``hessian``; for ``pca`` and ``points`` the square around the
projected trajectories or points with a quarter margin, times ``span``.

A plane chosen any other way (e.g. the PCA of the runs made so far in the window, which started
anywhere and used any hyperparameters) is saved with :func:`save_plane` and named
``directions=file;plane=FILE.npz`` (its bounds scaled by ``span``), so the surface's name still
rebuilds it: :func:`plane_of_runs` does both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import MAX_STEPS, Run
from landscape_gui.core.surfaces import Bounds

DIRECTIONS = ("random", "pca", "hessian", "points", "file")
"""Ways of choosing a slice plane."""
MARGIN = 0.25
"""Margin around projected trajectories or points, as a share of their extent."""


@dataclass(frozen=True)
class PCAResult:
    """Principal axes of stacked weights, as scikit-learn's ``PCA(n_components=2)`` reports them.

    Attributes:
        mean: ``(P,)`` mean of the stacked weights.
        components: ``(2, P)`` orthonormal principal axes, largest variance first, each with its
            largest-magnitude entry positive.
        explained_variance: ``(2,)`` ``S²/(n−1)``.
        explained_variance_ratio: ``(2,)`` share of the total variance.
        scores: ``(n, 2)`` the stacked weights in plane coordinates.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    scores: np.ndarray


def pca_plane(trajectories: Sequence[np.ndarray]) -> PCAResult:
    """PCA of the union of trajectories (each ``(T_i, P)``): see the module docstring."""
    mats = [np.atleast_2d(np.asarray(t, dtype=float)) for t in trajectories]
    if not mats:
        raise LandscapeError("PCA directions need at least one run")
    widths = {m.shape[1] for m in mats}
    if len(widths) != 1:
        raise LandscapeError("PCA directions need runs of the same network (different parameter counts)")
    X = np.vstack(mats)
    if len(X) < 3:
        raise LandscapeError(f"PCA directions need at least 3 visited points, got {len(X)}")
    if not np.isfinite(X).all():
        raise LandscapeError("PCA directions need finite weights (a run diverged)")
    mean = X.mean(axis=0)
    Xc = X - mean
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    var = S**2 / (len(X) - 1)
    total = var.sum()
    if len(S) < 2 or not var[1] > 1e-300 * max(total, 1e-300):
        raise LandscapeError("the runs span less than a plane (all visited weights on one line); "
                             "add runs or steps")
    comps = fix_signs(Vt[:2])
    return PCAResult(mean, comps, var[:2], var[:2] / total, Xc @ comps.T)


def fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled by ±1 so that each row's largest-magnitude entry is positive."""
    from landscape_gui.core.spectrum import fix_signs as _fix

    return _fix(vectors)


def hessian_plane(surface, theta: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two largest Hessian eigenvalues at ``θ`` (the centre if None) and their orthonormal
    eigenvectors ``(2, P)``: the ``hessian`` directions."""
    from landscape_gui.core.spectrum import top_eigenpairs

    return top_eigenpairs(surface, theta, 2)


def three_point_plane(w1: np.ndarray, w2: np.ndarray, w3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin ``w1`` and orthonormal directions ``(2, P)`` of the plane through three points
    (Garipov et al. 2018; see the module docstring)."""
    w1, w2, w3 = (np.asarray(w, dtype=float).reshape(-1) for w in (w1, w2, w3))
    u = w2 - w1
    nu = np.linalg.norm(u)
    if not nu > 1e-12 * max(1.0, np.linalg.norm(w1)):
        raise LandscapeError("the first two points of the plane coincide")
    v = (w3 - w1) - ((w3 - w1) @ u) / (u @ u) * u
    nv = np.linalg.norm(v)
    if not nv > 1e-9 * max(nu, np.linalg.norm(w3 - w1)):
        raise LandscapeError("the three points lie on one line; they do not define a plane")
    return w1.copy(), np.vstack([u / nu, v / nv])


def square_bounds(ab: np.ndarray, span: float = 1.0, margin: float = MARGIN) -> Bounds:
    """A square around points ``(n, 2)``: their box's centre, half-width ``span·(1 + margin)`` times
    the box's larger half-width (at least ``1e-6``)."""
    ab = np.asarray(ab, dtype=float).reshape(-1, 2)
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    c = 0.5 * (lo + hi)
    h = span * (1.0 + margin) * max(0.5 * float((hi - lo).max()), 1e-6)
    return (float(c[0] - h), float(c[0] + h), float(c[1] - h), float(c[1] + h))


def with_plane(surface, origin: np.ndarray, directions: np.ndarray, bounds: Bounds,
               spec=None, title: str | None = None, description: str | None = None):
    """A copy of network surface ``surface`` on another plane ``origin + span{directions}``.

    ``spec`` (a :class:`~landscape_gui.core.nn.slices.NetSpec`) becomes the new surface's name; by
    default the old one's (then the name does not describe the plane: pass the spec that does).
    """
    from landscape_gui.core.nn.slices import NetSurface

    if not isinstance(surface, NetSurface):
        raise LandscapeError("chosen slice directions need a neural-network surface (an nn: spec)")
    origin = np.asarray(origin, dtype=float).reshape(-1)
    directions = np.asarray(directions, dtype=float).reshape(2, -1)
    if origin.shape[0] != surface.n_params or directions.shape[1] != surface.n_params:
        raise LandscapeError("the plane does not match the network's parameter count")
    return NetSurface(spec if spec is not None else surface.spec, surface.dataset, surface.net, surface.loss,
                      surface.targets, origin.copy(), directions.copy(), surface.weight_map,
                      surface.weight_offset, tuple(float(b) for b in bounds), title or surface.title,
                      description or surface.description, surface.train_loss)


@dataclass(frozen=True)
class ProjectedPath:
    """A weight-space path seen on a plane.

    Attributes:
        positions: ``(T, 2)`` least-squares projections ``(a, b)``.
        distance: ``(T,)`` ``‖θ − θ(a, b)‖``, how far each point is from the plane.
        true_loss: ``(T,)`` the loss at the actual weights.
        plane_loss: ``(T,)`` the plane's loss at the projection (what the map shows there).
        plane_grads: ``(T, 2)`` the plane's gradient at the projection.
    """

    positions: np.ndarray
    distance: np.ndarray
    true_loss: np.ndarray
    plane_loss: np.ndarray
    plane_grads: np.ndarray


def project_path(surface, weights: np.ndarray) -> ProjectedPath:
    """Project parameter vectors ``(T, P)`` onto ``surface``'s plane (see :class:`ProjectedPath`)."""
    weights = np.asarray(weights, dtype=float)
    ab, dist = surface.project(weights)
    true_loss = surface.full_value_and_grad(weights)[0]
    f, g = surface.value_and_grad(ab)
    return ProjectedPath(ab, dist, true_loss, f, g)


def path_run(surface, weights: np.ndarray, run_id: int, optimizer: str, params: dict | None = None,
             status: str = MAX_STEPS) -> Run:
    """A :class:`Run` drawing a weight-space path on ``surface``'s plane, with ``extras``
    ``true_loss``, ``distance`` and ``grad_norm`` as full-weight-space runs have."""
    p = project_path(surface, weights)
    g_full = surface.full_value_and_grad(np.asarray(weights, dtype=float))[1]
    return Run(run_id, p.positions, p.plane_loss, p.plane_grads, status, optimizer, dict(params or {}),
               surface.name, extras={"true_loss": p.true_loss, "distance": p.distance,
                                     "grad_norm": np.linalg.norm(g_full, axis=1)})


# --------------------------------------------------------------------------------------------------
# Saved planes


def save_plane(path: str, origin: np.ndarray, directions: np.ndarray, bounds: Bounds, description: str) -> None:
    """Write a plane as ``.npz`` (``origin (P,)``, ``directions (2, P)``, ``bounds (4,)``,
    ``description``), atomically."""
    import io

    from landscape_gui.core.fileio import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, origin=np.asarray(origin, dtype=float), directions=np.asarray(directions, dtype=float),
             bounds=np.asarray(bounds, dtype=float), description=np.array(str(description)))
    atomic_write_bytes(path, buf.getvalue())


def load_plane(path: str, n_params: int) -> tuple[np.ndarray, np.ndarray, Bounds, str]:
    """Read a plane written by :func:`save_plane` for a network of ``n_params`` parameters; every
    problem is a :class:`LandscapeError` naming the file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            origin = np.asarray(z["origin"], dtype=float)
            dirs = np.asarray(z["directions"], dtype=float)
            bounds = tuple(float(v) for v in np.asarray(z["bounds"], dtype=float).reshape(-1))
            desc = str(z["description"]) if "description" in z.files else ""
    except FileNotFoundError:
        raise LandscapeError(f"{path}: no such plane file") from None
    except (OSError, ValueError, KeyError) as exc:
        raise LandscapeError(f"{path}: not a saved plane ({exc})") from None
    if origin.shape != (n_params,) or dirs.shape != (2, n_params):
        raise LandscapeError(f"{path}: the plane is for {origin.size} parameters; this network has {n_params}")
    if len(bounds) != 4 or not (np.isfinite(origin).all() and np.isfinite(dirs).all() and np.isfinite(bounds).all()):
        raise LandscapeError(f"{path}: the plane holds non-finite numbers or bad bounds")
    if not np.linalg.matrix_rank(dirs) == 2:
        raise LandscapeError(f"{path}: the two directions are parallel")
    return origin, dirs, bounds, desc  # type: ignore[return-value]


def run_weights(surface, run: Run) -> np.ndarray:
    """The parameter vectors ``(k + 1, P)`` a run visited: its recorded weights (a full-space run with
    ``record_weights``) or, for a run in the plane, ``θ(a, b)`` at its positions."""
    w = run.extras.get("weights") if run.extras else None
    return np.asarray(w, dtype=float) if w is not None else surface.theta(run.positions)


def plane_of_runs(surface, runs: Sequence[Run], path: str, span: float = 1.0):
    """The PCA plane of ``runs`` (the union of their visited weights) on ``surface``'s network, saved
    to ``path`` and returned as the surface ``…;directions=file;plane=path`` (a name that rebuilds it)."""
    from dataclasses import replace

    from landscape_gui.core.nn.slices import build_surface

    if not runs:
        raise LandscapeError("PCA directions need at least one run")
    pca = pca_plane([run_weights(surface, r) for r in runs])
    ratio = pca.explained_variance_ratio
    desc = (f"PCA plane of {len(runs)} run{'s' if len(runs) != 1 else ''} ({100 * ratio[0]:.1f} % + "
            f"{100 * ratio[1]:.1f} % of the variance), centred on their mean weights")
    save_plane(path, pca.mean, pca.components, square_bounds(pca.scores, 1.0), desc)
    spec = replace(surface.spec, directions="file", plane=str(path), runs="", through="", span=float(span))
    return build_surface(spec)


# --------------------------------------------------------------------------------------------------
# Spec support: training runs and named points


@dataclass(frozen=True)
class RunToken:
    """One ``OPT:LR[@SEED]`` item (``init``: no training; ``optimizer`` empty)."""

    optimizer: str
    lr: float
    seed: int | None


def parse_tokens(text: str, key: str, allow_init: bool) -> list[RunToken]:
    """Parse ``runs``/``through`` items (see the module docstring); ``trained`` has optimizer ``"trained"``."""
    out = []
    for item in text.replace("|", ",").split(","):
        item = item.strip().lower()
        if not item:
            continue
        body, _, seed_txt = item.partition("@")
        seed = None
        if seed_txt:
            try:
                seed = int(seed_txt)
            except ValueError:
                raise LandscapeError(f"network spec: {key}: seed after @ must be a whole number, got {item!r}") from None
            if seed < 0:
                raise LandscapeError(f"network spec: {key}: seed must be >= 0, got {item!r}")
        if body in ("init", "initial"):
            if not allow_init:
                raise LandscapeError(f"network spec: {key}: {item!r} is not a training run (write OPT:LR)")
            out.append(RunToken("", 0.0, seed))
            continue
        if body == "trained":
            out.append(RunToken("trained", 0.0, seed))
            continue
        opt, sep, lr_txt = body.partition(":")
        try:
            lr = float(lr_txt)
        except ValueError:
            lr = float("nan")
        if not sep or not opt or not (np.isfinite(lr) and lr > 0):
            what = "OPT:LR[@SEED], init[@SEED] or trained[@SEED]" if allow_init else "OPT:LR[@SEED]"
            raise LandscapeError(f"network spec: {key} items are {what}, got {item!r}")
        from landscape_gui.core.optimizers import get_optimizer

        out.append(RunToken(get_optimizer(opt).name, lr, seed))
    return out


def format_tokens(tokens: Sequence[RunToken]) -> str:
    """Canonical text of parsed items (inverse of :func:`parse_tokens`)."""
    from landscape_gui.core.nn.slices import _fmt

    parts = []
    for t in tokens:
        body = "init" if not t.optimizer else ("trained" if t.optimizer == "trained" else f"{t.optimizer}:{_fmt(t.lr)}")
        parts.append(body + ("" if t.seed is None else f"@{t.seed}"))
    return ",".join(parts)


def train_trajectory(net, w0: np.ndarray, X: np.ndarray, t: np.ndarray, loss, optimizer: str, lr: float,
                     steps: int, progress: Callable[[float], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Full-batch training of ``w0 (Q,)`` like :func:`landscape_gui.core.nn.slices.train`, returning
    every visited weight vector ``(steps + 1, Q)`` (row 0 is ``w0``)."""
    from landscape_gui.core.engine import Cancelled
    from landscape_gui.core.optimizers import get_optimizer

    opt = get_optimizer(optimizer)
    hp = opt.resolve({"lr": lr})
    out = np.empty((steps + 1, len(w0)))
    out[0] = w0
    params = w0[None, :].copy()
    state = opt.init(params, hp)
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            value, g = net.loss_and_grad(params, X, t, loss)
            if not (np.isfinite(value).all() and np.isfinite(g).all()):
                raise LandscapeError(f"training with {optimizer} at lr {lr:g} diverged at step {step}; lower lr")
            params, state = opt.update(params, g, state, hp, step)
            out[step] = params[0]
            if step % 16 == 0:
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                if progress is not None:
                    progress(step / steps)
    if not np.isfinite(out).all():
        raise LandscapeError(f"training with {optimizer} at lr {lr:g} diverged (weights not finite); lower lr")
    return out


def networks_from_tokens(surface, text: str, key: str = "networks",
                         progress: Callable[[float], None] | None = None,
                         should_cancel: Callable[[], bool] | None = None) -> list[np.ndarray]:
    """The weight vectors named by ``init[@SEED]``, ``trained[@SEED]`` or ``OPT:LR[@SEED]`` items (as in
    ``through=``) for ``surface``'s network, data and training settings (``steps``, ``optimizer``, ``lr``)."""
    from landscape_gui.core.nn.slices import NetSurface

    if not isinstance(surface, NetSurface) or not surface.is_slice:
        raise LandscapeError("named networks need an MLP surface (an nn: spec with model=mlp)")
    s = surface.spec
    tokens = parse_tokens(text, key, allow_init=True)
    if not tokens:
        raise LandscapeError(f"{key} names no network")
    out = []
    for i, tok in enumerate(tokens):
        w0 = surface.net.glorot_init(np.random.default_rng(s.seed if tok.seed is None else tok.seed))
        if not tok.optimizer:
            out.append(w0)
            continue
        opt, lr = (s.optimizer, s.lr) if tok.optimizer == "trained" else (tok.optimizer, tok.lr)
        sub = None if progress is None else (lambda f, i=i: progress((i + f) / len(tokens)))
        out.append(train_trajectory(surface.net, w0, surface.dataset.X, surface.targets, surface.loss, opt, lr,
                                    s.steps, sub, should_cancel)[-1])
    return out


def build_plane(s, net, X: np.ndarray, t: np.ndarray, loss, centre: np.ndarray, surface_factory,
                progress: Callable[[float], None] | None = None,
                should_cancel: Callable[[], bool] | None = None
                ) -> tuple[np.ndarray, np.ndarray, Bounds, str, list[np.ndarray]]:
    """Origin, directions, bounds, a description and the trajectories behind them for spec ``s``
    (a :class:`~landscape_gui.core.nn.slices.NetSpec` with ``directions`` other than ``random``).

    ``surface_factory(origin, directions, bounds)`` makes a surface on a plane (for the Hessian
    directions, which need the loss at the centre).
    """
    from landscape_gui.core.nn.slices import _fmt

    def init(seed: int | None) -> np.ndarray:
        return net.glorot_init(np.random.default_rng(s.seed if seed is None else seed))

    def trajectory(tok: RunToken, share: tuple[float, float]) -> np.ndarray:
        opt = s.optimizer if tok.optimizer == "trained" else tok.optimizer
        lr = s.lr if tok.optimizer == "trained" else tok.lr
        sub = None if progress is None else (lambda f: progress(share[0] + f * (share[1] - share[0])))
        return train_trajectory(net, init(tok.seed), X, t, loss, opt, lr, s.steps, sub, should_cancel)

    if s.directions == "file":
        origin, dirs, bounds, desc = load_plane(s.plane, len(centre))
        c = 0.5 * np.array([bounds[0] + bounds[1], bounds[2] + bounds[3]])
        h = 0.5 * s.span * np.array([bounds[1] - bounds[0], bounds[3] - bounds[2]])
        bounds = (float(c[0] - h[0]), float(c[0] + h[0]), float(c[1] - h[1]), float(c[1] + h[1]))
        return origin, dirs, bounds, desc or f"plane from {s.plane}", []
    if s.directions == "hessian":
        surf = surface_factory(centre, np.eye(2, len(centre)), (-1.0, 1.0, -1.0, 1.0))
        vals, vecs = hessian_plane(surf)
        bounds = (-s.span, s.span, -s.span, s.span)
        desc = (f"slice through the {s.centre} weights along the top two Hessian eigenvectors "
                f"(λ₁ = {vals[0]:.4g}, λ₂ = {vals[1]:.4g}); coordinates are distances in weight space")
        return centre.copy(), vecs, bounds, desc, []
    if s.directions == "pca":
        tokens = parse_tokens(s.runs, "runs", allow_init=False) or [RunToken(s.optimizer, s.lr, None)]
        if s.steps < 2:
            raise LandscapeError("PCA directions need training runs of at least 2 steps (steps=...)")
        trajs = [trajectory(tok, (i / len(tokens), (i + 1) / len(tokens))) for i, tok in enumerate(tokens)]
        pca = pca_plane(trajs)
        bounds = square_bounds(pca.scores, s.span)
        ratio = pca.explained_variance_ratio
        desc = (f"PCA plane of {len(trajs)} training run{'s' if len(trajs) > 1 else ''} "
                f"({format_tokens(tokens)}; {100 * ratio[0]:.1f} % + {100 * ratio[1]:.1f} % of the variance), "
                f"centred on their mean weights")
        return pca.mean, pca.components, bounds, desc, trajs
    # points
    tokens = parse_tokens(s.through, "through", allow_init=True) or [
        RunToken("", 0.0, None), RunToken("trained", 0.0, None), RunToken("trained", 0.0, s.seed + 1)]
    if len(tokens) != 3:
        raise LandscapeError(f"network spec: through takes three points, got {len(tokens)}")
    pts, trajs = [], []
    for i, tok in enumerate(tokens):
        if not tok.optimizer:
            pts.append(init(tok.seed))
            continue
        if tok.optimizer == "trained" and tok.seed is None and s.centre == "trained":
            pts.append(centre.copy())
            continue
        tr = trajectory(tok, (i / 3, (i + 1) / 3))
        trajs.append(tr)
        pts.append(tr[-1])
    origin, dirs = three_point_plane(*pts)
    ab = (np.vstack(pts) - origin) @ dirs.T
    bounds = square_bounds(ab, s.span)
    desc = (f"plane through {format_tokens(tokens)} (Garipov et al. 2018), at "
            + ", ".join(f"({_fmt(round(float(a), 4))}, {_fmt(round(float(b), 4))})" for a, b in ab))
    return origin, dirs, bounds, desc, trajs


__all__ = ["DIRECTIONS", "PCAResult", "ProjectedPath", "RunToken", "build_plane", "format_tokens",
           "hessian_plane", "load_plane", "networks_from_tokens", "parse_tokens", "path_run", "pca_plane", "plane_of_runs",
           "project_path", "run_weights", "save_plane", "square_bounds", "three_point_plane",
           "train_trajectory", "with_plane"]
