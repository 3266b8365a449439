"""Learning-rate schedules: per-step values of an optimizer's ``lr`` (and momentum), torch-exact.

A schedule is declared once, like an optimizer (:class:`Schedule`: name, description, declared
:class:`~landscape_gui.core.optimizers.Hyperparameter` s with default, range and help, and a
reference), so the window's form, the CLI ``--schedule-set`` parser and the CSV ``params`` column all
come from the declaration. Built-ins, with torch.optim.lr_scheduler's names and semantics:

============== ============================== ===================================================
name           torch                          learning rate at optimizer step ``t = 1, 2, ...``
============== ============================== ===================================================
step           ``StepLR``                     ``lr · gamma^⌊(t-1)/step_size⌋``
multistep      ``MultiStepLR``                ``lr · gamma^(milestones passed by t-1)``
exponential    ``ExponentialLR``              ``lr · gamma^(t-1)``
cosine         ``CosineAnnealingLR``          ``eta_min + (lr - eta_min)(1 + cos(π(t-1)/T_max))/2``
linear         ``LinearLR``                   ``lr`` times a factor going linearly from
                                              ``start_factor`` to ``end_factor`` over ``total_iters``
onecycle       ``OneCycleLR``                 warm up to ``max_lr``, anneal to
                                              ``max_lr/(div_factor·final_div_factor)``
cyclic         ``CyclicLR``                   triangle waves between ``base_lr`` and ``max_lr``
warmup_cosine  ``SequentialLR(LinearLR,       linear warm-up for ``warmup_steps``, then cosine
               CosineAnnealingLR)``           annealing
============== ============================== ===================================================

(the formulas are the closed forms; the values are not computed from them, see below). OneCycleLR
and CyclicLR by default also cycle the momentum (``momentum``, or ``beta1`` for Adam-like
optimizers) inversely to the learning rate, as torch does (``cycle_momentum``).

**Exactness.** torch computes most schedules *recursively* (``get_lr`` multiplies the current
``group["lr"]`` by a ratio each step) and switches to the closed form only in some places (e.g.
``SequentialLR`` at a milestone); the two differ in the last bits. So each schedule here is a small
port of the torch class's ``__init__``, ``get_lr``, ``_get_closed_form_lr`` and ``step``, statement
for statement on Python floats (torch's own arithmetic for float learning rates), driven the way a
training loop drives it: constructed once (its initial step sets the first lr), then stepped once
after every optimizer step. The values are therefore torch's bit for bit; tests compare them with
fixtures recorded from torch 2.13 (``scripts/make_schedule_fixtures.py``).

Sentinels where torch requires an argument with no default: ``T_max = 0`` (cosine) and
``total_steps = 0`` (onecycle) mean the run's max steps; ``max_lr = 0`` (onecycle) and
``base_lr = 0`` (cyclic) mean the optimizer's ``lr``; ``max_lr = 0`` (cyclic) means ``4 · base_lr``
(Smith 2017 suggests a range of 3–4×); ``step_size_down = 0`` (cyclic) means ``step_size_up``
(torch's ``None``).

Use :func:`make_schedule` to pick one with settings; the engine (``engine.run(..., schedule=)``)
asks it for the values step by step. Third-party schedules register through the entry-point group
``landscape_gui.schedules`` (a :class:`Schedule`, or a zero-argument callable returning one).

References: Loshchilov & Hutter 2017, *SGDR: Stochastic gradient descent with warm restarts*
(cosine); Smith 2017, *Cyclical learning rates for training neural networks* (cyclic); Smith &
Topin 2019, *Super-convergence* (one-cycle); Goyal et al. 2017, *Accurate, large minibatch SGD*
(linear warm-up).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from landscape_gui.core import plugins
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Hyperparameter, HyperValue, Optimizer, _fmt

ENTRY_POINT_GROUP = "landscape_gui.schedules"


# --------------------------------------------------------------------------------------------------
# Declarations beyond numbers and flags: a choice among words, and a list of step numbers


@dataclass(frozen=True)
class Choice(Hyperparameter):
    """A hyperparameter taking one of a few words (torch's string arguments, e.g. ``mode``)."""

    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> type:
        return str

    def range_text(self) -> str:
        return "one of " + ", ".join(self.choices)

    def coerce(self, value: Any) -> str:  # type: ignore[override]
        text = value.strip() if isinstance(value, str) else value
        if text not in self.choices:
            raise LandscapeError(f"{self.name} takes one of {', '.join(self.choices)}, not {value!r}")
        return text


@dataclass(frozen=True)
class StepList(Hyperparameter):
    """A list of step numbers (torch's ``milestones``): whole numbers >= ``low``, written ``100,250``."""

    @property
    def kind(self) -> type:
        return tuple

    def range_text(self) -> str:
        low = 0 if self.low is None else int(self.low)
        return f"whole numbers >= {low}, comma-separated"

    def coerce(self, value: Any) -> tuple[int, ...]:  # type: ignore[override]
        items: Sequence[Any]
        if isinstance(value, str):
            items = [v for v in value.replace(" ", "").split(",") if v != ""]
        elif isinstance(value, (list, tuple, np.ndarray)):
            items = list(value)
        else:
            items = [value]
        out: list[int] = []
        low = 0 if self.low is None else int(self.low)
        for item in items:
            try:
                if isinstance(item, bool):
                    raise ValueError
                number = float(item)
                if not number.is_integer() or number < low:
                    raise ValueError
            except (TypeError, ValueError):
                raise LandscapeError(f"{self.name} takes {self.range_text()} (e.g. {self.name}=100,250), "
                                     f"not {value!r}") from None
            out.append(int(number))
        return tuple(out)


# --------------------------------------------------------------------------------------------------
# The declaration


PortFactory = Callable[[dict, Mapping[str, Any], int], Any]
"""``(group, settings, max_steps) -> scheduler``: builds a scheduler on an optimizer group (a dict
with ``lr`` and maybe ``momentum``/``beta1``), setting the values for step 1 in it, like a torch
scheduler's constructor; the scheduler's ``step()`` then updates the group in place for the next
optimizer step (a plugin needs nothing else)."""


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: declared hyperparameters plus a port of the torch class.

    ``make(group, settings, max_steps)`` constructs the port on ``group`` (a dict holding ``lr``
    and, for momentum-cycling schedules, ``momentum`` or ``beta1``), exactly as torch's constructor
    treats ``optimizer.param_groups[0]``; ``momentum`` says whether the schedule may cycle momentum
    (then the settings' ``cycle_momentum`` flag decides).
    """

    name: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    make: PortFactory
    reference: str = ""
    torch_class: str = ""
    check: Callable[[Mapping[str, Any]], None] | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def hyperparameter(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        valid = ", ".join(h.name for h in self.hyperparameters)
        raise LandscapeError(f"schedule {self.name} has no hyperparameter {name!r}; valid: {valid}")

    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters}

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every setting in force, in declaration order, coerced and range-checked."""
        values = self.defaults()
        for key, raw in (overrides or {}).items():
            values[key] = self.hyperparameter(key).coerce(raw)
        if self.check is not None:
            self.check(values)
        return values


@dataclass(frozen=True)
class ScheduleSetting:
    """A schedule with its settings in force: what ``engine.run(..., schedule=)`` takes."""

    schedule: Schedule
    settings: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.schedule.name

    def record(self) -> dict[str, Any]:
        """The CSV ``params`` entry: ``{"name": ..., setting: value, ...}`` (lists for step lists)."""
        out: dict[str, Any] = {"name": self.schedule.name}
        for k, v in self.settings.items():
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def scheduled_names(self, optimizer: Optimizer) -> tuple[str, ...]:
        """The optimizer hyperparameters this schedule sets each step (``lr``, maybe momentum)."""
        key = _momentum_key(self, optimizer)
        return ("lr",) if key is None else ("lr", key)

    def values(self, optimizer: Optimizer, hp: Mapping[str, HyperValue], max_steps: int) -> Iterator[dict[str, float]]:
        """The hyperparameters the schedule sets at optimizer steps 1, 2, ..., ``max_steps``.

        ``hp`` are the optimizer's resolved hyperparameters (``lr`` is the base learning rate). The
        iterator is lazy: a run that stops early never computes the rest.
        """
        key = _momentum_key(self, optimizer)
        group: dict[str, Any] = {"lr": float(hp["lr"])}
        if key is not None:
            group[key] = float(hp[key])
        try:
            port = self.schedule.make(group, self.settings, int(max_steps))
        except (ValueError, ZeroDivisionError) as exc:
            raise LandscapeError(f"schedule {self.schedule.name}: {exc}") from None
        return _drive(port, group, key, int(max_steps))

    def table(self, optimizer: Optimizer, hp: Mapping[str, HyperValue], steps: int) -> dict[str, np.ndarray]:
        """``{name: (steps,) values at steps 1..steps}``: e.g. the learning rate against step."""
        names = self.scheduled_names(optimizer)
        rows = list(self.values(optimizer, hp, steps))
        return {k: np.array([r[k] for r in rows], dtype=float) for k in names}


def _drive(port: "_Port", group: dict, key: str | None, max_steps: int) -> Iterator[dict[str, float]]:
    """A training loop's view: read the group before each optimizer step, step the scheduler after."""
    for t in range(1, max_steps + 1):
        out = {"lr": float(group["lr"])}
        if key is not None:
            out[key] = float(group[key])
        yield out
        if t < max_steps:
            port.step()


def _momentum_key(setting: ScheduleSetting, optimizer: Optimizer) -> str | None:
    """``beta1`` (torch ``betas[0]``) or ``momentum`` when the schedule cycles momentum, else None."""
    if not setting.settings.get("cycle_momentum", False):
        return None
    names = {h.name for h in optimizer.hyperparameters}
    if "beta1" in names:
        return "beta1"
    if "momentum" in names:
        return "momentum"
    raise LandscapeError(
        f"schedule {setting.schedule.name} cycles momentum, but {optimizer.name} has neither momentum nor beta1: "
        f"set cycle_momentum=false"
    )


# --------------------------------------------------------------------------------------------------
# Ports of torch.optim.lr_scheduler (torch 2.13), one parameter group, float learning rates.


class _Port:
    """``LRScheduler``: ``__init__`` (last_epoch=-1), ``_initial_step``, ``step``, ``_update_lr``."""

    has_closed_form = False

    def __init__(self, group: dict) -> None:
        self.group = group
        group.setdefault("initial_lr", group["lr"])
        self.base_lr = group["initial_lr"]
        self.last_epoch = -1
        self._is_initial = False
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self) -> None:
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            value = self.get_lr()
        else:
            self.last_epoch = epoch
            value = self.closed_form() if self.has_closed_form else self.get_lr()
        self.group["lr"] = value

    def get_lr(self) -> float:  # pragma: no cover - every port overrides it
        raise NotImplementedError

    def closed_form(self) -> float:  # pragma: no cover
        raise NotImplementedError


class _StepLR(_Port):
    has_closed_form = True

    def __init__(self, group: dict, step_size: int, gamma: float) -> None:
        self.step_size, self.gamma = step_size, gamma
        super().__init__(group)

    def get_lr(self) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.group["lr"]
        return self.group["lr"] * self.gamma

    def closed_form(self) -> float:
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class _MultiStepLR(_Port):
    has_closed_form = True

    def __init__(self, group: dict, milestones: Sequence[int], gamma: float) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(group)

    def get_lr(self) -> float:
        if self.last_epoch not in self.milestones:
            return self.group["lr"]
        return self.group["lr"] * self.gamma ** self.milestones[self.last_epoch]

    def closed_form(self) -> float:
        milestones = sorted(self.milestones.elements())
        return self.base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)


class _LinearLR(_Port):
    has_closed_form = True

    def __init__(self, group: dict, start_factor: float, end_factor: float, total_iters: int) -> None:
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(group)

    def get_lr(self) -> float:
        if self.last_epoch == 0:
            return self.group["lr"] * self.start_factor
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.group["lr"]
        return self.group["lr"] * (
            1.0 + (self.end_factor - self.start_factor)
            / (self.total_iters * self.start_factor + (self.last_epoch - 1) * (self.end_factor - self.start_factor))
        )

    def closed_form(self) -> float:
        return self.base_lr * (
            self.start_factor
            + (self.end_factor - self.start_factor) * min(self.total_iters, self.last_epoch) / self.total_iters
        )


class _ExponentialLR(_Port):
    has_closed_form = True

    def __init__(self, group: dict, gamma: float) -> None:
        self.gamma = gamma
        super().__init__(group)

    def get_lr(self) -> float:
        if self._is_initial:
            return self.group["lr"]
        return self.group["lr"] * self.gamma

    def closed_form(self) -> float:
        return self.base_lr * self.gamma ** self.last_epoch


class _CosineAnnealingLR(_Port):
    has_closed_form = True

    def __init__(self, group: dict, T_max: int, eta_min: float) -> None:
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(group)

    def get_lr(self) -> float:
        lr = self.group["lr"]
        if self._is_initial:
            return lr
        if self._step_count == 1 and self.last_epoch > 0:
            return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return lr + (self.base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        return (
            (1 + math.cos(math.pi * self.last_epoch / self.T_max))
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
            * (lr - self.eta_min)
            + self.eta_min
        )

    def closed_form(self) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class _SequentialLR(_Port):
    """``SequentialLR``: the sub-schedulers are built first (their initial steps touch the group),
    then the group's lr is reset, every sub-scheduler's epoch undone, and the first re-initialised."""

    def __init__(self, group: dict, schedulers: list[_Port], milestones: list[int]) -> None:
        self.group = group
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = 0
        group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()


def _set_momentum(group: dict, value: float) -> None:
    for key in ("beta1", "momentum"):
        if key in group:
            group[key] = value
            return


class _CyclicLR(_Port):
    def __init__(self, group: dict, base_lr: float, max_lr: float, step_size_up: int, step_size_down: int | None,
                 mode: str, gamma: float, cycle_momentum: bool, base_momentum: float, max_momentum: float) -> None:
        group["lr"] = base_lr
        self.max_lr = max_lr
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma = mode, gamma
        self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentum, self.max_momentum = base_momentum, max_momentum
            _set_momentum(group, max_momentum)
        super().__init__(group)
        self.base_lr = base_lr

    def scale_fn(self, x: float) -> float:
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> float:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        base_height = (self.max_lr - self.base_lr) * scale_factor
        arg = cycle if self.scale_mode == "cycle" else self.last_epoch
        lr = self.base_lr + base_height * self.scale_fn(arg)
        if self.cycle_momentum:
            base_height = (self.max_momentum - self.base_momentum) * scale_factor
            _set_momentum(self.group, self.max_momentum - base_height * self.scale_fn(arg))
        return lr


class _OneCycleLR(_Port):
    def __init__(self, group: dict, max_lr: float, total_steps: int, pct_start: float, anneal_strategy: str,
                 cycle_momentum: bool, base_momentum: float, max_momentum: float, div_factor: float,
                 final_div_factor: float, three_phase: bool) -> None:
        self.total_steps = total_steps
        if three_phase:
            self.phases = [
                (float(pct_start * total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (float(pct_start * total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        self.anneal_strategy = anneal_strategy
        group["initial_lr"] = max_lr / div_factor
        group["max_lr"] = max_lr
        group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _set_momentum(group, max_momentum)
            group["max_momentum"] = max_momentum
            group["base_momentum"] = base_momentum
        super().__init__(group)

    def anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def get_lr(self) -> float:
        group = self.group
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"stepped {step_num} times, but total_steps is {self.total_steps}")
        start_step = 0.0
        for i, (end_step, s_lr, e_lr, s_m, e_m) in enumerate(self.phases):
            if step_num <= end_step or i == len(self.phases) - 1:
                pct = (step_num - start_step) / (end_step - start_step)
                lr = self.anneal(group[s_lr], group[e_lr], pct)
                if self.cycle_momentum:
                    _set_momentum(group, self.anneal(group[s_m], group[e_m], pct))
                return lr
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------------------
# Registry


def _plugin_schedule(obj: Any) -> Schedule:
    """What an entry point gives (a :class:`Schedule`, or a zero-argument callable returning one),
    with its declared defaults checked."""
    sched = obj() if callable(obj) and not isinstance(obj, Schedule) else obj
    if not isinstance(sched, Schedule):
        raise LandscapeError(f"entry point gives {type(sched).__name__}, not a Schedule")
    sched.resolve()
    return sched


REGISTRY: plugins.Registry[Schedule] = plugins.Registry("schedule", ENTRY_POINT_GROUP, _plugin_schedule)
"""Built-in schedules, then the installed plugins of :data:`ENTRY_POINT_GROUP`, found and isolated
exactly as optimizer plugins are (:class:`landscape_gui.core.plugins.Registry`)."""
_BUILTINS = REGISTRY.builtins


def register_schedule(schedule: Schedule) -> Schedule:
    """Add a built-in schedule (a later registration under the same name replaces it)."""
    return REGISTRY.register(schedule)


def reload_plugins() -> None:
    """Forget the loaded plugins so the next registry call scans the installed entry points again."""
    REGISTRY.reload()


def schedules() -> dict[str, Schedule]:
    """Every schedule by name: built-ins first, then installed plugins (built-ins win a name clash)."""
    return REGISTRY.all()


def schedule_names() -> list[str]:
    return list(schedules())


def plugin_errors() -> list[str]:
    """Messages for schedule plugins that failed to load (shown by ``list schedules`` and the GUI)."""
    return REGISTRY.errors()


def get_schedule(name: str) -> Schedule:
    """The schedule called ``name``; unknown names raise :class:`LandscapeError` listing the valid ones
    (or saying why the installed plugin of that name failed to load)."""
    table = schedules()
    if name not in table:
        failed = REGISTRY.failure(name)
        if failed is not None:
            raise LandscapeError(f"unknown schedule {name!r}: the installed plugin of that name failed to load: "
                                 f"{failed}")
        raise LandscapeError(f"unknown schedule {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def make_schedule(schedule: Schedule | str, settings: Mapping[str, Any] | None = None) -> ScheduleSetting:
    """A schedule (or its name) with ``settings`` applied over the declared defaults, validated."""
    s = get_schedule(schedule) if isinstance(schedule, str) else schedule
    return ScheduleSetting(s, s.resolve(settings))


# --------------------------------------------------------------------------------------------------
# Built-ins


def _gamma(default: float, text: str) -> Hyperparameter:
    return Hyperparameter("gamma", default, text, low=0.0)


def _cycle_momentum_hps(base: float, top: float) -> tuple[Hyperparameter, ...]:
    return (
        Hyperparameter("cycle_momentum", True, "also cycle the momentum (beta1 for Adam-like optimizers) inversely "
                       "to the learning rate, between base_momentum and max_momentum"),
        Hyperparameter("base_momentum", base, "momentum at the learning rate's peak", low=0.0, high=1.0,
                       high_open=True),
        Hyperparameter("max_momentum", top, "momentum at the learning rate's lowest", low=0.0, high=1.0,
                       high_open=True),
    )


def _or_steps(value: int, max_steps: int) -> int:
    return value if value > 0 else max_steps


register_schedule(Schedule(
    "step", "StepLR: multiply the learning rate by gamma every step_size steps",
    (
        Hyperparameter("step_size", 100, "decay every this many steps (torch: required)", low=1),
        _gamma(0.1, "factor applied at each decay"),
    ),
    lambda g, s, n: _StepLR(g, s["step_size"], s["gamma"]),
    "torch.optim.lr_scheduler.StepLR", "StepLR",
))

register_schedule(Schedule(
    "multistep", "MultiStepLR: multiply the learning rate by gamma at each milestone step",
    (
        StepList("milestones", (250, 500, 750), "steps at which to decay (torch: required)", low=1),
        _gamma(0.1, "factor applied at each milestone"),
    ),
    lambda g, s, n: _MultiStepLR(g, s["milestones"], s["gamma"]),
    "torch.optim.lr_scheduler.MultiStepLR", "MultiStepLR",
))

register_schedule(Schedule(
    "exponential", "ExponentialLR: multiply the learning rate by gamma every step",
    (_gamma(0.995, "factor applied every step (torch: required)"),),
    lambda g, s, n: _ExponentialLR(g, s["gamma"]),
    "torch.optim.lr_scheduler.ExponentialLR", "ExponentialLR",
))

register_schedule(Schedule(
    "cosine", "CosineAnnealingLR: anneal the learning rate to eta_min along a half cosine over T_max steps",
    (
        Hyperparameter("T_max", 0, "steps in the half period (torch: required); 0 = the run's max steps", low=0),
        Hyperparameter("eta_min", 0.0, "the lowest learning rate", low=0.0),
    ),
    lambda g, s, n: _CosineAnnealingLR(g, _or_steps(s["T_max"], n), s["eta_min"]),
    "Loshchilov & Hutter 2017, SGDR (arXiv:1608.03983); torch.optim.lr_scheduler.CosineAnnealingLR",
    "CosineAnnealingLR",
))


register_schedule(Schedule(
    "linear", "LinearLR: scale the learning rate by a factor going linearly from start_factor to end_factor",
    (
        Hyperparameter("start_factor", 1.0 / 3, "factor at the first step", low=0.0, low_open=True, high=1.0),
        Hyperparameter("end_factor", 1.0, "factor from total_iters on", low=0.0, high=1.0),
        Hyperparameter("total_iters", 5, "steps to go from start_factor to end_factor", low=1),
    ),
    lambda g, s, n: _LinearLR(g, s["start_factor"], s["end_factor"], s["total_iters"]),
    "Goyal et al. 2017 (arXiv:1706.02677), linear warm-up; torch.optim.lr_scheduler.LinearLR", "LinearLR",
))


def _onecycle(g: dict, s: Mapping[str, Any], n: int) -> _OneCycleLR:
    total = _or_steps(s["total_steps"], n)
    if n > total:
        raise ValueError(f"total_steps={total} is less than the max steps ({n}); set total_steps >= max steps "
                         f"or 0 (= max steps)")
    return _OneCycleLR(g, s["max_lr"] if s["max_lr"] > 0 else g["lr"], total, s["pct_start"], s["anneal_strategy"],
                       s["cycle_momentum"], s["base_momentum"], s["max_momentum"], s["div_factor"],
                       s["final_div_factor"], s["three_phase"])


register_schedule(Schedule(
    "onecycle", "OneCycleLR: warm up to max_lr, then anneal far below the start (super-convergence)",
    (
        Hyperparameter("max_lr", 0.0, "peak learning rate (torch: required); 0 = the optimizer's lr", low=0.0),
        Hyperparameter("total_steps", 0, "steps in the cycle; 0 = the run's max steps", low=0),
        Hyperparameter("pct_start", 0.3, "share of the cycle spent warming up", low=0.0, high=1.0),
        Choice("anneal_strategy", "cos", "annealing shape", choices=("cos", "linear")),
        *_cycle_momentum_hps(0.85, 0.95),
        Hyperparameter("div_factor", 25.0, "initial lr = max_lr / div_factor", low=0.0, low_open=True),
        Hyperparameter("final_div_factor", 1e4, "final lr = initial lr / final_div_factor", low=0.0, low_open=True),
        Hyperparameter("three_phase", False, "anneal back to the initial lr before the final decay (Smith's "
                       "original three phases) instead of fastai's two"),
    ),
    _onecycle,
    "Smith & Topin 2019, Super-convergence (arXiv:1708.07120); torch.optim.lr_scheduler.OneCycleLR", "OneCycleLR",
))


def _cyclic(g: dict, s: Mapping[str, Any], n: int) -> _CyclicLR:
    base = s["base_lr"] if s["base_lr"] > 0 else g["lr"]
    top = s["max_lr"] if s["max_lr"] > 0 else 4.0 * base
    down = s["step_size_down"] if s["step_size_down"] > 0 else None
    return _CyclicLR(g, base, top, s["step_size_up"], down, s["mode"], s["gamma"], s["cycle_momentum"],
                     s["base_momentum"], s["max_momentum"])


register_schedule(Schedule(
    "cyclic", "CyclicLR: triangle waves between base_lr and max_lr (Smith's cyclical learning rates)",
    (
        Hyperparameter("base_lr", 0.0, "lower learning rate of the cycle (torch: required); 0 = the optimizer's lr",
                       low=0.0),
        Hyperparameter("max_lr", 0.0, "upper learning rate of the cycle (torch: required); 0 = 4 × base_lr",
                       low=0.0),
        Hyperparameter("step_size_up", 100, "steps in the rising half (torch default 2000; 100 here suits runs "
                       "of about 1000 steps)", low=1),
        Hyperparameter("step_size_down", 0, "steps in the falling half; 0 = step_size_up (torch None)", low=0),
        Choice("mode", "triangular", "triangular: constant height; triangular2: height halves each cycle; "
               "exp_range: height times gamma**step", choices=("triangular", "triangular2", "exp_range")),
        _gamma(1.0, "exp_range only: the height shrinks by gamma**step"),
        *_cycle_momentum_hps(0.8, 0.9),
    ),
    _cyclic,
    "Smith 2017, Cyclical learning rates for training neural networks (arXiv:1506.01186); "
    "torch.optim.lr_scheduler.CyclicLR", "CyclicLR",
))


def _warmup_cosine(g: dict, s: Mapping[str, Any], n: int) -> _SequentialLR:
    warm = s["warmup_steps"]
    t_max = s["T_max"] if s["T_max"] > 0 else max(n - warm, 1)
    linear = _LinearLR(g, s["start_factor"], 1.0, warm)
    cosine = _CosineAnnealingLR(g, t_max, s["eta_min"])
    return _SequentialLR(g, [linear, cosine], [warm])


register_schedule(Schedule(
    "warmup_cosine", "SequentialLR of LinearLR then CosineAnnealingLR: linear warm-up, then cosine annealing",
    (
        Hyperparameter("warmup_steps", 50, "steps of linear warm-up (LinearLR total_iters and SequentialLR's "
                       "milestone)", low=1),
        Hyperparameter("start_factor", 0.1, "learning-rate factor at the first warm-up step (LinearLR "
                       "start_factor; torch default 1/3)", low=0.0, low_open=True, high=1.0),
        Hyperparameter("T_max", 0, "cosine half period in steps; 0 = max steps - warmup_steps", low=0),
        Hyperparameter("eta_min", 0.0, "the lowest learning rate", low=0.0),
    ),
    _warmup_cosine,
    "Goyal et al. 2017 (warm-up) and Loshchilov & Hutter 2017 (cosine); torch.optim.lr_scheduler.SequentialLR",
    "SequentialLR",
))


def describe(setting: ScheduleSetting) -> str:
    """One line for summaries: ``cosine(T_max=0, eta_min=0)``."""
    parts = []
    for k, v in setting.settings.items():
        text = ",".join(str(x) for x in v) if isinstance(v, tuple) else (_fmt(v) if isinstance(v, float) else str(v))
        parts.append(f"{k}={text}")
    return f"{setting.name}({', '.join(parts)})"


__all__ = [
    "Choice", "ENTRY_POINT_GROUP", "Schedule", "ScheduleSetting", "StepList", "describe", "get_schedule",
    "make_schedule", "plugin_errors", "register_schedule", "reload_plugins", "schedule_names", "schedules",
]
