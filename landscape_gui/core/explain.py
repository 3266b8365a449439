"""Explain an optimizer step: the vectors that make up the update, and a narrated walk through it.

An optimizer may describe its update (the optional ``Optimizer.explain`` field): given the state
before step ``t``, the position, the gradient there, the hyperparameters and ``t``, it returns a
:class:`StepExplanation`:

* ``components``: vectors whose sum is the step actually taken, to rounding (e.g. for momentum SGD
  ``−lr·μ·b_{t−1}`` carried by momentum plus ``−lr·(1−dampening)·g`` from this gradient), each with a
  one-line explanation. Drawn head to tail from the position they end at the new position.
* ``arrows``: every vector worth drawing from the position, of a fixed *kind*
  (:data:`VECTOR_KINDS`): the gradient, its negative, the optimizer's state vectors (velocity,
  Nesterov look-ahead, the running squared gradient as a per-axis scale, Adam's bias-corrected first
  moment) and the step. A view gives each kind one colour and one legend entry; it needs no
  per-optimizer code.
* ``stages``: the update told one operation at a time ("compute the gradient", "decay the momentum",
  "add the gradient", "scale by the root of the running square", "take the step"), each with a plain
  narration that quotes its numbers (formatted by :func:`format_vector` / :func:`format_number`), the
  arrows to show at that stage and the scalars involved (``lr``, ``beta1``, ...).

Optimizers without ``explain`` get :func:`explain_generic`: the gradient and the step only.

Everything is derived from a recorded :class:`~landscape_gui.core.runs.Run` without touching the
surface: :class:`RunExplainer` replays the optimizer's ``init``/``update`` over the recorded positions
and gradients (checking that each replayed position equals the recorded one) to get the state before
every step, then asks the optimizer to explain it.

Step numbering: explanation ``k`` (``0 <= k < run.steps``) is update number ``t = k + 1``: it starts at
recorded row ``k`` (position and gradient there) and ends at row ``k + 1``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from landscape_gui.core.errors import LandscapeError

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.optimizers import Optimizer
    from landscape_gui.core.runs import Run

VECTOR_KINDS: dict[str, str] = {
    "gradient": "gradient ∇f (points uphill)",
    "neg_gradient": "negative gradient −∇f (steepest descent)",
    "velocity": "momentum / velocity buffer",
    "lookahead": "Nesterov look-ahead direction",
    "first_moment": "bias-corrected first moment m̂ (running mean of the gradient)",
    "scale": "per-axis scale: root of the running squared gradient",
    "gradient_term": "part of the step from this step's gradient",
    "momentum_term": "part of the step carried by momentum",
    "decay_term": "part of the step from weight decay",
    "step": "the step taken",
}
"""Stable kind keys of explained vectors, in legend order, with their legend text. A view maps each
key to one fixed colour. ``*_term`` kinds are components (summands of the step); the rest are arrows."""

COMPONENT_KINDS = ("gradient_term", "momentum_term", "decay_term", "step")
"""Kinds a component may have (``step`` only for the generic fallback, whose one component is the step)."""

STAGE_KEYS: dict[str, str] = {
    "gradient": "compute the gradient",
    "weight_decay": "add weight decay",
    "decay_momentum": "decay the momentum",
    "add_gradient": "add the gradient",
    "running_square": "update the running square",
    "bias_correction": "correct the bias",
    "rectify": "rectify the variance",
    "lookahead": "look ahead",
    "scale": "scale by the root of the running square",
    "mix": "mix gradient and momentum",
    "step": "take the step",
    "average": "update the average",
}
"""Stable stage keys and their default titles (an optimizer may reword a title; the key is fixed)."""


def format_number(x: float) -> str:
    """A number as narrations show it: 4 significant digits (``0.1``, ``-3.142``, ``1.5e-08``)."""
    return f"{float(x):.4g}"


def format_vector(v: Sequence[float] | np.ndarray) -> str:
    """A vector as narrations show it: ``(1.5, -0.25)``; longer than 4 entries, its length ``|v| = ...``."""
    arr = np.asarray(v, dtype=float).ravel()
    if arr.size <= 4:
        return "(" + ", ".join(format_number(c) for c in arr) + ")"
    return f"|v| = {format_number(float(np.linalg.norm(arr)))}"


@dataclass(frozen=True)
class Arrow:
    """One explained vector, in the data's units.

    Attributes:
        kind: a key of :data:`VECTOR_KINDS` (decides the colour and legend entry).
        label: short label with its symbol, e.g. ``"b_t (velocity)"``.
        value: ``(d,)`` the vector.
        text: one-line explanation in plain words.
    """

    kind: str
    label: str
    value: np.ndarray
    text: str


@dataclass(frozen=True)
class Stage:
    """One stage of the narrated step.

    Attributes:
        key: a key of :data:`STAGE_KEYS` (stable; the title may be reworded).
        title: e.g. ``"decay the momentum"``.
        narration: plain words quoting this stage's numbers.
        arrows: what to draw at this stage.
        numbers: the scalars this stage uses (``lr``, ``beta1``, a bias correction, ...).
    """

    key: str
    title: str
    narration: str
    arrows: tuple[Arrow, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepExplanation:
    """Why update number ``step`` went where it went.

    Attributes:
        step: update number ``t`` (from 1): it moves ``position`` (row ``t − 1`` of the run) to
            ``new_position`` (row ``t``).
        position, gradient, new_position: ``(d,)`` each.
        arrows: vectors to draw from ``position`` (gradient, state vectors, step), by kind.
        components: summands of the step (``sum == new_position − position`` to rounding).
        stages: the narrated walk through the update, in order; the last is ``"step"``.
    """

    step: int
    position: np.ndarray
    gradient: np.ndarray
    new_position: np.ndarray
    arrows: tuple[Arrow, ...]
    components: tuple[Arrow, ...]
    stages: tuple[Stage, ...]

    @property
    def step_vector(self) -> np.ndarray:
        """``new_position − position``."""
        return self.new_position - self.position

    def arrow(self, kind: str) -> Arrow | None:
        """The first arrow of ``kind``, or ``None``."""
        return next((a for a in self.arrows if a.kind == kind), None)


ExplainFn = Callable[[np.ndarray, np.ndarray, Mapping[str, np.ndarray], Mapping[str, Any], int], StepExplanation]
"""``explain(params, grads, state, hp, step) -> StepExplanation`` for ONE run: ``params``/``grads`` are
``(1, d)`` and ``state`` the state before update ``step`` with leading dimension 1 (as ``update``
would see them). Must not mutate its arguments."""


def _row(v: Any) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    return np.array(arr[0] if arr.ndim == 2 else arr, dtype=float)


class ExplanationBuilder:
    """Collects arrows, components and stages for one step; optimizers' ``explain`` functions use it.

    Values may be given as ``(d,)`` or ``(1, d)`` arrays (the first row is taken).
    """

    def __init__(self, params: np.ndarray, grads: np.ndarray, new_params: np.ndarray, step: int) -> None:
        self.step = int(step)
        self.position = _row(params)
        self.gradient = _row(grads)
        self.new_position = _row(new_params)
        self._arrows: list[Arrow] = []
        self._components: list[Arrow] = []
        self._stages: list[Stage] = []

    @property
    def step_vector(self) -> np.ndarray:
        return self.new_position - self.position

    def arrow(self, kind: str, label: str, value: Any, text: str) -> Arrow:
        """Add a vector to draw from the position."""
        if kind not in VECTOR_KINDS:
            raise ValueError(f"unknown vector kind {kind!r}")
        a = Arrow(kind, label, _row(value), text)
        self._arrows.append(a)
        return a

    def vector(self, kind: str, label: str, value: Any, text: str) -> Arrow:
        """A vector for one stage only (e.g. the decayed momentum), not added to :attr:`arrows`."""
        if kind not in VECTOR_KINDS:
            raise ValueError(f"unknown vector kind {kind!r}")
        return Arrow(kind, label, _row(value), text)

    def component(self, kind: str, label: str, value: Any, text: str) -> Arrow | None:
        """Add a summand of the step (an exactly zero one is left out: it adds nothing)."""
        if kind not in COMPONENT_KINDS:
            raise ValueError(f"unknown component kind {kind!r}")
        a = Arrow(kind, label, _row(value), text)
        if not np.any(a.value):
            return None
        self._components.append(a)
        return a

    def stage(self, key: str, narration: str, arrows: Sequence[Arrow] = (), title: str | None = None,
              **numbers: float) -> Stage:
        """Add the next narrated stage."""
        if key not in STAGE_KEYS:
            raise ValueError(f"unknown stage key {key!r}")
        s = Stage(key, title or STAGE_KEYS[key], narration, tuple(arrows), {k: float(v) for k, v in numbers.items()})
        self._stages.append(s)
        return s

    def gradient_stage(self, maximize: bool = False) -> tuple[Arrow, Arrow]:
        """The common first stage: the gradient and its negative at the position."""
        g = self.gradient
        up = self.arrow("gradient", "∇f (gradient)", g, "the gradient: the direction in which the loss rises fastest")
        down = self.arrow("neg_gradient", "−∇f", -g, "the negative gradient: steepest descent")
        where = format_vector(self.position)
        if maximize:
            text = (f"At {where} the gradient is {format_vector(g)}. It points uphill and maximize is on, "
                    f"so this optimizer climbs: it uses −∇f = {format_vector(-g)} as its gradient.")
        else:
            text = (f"At {where} the gradient is {format_vector(g)}. It points uphill, so descent moves "
                    f"against it, along −∇f = {format_vector(-g)}.")
        self.stage("gradient", text, (up, down))
        return up, down

    def step_arrow(self) -> Arrow:
        return self.arrow("step", "Δ (step)", self.step_vector, "the step taken, from this point to the next")

    def step_stage(self, narration: str, **numbers: float) -> Stage:
        """The last stage: ``narration`` (which should quote ``lr``) followed by the step and its parts."""
        step = self.arrow("step", "Δ (step)", self.step_vector, "the step taken, from this point to the next")
        parts = "; ".join(f"{c.label} = {format_vector(c.value)}" for c in self._components)
        text = f"{narration} So Δ = {format_vector(step.value)}"
        text += f", the sum of {parts}." if len(self._components) > 1 else "."
        text += f" The new position is {format_vector(self.new_position)}."
        return self.stage("step", text, (step, *self._components), **numbers)

    def build(self) -> StepExplanation:
        return StepExplanation(self.step, self.position, self.gradient, self.new_position, tuple(self._arrows),
                               tuple(self._components), tuple(self._stages))


def basic_explanation(params: np.ndarray, grads: np.ndarray, new_params: np.ndarray, step: int,
                      lr: float | None = None) -> StepExplanation:
    """Gradient and step only: for optimizers without ``explain`` and for runs that cannot be replayed."""
    b = ExplanationBuilder(params, grads, new_params, step)
    b.gradient_stage()
    b.component("step", "Δ", b.step_vector, "the whole step (this optimizer does not break it down)")
    if lr is None:
        b.step_stage("The optimizer turns the gradient into a step.")
    else:
        b.step_stage(f"The optimizer turns the gradient into a step with learning rate lr = {format_number(lr)}.", lr=lr)
    return b.build()


def copy_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A deep copy of an optimizer state (``update`` may mutate the arrays it is given)."""
    return {k: np.array(v, copy=True) for k, v in state.items()}


def explain_generic(optimizer: "Optimizer", params: np.ndarray, grads: np.ndarray, state: Mapping[str, np.ndarray],
                    hp: Mapping[str, Any], step: int) -> StepExplanation:
    """The fallback explanation: run ``optimizer.update`` on a copy and show the gradient and the step."""
    new, _ = optimizer.update(np.array(params, dtype=float), np.array(grads, dtype=float), copy_state(state), hp, step)
    lr = hp.get("lr")
    return basic_explanation(params, grads, new, step, lr if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None)


def explain(optimizer: "Optimizer", params: np.ndarray, grads: np.ndarray, state: Mapping[str, np.ndarray],
            hp: Mapping[str, Any], step: int) -> StepExplanation:
    """``optimizer.explain`` if it has one, else :func:`explain_generic`. Inputs are for one run,
    ``(1, d)``; they are not mutated."""
    params = np.asarray(params, dtype=float).reshape(1, -1)
    grads = np.asarray(grads, dtype=float).reshape(1, -1)
    fn = getattr(optimizer, "explain", None)
    if fn is None:
        return explain_generic(optimizer, params, grads, state, hp, step)
    return fn(params, grads, copy_state(state), hp, step)


class RunExplainer:
    """Explanations of every step of a recorded run, derived from the record alone.

    Construction replays the optimizer's ``init``/``update`` over the recorded positions and
    gradients (no surface evaluation) and keeps the state before each step; :meth:`explain` then
    builds (and caches) the explanation of any step on demand.

    Each replayed position must equal the recorded one (relative 1e-9; in practice they are equal bit
    for bit). If the run cannot be replayed (its optimizer is not installed, its settings are invalid,
    or a replayed position disagrees) a :class:`LandscapeError` is raised, unless ``strict=False``:
    then :attr:`problem` says why and every step gets :func:`basic_explanation` from the record.
    """

    def __init__(self, run: "Run", optimizer: "Optimizer | None" = None, *, strict: bool = True) -> None:
        from landscape_gui.core.optimizers import get_optimizer

        self.run = run
        self.problem: str | None = None
        self._cache: dict[int, StepExplanation] = {}
        self._states: list[dict[str, np.ndarray]] = []
        self.optimizer: "Optimizer | None" = None
        self.hp: dict[str, Any] = {}
        self.replay_error = 0.0
        """Largest relative difference between a replayed and a recorded position (0.0: bit for bit)."""
        self._hp_steps: list[dict[str, Any]] | None = None
        self._noise: Any = None
        try:
            self.optimizer = optimizer if optimizer is not None else get_optimizer(run.optimizer)
            params = {k: v for k, v in run.params.items() if k not in ("schedule", "noise")}
            self.hp = self.optimizer.resolve(params)
            self._read_schedule_and_noise()
            self._replay()
        except LandscapeError as exc:
            if strict:
                raise
            self.problem = str(exc)
            self._states = []

    def _read_schedule_and_noise(self) -> None:
        """A run recorded under a schedule replays with the schedule's values step by step; one with
        additive gradient noise with the same keyed draws (the record keeps the true gradient)."""
        assert self.optimizer is not None
        sched = self.run.params.get("schedule")
        if sched is not None:
            from landscape_gui.core.schedules import make_schedule

            if not isinstance(sched, dict) or not isinstance(sched.get("name"), str):
                raise LandscapeError(f"run {self.run.id}: its schedule record {sched!r} is not readable")
            setting = make_schedule(sched["name"], {k: v for k, v in sched.items() if k != "name"})
            self._hp_steps = list(setting.values(self.optimizer, self.hp, max(self.run.steps, 1)))
        noise = self.run.params.get("noise")
        if noise is not None:
            from landscape_gui.core.noise import GradientNoise

            if not isinstance(noise, dict):
                raise LandscapeError(f"run {self.run.id}: its noise record {noise!r} is not readable")
            self._noise = GradientNoise(noise.get("scale", 0.0), noise.get("seed", 0), noise.get("batch_size", 0))
            if self._noise.batch_size:
                raise LandscapeError(f"run {self.run.id} used mini-batch gradients, which its record does not keep: "
                                     "it cannot be replayed")

    def hp_at(self, k: int) -> dict[str, Any]:
        """The hyperparameters update ``k + 1`` used (the schedule's values over :attr:`hp`)."""
        if self._hp_steps is None:
            return self.hp
        return {**self.hp, **self._hp_steps[k]}

    def grad_used(self, k: int) -> np.ndarray:
        """``(1, d)``: the gradient update ``k + 1`` used (the recorded one plus its noise draw)."""
        g = np.asarray(self.run.grads[k:k + 1], dtype=float).copy()
        if self._noise is None or not self._noise.active:
            return g
        from landscape_gui.core.noise import standard_normals

        return g + self._noise.scale * standard_normals(self._noise.seed, [self.run.id], k + 1, g.shape[1])

    def _replay(self) -> None:
        assert self.optimizer is not None
        P = np.asarray(self.run.positions, dtype=float)
        n = len(P) - 1
        replayed = np.empty((max(n, 0), P.shape[1] if P.ndim == 2 else 2))
        state = self.optimizer.init(P[:1].copy(), self.hp_at(0) if n > 0 else self.hp)
        done = 0
        try:
            for k in range(n):
                self._states.append(copy_state(state))
                new, state = self.optimizer.update(P[k:k + 1].copy(), self.grad_used(k), state, self.hp_at(k), k + 1)
                replayed[k] = new[0]
                done = k + 1
        finally:
            # Replayed positions are compared with the record in one pass (a comparison per step
            # cost more than the update itself); the first disagreement is reported, also when a
            # later update raised.
            self._check(replayed[:done], P[1:done + 1])

    def _check(self, replayed: np.ndarray, recorded: np.ndarray) -> None:
        """Set :attr:`replay_error` and raise at the first step whose replayed position is not the
        recorded one (relative 1e-9, absolute 1e-12)."""
        if not len(replayed):
            return
        diff = np.max(np.abs(replayed - recorded) / np.maximum(np.abs(recorded), 1e-300), axis=1, initial=0.0)
        diff = np.where(np.isfinite(diff), diff, np.inf)
        bad = np.flatnonzero(~np.isclose(replayed, recorded, rtol=1e-9, atol=1e-12).all(axis=1))
        last = int(bad[0]) if len(bad) else len(replayed) - 1
        self.replay_error = max(self.replay_error, float(diff[: last + 1].max()))
        if len(bad):
            assert self.optimizer is not None
            raise LandscapeError(
                f"run {self.run.id}: replaying {self.optimizer.name} from the record gives "
                f"{format_vector(replayed[last])} at step {last + 1}, not the recorded {format_vector(recorded[last])}; "
                "the run was made with other settings"
            )

    @property
    def replayed(self) -> bool:
        """True when the optimizer's own explanations are available."""
        return self.problem is None

    def __len__(self) -> int:
        return self.run.steps

    def state_before(self, k: int) -> dict[str, np.ndarray]:
        """A copy of the optimizer state before update ``k + 1`` (leading dimension 1)."""
        if not self.replayed:
            raise LandscapeError(self.problem or "run not replayed")
        return copy_state(self._states[self._index(k)])

    def _index(self, k: int) -> int:
        if self.run.steps == 0:
            raise LandscapeError(f"run {self.run.id} took no steps: there is nothing to explain")
        if not isinstance(k, (int, np.integer)) or not 0 <= k < self.run.steps:
            raise LandscapeError(f"run {self.run.id} has steps 0 to {self.run.steps - 1} to explain, not {k!r}")
        return int(k)

    def explain(self, k: int) -> StepExplanation:
        """The explanation of update ``k + 1``: from recorded row ``k`` to row ``k + 1``."""
        k = self._index(k)
        if k not in self._cache:
            P, G = self.run.positions, self.run.grads
            if self.replayed:
                assert self.optimizer is not None
                out = explain(self.optimizer, P[k:k + 1], self.grad_used(k), self._states[k], self.hp_at(k), k + 1)
                # Anchor on the record: the step shown is the step recorded.
                out = _anchor(out, P[k], P[k + 1])
            else:
                lr = self.run.params.get("lr")
                out = basic_explanation(P[k], G[k], P[k + 1], k + 1,
                                        float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None)
            self._cache[k] = out
        return self._cache[k]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self.explain(k) for k in range(len(self)))


def _anchor(e: StepExplanation, position: np.ndarray, new_position: np.ndarray) -> StepExplanation:
    if np.array_equal(e.position, position) and np.array_equal(e.new_position, new_position):
        return e
    return StepExplanation(e.step, np.array(position, dtype=float), e.gradient, np.array(new_position, dtype=float),
                           e.arrows, e.components, e.stages)


def explain_run(run: "Run", optimizer: "Optimizer | None" = None) -> list[StepExplanation]:
    """Every step of ``run`` explained (``run.steps`` items); see :class:`RunExplainer`."""
    return list(RunExplainer(run, optimizer))


def explain_step(run: "Run", k: int, optimizer: "Optimizer | None" = None) -> StepExplanation:
    """Update ``k + 1`` of ``run`` explained (replays the first ``k`` updates)."""
    return RunExplainer(_truncated(run, k + 1), optimizer).explain(k)


def _truncated(run: "Run", rows_after_start: int) -> "Run":
    """A shallow copy of ``run`` keeping rows ``0..rows_after_start`` (to replay only what is needed)."""
    if not isinstance(rows_after_start, (int, np.integer)) or not 1 <= rows_after_start <= run.steps:
        return run
    out = copy.copy(run)
    out.positions = run.positions[: rows_after_start + 1]
    out.losses = run.losses[: rows_after_start + 1]
    out.grads = run.grads[: rows_after_start + 1]
    return out


__all__ = [
    "Arrow", "COMPONENT_KINDS", "ExplainFn", "ExplanationBuilder", "RunExplainer", "STAGE_KEYS", "Stage",
    "StepExplanation", "VECTOR_KINDS", "basic_explanation", "copy_state", "explain", "explain_generic",
    "explain_run", "explain_step", "format_number", "format_vector",
]
