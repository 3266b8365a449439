"""Optimizers: declared hyperparameters plus two functions, ``init`` and ``update``.

Shaped after optax (``init(params) -> state``, ``update(...) -> (params, state)``) with torch.optim's
algorithms as the specification: every update rule here mirrors torch 2.13's single-tensor
implementation operation by operation, flag for flag, with torch's hyperparameter names (``betas``
split into ``beta1`` and ``beta2``, ``etas`` into ``etaminus``/``etaplus``, ``step_sizes`` into
``step_size_min``/``step_size_max``), and agrees with it to float64 rounding (a few ulps per step:
see the note above the built-ins). Defaults equal torch's except ``lr``, chosen for the catalogue
surfaces; each ``lr`` help text states both. Built-ins: sgd, momentum, nesterov, adagrad, rmsprop,
adam, adamw, nadam, radam, adamax, adadelta, asgd, rprop (torch.optim), and qhm, qhadam (Ma & Yarats
2019; no torch counterpart). Every built-in can explain its steps (``Optimizer.explain``, see
:mod:`landscape_gui.core.explain`).

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
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Union

import numpy as np

from landscape_gui.core import plugins
from landscape_gui.core.errors import LandscapeError, PluginError
from landscape_gui.core.explain import ExplainFn, ExplanationBuilder, StepExplanation, copy_state, format_number, format_vector

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
    """An optimizer: declared hyperparameters plus ``init`` and ``update`` (and optionally ``explain``).

    ``init(params, hp) -> state`` with ``params (n, d)``.
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
    explain: ExplainFn | None = None
    """Optional: ``explain(params, grads, state, hp, step) -> StepExplanation`` for one run (arrays with
    leading dimension 1, state before update ``step``, nothing mutated): the update as named vector
    components summing to the step, plus narrated stages. See :mod:`landscape_gui.core.explain`;
    without it the gradient and the step are shown."""

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

PLUGINS_ENV = plugins.PLUGINS_ENV
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]{0,39}")


def validate_optimizer(opt: Any) -> Optimizer:
    """Check what a plugin declares before it is registered; raise :class:`LandscapeError` saying
    what is wrong (name, functions, each hyperparameter's name, type, range and default)."""
    if not isinstance(opt, Optimizer):
        raise LandscapeError(f"entry point gives {type(opt).__name__}, not an Optimizer")
    if not isinstance(opt.name, str) or not _NAME_RE.fullmatch(opt.name):
        raise LandscapeError(f"optimizer name {opt.name!r} must be a letter then up to 39 letters, digits, _ . + -")
    if not isinstance(opt.description, str):
        raise LandscapeError("its description must be text")
    for fn in ("init", "update"):
        if not callable(getattr(opt, fn)):
            raise LandscapeError(f"its {fn} is not a function")
    if not isinstance(opt.hyperparameters, tuple):
        raise LandscapeError("its hyperparameters must be a tuple of Hyperparameter")
    seen: set[str] = set()
    for h in opt.hyperparameters:
        if not isinstance(h, Hyperparameter):
            raise LandscapeError(f"hyperparameter {h!r} is not a Hyperparameter")
        if not isinstance(h.name, str) or not h.name.isidentifier() or h.name in seen:
            raise LandscapeError(f"hyperparameter name {h.name!r} must be a unique Python identifier")
        seen.add(h.name)
        if type(h.default) not in (bool, int, float):
            raise LandscapeError(f"hyperparameter {h.name!r}: default {h.default!r} must be a bool, int or float")
        for side in ("low", "high"):
            v = getattr(h, side)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v)):
                raise LandscapeError(f"hyperparameter {h.name!r}: {side} bound {v!r} must be a number")
        if h.low is not None and h.high is not None and h.low > h.high:
            raise LandscapeError(f"hyperparameter {h.name!r}: low bound {h.low} is above the high bound {h.high}")
        try:
            h.coerce(h.default)
        except LandscapeError as exc:
            raise LandscapeError(f"default out of range: {exc}") from None
    opt.resolve()  # cross-parameter checks on the defaults
    return opt


def _plugin_call(ep_name: str, opt_name: str, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, SystemExit included
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise PluginError(opt_name, f"optimizer plugin {opt_name!r} (entry point {ep_name!r}) failed in {what}: "
                                    f"{detail}") from None


def _guarded(opt: Optimizer, ep_name: str) -> Optimizer:
    """``opt`` with its functions wrapped so that any failure (or a wrong result) raises
    :class:`PluginError` naming the plugin, instead of an anonymous internal error."""
    name = opt.name
    init, update, explain, check = opt.init, opt.update, opt.explain, opt.check

    def g_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
        state = _plugin_call(ep_name, name, "init", init, params, hp)
        if not isinstance(state, (Mapping, tuple)):
            raise PluginError(name, f"optimizer plugin {name!r}: init returned {type(state).__name__}, not a state dict")
        return state

    def g_update(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                 step: int) -> tuple[np.ndarray, State]:
        out = _plugin_call(ep_name, name, f"update (step {step})", update, params, grads, state, hp, step)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise PluginError(name, f"optimizer plugin {name!r}: update must return (params, state), "
                                    f"got {type(out).__name__}")
        new, st = out
        if not isinstance(new, np.ndarray) or new.shape != params.shape:
            shape = getattr(new, "shape", type(new).__name__)
            raise PluginError(name, f"optimizer plugin {name!r}: update returned params of shape {shape}, "
                                    f"expected {params.shape}")
        if not isinstance(st, (Mapping, tuple)):
            raise PluginError(name, f"optimizer plugin {name!r}: update returned {type(st).__name__} as state")
        return new, st

    def g_check(hp: Mapping[str, HyperValue]) -> None:
        try:
            check(hp)  # type: ignore[misc]
        except LandscapeError:
            raise  # a bad value the user gave, worded by the plugin
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise PluginError(name, f"optimizer plugin {name!r} failed checking its hyperparameters: "
                                    f"{type(exc).__name__}: {exc}") from None

    def g_explain(*args: Any) -> Any:
        return _plugin_call(ep_name, name, "explain", explain, *args)

    return replace(opt, init=g_init, update=g_update, check=None if check is None else g_check,
                   explain=None if explain is None else g_explain)


def _plugin_optimizer(obj: Any) -> Optimizer:
    """What an entry point gives (an :class:`Optimizer`, or a zero-argument callable returning one),
    checked by :func:`validate_optimizer`."""
    opt = obj() if callable(obj) and not isinstance(obj, Optimizer) else obj
    return validate_optimizer(opt)


REGISTRY: plugins.Registry[Optimizer] = plugins.Registry("optimizer", ENTRY_POINT_GROUP, _plugin_optimizer, _guarded)
"""Built-in optimizers, then the installed plugins of :data:`ENTRY_POINT_GROUP`
(:class:`landscape_gui.core.plugins.Registry`: loaded once, on first use; a plugin that fails to load
is reported once by :func:`plugin_errors` and is unavailable, the rest unaffected)."""
_BUILTINS = REGISTRY.builtins


def register_optimizer(opt: Optimizer) -> Optimizer:
    """Add a built-in optimizer (a later registration under the same name replaces it)."""
    return REGISTRY.register(opt)


def builtin_optimizer_names() -> list[str]:
    """Names of the optimizers that ship with landscape-gui (no plugins), in registration order."""
    return list(REGISTRY.builtins)


def reload_plugins() -> None:
    """Forget the loaded plugins so the next registry call scans the installed entry points again."""
    REGISTRY.reload()


def optimizers() -> dict[str, Optimizer]:
    """Every optimizer by name: built-ins first, then installed plugins (built-ins win a name clash)."""
    return REGISTRY.all()


def optimizer_names() -> list[str]:
    return list(optimizers())


def plugin_errors() -> list[str]:
    """Messages for plugins that failed to load (shown by ``list optimizers`` and the GUI)."""
    return REGISTRY.errors()


def get_optimizer(name: str) -> Optimizer:
    """The optimizer called ``name``; unknown names (and plugins that failed to load) raise
    :class:`LandscapeError` saying which."""
    table = optimizers()
    if name not in table:
        failed = REGISTRY.failure(name)
        if failed is not None:
            raise LandscapeError(f"optimizer {name!r} is an installed plugin that failed to load: {failed}")
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
# torch's CPU kernels fuse ``a + b * c`` into one FMA instruction (measured: ``add(alpha=)`` and
# ``lerp`` round as an FMA) and its float64 ``sqrt`` is not always correctly rounded (one ulp off for
# about 2% of inputs on an AVX-512 MKL build); numpy does neither, so results agree with torch to a few
# units in the last place per step rather than bit for bit (tests/core/test_optimizers.py measures it).

_TORCH_NOTE = "torch default {torch}; {ours} here suits the catalogue surfaces (bounds about ±5)"


def _hp_lr(default: float, torch_default: float | None = None) -> Hyperparameter:
    text = "learning rate: the step size"
    if torch_default is not None and torch_default != default:
        text += " (" + _TORCH_NOTE.format(torch=repr(torch_default), ours=repr(default)) + ")"
    return Hyperparameter("lr", default, text, low=0.0, low_open=True)


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










# --------------------------------------------------------------------------------------------------
# Update rules, written once
#
# Each built-in's update is ONE elementwise function, ``rule(p, g, *state, *coefficients) -> (p_new,
# *state_new)``, written with plain arithmetic, numpy ufuncs and the helpers below (no array methods,
# no indexing, no in-place operations). The same function runs
#
# * vectorised, on the engine's ``(n, d)`` arrays (``update`` below is a thin wrapper), and
# * compiled by numba, on floats, one coordinate at a time, inside the basin-map kernels
#   (:mod:`landscape_gui.core.fastpath` generates a kernel per surface and rule).
#
# IEEE-754 arithmetic is deterministic and numba does not contract ``a*b + c`` into fused multiply-adds
# (no ``fastmath``), so both give the same bits. Everything that depends only on the step number and
# the hyperparameters (bias corrections, Nesterov schedules, decayed step sizes, flags) is computed in
# Python by the rule's ``coefficients(hp, t)`` exactly as torch computes it, once per step; a
# hyperparameter that changes from step to step (a schedule) just gives other coefficients.


@dataclass(frozen=True)
class Rule:
    """An elementwise update rule, written once and run both vectorised and compiled.

    Attributes:
        step: ``step(p, g, *state, *coefficients) -> (p_new, *state_new)``; arguments are floats or
            arrays that broadcast (per-coordinate entries ``(n, d)``, per-run entries ``(n, 1)``).
        state: names of the state entries ``step`` takes and returns, in order (the keys of the
            optimizer's state dict; an entry the optimizer's ``init`` left out is passed as 0.0).
        coefficients: ``coefficients(hp, t) -> tuple of floats`` for update ``t`` (from 1).
        per_run: state entries holding one value per run (``(n,)`` in the state dict).
    """

    step: Callable[..., tuple]
    state: tuple[str, ...]
    coefficients: Callable[[Mapping[str, HyperValue], int], tuple[float, ...]]
    per_run: tuple[str, ...] = ()


def rule_update(rule: Rule) -> "UpdateFn":
    """The batched ``update(params, grads, state, hp, step)`` of ``rule``: the engine's form."""

    def update(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
               step: int) -> tuple[np.ndarray, State]:
        n = len(params)
        args: list[Any] = []
        for k in rule.state:
            v = state.get(k)
            args.append(0.0 if v is None else (_col(v, params) if k in rule.per_run else v))
        out = rule.step(params, grads, *args, *rule.coefficients(hp, step))
        for k, v in zip(rule.state, out[1:]):
            if k not in state:
                continue
            if k in rule.per_run:
                v = np.array(np.broadcast_to(v, (n,) + (1,) * (params.ndim - 1)), dtype=float).reshape(n)
            elif v is grads or v is params:  # never hand the caller's arrays back as state
                v = np.array(v, dtype=float)
            state[k] = v
        return out[0], state

    update.__doc__ = rule.step.__doc__
    update.rule = rule  # type: ignore[attr-defined]
    return update


def _select(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` else ``b`` (``np.where``; compiled, a branch on floats)."""
    return np.where(cond, a, b)


def _grad_in(g: Any, p: Any, weight_decay: float, maximize: float) -> Any:
    """torch: ``g = -grad if maximize else grad``, then ``g = g + weight_decay * params`` if
    ``weight_decay != 0`` (torch's ``grad.add(param, alpha=weight_decay)``)."""
    if maximize != 0.0:
        g = -g
    if weight_decay != 0.0:
        g = g + weight_decay * p
    return g


def _lerp(start: Any, end: Any, weight: float) -> Any:
    """``torch.lerp``: ``start + w (end − start)`` for ``|w| < 0.5``, else ``end − (end − start)(1 − w)``
    (ATen's two-sided formula, exact at both ends)."""
    if abs(weight) < 0.5:
        return start + (end - start) * weight
    return end - (end - start) * (1.0 - weight)


def _moments(g: Any, m: Any, v: Any, beta1: float, beta2: float) -> tuple[Any, Any]:
    """Adam's moments as torch updates them: ``m.lerp_(g, 1 − beta1)``,
    ``v.mul_(beta2).addcmul_(g, g, value=1 − beta2)``."""
    return _lerp(m, g, 1.0 - beta1), v * beta2 + (g * (1.0 - beta2)) * g


def _adam_decay(g: Any, p: Any, weight_decay: float, decay: float, decoupled: float, maximize: float) -> tuple[Any, Any]:
    """The Adam family's weight decay, torch's way: decoupled decay scales the parameters by
    ``decay = 1 − lr·weight_decay`` before the step; otherwise ``g += weight_decay * params``."""
    if maximize != 0.0:
        g = -g
    if weight_decay != 0.0:
        if decoupled != 0.0:
            p = p * decay
        else:
            g = g + weight_decay * p
    return g, p


KERNEL_HELPERS: tuple[Callable, ...] = (_select, _grad_in, _lerp, _moments, _adam_decay)
"""Helpers the rules call; the compiled path registers them with numba (``_select`` gets a
scalar implementation there)."""


def sgd_rule(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """torch.optim.SGD (``_single_tensor_sgd``)::

        g = -grad if maximize else grad
        if weight_decay != 0: g = g + weight_decay * params
        if momentum != 0:
            b = g if step == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        params = params - lr * g
    """
    g = _grad_in(g, p, weight_decay, maximize)
    if momentum != 0.0:
        if first != 0.0:
            buf = g
        else:
            buf = buf * momentum + (1.0 - dampening) * g
        if nesterov != 0.0:
            g = g + momentum * buf
        else:
            g = buf
    return p - lr * g, buf


SGD_RULE = Rule(
    sgd_rule, ("momentum_buffer",),
    lambda hp, t: (hp["lr"], hp["momentum"], hp["dampening"], hp["weight_decay"], float(bool(hp["nesterov"])),
                   float(bool(hp["maximize"])), float(t == 1)),
)


def adagrad_rule(p, g, s, clr, eps, weight_decay, maximize):
    """torch.optim.Adagrad (``_single_tensor_adagrad``, dense gradients)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        clr = lr / (1 + (step - 1) * lr_decay)
        sum = sum + g * g
        params = params - clr * g / (sqrt(sum) + eps)
    """
    g = _grad_in(g, p, weight_decay, maximize)
    s = s + (g * 1.0) * g
    std = np.sqrt(s) + eps
    return p + (g * -clr) / std, s


ADAGRAD_RULE = Rule(
    adagrad_rule, ("sum",),
    lambda hp, t: (hp["lr"] / (1 + (float(t) - 1) * hp["lr_decay"]), hp["eps"], hp["weight_decay"],
                   float(bool(hp["maximize"]))),
)


def rmsprop_rule(p, g, v, gbar, buf, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """torch.optim.RMSprop (``_single_tensor_rmsprop``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        v = alpha * v + (1 - alpha) * g²
        avg = sqrt(v - gbar²) with gbar = lerp(gbar, g, 1 - alpha) if centered else sqrt(v);  avg += eps
        if momentum > 0: b = momentum * b + g / avg;  params = params - lr * b
        else:            params = params - lr * g / avg
    """
    g = _grad_in(g, p, weight_decay, maximize)
    v = v * alpha + (g * (1.0 - alpha)) * g
    if centered != 0.0:
        gbar = _lerp(gbar, g, 1.0 - alpha)
        avg = np.sqrt(v + (gbar * -1.0) * gbar)
    else:
        avg = np.sqrt(v)
    avg = avg + eps
    if momentum > 0.0:
        buf = buf * momentum + g / avg
        return p + (-lr) * buf, v, gbar, buf
    return p + (g * -lr) / avg, v, gbar, buf


RMSPROP_RULE = Rule(
    rmsprop_rule, ("square_avg", "grad_avg", "momentum_buffer"),
    lambda hp, t: (hp["lr"], hp["alpha"], hp["eps"], hp["weight_decay"], hp["momentum"],
                   float(bool(hp["centered"])), float(bool(hp["maximize"]))),
)


def adam_rule(p, g, m, v, vmax, step_size, bc2_sqrt, beta1, beta2, eps, weight_decay, decay, decoupled, amsgrad,
              maximize):
    """torch.optim.Adam (``_single_tensor_adam``)::

        g = -grad if maximize else grad
        weight decay: params *= 1 - lr * wd if decoupled_weight_decay else g = g + wd * params
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g²
        vmax = max(vmax, v) if amsgrad
        params = params - lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
    """
    g, p = _adam_decay(g, p, weight_decay, decay, decoupled, maximize)
    m, v = _moments(g, m, v, beta1, beta2)
    if amsgrad != 0.0:
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax) / bc2_sqrt + eps
    else:
        denom = np.sqrt(v) / bc2_sqrt + eps
    return p + (m * -step_size) / denom, m, v, vmax


def _adam_coefficients(decoupled: bool | None) -> Callable[[Mapping[str, HyperValue], int], tuple[float, ...]]:
    def coefficients(hp: Mapping[str, HyperValue], t: int) -> tuple[float, ...]:
        beta1, beta2, lr, wd, tf = hp["beta1"], hp["beta2"], hp["lr"], hp["weight_decay"], float(t)
        dec = bool(hp["decoupled_weight_decay"]) if decoupled is None else decoupled
        return (lr / (1 - beta1**tf), (1 - beta2**tf) ** 0.5, beta1, beta2, hp["eps"], wd, 1 - lr * wd, float(dec),
                float(bool(hp["amsgrad"])), float(bool(hp.get("maximize", False))))

    return coefficients


ADAM_RULE = Rule(adam_rule, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_coefficients(None))
ADAMW_RULE = Rule(adam_rule, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_coefficients(True))
ADAM_L2_RULE = Rule(adam_rule, ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), _adam_coefficients(False))


def nadam_rule(p, g, m, v, mu_product, mu, mu_next, neg_lr_grad, neg_lr_avg, bc2, beta1, beta2, eps, weight_decay,
               decay, decoupled, maximize):
    """torch.optim.NAdam (``_single_tensor_nadam``)::

        weight decay as Adam (decoupled_weight_decay) ;  mu_t, mu_{t+1} from the momentum schedule
        prod_t = prod_{t-1} * mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g²;  d = sqrt(v / (1 - beta2^t)) + eps
        params = params - lr (1 - mu_t) / (1 - prod_t) * g / d - lr mu_{t+1} / (1 - prod_t mu_{t+1}) * m / d
    """
    g, p = _adam_decay(g, p, weight_decay, decay, decoupled, maximize)
    mu_product = mu_product * mu
    m, v = _moments(g, m, v, beta1, beta2)
    denom = np.sqrt(v / bc2) + eps
    c_grad = neg_lr_grad / (1.0 - mu_product)
    c_avg = neg_lr_avg / (1.0 - mu_product * mu_next)
    p = p + (g * c_grad) / denom
    p = p + (m * c_avg) / denom
    return p, m, v, mu_product


def _nadam_coefficients(hp: Mapping[str, HyperValue], t: int) -> tuple[float, ...]:
    tf, lr, wd = float(t), hp["lr"], hp["weight_decay"]
    mu, mu_next = _nadam_mu(hp, tf), _nadam_mu(hp, tf + 1)
    return (mu, mu_next, -lr * (1.0 - mu), -lr * mu_next, 1 - hp["beta2"] ** tf, hp["beta1"], hp["beta2"], hp["eps"],
            wd, 1 - lr * wd, float(bool(hp["decoupled_weight_decay"])), float(bool(hp["maximize"])))


NADAM_RULE = Rule(nadam_rule, ("exp_avg", "exp_avg_sq", "mu_product"), _nadam_coefficients, per_run=("mu_product",))


def radam_rule(p, g, m, v, lr, bc1, rect, adaptive_num, adaptive, beta1, beta2, eps, weight_decay, decay, decoupled,
               maximize):
    """torch.optim.RAdam (``_single_tensor_radam``)::

        weight decay as Adam (decoupled_weight_decay);  m, v as Adam;  mhat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5: params -= mhat * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t,
                      r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        else:         params -= mhat * lr          (plain momentum while the variance estimate is poor)
    """
    g, p = _adam_decay(g, p, weight_decay, decay, decoupled, maximize)
    m, v = _moments(g, m, v, beta1, beta2)
    corrected = m / bc1 * lr
    if adaptive != 0.0:
        inv = 1.0 / (np.sqrt(v) + eps)
        corrected = corrected * (inv * adaptive_num)
        corrected = corrected * rect
    return p - corrected, m, v


def _radam_coefficients(hp: Mapping[str, HyperValue], t: int) -> tuple[float, ...]:
    rect, adaptive_num, bc1 = _radam_scalars(hp, float(t))
    lr, wd = hp["lr"], hp["weight_decay"]
    return (lr, bc1, 0.0 if rect is None else rect, adaptive_num, float(rect is not None), hp["beta1"], hp["beta2"],
            hp["eps"], wd, 1 - lr * wd, float(bool(hp["decoupled_weight_decay"])), float(bool(hp["maximize"])))


RADAM_RULE = Rule(radam_rule, ("exp_avg", "exp_avg_sq"), _radam_coefficients)


def adamax_rule(p, g, m, u, clr, beta1, beta2, eps, weight_decay, maximize):
    """torch.optim.Adamax (``_single_tensor_adamax``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        m = lerp(m, g, 1 - beta1);  u = max(beta2 * u, |g| + eps)
        params = params - lr / (1 - beta1^t) * m / u
    """
    g = _grad_in(g, p, weight_decay, maximize)
    m = _lerp(m, g, 1.0 - beta1)
    u = np.maximum(u * beta2, np.abs(g) + eps)
    return p + (m * -clr) / u, m, u


ADAMAX_RULE = Rule(
    adamax_rule, ("exp_avg", "exp_inf"),
    lambda hp, t: (hp["lr"] / (1 - hp["beta1"] ** float(t)), hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"],
                   float(bool(hp["maximize"]))),
)


def adadelta_rule(p, g, v, u, lr, rho, eps, weight_decay, maximize):
    """torch.optim.Adadelta (``_single_tensor_adadelta``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        v = rho * v + (1 - rho) * g²
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta²
        params = params - lr * delta
    """
    g = _grad_in(g, p, weight_decay, maximize)
    v = v * rho + (g * (1.0 - rho)) * g
    std = np.sqrt(v + eps)
    delta = np.sqrt(u + eps) / std * g
    u = u * rho + (delta * (1.0 - rho)) * delta
    return p + (-lr) * delta, v, u


ADADELTA_RULE = Rule(
    adadelta_rule, ("square_avg", "acc_delta"),
    lambda hp, t: (hp["lr"], hp["rho"], hp["eps"], hp["weight_decay"], float(bool(hp["maximize"]))),
)


def asgd_rule(p, g, eta, mu, ax, eta_next, mu_next, lambd, weight_decay, maximize):
    """torch.optim.ASGD (``_single_tensor_asgd``)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        params = params * (1 - lambd * eta) - eta * g
        ax = params if mu == 1 else ax + (params - ax) * mu          (the averaged iterate)
        eta = lr / (1 + lambd * lr * t)^alpha;  mu = 1 / max(1, t - t0)

    The path drawn is ``params``; the average ``ax`` (ASGD's answer) is kept in the state.
    """
    g = _grad_in(g, p, weight_decay, maximize)
    q = p * (1.0 - lambd * eta)
    q = q + (-eta) * g
    averaged = ax + (q - ax) * mu
    ax = _select(mu != 1.0, averaged, q)
    return q, eta_next, mu_next, ax


def _asgd_coefficients(hp: Mapping[str, HyperValue], t: int) -> tuple[float, ...]:
    tf, lr, lambd = float(t), hp["lr"], hp["lambd"]
    return (lr / ((1 + lambd * lr * tf) ** hp["alpha"]), 1 / max(1, tf - hp["t0"]), lambd, hp["weight_decay"],
            float(bool(hp["maximize"])))


ASGD_RULE = Rule(asgd_rule, ("eta", "mu", "ax"), _asgd_coefficients, per_run=("eta", "mu"))


def rprop_rule(p, g, prev, step_size, etaminus, etaplus, step_size_min, step_size_max, maximize):
    """torch.optim.Rprop (``_single_tensor_rprop``)::

        g = -grad if maximize else grad
        s = sign(g * prev): s > 0 -> etaplus, s < 0 -> etaminus, s == 0 -> 1
        step_size = clamp(step_size * s, step_size_min, step_size_max)
        g = 0 where s < 0 (the sign flipped: skip this axis once)
        params = params - sign(g) * step_size;  prev = g
    """
    if maximize != 0.0:
        g = -g
    prod = g * prev
    factor = _select(prod > 0.0, etaplus, _select(prod < 0.0, etaminus, 1.0))
    step_size = np.minimum(np.maximum(step_size * factor, step_size_min), step_size_max)
    g = _select(prod < 0.0, 0.0, g)
    return p + (np.sign(g) * -1.0) * step_size, g, step_size


RPROP_RULE = Rule(
    rprop_rule, ("prev", "step_size"),
    lambda hp, t: (hp["etaminus"], hp["etaplus"], hp["step_size_min"], hp["step_size_max"],
                   float(bool(hp["maximize"]))),
)


def qhm_rule(p, g, buf, lr, beta, nu, weight_decay, maximize):
    """QHM (Ma & Yarats 2019, eq. 3), the buffer starting at zero::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        b = beta * b + (1 - beta) * g
        params = params - lr * (nu * b + (1 - nu) * g)

    ``nu = 0`` is plain SGD with this ``lr``; ``nu = 1`` is momentum SGD in its "dampened" form, the
    same path as torch's ``SGD(lr = lr * (1 - beta), momentum = beta, dampening = 0)``.
    """
    g = _grad_in(g, p, weight_decay, maximize)
    buf = buf * beta + (1.0 - beta) * g
    q = p + (-lr * nu) * buf
    q = q + (-lr * (1.0 - nu)) * g
    return q, buf


QHM_RULE = Rule(
    qhm_rule, ("momentum_buffer",),
    lambda hp, t: (hp["lr"], hp["beta"], hp["nu"], hp["weight_decay"], float(bool(hp["maximize"]))),
)


def _qhadam_mix(g, m, v, bc1, bc2, nu1, nu2, eps):
    """QHAdam's numerator ``nu1 mhat + (1 - nu1) g`` and denominator ``sqrt(nu2 vhat + (1 - nu2) g²) + eps``."""
    mhat = m / bc1
    vhat = v / bc2
    if nu1 == 1.0:
        num = mhat * nu1
    else:
        num = mhat * nu1 + (1.0 - nu1) * g
    if nu2 == 1.0:
        den = vhat * nu2
    else:
        den = vhat * nu2 + (1.0 - nu2) * (g * g)
    return num, np.sqrt(den) + eps


def qhadam_rule(p, g, m, v, lr, bc1, bc2, beta1, beta2, nu1, nu2, eps, weight_decay, maximize):
    """QHAdam (Ma & Yarats 2019, algorithm 2)::

        g = -grad if maximize else grad;  g = g + weight_decay * params
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g²
        mhat = m / (1 - beta1^t);  vhat = v / (1 - beta2^t)
        params = params - lr * (nu1 * mhat + (1 - nu1) * g) / (sqrt(nu2 * vhat + (1 - nu2) * g²) + eps)

    ``nu1 = nu2 = 1`` is Adam; the moments are updated as torch's Adam updates them.
    """
    g = _grad_in(g, p, weight_decay, maximize)
    m, v = _moments(g, m, v, beta1, beta2)
    num, den = _qhadam_mix(g, m, v, bc1, bc2, nu1, nu2, eps)
    return p + (num * -lr) / den, m, v


QHADAM_RULE = Rule(
    qhadam_rule, ("exp_avg", "exp_avg_sq"),
    lambda hp, t: (hp["lr"], 1 - hp["beta1"] ** float(t), 1 - hp["beta2"] ** float(t), hp["beta1"], hp["beta2"],
                   hp["nu1"], hp["nu2"], hp["eps"], hp["weight_decay"], float(bool(hp["maximize"]))),
)

KERNEL_HELPERS = KERNEL_HELPERS + (_qhadam_mix,)


# ---- SGD, momentum, Nesterov ------------------------------------------------------------------------


def _sgd_init(params: np.ndarray, hp: Mapping[str, HyperValue]) -> State:
    # momentum_buffer starts as None in torch; a zero buffer is never read at step 1 (b_1 = g_1).
    return {"momentum_buffer": np.zeros_like(params, dtype=float)}


_sgd_update = rule_update(SGD_RULE)

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


_adagrad_update = rule_update(ADAGRAD_RULE)

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


_rmsprop_update = rule_update(RMSPROP_RULE)

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




_adam_update_l2 = rule_update(ADAM_L2_RULE)


def _adam_step(
    params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue], step: int, decoupled: bool
) -> tuple[np.ndarray, State]:
    """Adam with the weight decay decoupled or not, whatever ``hp`` says (explanations of adam/adamw)."""
    return (_adamw_update if decoupled else _adam_update_l2)(params, grads, state, hp, step)


_adam_update = rule_update(ADAM_RULE)
_adamw_update = rule_update(ADAMW_RULE)

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


_nadam_update = rule_update(NADAM_RULE)

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


_radam_update = rule_update(RADAM_RULE)

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


_adamax_update = rule_update(ADAMAX_RULE)

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


_adadelta_update = rule_update(ADADELTA_RULE)

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


_asgd_update = rule_update(ASGD_RULE)

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


_rprop_update = rule_update(RPROP_RULE)

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


# ---- QHM, QHAdam ------------------------------------------------------------------------------------
#
# Ma & Yarats 2019, "Quasi-hyperbolic momentum and Adam for deep learning", ICLR. No torch.optim
# counterpart; the operation order follows the authors' reference code (facebookresearch/qhoptim).


_qhm_update = rule_update(QHM_RULE)
_qhadam_update = rule_update(QHADAM_RULE)

def _qhadam_parts(
    g: np.ndarray, m: np.ndarray, v: np.ndarray, hp: Mapping[str, HyperValue], t: float
) -> tuple[np.ndarray, np.ndarray]:
    """QHAdam's numerator ``nu1 mhat + (1 - nu1) g`` and denominator ``sqrt(nu2 vhat + (1 - nu2) g²) + eps``."""
    return _qhadam_mix(g, m, v, 1 - hp["beta1"] ** t, 1 - hp["beta2"] ** t, hp["nu1"], hp["nu2"], hp["eps"])

_QH_REF = "Ma & Yarats 2019, 'Quasi-hyperbolic momentum and Adam for deep learning', ICLR"

register_optimizer(
    Optimizer(
        "qhm",
        "quasi-hyperbolic momentum: a weighted mix of the plain gradient and the momentum buffer",
        (
            _hp_lr(0.01),
            Hyperparameter("beta", 0.999, "decay rate of the momentum buffer (a running mean of gradients)",
                           low=0.0, high=1.0, high_open=True),
            Hyperparameter("nu", 0.7, "weight of the momentum buffer in the step; 1 - nu goes to the plain "
                           "gradient (0: SGD, 1: momentum SGD)", low=0.0, high=1.0),
            _hp_weight_decay(),
            _hp_maximize(),
        ),
        lambda params, hp: {"momentum_buffer": np.zeros_like(params, dtype=float)},
        _qhm_update,
        _QH_REF + " (QHM, recommended nu = 0.7, beta = 0.999)",
    )
)
register_optimizer(
    Optimizer(
        "qhadam",
        "QHAdam: Adam whose numerator and denominator mix the moments with the plain gradient",
        (
            _hp_lr(0.1),
            *_hp_betas(),
            Hyperparameter("nu1", 0.7, "weight of the first moment in the numerator; 1 - nu1 goes to the plain "
                           "gradient", low=0.0, high=1.0),
            Hyperparameter("nu2", 1.0, "weight of the second moment in the denominator; 1 - nu2 goes to the "
                           "squared gradient", low=0.0, high=1.0),
            _hp_eps(1e-8),
            _hp_weight_decay(),
            _hp_maximize(),
        ),
        _moments_init,
        _qhadam_update,
        _QH_REF + " (QHAdam, recommended nu1 = 0.7, nu2 = 1)",
    )
)


# --------------------------------------------------------------------------------------------------
# Explanations: each built-in's update as vector components plus narrated stages
# (see landscape_gui.core.explain). Every function is called for ONE run: arrays (1, d).

_fv, _fn = format_vector, format_number


def _effective_gradient(
    b: ExplanationBuilder, params: np.ndarray, grads: np.ndarray, hp: Mapping[str, HyperValue],
    decoupled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Stages for the gradient (and L2 or decoupled weight decay); returns (signed gradient, gradient used)."""
    b.gradient_stage(bool(hp.get("maximize", False)))
    gs = _signed_grad(grads, hp)
    wd = hp.get("weight_decay", 0.0)
    if wd == 0:
        return gs, gs
    if decoupled:
        lr = hp["lr"]
        b.stage("weight_decay",
                f"Decoupled weight decay (wd = {_fn(wd)}, lr = {_fn(lr)}) multiplies the weights by "
                f"1 − lr·wd = {_fn(1 - lr * wd)}, a move of {_fv(params * (1 - lr * wd) - params)} towards the origin.",
                title="decay the weights", weight_decay=wd, lr=lr)
        return gs, gs
    g = gs + wd * params
    a = b.vector("gradient", "g + wd·p", g, "the gradient with the L2 penalty wd·p added")
    b.stage("weight_decay",
            f"Weight decay wd = {_fn(wd)} adds wd·p = {_fv(wd * params)} to the gradient, pulling towards the "
            f"origin: g = {_fv(g)}.", (a,), weight_decay=wd)
    return gs, g


def _gradient_components(
    b: ExplanationBuilder, coef: Any, gs: np.ndarray, params: np.ndarray, hp: Mapping[str, HyperValue],
    label: str, text: str, decoupled: bool = False,
) -> None:
    """The parts of ``coef * (gs + wd * params)``: from the gradient, and from (L2) weight decay; with
    decoupled decay the weights' own shrink ``params * (1 - lr wd) - params``."""
    b.component("gradient_term", label, coef * gs, text)
    wd = hp.get("weight_decay", 0.0)
    if wd != 0:
        if decoupled:
            b.component("decay_term", "−lr·wd·p", params * (1 - hp["lr"] * wd) - params,
                        "decoupled weight decay: the weights shrink towards the origin")
        else:
            b.component("decay_term", "L2 part", coef * (wd * params),
                        "the same scaling applied to the L2 penalty wd·p: a pull towards the origin")


def _momentum_stages(
    b: ExplanationBuilder, prev: np.ndarray, new: np.ndarray, g: np.ndarray, decay: float, gain: float,
    symbol: str, decay_name: str,
) -> Arrow:
    """'decay the momentum' and 'add the gradient' for ``new = decay * prev + gain * g``."""
    decayed = decay * prev
    a = b.vector("velocity", f"{decay_name}·{symbol}_(t−1)", decayed, "the old velocity, decayed")
    b.stage("decay_momentum",
            f"The velocity keeps {decay_name} = {_fn(decay)} of its old value {_fv(prev)}: "
            f"{decay_name}·{symbol}_(t−1) = {_fv(decayed)}.", (a,), **{decay_name: decay})
    v = b.arrow("velocity", f"{symbol}_t (velocity)", new, "the velocity: a running sum of past gradients")
    b.stage("add_gradient",
            f"Adding {_fn(gain)} × the gradient, {_fv(gain * g)}, gives the new velocity {symbol}_t = {_fv(new)}.",
            (v,), gain=gain)
    return v


def _sgd_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                 step: int) -> StepExplanation:
    new, after = _sgd_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    lr, mu, damp = hp["lr"], hp["momentum"], hp["dampening"]
    if mu == 0:
        _gradient_components(b, -lr, gs, params, hp, "−lr·g", "a step of lr against the gradient")
        b.step_stage(f"Gradient descent steps against the gradient, scaled by lr = {_fn(lr)}.", lr=lr)
        return b.build()
    buf = after["momentum_buffer"]
    if step == 1:
        v = b.arrow("velocity", "b_1 (velocity)", buf, "the velocity: at the first step, the gradient itself")
        b.stage("add_gradient", f"At the first step the velocity starts as the gradient: b_1 = {_fv(buf)}.", (v,))
        fresh, carried = 1.0, None
    else:
        _momentum_stages(b, state["momentum_buffer"], buf, g, mu, 1.0 - damp, "b", "momentum")
        fresh, carried = 1.0 - damp, state["momentum_buffer"]
    if hp["nesterov"]:
        look = g + mu * buf
        a = b.arrow("lookahead", "g + μ·b_t (look-ahead)", look,
                    "Nesterov: the gradient plus the velocity once more, as if measured one step ahead")
        b.stage("lookahead", f"Nesterov looks ahead: with momentum = {_fn(mu)}, g + momentum·b_t = {_fv(look)}.",
                (a,), momentum=mu)
        _gradient_components(b, -lr, gs, params, hp, "−lr·g", "a step of lr against this gradient")
        b.component("momentum_term", "−lr·μ·b_t", -lr * (mu * buf), "the look-ahead: lr times the velocity, once more")
        b.step_stage(f"The step is −lr times the look-ahead, with lr = {_fn(lr)}.", lr=lr)
        return b.build()
    if carried is not None:
        b.component("momentum_term", "−lr·μ·b_(t−1)", -lr * (mu * carried), "what the old velocity carries on")
    _gradient_components(b, -lr * fresh, gs, params, hp, "−lr·(1−dampening)·g", "what this gradient adds")
    b.step_stage(f"The step is −lr times the velocity, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _adagrad_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                     step: int) -> StepExplanation:
    new, after = _adagrad_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    s = after["sum"]
    b.stage("running_square", f"The sum of squared gradients grows by g² = {_fv(g * g)} to {_fv(s)}.",
            title="add the squared gradient")
    std = np.sqrt(s) + hp["eps"]
    sc = b.arrow("scale", "√sum + ε (per-axis scale)", std, "root of the sum of squared gradients: large on axes that moved a lot")
    b.stage("scale", f"Each axis is divided by √sum + ε = {_fv(std)} (ε = {_fn(hp['eps'])}): "
            f"g / (√sum + ε) = {_fv(g / std)}. Axes with a long history of large gradients take smaller steps.",
            (sc,), eps=hp["eps"])
    lr = hp["lr"]
    clr = lr / (1 + (float(step) - 1) * hp["lr_decay"])
    _gradient_components(b, -clr / std, gs, params, hp, "−clr·g/(√sum+ε)", "this gradient, scaled per axis")
    b.step_stage(f"The step is −clr times that, clr = lr / (1 + (t − 1)·lr_decay) = {_fn(clr)} with lr = {_fn(lr)}.",
                 lr=lr, clr=clr)
    return b.build()


def _rmsprop_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                     step: int) -> StepExplanation:
    new, after = _rmsprop_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    alpha, eps, lr, mom = hp["alpha"], hp["eps"], hp["lr"], hp["momentum"]
    v = after["square_avg"]
    b.stage("running_square", f"The running square keeps alpha = {_fn(alpha)} of its old value and adds "
            f"(1 − alpha)·g²: v = {_fv(v)}.", alpha=alpha)
    if hp["centered"]:
        gbar = after["grad_avg"]
        a = b.arrow("first_moment", "ḡ (running mean of the gradient)", gbar, "centered: the running mean of the gradient")
        b.stage("running_square", f"Centered: the running mean of the gradient is ḡ = {_fv(gbar)}; its square is "
                f"subtracted, leaving the variance v − ḡ² = {_fv(v - gbar * gbar)}.", (a,), title="subtract the squared mean")
        avg = np.sqrt(v - gbar * gbar) + eps
    else:
        avg = np.sqrt(v) + eps
    sc = b.arrow("scale", "√v + ε (per-axis scale)", avg, "root of the running squared gradient")
    b.stage("scale", f"Each axis is divided by its root mean square √v + ε = {_fv(avg)} (ε = {_fn(eps)}): "
            f"g / (√v + ε) = {_fv(g / avg)}. Steep axes slow down, flat ones speed up.", (sc,), eps=eps)
    if mom > 0:
        _momentum_stages(b, state["momentum_buffer"], after["momentum_buffer"], g / avg, mom, 1.0, "b", "momentum")
        b.component("momentum_term", "−lr·μ·b_(t−1)", -lr * (mom * state["momentum_buffer"]), "what the old velocity carries on")
        _gradient_components(b, -lr / avg, gs, params, hp, "−lr·g/(√v+ε)", "this gradient, scaled per axis")
        b.step_stage(f"The step is −lr times the velocity, with lr = {_fn(lr)}.", lr=lr)
    else:
        _gradient_components(b, -lr / avg, gs, params, hp, "−lr·g/(√v+ε)", "this gradient, scaled per axis")
        b.step_stage(f"The step is −lr times the scaled gradient, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _moment_stages(b: ExplanationBuilder, state: State, after: State, g: np.ndarray, hp: Mapping[str, HyperValue],
                   amsgrad: bool = False) -> None:
    """Adam-family stages: first moment (decay, add) and the running square."""
    beta1, beta2 = hp["beta1"], hp["beta2"]
    _momentum_stages(b, state["exp_avg"], after["exp_avg"], g, beta1, 1 - beta1, "m", "beta1")
    text = (f"The running square keeps beta2 = {_fn(beta2)} of its old value and adds (1 − beta2)·g²: "
            f"v_t = {_fv(after['exp_avg_sq'])}.")
    if amsgrad:
        text += f" AMSGrad divides by the largest running square so far, {_fv(after['max_exp_avg_sq'])}."
    b.stage("running_square", text, beta2=beta2)


def _adam_explain_with(decoupled_default: bool | None) -> Any:
    def explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                step: int) -> StepExplanation:
        decoupled = bool(hp["decoupled_weight_decay"]) if decoupled_default is None else decoupled_default
        new, after = _adam_step(params, grads, copy_state(state), hp, step, decoupled)
        b = ExplanationBuilder(params, grads, new, step)
        gs, g = _effective_gradient(b, params, grads, hp, decoupled)
        _moment_stages(b, state, after, g, hp, bool(hp["amsgrad"]))
        beta1, beta2, eps, lr, t = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"], float(step)
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        mhat = after["exp_avg"] / bc1
        src = after["max_exp_avg_sq"] if hp["amsgrad"] else after["exp_avg_sq"]
        root = np.sqrt(src) / bc2**0.5
        fm = b.arrow("first_moment", "m̂ (bias-corrected momentum)", mhat, "the running mean of the gradient, bias-corrected")
        sc = b.arrow("scale", "√v̂ (per-axis scale)", root, "root of the bias-corrected running squared gradient")
        b.stage("bias_correction",
                f"Both averages start at zero and are too small early on; dividing by 1 − beta1^t = {_fn(bc1)} and "
                f"1 − beta2^t = {_fn(bc2)} corrects that: m̂ = {_fv(mhat)}, √v̂ = {_fv(root)}.", (fm, sc),
                bias_correction1=bc1, bias_correction2=bc2)
        denom = root + eps
        b.stage("scale", f"Dividing m̂ by √v̂ + ε (ε = {_fn(eps)}) makes each axis's step about the same size "
                f"whatever the gradient's scale: m̂ / (√v̂ + ε) = {_fv(mhat / denom)}.", (), eps=eps)
        k = -(lr / bc1) / denom
        b.component("momentum_term", "momentum part", k * (beta1 * state["exp_avg"]),
                    "what the old momentum carries on, scaled like the step")
        _gradient_components(b, k * (1 - beta1), gs, params, hp, "gradient part",
                             "what this gradient adds, scaled like the step", decoupled)
        b.step_stage(f"The step is −lr times that, with lr = {_fn(lr)}.", lr=lr)
        return b.build()

    return explain


def _nadam_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                   step: int) -> StepExplanation:
    decoupled = bool(hp["decoupled_weight_decay"])
    new, after = _nadam_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp, decoupled)
    _moment_stages(b, state, after, g, hp)
    beta1, beta2, eps, lr, t = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"], float(step)
    bc2 = 1 - beta2**t
    root = np.sqrt(after["exp_avg_sq"] / bc2)
    sc = b.arrow("scale", "√v̂ (per-axis scale)", root, "root of the bias-corrected running squared gradient")
    b.stage("bias_correction", f"Dividing the running square by 1 − beta2^t = {_fn(bc2)} corrects its start at "
            f"zero: √v̂ = {_fv(root)}.", (sc,), bias_correction2=bc2)
    mu, mu_next = _nadam_mu(hp, t), _nadam_mu(hp, t + 1)
    prod = float(after["mu_product"][0])
    w_g = (1.0 - mu) / (1.0 - prod)
    w_m = mu_next / (1.0 - prod * mu_next)
    look = w_g * g + w_m * after["exp_avg"]
    la = b.arrow("lookahead", "Nesterov mix", look, "this gradient and the momentum one step ahead, bias-corrected")
    b.stage("lookahead", f"NAdam looks ahead: the momentum schedule gives mu_t = {_fn(mu)} and mu_(t+1) = {_fn(mu_next)}; "
            f"the step direction mixes {_fn(w_g)} × g with {_fn(w_m)} × m_t: {_fv(look)}.", (la,),
            mu_t=mu, mu_next=mu_next)
    denom = root + eps
    b.stage("scale", f"Dividing by √v̂ + ε (ε = {_fn(eps)}) evens out the axes: {_fv(look / denom)}.", (), eps=eps)
    k = -lr / denom
    b.component("momentum_term", "momentum part", k * (w_m * beta1 * state["exp_avg"]),
                "what the old momentum carries on, looked ahead and scaled")
    _gradient_components(b, k * (w_g + w_m * (1 - beta1)), gs, params, hp, "gradient part",
                         "this gradient, directly and through the new momentum, scaled", decoupled)
    b.step_stage(f"The step is −lr times that, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _radam_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                   step: int) -> StepExplanation:
    decoupled = bool(hp["decoupled_weight_decay"])
    new, after = _radam_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp, decoupled)
    _moment_stages(b, state, after, g, hp)
    beta1, beta2, eps, lr, t = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"], float(step)
    rect, bc2_sqrt, bc1 = _radam_scalars(hp, t)
    mhat = after["exp_avg"] / bc1
    fm = b.arrow("first_moment", "m̂ (bias-corrected momentum)", mhat, "the running mean of the gradient, bias-corrected")
    b.stage("bias_correction", f"Dividing by 1 − beta1^t = {_fn(bc1)} corrects the momentum's start at zero: "
            f"m̂ = {_fv(mhat)}.", (fm,), bias_correction1=bc1)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2**t) / (1 - beta2**t)
    if rect is None:
        b.stage("rectify", f"The variance estimate rests on too few steps (rho_t = {_fn(rho_t)} ≤ 5), so this step "
                "is plain momentum, without per-axis scaling.", rho_t=rho_t)
        k: Any = -lr / bc1
    else:
        denom = np.sqrt(after["exp_avg_sq"]) + eps
        scale = denom / bc2_sqrt
        sc = b.arrow("scale", "(√v + ε)/√(1−beta2^t) (per-axis scale)", scale, "root of the bias-corrected running squared gradient")
        b.stage("rectify", f"The variance estimate is usable (rho_t = {_fn(rho_t)} > 5); the adaptive step is "
                f"switched on at strength r_t = {_fn(rect)} (it tends to 1 as steps accumulate).", rho_t=rho_t, r_t=rect)
        b.stage("scale", f"Each axis is divided by its scale {_fv(scale)} (ε = {_fn(eps)}).", (sc,), eps=eps)
        k = -lr * rect / scale / bc1
    b.component("momentum_term", "momentum part", k * (beta1 * state["exp_avg"]), "what the old momentum carries on")
    _gradient_components(b, k * (1 - beta1), gs, params, hp, "gradient part", "what this gradient adds", decoupled)
    b.step_stage(f"The step is −lr times that, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _adamax_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                    step: int) -> StepExplanation:
    new, after = _adamax_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    beta1, beta2, eps, lr = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"]
    _momentum_stages(b, state["exp_avg"], after["exp_avg"], g, beta1, 1 - beta1, "m", "beta1")
    u = after["exp_inf"]
    sc = b.arrow("scale", "u (per-axis scale)", u, "running maximum of |g|, decayed by beta2")
    b.stage("running_square", f"The scale is the larger of beta2 × its old value (beta2 = {_fn(beta2)}) and "
            f"|g| + ε: u = {_fv(u)}.", (sc,), title="update the infinity norm", beta2=beta2)
    bc1 = 1 - beta1 ** float(step)
    mhat = after["exp_avg"] / bc1
    fm = b.arrow("first_moment", "m̂ (bias-corrected momentum)", mhat, "the running mean of the gradient, bias-corrected")
    b.stage("bias_correction", f"Dividing by 1 − beta1^t = {_fn(bc1)} corrects the momentum's start at zero: "
            f"m̂ = {_fv(mhat)}.", (fm,), bias_correction1=bc1)
    b.stage("scale", f"Each axis is divided by u: m̂ / u = {_fv(mhat / u)}.", ())
    k = -(lr / bc1) / u
    b.component("momentum_term", "momentum part", k * (beta1 * state["exp_avg"]), "what the old momentum carries on")
    _gradient_components(b, k * (1 - beta1), gs, params, hp, "gradient part", "what this gradient adds")
    b.step_stage(f"The step is −lr times that, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _adadelta_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                      step: int) -> StepExplanation:
    new, after = _adadelta_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    rho, eps, lr = hp["rho"], hp["eps"], hp["lr"]
    std = np.sqrt(after["square_avg"] + eps)
    b.stage("running_square", f"The running square of gradients keeps rho = {_fn(rho)} of its old value: "
            f"its root is √(v + ε) = {_fv(std)}.", rho=rho)
    steps_rms = np.sqrt(state["acc_delta"] + eps)
    sc = b.arrow("scale", "√(v + ε) (per-axis scale)", std, "root of the running squared gradient")
    ratio = steps_rms / std
    b.stage("scale", f"Each axis's gradient is multiplied by the root mean square of past steps, "
            f"{_fv(steps_rms)}, over that of past gradients, {_fv(std)} (ε = {_fn(eps)}): "
            f"the update is {_fv(ratio * g)}, in the units of the position.", (sc,), eps=eps)
    _gradient_components(b, -lr * ratio, gs, params, hp, "−lr·RMS(Δ)/RMS(g)·g", "this gradient, in step units")
    b.step_stage(f"The step is −lr times the update, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _asgd_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                  step: int) -> StepExplanation:
    new, after = _asgd_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    eta, lambd, lr = float(state["eta"][0]), hp["lambd"], hp["lr"]
    shrink = params * (1 - lambd * eta) - params
    b.component("decay_term", "−lambd·eta·p", shrink, "ASGD's decay term: the weights shrink a little")
    b.stage("weight_decay", f"With lambd = {_fn(lambd)} and step size eta = {_fn(eta)} the weights shrink by the "
            f"factor 1 − lambd·eta = {_fn(1 - lambd * eta)}, a move of {_fv(shrink)}.", title="shrink the weights",
            lambd=lambd, eta=eta)
    _gradient_components(b, -eta, gs, params, hp, "−eta·g", "a step of eta against the gradient")
    b.step_stage(f"The step size eta = lr / (1 + lambd·lr·(t − 1))^alpha = {_fn(eta)} (lr = {_fn(lr)}) "
                 "decays slowly with the steps.", lr=lr, eta=eta)
    b.stage("average", f"ASGD's answer is the running average of the path, now {_fv(after['ax'])}.")
    return b.build()


def _rprop_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                   step: int) -> StepExplanation:
    new, after = _rprop_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    b.gradient_stage(bool(hp["maximize"]))
    size = after["step_size"]
    sc = b.arrow("scale", "step sizes (per axis)", size, "each axis's own step length")
    b.stage("scale", f"Where the gradient kept its sign the axis's step size grows by etaplus = {_fn(hp['etaplus'])}; "
            f"where it flipped it shrinks by etaminus = {_fn(hp['etaminus'])} and the axis rests this step. "
            f"Step sizes now: {_fv(size)}.", (sc,), title="adapt the step sizes",
            etaplus=hp["etaplus"], etaminus=hp["etaminus"])
    b.component("gradient_term", "−sign(g)·step size", new - params, "each axis moves its step size against its gradient's sign")
    b.step_stage("Rprop ignores the gradient's size and uses only its sign.")
    return b.build()


def _qhm_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                 step: int) -> StepExplanation:
    new, after = _qhm_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    beta, nu, lr = hp["beta"], hp["nu"], hp["lr"]
    buf = after["momentum_buffer"]
    _momentum_stages(b, state["momentum_buffer"], buf, g, beta, 1 - beta, "b", "beta")
    mix = nu * buf + (1 - nu) * g
    a = b.vector("lookahead", "ν·b_t + (1−ν)·g", mix, "the quasi-hyperbolic mix")
    b.stage("mix", f"QHM mixes nu = {_fn(nu)} of the velocity with 1 − nu of the plain gradient: "
            f"nu·b_t + (1 − nu)·g = {_fv(mix)}.", (a,), nu=nu)
    b.component("momentum_term", "−lr·ν·b_t", (-lr * nu) * buf, "the momentum buffer's share of the step")
    _gradient_components(b, -lr * (1 - nu), gs, params, hp, "−lr·(1−ν)·g", "the plain gradient's share of the step")
    b.step_stage(f"The step is −lr times the mix, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _qhadam_explain(params: np.ndarray, grads: np.ndarray, state: State, hp: Mapping[str, HyperValue],
                    step: int) -> StepExplanation:
    new, after = _qhadam_update(params, grads, copy_state(state), hp, step)
    b = ExplanationBuilder(params, grads, new, step)
    gs, g = _effective_gradient(b, params, grads, hp)
    _moment_stages(b, state, after, g, hp)
    beta1, beta2, nu1, nu2, eps, lr, t = (hp["beta1"], hp["beta2"], hp["nu1"], hp["nu2"], hp["eps"], hp["lr"],
                                          float(step))
    bc1, bc2 = 1 - beta1**t, 1 - beta2**t
    mhat = after["exp_avg"] / bc1
    fm = b.arrow("first_moment", "m̂ (bias-corrected momentum)", mhat, "the running mean of the gradient, bias-corrected")
    b.stage("bias_correction", f"Dividing by 1 − beta1^t = {_fn(bc1)} and 1 − beta2^t = {_fn(bc2)} corrects the "
            f"averages' start at zero: m̂ = {_fv(mhat)}.", (fm,), bias_correction1=bc1, bias_correction2=bc2)
    num, den = _qhadam_parts(g, after["exp_avg"], after["exp_avg_sq"], hp, t)
    mix = b.arrow("lookahead", "ν1·m̂ + (1−ν1)·g", num, "the quasi-hyperbolic mix of momentum and gradient")
    b.stage("mix", f"The numerator mixes nu1 = {_fn(nu1)} of m̂ with 1 − nu1 of the plain gradient: {_fv(num)}.",
            (mix,), nu1=nu1)
    sc = b.arrow("scale", "√(ν2·v̂ + (1−ν2)·g²) + ε", den, "the per-axis scale: root of the mixed squared gradient")
    b.stage("scale", f"The denominator mixes nu2 = {_fn(nu2)} of v̂ with 1 − nu2 of g², takes the root and adds "
            f"ε = {_fn(eps)}: {_fv(den)}.", (sc,), nu2=nu2, eps=eps)
    k = -lr / den
    b.component("momentum_term", "−lr·ν1·m̂/den", k * (nu1 * mhat), "the momentum's share of the step")
    _gradient_components(b, k * (1 - nu1), gs, params, hp, "−lr·(1−ν1)·g/den", "the plain gradient's share of the step")
    b.step_stage(f"The step is −lr times numerator over denominator, with lr = {_fn(lr)}.", lr=lr)
    return b.build()


def _attach_explanations() -> None:
    import dataclasses

    table: dict[str, ExplainFn] = {
        "sgd": _sgd_explain, "momentum": _sgd_explain, "nesterov": _sgd_explain, "adagrad": _adagrad_explain,
        "rmsprop": _rmsprop_explain, "adam": _adam_explain_with(None), "adamw": _adam_explain_with(True),
        "nadam": _nadam_explain, "radam": _radam_explain, "adamax": _adamax_explain, "adadelta": _adadelta_explain,
        "asgd": _asgd_explain, "rprop": _rprop_explain, "qhm": _qhm_explain, "qhadam": _qhadam_explain,
    }
    for name, fn in table.items():
        _BUILTINS[name] = dataclasses.replace(_BUILTINS[name], explain=fn)


_attach_explanations()
