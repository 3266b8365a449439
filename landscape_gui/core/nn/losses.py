"""The classic losses, with Keras' exact definitions and names, batched over parameter vectors.

Every loss takes targets ``t`` and predictions ``y`` of shape ``(m, N, k)`` (``m`` parameter vectors,
``N`` samples, ``k`` outputs; targets broadcast, usually ``(N, k)``) and gives

* :meth:`Loss.value`: ``(m,)`` the loss as ``keras.losses.<name>`` followed by Keras' default
  ``"sum_over_batch_size"`` reduction (the mean over the ``N`` samples);
* :meth:`Loss.grad`: ``(m, N, k)`` the exact gradient of that value with respect to ``y``;
* :meth:`Loss.hvp`: ``(m, N, k)`` the exact Hessian (w.r.t. ``y``) applied to a direction ``v``.

Definitions follow Keras 3 (``keras/src/losses/losses.py`` and the numpy backend's
``binary_crossentropy``/``categorical_crossentropy``), with ``epsilon = 1e-7``:

==================================  ===========================================================
``binary_crossentropy``             ``mean_k −[t log c(y) + (1−t) log(1−c(y))]``, ``c = clip(·, ε, 1−ε)``
``hinge``                           ``mean_k max(1 − t̃ y, 0)``, 0/1 labels mapped to ``t̃ = 2t − 1``
``squared_hinge``                   ``mean_k max(1 − t̃ y, 0)²``
``categorical_crossentropy``        ``−Σ_k t log c(y / Σ_k y)`` (Keras renormalises, then clips)
``sparse_categorical_crossentropy`` the same with integer labels (``t`` of shape ``(N,)``)
``kl_divergence``                   ``Σ_k c₁(t) log(c₁(t) / c₁(y))``, ``c₁ = clip(·, ε, 1)``
``mean_squared_error``              ``mean_k (t − y)²``
``mean_squared_logarithmic_error``  ``mean_k (log(max(y, ε) + 1) − log(max(t, ε) + 1))²``
``mean_absolute_error``             ``mean_k |t − y|``
``mean_absolute_percentage_error``  ``100 · mean_k |(t − y) / max(|t|, ε)|`` (percent)
==================================  ===========================================================

Derivatives through ``clip``/``maximum``/``abs``/``max(·, 0)`` are those of TensorFlow's gradient
registrations: a clipped value passes the gradient only inside ``[lo, hi]``, ``|x|'= sign(x)``; at
the (measure-zero) kinks the one-sided choice is Keras'. Where a loss is piecewise linear (hinge, MAE,
MAPE) the Hessian w.r.t. ``y`` is exactly zero almost everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import _select

EPSILON = 1e-7
"""Keras' ``backend.epsilon()``."""

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """A loss with its Keras name, what targets it expects, and exact value/gradient/Hessian.

    Attributes:
        name: the Keras function name (``keras.losses.<name>``).
        abbreviation: the short name accepted in specs and used in catalogue names.
        title: for menus.
        task: ``"binary"`` (0/1 labels, one output), ``"classes"`` (one probability per class),
            ``"regression"`` (real targets).
        output: the output activation a model should end with for this loss
            (``"sigmoid"``, ``"softmax"`` or ``"identity"``).
        sparse: targets are integer class labels of shape ``(N,)`` rather than one-hot ``(N, C)``.
    """

    name: str
    abbreviation: str
    title: str
    task: str
    output: str
    sparse: bool
    _value: Callable[[Array, Array], Array]
    _grad: Callable[[Array, Array], Array]
    _hvp: Callable[[Array, Array, Array], Array]
    element: Callable | None = None
    """For a loss that is a mean (or, ``sum_outputs``, a sum over outputs and mean over samples) of
    one term per sample and output: the term ``e(t, y) -> (e, ∂e/∂y, ∂²e/∂y²)``, written with
    arithmetic, numpy ufuncs and :func:`~landscape_gui.core.optimizers._select` only, so that the
    same function runs on the engine's arrays and, compiled by numba, on floats
    (:meth:`landscape_gui.core.nn.slices.NetSurface.point_source`). ``None`` for the class losses,
    whose terms couple the outputs."""
    prep: Callable[[Array], Array] | None = None
    """Applied to the targets before ``element`` (hinge: 0/1 labels to ±1)."""
    sum_outputs: bool = False
    class_term: Callable | None = None
    """For the categorical cross-entropies, which Keras computes on the predictions renormalised per
    sample, ``q_k = y_k / S`` with ``S = Σ_k y_k``: the term of one output
    ``e(t, q) -> (e, ∂e/∂q, ∂²e/∂q²)``, the loss being ``(1/N) Σ_{n,k} e`` and
    ``∂L/∂y_j = (∂e_j/∂q_j − Σ_k q_k ∂e_k/∂q_k) / (S N)``. Written like :attr:`element` (ufuncs and
    :func:`~landscape_gui.core.optimizers._select`), so the engine's value and gradient call it on
    arrays and the compiled network kernel (:mod:`landscape_gui.core.nn.kernel`) on floats. Targets
    are one-hot rows (the sparse variant's integer labels one-hot encoded first)."""

    def value(self, t: Array, y: Array) -> Array:
        """``(m,)`` loss of predictions ``y (m, N, k)`` against targets ``t``."""
        return self._value(t, y)

    def grad(self, t: Array, y: Array) -> Array:
        """``(m, N, k)`` gradient of :meth:`value` with respect to ``y``."""
        return self._grad(t, y)

    def hvp(self, t: Array, y: Array, v: Array) -> Array:
        """``(m, N, k)``: the Hessian of :meth:`value` w.r.t. ``y`` times ``v (m, N, k)``."""
        return self._hvp(t, y, v)


# --------------------------------------------------------------------------------------------------
# Elementwise losses: value = mean over samples and outputs (sum over outputs for KL) of e(t, y).


def _elementwise(e: Callable[[Array, Array], tuple[Array, Array, Array]], sum_outputs: bool = False,
                 prep: Callable[[Array], Array] | None = None, value_term: Callable[[Array, Array], Array] | None = None):
    """Build (value, grad, hvp) from ``e(t, y) -> (e, e', e'')`` taken elementwise, the targets
    first passed through ``prep``; ``value_term(t, y)``, where given, is the term alone (the value
    then skips the derivatives; ``e`` calls it, so both give the same numbers)."""
    if prep is not None:
        term = e

        def e(t: Array, y: Array) -> tuple[Array, Array, Array]:  # noqa: F811
            return term(prep(t), y)
    if value_term is not None and prep is None:
        only = value_term
    else:

        def only(t: Array, y: Array) -> Array:
            return e(t, y)[0]

    def scale(y: Array) -> float:
        n, k = y.shape[-2], y.shape[-1]
        return 1.0 / n if sum_outputs else 1.0 / (n * k)

    def value(t: Array, y: Array) -> Array:
        return only(t, y).sum(axis=(-2, -1)) * scale(y)

    def grad(t: Array, y: Array) -> Array:
        return e(t, y)[1] * scale(y)

    def hvp(t: Array, y: Array, v: Array) -> Array:
        return e(t, y)[2] * v * scale(y)

    return value, grad, hvp


# The terms below run on arrays (the engine) and on floats (compiled): ufuncs and _select only, no
# array methods. np.minimum(np.maximum(y, lo), hi) is np.clip(y, lo, hi), NaN included.


def _clip(x: Array, lo: float, hi: float) -> Array:
    return np.minimum(np.maximum(x, lo), hi)


def _clip_mask(x: Array, lo: float, hi: float) -> Array:
    """1 inside ``[lo, hi]``, else 0 (where a clipped value passes its gradient)."""
    return _select((x >= lo) & (x <= hi), 1.0, 0.0)


def _full_like(x: Array, value: float) -> Array:
    """``value`` with the shape of ``x`` (a float for a float)."""
    return _select(x == x, value, value)


def _bce_value(t: Array, y: Array) -> Array:
    c = _clip(y, EPSILON, 1.0 - EPSILON)
    return -(t * np.log(c) + (1.0 - t) * np.log(1.0 - c))


def _bce(t: Array, y: Array) -> tuple[Array, Array, Array]:
    c = _clip(y, EPSILON, 1.0 - EPSILON)
    mask = _clip_mask(y, EPSILON, 1.0 - EPSILON)
    e = _bce_value(t, y)
    d1 = (-t / c + (1.0 - t) / (1.0 - c)) * mask
    d2 = (t / (c * c) + (1.0 - t) / ((1.0 - c) * (1.0 - c))) * mask
    return e, d1, d2


def _hinge_labels(t: Array) -> Array:
    """Keras' ``convert_binary_labels_to_hinge``: labels all in {0, 1} become −1/+1."""
    t = np.asarray(t, dtype=float)
    if np.all((t == 0.0) | (t == 1.0)):
        return 2.0 * t - 1.0
    return t


def _hinge(s: Array, y: Array) -> tuple[Array, Array, Array]:
    """Hinge term for ±1 labels ``s`` (:func:`_hinge_labels` converts 0/1 labels first)."""
    r = 1.0 - s * y
    active = _select(r >= 0.0, 1.0, 0.0)
    e = np.maximum(r, 0.0)
    return e, -s * active, _full_like(e, 0.0)


def _squared_hinge(s: Array, y: Array) -> tuple[Array, Array, Array]:
    r = 1.0 - s * y
    active = _select(r >= 0.0, 1.0, 0.0)
    rp = np.maximum(r, 0.0)
    return rp * rp, -2.0 * s * rp, 2.0 * s * s * active


def _kld_value(t: Array, y: Array) -> Array:
    tc = _clip(t, EPSILON, 1.0)
    return tc * np.log(tc / _clip(y, EPSILON, 1.0))


def _kld(t: Array, y: Array) -> tuple[Array, Array, Array]:
    tc = _clip(t, EPSILON, 1.0)
    c = _clip(y, EPSILON, 1.0)
    mask = _clip_mask(y, EPSILON, 1.0)
    e = _kld_value(t, y)
    return e, -tc / c * mask, tc / (c * c) * mask


def _mse(t: Array, y: Array) -> tuple[Array, Array, Array]:
    d = y - t
    return d * d, 2.0 * d, _full_like(d, 2.0)


def _msle_log_ratio(t: Array, y: Array) -> Array:
    return np.log(np.maximum(y, EPSILON) + 1.0) - np.log(np.maximum(t, EPSILON) + 1.0)


def _msle_value(t: Array, y: Array) -> Array:
    d = _msle_log_ratio(t, y)
    return d * d


def _msle(t: Array, y: Array) -> tuple[Array, Array, Array]:
    ym = np.maximum(y, EPSILON)
    mask = _select(y >= EPSILON, 1.0, 0.0)
    d = _msle_log_ratio(t, y)
    inv = 1.0 / (ym + 1.0)
    return _msle_value(t, y), 2.0 * d * inv * mask, 2.0 * (1.0 - d) * inv * inv * mask


def _mae(t: Array, y: Array) -> tuple[Array, Array, Array]:
    d = y - t
    return np.abs(d), np.sign(d), _full_like(d, 0.0)


def _mape(t: Array, y: Array) -> tuple[Array, Array, Array]:
    den = np.maximum(np.abs(t), EPSILON)
    d = (y - t) / den
    return 100.0 * np.abs(d), 100.0 * np.sign(d) / den, _full_like(d, 0.0)


# --------------------------------------------------------------------------------------------------
# Categorical cross-entropy: Keras renormalises q = y / S (S = Σ_k y), clips, then −Σ t log c(q).
# The per-output rule on q (value, then slopes) runs on the engine's arrays and, compiled, on floats.


def _cce_value_term(t: Array, q: Array) -> Array:
    """``−t log c(q)`` for one output of the renormalised prediction ``q``."""
    return -(t * np.log(_clip(q, EPSILON, 1.0 - EPSILON)))


def _cce_slopes(t: Array, q: Array) -> tuple[Array, Array]:
    """``(∂e/∂q, ∂²e/∂q²) = (−t / c(q), t / c(q)²)`` inside the clip range, 0 outside."""
    c = _clip(q, EPSILON, 1.0 - EPSILON)
    mask = _clip_mask(q, EPSILON, 1.0 - EPSILON)
    return -(t / c * mask), t / (c * c) * mask


def _cce_term(t: Array, q: Array) -> tuple[Array, Array, Array]:
    """The categorical cross-entropy term of one output, ``e(t, q) -> (e, ∂e/∂q, ∂²e/∂q²)`` on the
    renormalised prediction ``q = y / Σ_k y`` (see :attr:`Loss.class_term`)."""
    d1, d2 = _cce_slopes(t, q)
    return _cce_value_term(t, q), d1, d2


def _cce_parts(t: Array, y: Array):
    s = y.sum(axis=-1, keepdims=True)
    q = y / s
    return s, q


def _cce_value(t: Array, y: Array) -> Array:
    _, q = _cce_parts(t, y)
    return _cce_value_term(t, q).sum(axis=(-2, -1)) / y.shape[-2]


def _cce_grad(t: Array, y: Array) -> Array:
    # dℓ/dq_i = −r_i with r_i = t_i / q_i inside the clip range; q_i = y_i / S gives
    # dℓ/dy_j = (−r_j + Σ_i r_i q_i) / S.
    s, q = _cce_parts(t, y)
    r = -_cce_slopes(t, q)[0]
    return (-r + (r * q).sum(axis=-1, keepdims=True)) / s / y.shape[-2]


def _cce_hvp(t: Array, y: Array, v: Array) -> Array:
    # H v = Jᵀ diag(ℓ'') J v + Σ_i ℓ'_i ∇²q_i v, with J v = w = (v − q Σv) / S, ℓ''_i = t_i / q_i²,
    # ℓ'_i = −r_i and ∂²q_i/∂y_j∂y_l = (−δ_ij − δ_il) / S² + 2 q_i / S².
    s, q = _cce_parts(t, y)
    d1, l2 = _cce_slopes(t, q)
    r = -d1
    sv = v.sum(axis=-1, keepdims=True)
    w = (v - q * sv) / s
    u = l2 * w
    first = (u - (q * u).sum(axis=-1, keepdims=True)) / s
    lp = -r
    second = (
        -lp * sv
        - (lp * v).sum(axis=-1, keepdims=True)
        + 2.0 * (lp * q).sum(axis=-1, keepdims=True) * sv
    ) / (s * s)
    return (first + second) / y.shape[-2]


def one_hot(labels: Array, classes: int) -> Array:
    """``(N,)`` integer labels -> ``(N, classes)`` one-hot float rows."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _sparse(fn):
    """Keras' sparse variant: integer labels ``(N,)`` (or ``(N, 1)``) one-hot encoded, then ``fn``."""

    def wrapped(t: Array, y: Array, *rest: Array) -> Array:
        return fn(one_hot(t, y.shape[-1]), y, *rest)

    return wrapped


# --------------------------------------------------------------------------------------------------
# Table


def _make(name: str, abbr: str, title: str, task: str, output: str, parts, sparse: bool = False,
          class_term: Callable | None = None) -> Loss:
    return Loss(name, abbr, title, task, output, sparse, *parts, class_term=class_term)


def _term(name: str, abbr: str, title: str, task: str, output: str, e, sum_outputs: bool = False,
          prep=None, value_term=None) -> Loss:
    """A loss made of one term ``e`` per sample and output (see :attr:`Loss.element`)."""
    return Loss(name, abbr, title, task, output, False, *_elementwise(e, sum_outputs, prep, value_term), element=e,
                prep=prep, sum_outputs=sum_outputs)


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        _term("binary_crossentropy", "bce", "binary cross-entropy", "binary", "sigmoid", _bce, value_term=_bce_value),
        _term("hinge", "hinge", "hinge", "binary", "identity", _hinge, prep=_hinge_labels),
        _term("squared_hinge", "squared_hinge", "squared hinge", "binary", "identity", _squared_hinge,
              prep=_hinge_labels),
        _make("categorical_crossentropy", "cce", "categorical cross-entropy", "classes", "softmax",
              (_cce_value, _cce_grad, _cce_hvp), class_term=_cce_term),
        _make("sparse_categorical_crossentropy", "scce", "sparse categorical cross-entropy", "classes", "softmax",
              (_sparse(_cce_value), _sparse(_cce_grad), _sparse(_cce_hvp)), sparse=True, class_term=_cce_term),
        _term("kl_divergence", "kld", "Kullback-Leibler divergence", "classes", "softmax", _kld, sum_outputs=True,
              value_term=_kld_value),
        _term("mean_squared_error", "mse", "mean squared error", "regression", "identity", _mse),
        _term("mean_squared_logarithmic_error", "msle", "mean squared logarithmic error", "regression", "identity",
              _msle, value_term=_msle_value),
        _term("mean_absolute_error", "mae", "mean absolute error", "regression", "identity", _mae),
        _term("mean_absolute_percentage_error", "mape", "mean absolute percentage error (%)", "regression",
              "identity", _mape),
    )
}
"""Every loss by its Keras name."""

_ALIASES = {loss.abbreviation: loss.name for loss in LOSSES.values()}
_ALIASES.update({"kullback_leibler_divergence": "kl_divergence", "kl": "kl_divergence"})


def get_loss(name: str) -> Loss:
    """The loss called ``name`` (Keras name or abbreviation, e.g. ``mse``); else :class:`LandscapeError`."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise LandscapeError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}")
    return LOSSES[key]


KERNEL_HELPERS: tuple[Callable, ...] = (_clip, _clip_mask, _full_like, _bce_value, _kld_value, _msle_log_ratio,
                                        _msle_value, _cce_value_term, _cce_slopes)
"""Helpers the terms call; the compiled path registers them with numba."""

__all__ = ["EPSILON", "LOSSES", "Loss", "get_loss", "one_hot"]
