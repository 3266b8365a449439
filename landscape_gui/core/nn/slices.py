"""Neural-network losses as surfaces: two-weight models and 2-D slices of a network.

Every network surface is a plane in weight space, ``θ(a, b) = θc + a·d1 + b·d2``, mapped to the
network's flat weights by an affine map ``w = θ M + c``:

* **two-weight models** (``tanh_unit``, ``affine``, ``linear``, ``rotation``): ``θ`` *is* the point
  ``(x, y)`` (``θc = 0``, ``d1 = e1``, ``d2 = e2``) and ``M`` places the two weights in a tiny network,
  so the surface is exactly the loss as a function of two weights;
* **MLP slices** (``mlp``): ``θ`` is every weight of the network (``M = I``), ``θc`` the initial or
  trained weights and ``d1, d2`` seeded random directions, filter-normalised (Li et al. 2018).

The value comes from a forward pass, the gradient in the plane is the chain rule applied to the full
backpropagated gradient, ``∇_(a,b) = Jᵀ ∇_w L`` with ``J = [d1 M; d2 M]ᵀ``, and the Hessian in the plane
is exact, by second-order forward differentiation along ``d1 M`` and ``d2 M``
(:meth:`Net.loss_jets <landscape_gui.core.nn.models.Net.loss_jets>`). All batched over the points.

Spec strings (what the CSV ``surface`` column and sessions store), ``;``-separated ``key=value``
after the prefix ``nn:``, e.g.::

    nn:dataset=moons;model=mlp;hidden=16,16;activation=tanh;loss=binary_crossentropy;seed=0;centre=trained

Keys (defaults in brackets): ``dataset`` (moons, circles, xor, blobs, sine, line, csv) [moons];
``n`` [200], ``noise`` [per dataset], ``data_seed`` [0]; ``path``, ``target``, ``task`` (csv only);
``model`` (mlp, tanh_unit, affine, linear, rotation) [mlp]; ``loss`` (Keras name or abbreviation)
[the dataset's natural loss]; for ``mlp``: ``hidden`` [16,16], ``activation`` (tanh, relu, sigmoid)
[tanh], ``seed`` [0], ``centre`` (trained, initial) [trained], ``optimizer`` [momentum], ``lr`` [0.1],
``steps`` [300], ``span`` [1], ``directions`` (random, pca, hessian, points, file) [random] with
``runs`` (pca), ``through`` (points) and ``plane`` (file: a saved plane, ``.npz``): chosen planes, see
:mod:`landscape_gui.core.directions`.
:func:`nn_surface_from_spec` accepts any order and abbreviations; the surface's ``name`` is the
canonical spec, which resolves back to the same surface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.threads import map_chunks
from landscape_gui.core.nn.datasets import BUILTIN_DATASETS, DEFAULT_NOISE, Dataset, load_csv, make_dataset
from landscape_gui.core.nn.losses import Loss, get_loss, one_hot
from landscape_gui.core.nn.models import ACTIVATIONS, FORWARD_BLOCK_ELEMENTS, Net
from landscape_gui.core.surfaces import Surface

PREFIX = "nn:"

MODELS: dict[str, str] = {
    "mlp": "multi-layer perceptron, 2-D slice through its weights",
    "tanh_unit": "v·tanh(w·t): one tanh unit, weights (w, v); one feature",
    "affine": "w·t + b: a straight line, weights (w, b); one feature",
    "linear": "w1·x1 + w2·x2 through the output activation (sigmoid: logistic regression); two features",
    "rotation": "softmax of x·R(w1, w2)·U: class directions U scaled and rotated by (w1, w2); two features",
}
"""Model names and a one-line description."""

_MAX_CHUNK = 1 << 18
"""Elements per intermediate array when evaluating many points: bounds memory and keeps each
layer's activations (2 MB) in cache between the passes over them."""


# --------------------------------------------------------------------------------------------------
# Spec


@dataclass(frozen=True)
class NetSpec:
    """A parsed network-surface spec (see the module docstring for keys and defaults)."""

    dataset: str = "moons"
    n: int = 200
    noise: float | None = None
    data_seed: int = 0
    path: str = ""
    target: str = ""
    task: str = ""
    model: str = "mlp"
    loss: str = ""
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    seed: int = 0
    centre: str = "trained"
    optimizer: str = "momentum"
    lr: float = 0.1
    steps: int = 300
    span: float = 1.0
    directions: str = "random"
    runs: str = ""
    through: str = ""
    plane: str = ""

    def canonical(self) -> str:
        """The spec as a string with every relevant key, in a fixed order."""
        parts: list[tuple[str, Any]] = [("dataset", self.dataset)]
        if self.dataset == "csv":
            parts.append(("path", self.path))
            if self.target:
                parts.append(("target", self.target))
            if self.task:
                parts.append(("task", self.task))
        else:
            parts += [("n", self.n), ("noise", self.noise), ("data_seed", self.data_seed)]
        parts += [("model", self.model), ("loss", self.loss)]
        if self.model == "mlp":
            parts += [
                ("hidden", ",".join(str(h) for h in self.hidden)),
                ("activation", self.activation),
                ("seed", self.seed),
                ("centre", self.centre),
            ]
            if self.centre == "trained":
                parts += [("optimizer", self.optimizer), ("lr", self.lr), ("steps", self.steps)]
            parts.append(("span", self.span))
            if self.directions != "random":
                parts.append(("directions", self.directions))
            if self.directions == "pca" and self.runs:
                parts.append(("runs", self.runs))
            if self.directions == "points" and self.through:
                parts.append(("through", self.through))
            if self.directions == "file":
                parts.append(("plane", self.plane))
        return PREFIX + ";".join(f"{k}={_fmt(v)}" for k, v in parts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


_INT_KEYS = ("n", "data_seed", "seed", "steps")
_FLOAT_KEYS = ("noise", "lr", "span")
_STR_KEYS = ("dataset", "path", "target", "task", "model", "loss", "activation", "centre", "optimizer",
             "directions", "runs", "through", "plane")
_KEYS = _INT_KEYS + _FLOAT_KEYS + _STR_KEYS + ("hidden",)
_CENTRE_ALIASES = {"trained": "trained", "initial": "initial", "init": "initial", "center": "trained"}


def parse_spec(spec: str) -> NetSpec:
    """Parse ``nn:key=value;...`` into a validated :class:`NetSpec` with defaults filled in."""
    text = spec.strip()
    if not text.startswith(PREFIX):
        raise LandscapeError(f"a network surface spec starts with {PREFIX!r}, got {spec!r}")
    values: dict[str, Any] = {}
    for item in text[len(PREFIX):].split(";"):
        if not item.strip():
            continue
        if "=" not in item:
            raise LandscapeError(f"network spec: {item.strip()!r} is not key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        key = key.lower()
        if key == "center":
            key = "centre"
        if key not in _KEYS:
            raise LandscapeError(f"network spec: unknown key {key!r}; valid keys: {', '.join(_KEYS)}")
        if key in _INT_KEYS:
            try:
                number = float(raw)
                if not number.is_integer():
                    raise ValueError
                values[key] = int(number)
            except ValueError:
                raise LandscapeError(f"network spec: {key} takes a whole number, not {raw!r}") from None
        elif key in _FLOAT_KEYS:
            try:
                values[key] = float(raw)
            except ValueError:
                raise LandscapeError(f"network spec: {key} takes a number, not {raw!r}") from None
            if not np.isfinite(values[key]):
                raise LandscapeError(f"network spec: {key} must be finite, not {raw!r}")
        elif key == "hidden":
            try:
                sizes = tuple(int(s) for s in raw.replace(" ", "").split(",") if s != "")
            except ValueError:
                raise LandscapeError(f"network spec: hidden takes layer sizes like 16,16, not {raw!r}") from None
            if any(s < 1 or s > 512 for s in sizes):
                raise LandscapeError(f"network spec: hidden layer sizes must be 1..512, got {raw!r}")
            values[key] = sizes
        else:
            values[key] = raw if key in ("path", "target", "plane") else raw.lower()
    return _normalise(NetSpec(**values))


def _normalise(s: NetSpec) -> NetSpec:
    """Check names and ranges; fill the loss, the noise and abbreviations in."""
    if s.dataset != "csv" and s.dataset not in BUILTIN_DATASETS:
        raise LandscapeError(f"unknown dataset {s.dataset!r}; choose one of: {', '.join(BUILTIN_DATASETS)}, csv")
    if s.dataset == "csv" and not s.path:
        raise LandscapeError("network spec: dataset=csv needs path=FILE")
    if s.model not in MODELS:
        raise LandscapeError(f"unknown model {s.model!r}; choose one of: {', '.join(MODELS)}")
    if s.activation not in ACTIVATIONS or s.activation == "identity":
        raise LandscapeError(f"unknown activation {s.activation!r}; choose one of: tanh, relu, sigmoid")
    centre = _CENTRE_ALIASES.get(s.centre)
    if centre is None:
        raise LandscapeError(f"centre must be trained or initial, got {s.centre!r}")
    if s.n < 4 or s.n > 100_000:
        raise LandscapeError(f"number of samples n must be 4..100000, got {s.n}")
    if s.steps < 0:
        raise LandscapeError(f"training steps must be >= 0, got {s.steps}")
    if not s.lr > 0:
        raise LandscapeError(f"learning rate lr must be > 0, got {_fmt(s.lr)}")
    if not s.span > 0:
        raise LandscapeError(f"span must be > 0, got {_fmt(s.span)}")
    if not s.hidden:
        raise LandscapeError("network spec: hidden needs at least one layer size")
    noise = s.noise
    if s.dataset != "csv":
        noise = DEFAULT_NOISE[s.dataset] if noise is None else noise
        if noise < 0:
            raise LandscapeError(f"noise must be >= 0, got {_fmt(noise)}")
        noise = float(noise)
    loss = s.loss
    if loss:
        loss = get_loss(loss).name
    if s.directions not in ("random", "pca", "hessian", "points", "file"):
        raise LandscapeError(f"directions must be random, pca, hessian, points or file, got {s.directions!r}")
    if (s.directions == "file") != bool(s.plane):
        raise LandscapeError("network spec: directions=file goes with plane=FILE.npz (a saved plane)")
    runs, through = s.runs, s.through
    if s.directions != "random" and s.model != "mlp":
        raise LandscapeError(f"directions={s.directions} needs model=mlp (a two-weight model has no other plane)")
    if runs or through:
        from landscape_gui.core.directions import format_tokens, parse_tokens

        if runs and s.directions != "pca":
            raise LandscapeError("network spec: runs=... goes with directions=pca")
        if through and s.directions != "points":
            raise LandscapeError("network spec: through=... goes with directions=points")
        runs = format_tokens(parse_tokens(runs, "runs", allow_init=False)) if runs else ""
        through = format_tokens(parse_tokens(through, "through", allow_init=True)) if through else ""
    return replace(s, centre=centre, noise=noise, loss=loss, runs=runs, through=through)


# --------------------------------------------------------------------------------------------------
# The surface


class NetSurface(Surface):
    """The loss of a network on a plane of its weights; see the module docstring.

    Besides the :class:`Surface` API it exposes what the data plot and full-space runs need:
    ``dataset``, ``loss``, ``net``, ``spec``, :meth:`predict`, :meth:`theta`,
    :meth:`full_value_and_grad` and :meth:`project`.

    Attributes:
        theta_c: ``(P,)`` the plane's centre in parameter space.
        directions: ``(2, P)`` the plane's directions ``d1, d2`` (rows).
        weight_map: ``(P, Q)`` the map from parameters to network weights, ``None`` for the identity.
        weight_offset: ``(Q,)`` constant network weights (zero for an MLP).
        is_slice: True for an MLP slice (parameters beyond the plane exist).
        plane_trajectories: for ``directions=pca|points``, the training runs behind the plane, each
            ``(steps + 1, P)`` weights (draw them with :func:`landscape_gui.core.directions.path_run`).
        smooth: False when the surface has kinks: creases where a sample's prediction crosses its
            target (absolute/percentage errors), the hinge, a ReLU switches, or Keras clips a
            probability at ε or 1 − ε. Value, gradient and Hessian are exact everywhere else (the
            one-sided derivative on a crease), so finite differences that straddle a crease differ.
    """

    plane_trajectories: tuple[np.ndarray, ...] = ()

    def __init__(self, spec: NetSpec, dataset: Dataset, net: Net, loss: Loss, targets: np.ndarray,
                 theta_c: np.ndarray, directions: np.ndarray, weight_map: np.ndarray | None,
                 weight_offset: np.ndarray, bounds: tuple[float, float, float, float], title: str,
                 description: str, train_loss: float | None = None) -> None:
        self.spec = spec
        self.dataset = dataset
        self.net = net
        self.loss = loss
        self.targets = targets
        self.theta_c = theta_c
        self.directions = directions
        self.weight_map = weight_map
        self.weight_offset = weight_offset
        self.bounds = bounds
        self.name = spec.canonical()
        self.title = title
        self.description = description
        self.minima = ()
        self.log_height = False
        self.is_slice = spec.model == "mlp"
        self.smooth = loss.name == "mean_squared_error" and (spec.model != "mlp" or spec.activation != "relu")
        self.train_loss = train_loss
        self._w0 = self._weights(theta_c[None, :])[0]
        self._dw = directions if weight_map is None else directions @ weight_map
        gram = directions @ directions.T
        self._gram_inv = np.linalg.inv(gram)
        width = max(net.sizes) * max(1, dataset.n_samples)
        self._chunk = max(1, _MAX_CHUNK // width)
        self._value_chunk = max(1, FORWARD_BLOCK_ELEMENTS // (max(net.sizes[1:]) * min(
            max(1, dataset.n_samples), net.sample_block())))

    # -- parameter space -----------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """``P``: parameters of the model (2 for a two-weight model, every weight for an MLP)."""
        return int(self.theta_c.shape[0])

    def _weights(self, theta: np.ndarray) -> np.ndarray:
        if self.weight_map is None:
            return theta + self.weight_offset
        return theta @ self.weight_map + self.weight_offset

    def theta(self, p: np.ndarray) -> np.ndarray:
        """``(n, 2)`` plane points -> ``(n, P)`` parameters ``θc + a·d1 + b·d2``."""
        return self.theta_c + np.asarray(p, dtype=float) @ self.directions

    def project(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least-squares projection onto the plane: ``(a, b) = (D Dᵀ)⁻¹ D (θ − θc)`` ``(n, 2)`` and
        the distance ``‖θ − θ(a, b)‖`` ``(n,)`` of each parameter vector from the plane."""
        r = np.asarray(theta, dtype=float) - self.theta_c
        ab = (r @ self.directions.T) @ self._gram_inv
        dist = np.linalg.norm(r - ab @ self.directions, axis=1)
        return ab, dist

    def full_value_and_grad(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss ``(n,)`` and gradient w.r.t. every parameter ``(n, P)`` at parameter vectors ``θ``."""
        theta = np.asarray(theta, dtype=float)
        vals = np.empty(len(theta))
        grads = np.empty_like(theta)

        def work(sl: slice) -> None:
            v, gw = self.net.loss_and_grad(self._weights(theta[sl]), self.dataset.X, self.targets, self.loss)
            vals[sl] = v
            grads[sl] = gw if self.weight_map is None else gw @ self.weight_map.T

        map_chunks(work, len(theta), self._chunk)
        return vals, grads

    # -- the surface -------------------------------------------------------------------------------
    def _w(self, p: np.ndarray) -> np.ndarray:
        # Elementwise rather than p @ Dw: a value must not depend on the batch it was computed in
        # (a matrix product may round differently for one row than for many).
        return self._w0 + p[:, 0:1] * self._dw[0] + p[:, 1:2] * self._dw[1]

    def value(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        out = np.empty(len(p))

        def work(sl: slice) -> None:
            out[sl] = self.loss.value(self.targets, self.net.forward(self._w(p[sl]), self.dataset.X))

        # The forward pass keeps no per-layer intermediates: as many points per chunk as keep one
        # layer's activations within FORWARD_BLOCK_ELEMENTS (in cache). Larger chunks that spill to
        # memory were 2× slower per point, and far worse beside other busy programs.
        map_chunks(work, len(p), self._value_chunk)
        return out

    def value_and_grad(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(p, dtype=float)
        vals = np.empty(len(p))
        grads = np.empty((len(p), 2))

        def work(sl: slice) -> None:
            v, gw = self.net.loss_and_grad(self._w(p[sl]), self.dataset.X, self.targets, self.loss)
            vals[sl] = v
            # Not gw @ Dw.T: like the value, the gradient must not depend on the batch (BLAS rounds a
            # block of rows differently from one row), or a run's path would change with the number of
            # runs computed beside it.
            grads[sl] = (gw[:, None, :] * self._dw[None, :, :]).sum(axis=2)

        map_chunks(work, len(p), self._chunk)
        return vals, grads

    def grad(self, p: np.ndarray) -> np.ndarray:
        return self.value_and_grad(p)[1]

    def full_batch_grad(self, theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:meth:`batch_grad` in full weight space: the gradient ``(n, P)`` w.r.t. every parameter of
        per-run weighted sample losses at parameter vectors ``theta (n, P)``."""
        theta = np.asarray(theta, dtype=float)
        weights = np.asarray(weights, dtype=float)
        grads = np.empty_like(theta)
        base = self.loss
        for lo in range(0, len(theta), self._chunk):
            sl = slice(lo, lo + self._chunk)
            w = weights[sl][:, :, None]
            weighted = replace(base, _grad=lambda t, y, w=w: base.grad(t, y) * w)
            _, gw = self.net.loss_and_grad(self._weights(theta[sl]), self.dataset.X, self.targets, weighted)
            grads[sl] = gw if self.weight_map is None else gw @ self.weight_map.T
        return grads

    def batch_grad(self, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """In-plane gradient ``(n, 2)`` of per-run *weighted* sample losses.

        Every loss here is a mean over samples, ``L = (1/N) Σ_n ℓ_n``; with ``weights (n, N)`` this
        is the gradient of ``(1/N) Σ_n w_n ℓ_n``. Weights ``(N/B)·[n ∈ batch]`` give the gradient of
        the mini-batch loss ``(1/B) Σ_{n∈batch} ℓ_n`` exactly (backpropagation is linear in the
        output gradient, which is scaled per sample). Used by
        :class:`landscape_gui.core.noise.GradientNoise` for mini-batch runs.
        """
        p = np.asarray(p, dtype=float)
        weights = np.asarray(weights, dtype=float)
        grads = np.empty((len(p), 2))
        base = self.loss
        for lo in range(0, len(p), self._chunk):
            sl = slice(lo, lo + self._chunk)
            w = weights[sl][:, :, None]
            weighted = replace(base, _grad=lambda t, y, w=w: base.grad(t, y) * w)
            _, gw = self.net.loss_and_grad(self._w(p[sl]), self.dataset.X, self.targets, weighted)
            grads[sl] = gw @ self._dw.T
        return grads

    def hessian(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        out = np.empty((len(p), 2, 2))

        def work(sl: slice) -> None:
            _, _, _, haa, hab, hbb = self.net.loss_jets(
                self._w(p[sl]), self._dw[0], self._dw[1], self.dataset.X, self.targets, self.loss
            )
            out[sl, 0, 0] = haa
            out[sl, 0, 1] = out[sl, 1, 0] = hab
            out[sl, 1, 1] = hbb

        map_chunks(work, len(p), max(1, self._chunk // 4))
        return out

    def point_source(self) -> str | None:
        """Python source of ``point_fn(x, y) -> (f, fx, fy)`` on floats for the compiled basin maps
        (:mod:`landscape_gui.core.fastpath`), generated from the rules the engine runs
        (:mod:`landscape_gui.core.nn.kernel`); ``None`` for a network or data set beyond the kernel's
        cache limits (the engine serves)."""
        from landscape_gui.core.nn.kernel import point_source

        return point_source(self)

    # -- for the data plot ---------------------------------------------------------------------
    def predict(self, point: Any, X: np.ndarray | None = None) -> np.ndarray:
        """Network outputs ``(N, k)`` at plane point ``(a, b)`` on inputs ``X`` (the dataset's if omitted).

        Binary sigmoid outputs are ``p(class 1)``; softmax outputs are class probabilities; an
        identity output is the regression value or (hinge) the decision score, boundary at 0.
        """
        ab = np.asarray(point, dtype=float).reshape(1, 2)
        X = self.dataset.X if X is None else np.asarray(X, dtype=float)
        return self.net.forward(self._w(ab), X)[0]

    @property
    def decision_threshold(self) -> float:
        """Output value on a binary decision boundary: 0.5 for a sigmoid output, 0 for a score."""
        return 0.5 if self.net.output == "sigmoid" else 0.0


# --------------------------------------------------------------------------------------------------
# Building


def _load_dataset(s: NetSpec) -> Dataset:
    if s.dataset == "csv":
        return load_csv(s.path, s.target or None, s.task or None)
    return make_dataset(s.dataset, s.n, s.noise, s.data_seed)


def _default_loss(d: Dataset) -> str:
    return {"binary": "binary_crossentropy", "multiclass": "categorical_crossentropy"}.get(
        d.task, "mean_squared_error")


def _check_combination(s: NetSpec, d: Dataset, loss: Loss) -> tuple[int, str, np.ndarray]:
    """Output width, output activation and loss targets; LandscapeError for a combination that cannot work."""
    if loss.task == "binary" and d.task != "binary":
        raise LandscapeError(f"{loss.name} needs a two-class dataset; {d.name} is {d.task}")
    if loss.task == "classes" and not d.is_classification:
        raise LandscapeError(f"{loss.name} needs a classification dataset; {d.name} is regression")
    if loss.task == "regression" and d.task == "multiclass":
        raise LandscapeError(f"{loss.name} needs a regression or two-class dataset; {d.name} has "
                             f"{d.n_classes} classes (use categorical_crossentropy)")
    if loss.task == "classes":
        k = max(2, d.n_classes)
        out = "softmax"
        t = d.y.astype(int) if loss.sparse else one_hot(d.y, k)
    else:
        k = 1
        out = "sigmoid" if (loss.task == "binary" and loss.output == "sigmoid") or (
            loss.task == "regression" and d.task == "binary") else "identity"
        t = d.y[:, None].astype(float)
    if s.model in ("tanh_unit", "affine") and (d.n_features != 1 or k != 1):
        raise LandscapeError(f"model {s.model} needs one feature and one output; {d.name} has "
                             f"{d.n_features} features and the loss {loss.name} {k} outputs")
    if s.model == "linear" and (d.n_features != 2 or k != 1):
        raise LandscapeError(f"model linear needs two features and one output; {d.name} has "
                             f"{d.n_features} features and the loss {loss.name} {k} outputs")
    if s.model == "rotation" and (d.n_features != 2 or loss.task != "classes"):
        raise LandscapeError(f"model rotation needs two features and a class loss "
                             f"(categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence)")
    return k, out, t


def _two_weight_model(s: NetSpec, k: int, out: str) -> tuple[Net, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Network, weight map ``M (2, Q)``, offset ``c (Q,)`` and plot bounds of a two-weight model."""
    if s.model == "tanh_unit":
        net = Net((1, 1, 1), "tanh", out)  # layout: W1, b1, W2, b2
        M = np.zeros((2, 4))
        M[0, 0] = M[1, 2] = 1.0
        return net, M, np.zeros(4), (-4.0, 4.0, -2.5, 2.5)
    if s.model == "affine":
        net = Net((1, 1), "tanh", out)  # layout: W, b
        # w, b >= 0 keeps every prediction positive: no clipping creases for the logarithmic error
        return net, np.eye(2), np.zeros(2), (0.0, 2.0, 0.1, 2.1)
    if s.model == "linear":
        net = Net((2, 1), "tanh", out)  # layout: W (2), b
        M = np.zeros((2, 3))
        M[0, 0] = M[1, 1] = 1.0
        return net, M, np.zeros(3), (-8.0, 8.0, -8.0, 8.0)
    # rotation: W = w1·U + w2·JU with U's columns unit vectors at π/2 + 2πc/k (where blobs sit), J a
    # quarter turn; (w1, w2) as a complex number scales and rotates every class direction.
    net = Net((2, k), "tanh", "softmax")
    ang = np.pi / 2 + 2.0 * np.pi * np.arange(k) / k
    U = np.vstack([np.cos(ang), np.sin(ang)])
    JU = np.vstack([-U[1], U[0]])
    Q = net.n_weights
    M = np.zeros((2, Q))
    M[0, : 2 * k] = U.ravel()
    M[1, : 2 * k] = JU.ravel()
    return net, M, np.zeros(Q), (-6.0, 6.0, -6.0, 6.0)


def train(net: Net, w: np.ndarray, X: np.ndarray, t: np.ndarray, loss: Loss, optimizer: str, lr: float,
          steps: int, progress: Callable[[float], None] | None = None,
          should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Full-batch training of ``w (Q,)`` for ``steps`` updates of a registered optimizer.

    The optimizers' update rules are shape-generic, so they step the whole weight vector (one row).
    Raises :class:`LandscapeError` if the loss becomes non-finite and
    :class:`landscape_gui.core.engine.Cancelled` when ``should_cancel()`` answers True.
    """
    from landscape_gui.core.engine import Cancelled
    from landscape_gui.core.optimizers import get_optimizer

    opt = get_optimizer(optimizer)
    hp = opt.resolve({"lr": lr})
    params = w[None, :].copy()
    state = opt.init(params, hp)
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            value, g = net.loss_and_grad(params, X, t, loss)
            if not (np.isfinite(value).all() and np.isfinite(g).all()):
                raise LandscapeError(f"training diverged at step {step} (loss not finite); lower lr")
            params, state = opt.update(params, g, state, hp, step)
            if step % 16 == 0:
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                if progress is not None:
                    progress(step / steps)
    if not np.isfinite(params).all():
        raise LandscapeError("training diverged (weights not finite); lower lr")
    if progress is not None:
        progress(1.0)
    return params[0]


_CENTRES: dict[tuple, tuple[np.ndarray, np.ndarray, float | None]] = {}
"""Trained centres and directions by spec (and CSV file state), so a surface is trained once."""


def build_surface(spec: NetSpec | str, progress: Callable[[float], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> NetSurface:
    """Build the surface of ``spec``; for an MLP with ``centre=trained`` this trains the network
    (seconds at most; call it off the GUI thread, with ``progress``/``should_cancel``)."""
    s = parse_spec(spec) if isinstance(spec, str) else _normalise(spec)
    d = _load_dataset(s)
    if not s.loss:
        s = replace(s, loss=_default_loss(d))
    loss = get_loss(s.loss)
    k, out, t = _check_combination(s, d, loss)
    data_desc = d.name if s.dataset == "csv" else f"{d.name} ({d.n_samples} points)"
    if s.model != "mlp":
        net, M, c, bounds = _two_weight_model(s, k, out)
        xlab, ylab = {"tanh_unit": ("w", "v"), "affine": ("w", "b")}.get(s.model, ("w1", "w2"))
        title = f"{d.name}: {s.model} · {loss.name} ({xlab}, {ylab})"
        desc = f"{loss.title} of {MODELS[s.model].split(':')[0]} on {data_desc}; x = {xlab}, y = {ylab}"
        surf = NetSurface(s, d, net, loss, t, np.zeros(2), np.eye(2), M, c, bounds, title, desc)
        if progress is not None:
            progress(1.0)
        return surf

    net = Net((d.n_features, *s.hidden, k), s.activation, out)
    key = (s.canonical(),) + ((os.path.getmtime(s.path), os.path.getsize(s.path)) if s.dataset == "csv" else ())
    if s.directions == "file" and os.path.isfile(s.plane):
        key += (os.path.getmtime(s.plane), os.path.getsize(s.plane))
    cached = _CENTRES.get(key)
    if cached is None:
        rng = np.random.default_rng(s.seed)
        w = net.glorot_init(rng)
        train_loss = None
        if s.centre == "trained" and s.steps > 0:
            w = train(net, w, d.X, t, loss, s.optimizer, s.lr, s.steps, progress, should_cancel)
            train_loss = float(net.loss_and_grad(w[None, :], d.X, t, loss)[0][0])
        dirs = np.vstack([net.filter_normalised_direction(w, rng), net.filter_normalised_direction(w, rng)])
        cached = (w, dirs, train_loss)
        _CENTRES[key] = cached
    w, dirs, train_loss = cached
    arch = "-".join(str(v) for v in net.sizes)
    title = f"{d.name}: MLP {arch} {s.activation} · {loss.name} ({s.centre} centre)"
    desc = (f"{loss.title} of a {arch} {s.activation} MLP ({net.n_weights} weights) on {data_desc}, "
            f"slice through the {s.centre} weights along two filter-normalised random directions")
    span = s.span
    if s.directions != "random":
        return _chosen_plane(s, d, net, loss, t, w, key, title, train_loss, progress, should_cancel)
    if progress is not None:
        progress(1.0)
    return NetSurface(s, d, net, loss, t, w.copy(), dirs.copy(), None, np.zeros(net.n_weights),
                      (-span, span, -span, span), title, desc, train_loss)


_PLANES: dict[tuple, tuple] = {}
"""Chosen planes by spec (and CSV file state): origin, directions, bounds, description, trajectories."""


def _chosen_plane(s: NetSpec, d: Dataset, net: Net, loss: Loss, t: np.ndarray, w: np.ndarray, key: tuple,
                  title: str, train_loss: float | None, progress: Callable[[float], None] | None,
                  should_cancel: Callable[[], bool] | None) -> NetSurface:
    """The surface of an MLP spec with ``directions`` pca, hessian or points."""
    from landscape_gui.core.directions import build_plane

    def factory(origin: np.ndarray, dirs: np.ndarray, bounds: tuple) -> NetSurface:
        return NetSurface(s, d, net, loss, t, origin.copy(), dirs.copy(), None, np.zeros(net.n_weights),
                          bounds, title, "", train_loss)

    cached = _PLANES.get(key)
    if cached is None:
        cached = build_plane(s, net, d.X, t, loss, w, factory, progress, should_cancel)
        _PLANES[key] = cached
    origin, dirs, bounds, plane_desc, trajs = cached
    arch = "-".join(str(v) for v in net.sizes)
    title = title.replace(f"({s.centre} centre)", f"({s.directions} plane)")
    desc = f"{loss.title} of a {arch} {s.activation} MLP ({net.n_weights} weights) on {d.name}, {plane_desc}"
    surf = factory(origin, dirs, bounds)
    surf.description = desc
    surf.plane_trajectories = tuple(trajs)
    if progress is not None:
        progress(1.0)
    return surf


def nn_surface_from_spec(spec: str, progress: Callable[[float], None] | None = None,
                         should_cancel: Callable[[], bool] | None = None) -> NetSurface:
    """Resolve a ``nn:`` spec (see the module docstring) to its surface; ``name`` is the canonical spec."""
    return build_surface(spec, progress, should_cancel)


__all__ = ["MODELS", "NetSpec", "NetSurface", "PREFIX", "build_surface", "nn_surface_from_spec", "parse_spec", "train"]
