"""Optimizers: declared hyperparameters plus two functions, ``init`` and ``update``.

Shaped after optax (``init(params) -> state``, ``update(...) -> (params, state)``) with torch.optim's
documented algorithms as the specification: every update rule here reproduces ``torch.optim`` to
float64 rounding, flag for flag, with torch's hyperparameter names (``betas`` split into ``beta1`` and
``beta2``). Defaults equal torch's except, where stated, ``lr``.

All arrays are batched: ``params`` and ``grads`` are ``(n, 2)``, one row per run; every state array
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
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = {}
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
                opt = obj() if callable(obj) and not isinstance(obj, Optimizer) else obj
                if not isinstance(opt, Optimizer):
                    raise TypeError(f"entry point gives {type(opt).__name__}, not an Optimizer")
            except Exception as exc:  # a broken plugin must not break the app
                _PLUGIN_ERRORS.append(f"optimizer plugin {ep.name!r} failed to load: {exc}")
                continue
            _PLUGINS.setdefault(opt.name, opt)
    return _PLUGINS


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


def _hp_lr(default: float) -> Hyperparameter:
    return Hyperparameter("lr", default, "learning rate: the step size", low=0.0, low_open=True)


def _hp_weight_decay() -> Hyperparameter:
    return Hyperparameter("weight_decay", 0.0, "L2 penalty added to the gradient (weight_decay * params)", low=0.0)


def _hp_maximize() -> Hyperparameter:
    return Hyperparameter("maximize", False, "climb the surface (maximise) instead of descending")


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
    g = -grads if hp["maximize"] else grads
    wd = hp["weight_decay"]
    if wd != 0:
        g = g + wd * params
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
        _hp_lr(0.01),
        Hyperparameter("momentum", momentum, "momentum factor: how much of the last step carries on", low=0.0),
        Hyperparameter("dampening", 0.0, "dampening for momentum: scales the new gradient by (1 - dampening)", low=0.0, high=1.0),
        _hp_weight_decay(),
        Hyperparameter("nesterov", nesterov, "Nesterov momentum: evaluate the step from the look-ahead point"),
        _hp_maximize(),
    )


def _sgd_check(hp: Mapping[str, HyperValue]) -> None:
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise LandscapeError("Nesterov momentum requires a momentum > 0 and zero dampening")


_SGD_REF = "torch.optim.SGD; Sutskever et al. 2013, 'On the importance of initialization and momentum in deep learning'"

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
