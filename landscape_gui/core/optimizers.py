"""Optimizers: declared hyperparameters plus two functions, ``init`` and ``update``.

Shaped after optax (``init(params) -> state``, ``update(...) -> (params, state)``) with torch.optim's
algorithms as the specification: every update rule here mirrors torch 2.13's single-tensor
implementation operation by operation, flag for flag, with torch's hyperparameter names (``betas``
split into ``beta1`` and ``beta2``, ``etas`` into ``etaminus``/``etaplus``, ``step_sizes`` into
``step_size_min``/``step_size_max``), and agrees with it to float64 rounding (a few ulps per step:
see the note above the built-ins). Defaults equal torch's except ``lr``, chosen for the catalogue
surfaces; each ``lr`` help text states both. Built-ins: sgd, momentum, nesterov, adagrad, rmsprop,
adam, adamw, nadam, radam, adamax, adadelta, asgd, rprop.

All arrays are batched: ``params`` and ``grads`` are ``(n, d)``, one row per run (``d = 2`` on a
surface; any ``d`` in a network's full weight space, every rule being elementwise); every state array
has leading dimension ``n`` so the engine can drop finished runs by indexing (active-set compaction).
``update`` may mutate the state arrays it is given (the engine never reuses an old state) but never
``params`` or ``grads``.

Hyperparameters are declared once (:class:`Hyperparameter`): the GUI form, the CLI ``--set`` parser
and the CSV ``params`` column are all derived from the declaration. Third-party optimizers register
through the entry-point group ``landscape_gui.optimizers`` (an :class:`Optimizer` object, or a
zero-argument callable returning one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Mapping, Union

import numpy as np

from landscape_gui.core.errors import LandscapeError

HyperValue = Union[float, int, bool]
State = dict[str, np.ndarray]
"""Optimizer state: name -> array with leading dimension n (one row per run)."""

ENTRY_POINT_GROUP = "landscape_gui.optimizers"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter, declared once.

    ``kind`` is derived from ``default`` (``bool``, ``int`` or ``float``). ``low``/``high`` bound the
    valid range (``None`` = unbounded); ``low_open``/``high_open`` make a bound exclusive.
    """

    name: str
    default: HyperValue
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    @property
    def kind(self) -> type:
        return type(self.default)

    def range_text(self) -> str:
        """The valid range in interval notation, e.g. ``(0, inf)`` or ``[0, 1)``; '' for flags."""
        if self.kind is bool:
            return "true/false"
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if (self.low is None or self.low_open) else "["
        right = ")" if (self.high is None or self.high_open) else "]"
        return f"{left}{lo}, {hi}{right}"

    def coerce(self, value: Any) -> HyperValue:
        """Convert ``value`` (number, bool or text as typed on a command line) and check the range."""
        kind = self.kind
        if kind is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise LandscapeError(f"{self.name} takes true or false, not {value!r}")
        try:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                text = value.strip()
                number = float(text)
            else:
                number = float(value)
        except (TypeError, ValueError):
            raise LandscapeError(f"{self.name} takes a number in {self.range_text()}, not {value!r}") from None
        if kind is int:
            if not number.is_integer():
                raise LandscapeError(f"{self.name} takes a whole number in {self.range_text()}, not {value!r}")
            result: HyperValue = int(number)
        else:
            result = number
        if not math.isfinite(number) or not self._in_range(number):
            raise LandscapeError(f"{self.name} must be in {self.range_text()}, got {_fmt(number)}")
        return result

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            return False
        return True


def _fmt(v: float) -> str:
    return repr(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


InitFn = Callable[[np.ndarray, Mapping[str, HyperValue]], State]
UpdateFn = Callable[[np.ndarray, np.ndarray, State, Mapping[str, HyperValue], int], tuple[np.ndarray, State]]


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: declared hyperparameters plus ``init`` and ``update``.

    ``init(params, hp) -> state`` with ``params (n, 2)``.
    ``update(params, grads, state, hp, step) -> (new_params, state)``; ``step`` counts from 1, as
    torch's ``state["step"]`` after its increment.
    """

    name: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    init: InitFn
    update: UpdateFn
    reference: str = ""
    check: Callable[[Mapping[str, HyperValue]], None] | None = None
    """Cross-parameter validation (e.g. torch's "Nesterov momentum requires a momentum and zero
    dampening"); raises :class:`LandscapeError`. Called by :meth:`resolve`."""
    extras: Mapping[str, Any] = field(default_factory=dict)

    def hyperparameter(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        valid = ", ".join(h.name for h in self.hyperparameters)
        raise LandscapeError(f"{self.name} has no hyperparameter {name!r}; valid: {valid}")

    def defaults(self) -> dict[str, HyperValue]:
        return {h.name: h.default for h in self.hyperparameters}

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, HyperValue]:
        """Every hyperparameter in force, in declaration order: defaults with ``overrides`` applied,
        coerced to the declared type and range-checked. Unknown names raise :class:`LandscapeError`."""
        values = self.defaults()
        for key, raw in (overrides or {}).items():
            values[key] = self.hyperparameter(key).coerce(raw)
        if self.check is not None:
            self.check(values)
        return values


# --------------------------------------------------------------------------------------------------
# Registry

_BUILTINS: dict[str, Optimizer] = {}
_PLUGINS: dict[str, Optimizer] | None = None
_PLUGIN_ERRORS: list[str] = []


def register_optimizer(opt: Optimizer) -> Optimizer:
    """Add a built-in optimizer (a later registration under the same name replaces it)."""
    _BUILTINS[opt.name] = opt
    return opt


def _plugins() -> dict[str, Optimizer]:
    """Load the entry points of group :data:`ENTRY_POINT_GROUP` once; failures go to :func:`plugin_errors`."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = {}
        _PLUGIN_ERRORS.clear()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
                opt = obj() if callable(obj) and not isinstance(obj, Optimizer) else obj
                if not isinstance(opt, Optimizer):
                    raise TypeError(f"entry point gives {type(opt).__name__}, not an Optimizer")
                opt.resolve()  # the declared defaults must themselves be valid
            except Exception as exc:  # a broken plugin must not break the app
                _PLUGIN_ERRORS.append(f"optimizer plugin {ep.name!r} failed to load: {exc}")
                continue
            if opt.name in _BUILTINS or opt.name in _PLUGINS:
                _PLUGIN_ERRORS.append(f"optimizer plugin {ep.name!r} ignored: the name {opt.name!r} is already taken")
                continue
            _PLUGINS[opt.name] = opt
    return _PLUGINS


def reload_plugins() -> None:
    """Forget the loaded plugins so the next registry call scans the installed entry points again."""
    global _PLUGINS
    _PLUGINS = None


def optimizers() -> dict[str, Optimizer]:
    """Every optimizer by name: built-ins first, then installed plugins (built-ins win a name clash)."""
    out = dict(_BUILTINS)
    for name, opt in _plugins().items():
        out.setdefault(name, opt)
    return out


def optimizer_names() -> list[str]:
    return list(optimizers())


def plugin_errors() -> list[str]:
    """Messages for plugins that failed to load (shown by ``list optimizers`` and the GUI)."""
    _plugins()
    return list(_PLUGIN_ERRORS)


def get_optimizer(name: str) -> Optimizer:
    """The optimizer called ``name``; unknown names raise :class:`LandscapeError`."""
    table = optimizers()
    if name not in table:
        raise LandscapeError(f"unknown optimizer {name!r}; choose one of: {', '.join(table)}")
    return table[name]


# --------------------------------------------------------------------------------------------------
# Built-in optimizers
#
# Each update mirrors torch.optim's ``_single_tensor_*`` function (torch 2.13) operation by operation,
# because floating-point results depend on the order of operations:
#
# * ``t.add(o, alpha=a)``            -> ``t + a * o``
# * ``t.lerp_(e, w)``                -> ``t + w * (e - t)`` if ``|w| < 0.5`` else ``e - (e - t) * (1 - w)``
# * ``t.addcmul_(a, b, value=v)``    -> ``t + (v * a) * b``
# * ``t.addcdiv_(a, b, value=v)``    -> ``t + (v * a) / b``
# * ``s / t`` (Python number first)  -> ``(1 / t) * s`` (``Tensor.__rdiv__`` is ``reciprocal() * s``)
# * Python-side scalars (bias corrections, step sizes) are Python floats, computed as torch does.
#
# torch's CPU kernels fuse ``a + b * c`` into one FMA instruction and take ``sqrt`` from MKL, which is
# not always correctly rounded; numpy does neither, so results agree with torch to a few units in the
# last place per step rather than bit for bit (tests/core/test_optimizers.py measures it).

_TORCH_NOTE = "torch default {torch}; {ours} here suits the catalogue surfaces (bounds about ±5)"


def _hp_lr(default: float, torch_default: float | None = None) -> Hyperparameter:
    text = "learning rate: the step size"
    if torch_default is not None and torch_default != default:
        text += " (" + _TORCH_NOTE.format(torch=_fmt_num(torch_default), ours=_fmt_num(default)) + ")"
    return Hyperparameter("lr", default, text, low=0.0, low_open=True)


def _fmt_num(v: float) -> str:
    return repr(v)


def _hp_weight_decay(default: float = 0.0) -> Hyperparameter:
    return Hyperparameter("weight_decay", default, "L2 penalty added to the gradient (weight_decay * params)", low=0.0)


def _hp_maximize() -> Hyperparameter:
    return Hyperparameter("maximize", False, "climb the surface (maximise) instead of descending")


def _hp_eps(default: float) -> Hyperparameter:
    return Hyperparameter("eps", default, "added to the denominator for numerical stability", low=0.0)


def _hp_betas() -> tuple[Hyperparameter, Hyperparameter]:
    return (
        Hyperparameter("beta1", 0.9, "decay rate of the running mean of the gradient (torch betas[0])",
                       low=0.0, high=1.0, high_open=True),
        Hyperparameter("beta2", 0.999, "decay rate of the running mean of the squared gradient (torch betas[1])",
                       low=0.0, high=1.0, high_open=True),
    )


def _hp_decoupled() -> Hyperparameter:
    return Hyperparameter(
        "decoupled_weight_decay", False,
        "decay the weights directly (params *= 1 - lr * weight_decay, as AdamW) instead of adding an L2 gradient",
    )


def _col(v: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Per-run scalars ``(n,)`` as a column that broadcasts against ``(n, ...)`` arrays."""
    return v.reshape(v.shape + (1,) * (like.ndim - 1))


def _signed_grad(grads: np.ndarray, hp: Mapping[str, HyperValue]) -> np.ndarray:
    """torch: ``grad = -grad if maximize else grad`` (a new array when negated, never mutated)."""
    return np.negative(grads) if hp.get("maximize", False) else grads


def _l2(g: np.ndarray, params: np.ndarray, wd: float) -> np.ndarray:
    """torch: ``grad = grad.add(param, alpha=weight_decay)`` when ``weight_decay != 0``."""
    return g + wd * params if wd != 0 else g


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """In-place ``torch.lerp_``: ``start + w (end − start)`` for ``|w| < 0.5``, else
    ``end − (end − start)(1 − w)`` (ATen's two-sided formula, exact at both ends)."""
    diff = end - start
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        np.subtract(end, diff, out=start)
    return start


def _addcmul_(acc: np.ndarray, a: np.ndarray, b: np.ndarray, value: float) -> np.ndarray:
    """In-place ``torch.addcmul_``: ``acc + (value * a) * b``."""
    tmp = a * value
    tmp *= b
    acc += tmp
    return acc


def _addcdiv(base: np.ndarray, a: np.ndarray, b: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """``torch.addcdiv``: ``base + (value * a) / b`` (a new array)."""
    tmp = a * value
    tmp /= b
    return base + tmp


# ---- SGD, momentum, Nesterov ------------------------------------------------------------------------


def _sgd_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    # momentum_buffer starts as None in torch; a zero buffer is never read at step 1 (b_1 = g_1).
    return {"momentum_buffer": np.zeros_like(params, dtype=float)}


def _sgd_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.SGD (``_single_tensor_sgd``)::

        g = -grad if maximize else grad
        if weight_decay != 0: g = g + weight_decay * params
        if momentum != 0:
            b = g if step == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        params = params - lr * g
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    mu = hp["momentum"]
    if mu != 0:
        if step == 1:
            buf = np.array(g, dtype=float, copy=True)
        else:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += (1.0 - hp["dampening"]) * g
        state["momentum_buffer"] = buf
        g = g + mu * buf if hp["nesterov"] else buf
    return params - hp["lr"] * g, state


def _sgd_hyperparameters(momentum: float, nesterov: bool) -> tuple[Hyperparameter, ...]:
    return (
        _hp_lr(0.01, 0.001),
        Hyperparameter("momentum", momentum, "momentum factor: how much of the last step carries on", low=0.0),
        Hyperparameter("dampening", 0.0, "dampening for momentum: scales the new gradient by (1 - dampening)",
                       low=0.0, high=1.0),
        _hp_weight_decay(),
        Hyperparameter("nesterov", nesterov, "Nesterov momentum: evaluate the step from the look-ahead point"),
        _hp_maximize(),
    )


def _sgd_check(hp: Mapping[str, HyperValue]) -> None:
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise LandscapeError("Nesterov momentum requires a momentum > 0 and zero dampening")


_SGD_REF = ("torch.optim.SGD; Polyak 1964, 'Some methods of speeding up the convergence of iteration methods'; "
            "Sutskever et al. 2013, 'On the importance of initialization and momentum in deep learning'")

register_optimizer(
    Optimizer("sgd", "stochastic gradient descent: step against the gradient", _sgd_hyperparameters(0.0, False),
              _sgd_init, _sgd_update, _SGD_REF, _sgd_check)
)
register_optimizer(
    Optimizer("momentum", "SGD with heavy-ball momentum 0.9", _sgd_hyperparameters(0.9, False), _sgd_init,
              _sgd_update, _SGD_REF, _sgd_check)
)
register_optimizer(
    Optimizer("nesterov", "SGD with Nesterov momentum 0.9", _sgd_hyperparameters(0.9, True), _sgd_init,
              _sgd_update, _SGD_REF, _sgd_check)
)


# ---- Adagrad ----------------------------------------------------------------------------------------


def _adagrad_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {"sum": np.full(params.shape, float(hp["initial_accumulator_value"]))}


def _adagrad_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.Adagrad (``_single_tensor_adagrad``, dense gradients)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        clr = lr / (1 + (step - 1) * lr_decay)
        sum = sum + g * g
        params = params - clr * g / (sqrt(sum) + eps)
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    clr = hp["lr"] / (1 + (float(step) - 1) * hp["lr_decay"])
    s = _addcmul_(state["sum"], g, g, 1.0)
    std = np.sqrt(s)
    std += hp["eps"]
    return _addcdiv(params, g, std, -clr), state


register_optimizer(
    Optimizer(
        "adagrad",
        "Adagrad: per-axis steps shrink with the running sum of squared gradients",
        (
            _hp_lr(0.5, 0.01),
            Hyperparameter("lr_decay", 0.0, "learning-rate decay: lr / (1 + (step - 1) * lr_decay)", low=0.0),
            _hp_weight_decay(),
            Hyperparameter("initial_accumulator_value", 0.0, "starting value of the sum of squared gradients",
                           low=0.0),
            _hp_eps(1e-10),
            _hp_maximize(),
        ),
        _adagrad_init,
        _adagrad_update,
        "torch.optim.Adagrad; Duchi, Hazan & Singer 2011, 'Adaptive subgradient methods for online learning "
        "and stochastic optimization', JMLR 12",
    )
)


# ---- RMSprop ----------------------------------------------------------------------------------------


def _rmsprop_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    state = {"square_avg": np.zeros_like(params, dtype=float)}
    if hp["momentum"] > 0:
        state["momentum_buffer"] = np.zeros_like(params, dtype=float)
    if hp["centered"]:
        state["grad_avg"] = np.zeros_like(params, dtype=float)
    return state


def _rmsprop_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.RMSprop (``_single_tensor_rmsprop``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        v = alpha * v + (1 - alpha) * g²
        avg = sqrt(v - gbar²) with gbar = lerp(gbar, g, 1 - alpha) if centered else sqrt(v);  avg += eps
        if momentum > 0: b = momentum * b + g / avg;  params = params - lr * b
        else:            params = params - lr * g / avg
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    alpha = hp["alpha"]
    v = state["square_avg"]
    v *= alpha
    _addcmul_(v, g, g, 1 - alpha)
    if hp["centered"]:
        gbar = _lerp_(state["grad_avg"], g, 1 - alpha)
        avg = _addcmul_(v.copy(), gbar, gbar, -1.0)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(v)
    avg += hp["eps"]
    lr = hp["lr"]
    if hp["momentum"] > 0:
        buf = state["momentum_buffer"]
        buf *= hp["momentum"]
        buf += g / avg
        return params + (-lr) * buf, state
    return _addcdiv(params, g, avg, -lr), state


register_optimizer(
    Optimizer(
        "rmsprop",
        "RMSprop: divide the step by the root of a running mean of squared gradients",
        (
            _hp_lr(0.05, 0.01),
            Hyperparameter("alpha", 0.99, "smoothing constant of the running mean of squared gradients",
                           low=0.0, high=1.0),
            _hp_eps(1e-8),
            _hp_weight_decay(),
            Hyperparameter("momentum", 0.0, "momentum factor applied to the scaled step", low=0.0),
            Hyperparameter("centered", False, "divide by the estimated variance (subtract the squared mean gradient)"),
            _hp_maximize(),
        ),
        _rmsprop_init,
        _rmsprop_update,
        "torch.optim.RMSprop; Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, "
        "lecture 6e; Graves 2013, 'Generating sequences with recurrent neural networks' (centered)",
    )
)


# ---- Adam, AdamW ------------------------------------------------------------------------------------


def _adam_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    state = {"exp_avg": np.zeros_like(params, dtype=float), "exp_avg_sq": np.zeros_like(params, dtype=float)}
    if hp["amsgrad"]:
        state["max_exp_avg_sq"] = np.zeros_like(params, dtype=float)
    return state


def _decay_or_l2(
    params: np.ndarray, grads: np.ndarray, hp: Mapping[str, HyperValue], decoupled: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The signed gradient and the parameters after weight decay, torch's way: decoupled decay scales
    the parameters by ``1 - lr * weight_decay`` before the step; otherwise ``g += weight_decay * params``."""
    g = _signed_grad(grads, hp)
    wd = hp["weight_decay"]
    if wd != 0:
        if decoupled:
            return params * (1 - hp["lr"] * wd), g
        g = g + wd * params
    return params, g


def _adam_step(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int, decoupled: bool
) -> tuple[np.ndarray, State]:
    p, g = _decay_or_l2(params, grads, hp, decoupled)
    beta1, beta2, t = hp["beta1"], hp["beta2"], float(step)
    m = _lerp_(state["exp_avg"], g, 1 - beta1)
    v = state["exp_avg_sq"]
    v *= beta2
    _addcmul_(v, g, g, 1 - beta2)
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = hp["lr"] / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5
    if hp["amsgrad"]:
        vmax = state["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        denom = np.sqrt(vmax)
    else:
        denom = np.sqrt(v)
    denom /= bias_correction2_sqrt
    denom += hp["eps"]
    return _addcdiv(p, m, denom, -step_size), state


def _adam_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.Adam (``_single_tensor_adam``)::

        g = -grad if maximize else grad
        weight decay: params *= 1 - lr * wd if decoupled_weight_decay else g = g + wd * params
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g²
        vmax = max(vmax, v) if amsgrad
        params = params - lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
    """
    return _adam_step(params, grads, state, hp, step, bool(hp["decoupled_weight_decay"]))


def _adamw_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.AdamW: Adam with decoupled weight decay ``params *= 1 - lr * weight_decay``."""
    return _adam_step(params, grads, state, hp, step, True)


_ADAM_REF = "torch.optim.Adam; Kingma & Ba 2015, 'Adam: a method for stochastic optimization', ICLR"
_AMSGRAD = Hyperparameter("amsgrad", False, "AMSGrad: divide by the largest running square seen so far "
                          "(Reddi et al. 2018)")

register_optimizer(
    Optimizer(
        "adam",
        "Adam: momentum divided by the root of a running mean of squared gradients",
        (_hp_lr(0.1, 0.001), *_hp_betas(), _hp_eps(1e-8), _hp_weight_decay(), _AMSGRAD, _hp_decoupled(),
         _hp_maximize()),
        _adam_init,
        _adam_update,
        _ADAM_REF + "; Reddi, Kale & Kumar 2018, 'On the convergence of Adam and beyond' (amsgrad)",
    )
)
register_optimizer(
    Optimizer(
        "adamw",
        "AdamW: Adam with weight decay applied to the weights directly",
        (_hp_lr(0.1, 0.001), *_hp_betas(), _hp_eps(1e-8),
         Hyperparameter("weight_decay", 0.01, "decoupled weight decay: params *= 1 - lr * weight_decay", low=0.0),
         _AMSGRAD, _hp_maximize()),
        _adam_init,
        _adamw_update,
        "torch.optim.AdamW; Loshchilov & Hutter 2019, 'Decoupled weight decay regularization', ICLR",
    )
)


# ---- NAdam ------------------------------------------------------------------------------------------


def _nadam_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {
        "exp_avg": np.zeros_like(params, dtype=float),
        "exp_avg_sq": np.zeros_like(params, dtype=float),
        "mu_product": np.ones(len(params)),
    }


def _nadam_mu(hp: Mapping[str, HyperValue], t: float) -> float:
    """Momentum schedule ``mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))`` (Dozat 2016)."""
    return hp["beta1"] * (1.0 - 0.5 * (0.96 ** (t * hp["momentum_decay"])))


def _nadam_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.NAdam (``_single_tensor_nadam``)::

        weight decay as Adam (decoupled_weight_decay) ;  mu_t, mu_{t+1} from the momentum schedule
        prod_t = prod_{t-1} * mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g²;  d = sqrt(v / (1 - beta2^t)) + eps
        params = params - lr (1 - mu_t) / (1 - prod_t) * g / d - lr mu_{t+1} / (1 - prod_t mu_{t+1}) * m / d
    """
    p, g = _decay_or_l2(params, grads, hp, bool(hp["decoupled_weight_decay"]))
    beta2, lr, t = hp["beta2"], hp["lr"], float(step)
    bias_correction2 = 1 - beta2**t
    mu = _nadam_mu(hp, t)
    mu_next = _nadam_mu(hp, t + 1)
    mu_product = state["mu_product"]
    mu_product *= mu
    m = _lerp_(state["exp_avg"], g, 1 - hp["beta1"])
    v = state["exp_avg_sq"]
    v *= beta2
    _addcmul_(v, g, g, 1 - beta2)
    denom = v / bias_correction2
    np.sqrt(denom, out=denom)
    mu_product_next = mu_product * mu_next
    denom += hp["eps"]
    c_grad = _col((-lr * (1.0 - mu)) / (1.0 - mu_product), g)
    c_avg = _col((-lr * mu_next) / (1.0 - mu_product_next), g)
    p = _addcdiv(p, g, denom, c_grad)
    p = _addcdiv(p, m, denom, c_avg)
    return p, state


register_optimizer(
    Optimizer(
        "nadam",
        "NAdam: Adam with a Nesterov look-ahead on the momentum",
        (_hp_lr(0.1, 0.002), *_hp_betas(), _hp_eps(1e-8), _hp_weight_decay(),
         Hyperparameter("momentum_decay", 0.004, "momentum schedule: mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))",
                        low=0.0),
         _hp_decoupled(), _hp_maximize()),
        _nadam_init,
        _nadam_update,
        "torch.optim.NAdam; Dozat 2016, 'Incorporating Nesterov momentum into Adam', ICLR workshop",
    )
)


# ---- RAdam ------------------------------------------------------------------------------------------


def _moments_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {"exp_avg": np.zeros_like(params, dtype=float), "exp_avg_sq": np.zeros_like(params, dtype=float)}


def _radam_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.RAdam (``_single_tensor_radam``)::

        weight decay as Adam (decoupled_weight_decay);  m, v as Adam;  mhat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5: params -= mhat * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t,
                      r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        else:         params -= mhat * lr          (plain momentum while the variance estimate is poor)
    """
    p, g = _decay_or_l2(params, grads, hp, bool(hp["decoupled_weight_decay"]))
    beta1, beta2, lr, t = hp["beta1"], hp["beta2"], hp["lr"], float(step)
    m = _lerp_(state["exp_avg"], g, 1 - beta1)
    v = state["exp_avg_sq"]
    v *= beta2
    _addcmul_(v, g, g, 1 - beta2)
    rect, adaptive_num, bias_correction1 = _radam_scalars(hp, t)
    corrected = m / bias_correction1
    corrected *= lr
    if rect is not None:
        inv = np.sqrt(v)
        inv += hp["eps"]
        np.reciprocal(inv, out=inv)
        inv *= adaptive_num
        corrected *= inv
        corrected *= rect
    return p - corrected, state


def _radam_scalars(hp: Mapping[str, HyperValue], t: float) -> tuple[float | None, float, float]:
    """RAdam's Python-side scalars at step ``t``: the rectification ``r_t`` (``None`` while
    ``rho_t <= 5``), ``sqrt(1 - beta2^t)`` and ``1 - beta1^t``."""
    beta1, beta2 = hp["beta1"], hp["beta2"]
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        return rect, bias_correction2**0.5, bias_correction1
    return None, bias_correction2**0.5, bias_correction1


register_optimizer(
    Optimizer(
        "radam",
        "RAdam: Adam whose adaptive step is switched on gradually, as the variance estimate firms up",
        (_hp_lr(0.01, 0.001), *_hp_betas(), _hp_eps(1e-8), _hp_weight_decay(), _hp_decoupled(), _hp_maximize()),
        _moments_init,
        _radam_update,
        "torch.optim.RAdam; Liu et al. 2020, 'On the variance of the adaptive learning rate and beyond', ICLR",
    )
)


# ---- Adamax -----------------------------------------------------------------------------------------


def _adamax_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {"exp_avg": np.zeros_like(params, dtype=float), "exp_inf": np.zeros_like(params, dtype=float)}


def _adamax_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.Adamax (``_single_tensor_adamax``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        m = lerp(m, g, 1 - beta1);  u = max(beta2 * u, |g| + eps)
        params = params - lr / (1 - beta1^t) * m / u
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    m = _lerp_(state["exp_avg"], g, 1 - hp["beta1"])
    u = state["exp_inf"]
    u *= hp["beta2"]
    a = np.abs(g)
    a += hp["eps"]
    np.maximum(u, a, out=u)
    clr = hp["lr"] / (1 - hp["beta1"] ** float(step))
    return _addcdiv(params, m, u, -clr), state


register_optimizer(
    Optimizer(
        "adamax",
        "Adamax: Adam with the running infinity norm of the gradient as the per-axis scale",
        (_hp_lr(0.1, 0.002), *_hp_betas(), _hp_eps(1e-8), _hp_weight_decay(), _hp_maximize()),
        _adamax_init,
        _adamax_update,
        "torch.optim.Adamax; Kingma & Ba 2015, 'Adam: a method for stochastic optimization', ICLR, section 7.1",
    )
)


# ---- Adadelta ---------------------------------------------------------------------------------------


def _adadelta_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {"square_avg": np.zeros_like(params, dtype=float), "acc_delta": np.zeros_like(params, dtype=float)}


def _adadelta_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.Adadelta (``_single_tensor_adadelta``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        v = rho * v + (1 - rho) * g²
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta²
        params = params - lr * delta
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    rho, eps = hp["rho"], hp["eps"]
    v = state["square_avg"]
    v *= rho
    _addcmul_(v, g, g, 1 - rho)
    std = v + eps
    np.sqrt(std, out=std)
    u = state["acc_delta"]
    delta = u + eps
    np.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    u *= rho
    _addcmul_(u, delta, delta, 1 - rho)
    return params + (-hp["lr"]) * delta, state


register_optimizer(
    Optimizer(
        "adadelta",
        "Adadelta: step = RMS of past steps / RMS of past gradients, times the gradient",
        (
            _hp_lr(10.0, 1.0),
            Hyperparameter("rho", 0.9, "decay rate of the running means of squared gradients and steps",
                           low=0.0, high=1.0),
            _hp_eps(1e-6),
            _hp_weight_decay(),
            _hp_maximize(),
        ),
        _adadelta_init,
        _adadelta_update,
        "torch.optim.Adadelta; Zeiler 2012, 'ADADELTA: an adaptive learning rate method', arXiv:1212.5701",
    )
)


# ---- ASGD -------------------------------------------------------------------------------------------


def _asgd_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    n = len(params)
    return {"eta": np.full(n, float(hp["lr"])), "mu": np.ones(n), "ax": np.zeros_like(params, dtype=float)}


def _asgd_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.ASGD (``_single_tensor_asgd``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        params = params * (1 - lambd * eta) - eta * g
        ax = params if mu == 1 else ax + (params - ax) * mu          (the averaged iterate)
        eta = lr / (1 + lambd * lr * t)^alpha;  mu = 1 / max(1, t - t0)

    The path drawn is ``params``; the average ``ax`` (ASGD's answer) is kept in the state.
    """
    g = _l2(_signed_grad(grads, hp), params, hp["weight_decay"])
    eta = state["eta"]
    p = params * _col(1 - hp["lambd"] * eta, params)
    p = p + _col(-eta, params) * g
    mu = state["mu"]
    ax = state["ax"]
    averaged = ax + (p - ax) * _col(mu, params)
    state["ax"] = np.where(_col(mu != 1, params), averaged, p)
    t = float(step)
    lr, lambd = hp["lr"], hp["lambd"]
    eta[:] = lr / ((1 + lambd * lr * t) ** hp["alpha"])
    mu[:] = 1 / max(1, t - hp["t0"])
    return p, state


register_optimizer(
    Optimizer(
        "asgd",
        "averaged SGD: SGD with a slowly decaying step; the running average of the path is its answer",
        (
            _hp_lr(0.01),
            Hyperparameter("lambd", 1e-4, "decay term: shrinks the weights and the step size", low=0.0),
            Hyperparameter("alpha", 0.75, "power of the step-size decay eta = lr / (1 + lambd lr t)^alpha", low=0.0),
            Hyperparameter("t0", 1e6, "step at which averaging starts", low=0.0),
            _hp_weight_decay(),
            _hp_maximize(),
        ),
        _asgd_init,
        _asgd_update,
        "torch.optim.ASGD; Polyak & Juditsky 1992, 'Acceleration of stochastic approximation by averaging', "
        "SIAM J. Control Optim. 30(4)",
    )
)


# ---- Rprop ------------------------------------------------------------------------------------------


def _rprop_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    return {"prev": np.zeros_like(params, dtype=float), "step_size": np.full(params.shape, float(hp["lr"]))}


def _rprop_update(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int
) -> tuple[np.ndarray, State]:
    """torch.optim.Rprop (``_single_tensor_rprop``)::

        g = -grad if maximize else grad
        s = sign(g * prev): s > 0 -> etaplus, s < 0 -> etaminus, s == 0 -> 1
        step_size = clamp(step_size * s, step_size_min, step_size_max)
        g = 0 where s == etaminus (the sign flipped: skip this axis once)
        params = params - sign(g) * step_size;  prev = g
    """
    g = np.array(_signed_grad(grads, hp), dtype=float, copy=True)
    prev = state["prev"]
    sign = np.sign(g * prev)
    etaminus, etaplus = hp["etaminus"], hp["etaplus"]
    sign[sign > 0] = etaplus
    sign[sign < 0] = etaminus
    sign[sign == 0] = 1
    step_size = state["step_size"]
    step_size *= sign
    np.clip(step_size, hp["step_size_min"], hp["step_size_max"], out=step_size)
    g[sign == etaminus] = 0
    p = _addcmul_(params.copy(), np.sign(g), step_size, -1.0)
    state["prev"] = g
    return p, state


def _rprop_check(hp: Mapping[str, HyperValue]) -> None:
    if hp["step_size_min"] > hp["step_size_max"]:
        raise LandscapeError(
            f"step_size_min ({hp['step_size_min']}) must not exceed step_size_max ({hp['step_size_max']})"
        )


register_optimizer(
    Optimizer(
        "rprop",
        "Rprop: per-axis step sizes that grow while the gradient sign holds and shrink when it flips",
        (
            _hp_lr(0.1, 0.01),
            Hyperparameter("etaminus", 0.5, "factor that shrinks an axis's step when its gradient sign flips "
                           "(torch etas[0])", low=0.0, high=1.0, low_open=True, high_open=True),
            Hyperparameter("etaplus", 1.2, "factor that grows an axis's step while its gradient sign holds "
                           "(torch etas[1])", low=1.0, low_open=True),
            Hyperparameter("step_size_min", 1e-6, "smallest step size (torch step_sizes[0])", low=0.0),
            Hyperparameter("step_size_max", 50.0, "largest step size (torch step_sizes[1])", low=0.0),
            _hp_maximize(),
        ),
        _rprop_init,
        _rprop_update,
        "torch.optim.Rprop; Riedmiller & Braun 1993, 'A direct adaptive method for faster backpropagation "
        "learning: the RPROP algorithm', IEEE ICNN",
        _rprop_check,
    )
)
