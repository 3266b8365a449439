"""A fair race between optimizers: each tuned with the same budget, then run from the same starts.

Comparing optimizers at their default settings mostly compares their defaults (pytorch-optimizer
issue #219, "Unfair comparison"; a short tuning window favours fast starters, and searching the
learning rate alone, issue #71, favours optimizers whose other settings happen to suit). So here:

1. **Objective** (lower is better inside, reported in its natural direction):
   ``final_loss`` — mean over the starts of the loss after ``steps`` updates, minus the global
   minimum ``f*`` (a diverged run counts as the highest loss on the map);
   ``steps_to_tol`` — mean over the starts of the first step with ``f − f* <= tol`` (``steps + 1``
   when never);
   ``global_share`` — the share of starts whose run ends within ``radius`` of a global minimum
   (higher is better).
2. **Search**: every optimizer gets the same number of trials (``budget``) of Optuna's TPE sampler
   (Bergstra, Bardenet, Bengio & Kégl 2011, "Algorithms for hyper-parameter optimization",
   NeurIPS; Akiba et al. 2019, "Optuna", KDD) seeded with ``seed``, over its *declared*
   hyperparameters (:class:`~landscape_gui.core.optimizers.Hyperparameter`). Trial 1 is always the
   optimizer's default setting, so tuning never reports worse than the defaults. Search ranges
   (:func:`search_space`), derived from each declaration:

   * ``lr``: log-uniform over ``[default/1000, default·100]`` around the *declared* default
     (widened to include trial 1's value), so an unlucky starting value does not narrow the search;
   * a float with both ends declared: uniform over them (an open end is kept 10⁻³ inside);
   * ``momentum`` (declared ``>= 0`` without an upper end): uniform over ``[0, 0.99]`` when its
     default is positive (``sgd`` stays plain SGD);
   * not searched by default: ``weight_decay`` (it changes the loss being minimised), ``eps`` (a
     numerical guard), ``dampening`` (rarely tuned, and inert without momentum) and flags
     (``maximize`` would climb); ask for them by name with ``tune``.

   Settings an optimizer refuses (e.g. Nesterov without momentum) score as the worst value.
3. **Race**: the best setting found for each optimizer runs from the same starts; the leaderboard
   ranks by the objective and says what was tuned, over which ranges, and how.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import find_critical_points
from landscape_gui.core.optimizers import Hyperparameter, Optimizer, get_optimizer
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import Bounds, Surface

OBJECTIVES = {
    "final_loss": "mean loss above the global minimum after the step budget (lower is better)",
    "steps_to_tol": "mean steps until the loss is within tol of the global minimum (lower is better)",
    "global_share": "share of starts ending at a global minimum (higher is better)",
}
NOT_TUNED_BY_DEFAULT = ("weight_decay", "eps", "dampening", "maximize")
MAX_BUDGET = 10_000


@dataclass(frozen=True)
class SearchRange:
    """How one hyperparameter is searched: ``kind`` is ``log``, ``uniform``, ``int`` or ``choice``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0

    def text(self) -> str:
        if self.kind == "choice":
            return f"{self.name} in {{false, true}}"
        scale = {"log": "log-uniform", "uniform": "uniform", "int": "whole numbers"}[self.kind]
        return f"{self.name} {scale} [{self.low:.6g}, {self.high:.6g}]"


def search_space(opt: Optimizer, tune: Sequence[str] | None = None,
                 base: Mapping[str, Any] | None = None) -> list[SearchRange]:
    """The ranges searched for ``opt`` (see the module docstring). ``tune`` names the
    hyperparameters to search (``None``: the default choice); ``base`` the setting trial 1 uses
    (the defaults if omitted)."""
    values = opt.resolve(base)
    if tune is not None:
        for n in tune:
            opt.hyperparameter(n)  # unknown names raise, listing the valid ones
    out = []
    for h in opt.hyperparameters:
        if tune is not None and h.name not in tune:
            continue
        r = _range(h, values[h.name], explicit=tune is not None)
        if r is not None:
            out.append(r)
        elif tune is not None:
            raise LandscapeError(f"{opt.name}.{h.name} has no range to search (default {h.default!r}, "
                                 f"declared {h.range_text()})")
    return out


def _range(h: Hyperparameter, value: Any, explicit: bool) -> SearchRange | None:
    if h.kind is bool:
        return SearchRange(h.name, "choice") if explicit and h.name != "maximize" else None
    if not explicit and h.name in NOT_TUNED_BY_DEFAULT:
        return None
    low, high = h.low, h.high
    if h.name == "lr" and h.default > 0:
        lo, hi = min(h.default / 1000.0, value), max(h.default * 100.0, value)
        if high is not None:
            hi = min(hi, high * (1 - 1e-3) if h.high_open else high)
        return SearchRange(h.name, "log", lo, hi)
    if low is not None and high is not None:
        lo = low + (1e-3 * (high - low) if h.low_open else 0.0)
        hi = high - (1e-3 * (high - low) if h.high_open else 0.0)
        return SearchRange(h.name, "int" if h.kind is int else "uniform", lo, hi)
    if h.name == "momentum" and (value > 0 or explicit):
        return SearchRange(h.name, "uniform", 0.0, 0.99)
    if explicit and low is not None and value > 0:
        return SearchRange(h.name, "log", value / 100.0, value * 100.0)
    return None


@dataclass
class Entry:
    """One optimizer's result: its default score, the tuned score and setting, and its runs."""

    optimizer: str
    score: float
    default_score: float
    best: dict[str, Any]
    tuned: list[SearchRange]
    trials: int
    runs: list[Run] = field(default_factory=list)
    rank: int = 0


@dataclass
class RaceResult:
    """The leaderboard (``entries`` best first) and how it was made."""

    entries: list[Entry]
    objective: str
    steps: int
    tol: float
    budget: int
    seed: int
    starts: np.ndarray
    f_star: float
    method: str

    def ranking(self) -> list[str]:
        return [e.optimizer for e in self.entries]


def global_minimum(surface: Surface, bounds: Bounds) -> tuple[float, list[tuple[float, float]]]:
    """``(f*, locations)`` of the lowest minimum: the catalogue's when it knows it, else the lowest
    critical point found by refining a 24×24 grid (:func:`landscape_gui.core.minima.find_critical_points`)."""
    known = [m for m in getattr(surface, "minima", ()) if m.is_global]
    if known:
        return min(m.value for m in known), [(m.x, m.y) for m in known]
    xmin, xmax, ymin, ymax = bounds
    g = np.stack(np.meshgrid(np.linspace(xmin, xmax, 24), np.linspace(ymin, ymax, 24), indexing="ij"), -1)
    pts = [c for c in find_critical_points(surface, g.reshape(-1, 2), bounds) if c.kind == "minimum"]
    if not pts:
        raise LandscapeError("no minimum found in the bounds: a race needs a surface with a minimum")
    f = min(c.loss for c in pts)
    return f, [(c.x, c.y) for c in pts if c.is_global or c.loss == f]


def _ceiling(surface: Surface, bounds: Bounds) -> float:
    xmin, xmax, ymin, ymax = bounds
    g = np.stack(np.meshgrid(np.linspace(xmin, xmax, 64), np.linspace(ymin, ymax, 64), indexing="ij"), -1)
    with np.errstate(all="ignore"):
        v = np.asarray(surface.value(g.reshape(-1, 2)), dtype=float)
    v = v[np.isfinite(v)]
    return float(v.max()) if len(v) else 1e300


def race(
    surface: Surface,
    optimizers: Sequence[str | Optimizer],
    starts: Any,
    *,
    objective: str = "final_loss",
    steps: int = 200,
    tol: float = 1e-3,
    radius: float | None = None,
    budget: int = 30,
    seed: int = 0,
    tune: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    base: Mapping[str, Mapping[str, Any]] | None = None,
    bounds: Bounds | None = None,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RaceResult:
    """Tune every optimizer with the same budget and starts, then rank them.

    Args:
        surface: the landscape.
        optimizers: names or :class:`Optimizer` objects (at least one, no repeats).
        starts: ``(n, 2)`` the starts every trial and the final race use.
        objective: one of :data:`OBJECTIVES`.
        steps: updates per run (the step budget).
        tol: ``steps_to_tol``: the loss gap to the global minimum that counts as arrived.
        radius: ``global_share``: distance to a global minimum that counts (default 1 % of the
            bounds' diagonal).
        budget: trials per optimizer (1 = defaults only).
        seed: the sampler's seed (same seed, same leaderboard).
        tune: hyperparameter names to search, for all optimizers or per optimizer name (default:
            see :func:`search_space`).
        base: per optimizer, overrides of the defaults that trial 1 uses (the "as shipped" setting).
        bounds: the domain (the surface's if omitted).
        progress, should_cancel: as :func:`landscape_gui.core.engine.run`, over all trials.
    """
    try:
        import optuna
    except ImportError:  # pragma: no cover - a declared dependency
        raise LandscapeError("the race needs Optuna (pip install optuna)") from None
    if objective not in OBJECTIVES:
        raise LandscapeError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or not 1 <= budget <= MAX_BUDGET:
        raise LandscapeError(f"budget must be a whole number of trials from 1 to {MAX_BUDGET}, got {budget!r}")
    steps, tol = engine.check_limits(steps, tol)
    if steps < 1:
        raise LandscapeError("a race needs at least 1 step")
    opts = [get_optimizer(o) if isinstance(o, str) else o for o in optimizers]
    if not opts:
        raise LandscapeError("a race needs at least one optimizer")
    names = [o.name for o in opts]
    if len(set(names)) != len(names):
        raise LandscapeError(f"each optimizer races once, got {', '.join(names)}")
    b = engine.check_bounds(bounds if bounds is not None else surface.bounds)
    p0 = engine.as_starts(starts)
    f_star, where = global_minimum(surface, b)
    ceiling = max(_ceiling(surface, b) - f_star, 1.0)
    rad = radius if radius is not None else 0.01 * math.hypot(b[1] - b[0], b[3] - b[2])
    wx = np.array([w[0] for w in where])
    wy = np.array([w[1] for w in where])

    def score(runs: list[Run]) -> float:
        """Lower is better (``global_share`` negated)."""
        if objective == "final_loss":
            gaps = [r.final_loss - f_star if r.status != "diverged" and math.isfinite(r.final_loss) else ceiling
                    for r in runs]
            return float(np.mean(np.minimum(gaps, ceiling)))
        if objective == "steps_to_tol":
            out = []
            for r in runs:
                hit = np.flatnonzero(r.losses - f_star <= tol)
                out.append(float(hit[0]) if len(hit) else float(steps + 1))
            return float(np.mean(out))
        ends = np.array([r.positions[-1] for r in runs])
        d = np.hypot(ends[:, :1] - wx, ends[:, 1:] - wy).min(axis=1)
        return -float(np.mean(np.where(np.isfinite(d), d, np.inf) <= rad))

    def evaluate(opt: Optimizer, hp: Mapping[str, Any]) -> tuple[float, list[Run]]:
        runs = engine.run_many(surface, opt, p0, hp, bounds=b, max_steps=steps, tol=0.0,
                               should_cancel=should_cancel)
        return score(runs), runs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    entries: list[Entry] = []
    total = len(opts) * budget
    done = 0
    worst = ceiling if objective == "final_loss" else (steps + 1.0 if objective == "steps_to_tol" else 0.0)
    for opt in opts:
        wanted = tune.get(opt.name) if isinstance(tune, Mapping) else tune
        start_hp = opt.resolve((base or {}).get(opt.name))
        space = search_space(opt, wanted, start_hp)
        default_score, default_runs = evaluate(opt, start_hp)
        sampler = optuna.samplers.TPESampler(seed=seed)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        study.enqueue_trial({r.name: start_hp[r.name] for r in space})
        results: dict[int, tuple[float, list[Run], dict[str, Any]]] = {}

        def objective_fn(trial: "optuna.Trial") -> float:
            hp = dict(start_hp)
            for r in space:
                if r.kind == "log":
                    hp[r.name] = trial.suggest_float(r.name, r.low, r.high, log=True)
                elif r.kind == "uniform":
                    hp[r.name] = trial.suggest_float(r.name, r.low, r.high)
                elif r.kind == "int":
                    hp[r.name] = trial.suggest_int(r.name, int(r.low), int(r.high))
                else:
                    hp[r.name] = trial.suggest_categorical(r.name, [False, True])
            try:
                hp = opt.resolve(hp)
            except LandscapeError:
                return float(worst)
            if trial.number == 0:
                value, runs = default_score, default_runs
            else:
                value, runs = evaluate(opt, hp)
            results[trial.number] = (value, runs, hp)
            return value

        def tick(study: Any, trial: Any) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done / total)

        study.optimize(objective_fn, n_trials=budget, callbacks=[tick], catch=())
        best_number = min(results, key=lambda k: (results[k][0], k))
        value, runs, hp = results[best_number]
        entries.append(Entry(opt.name, value, default_score, hp, space, budget, runs))
    entries.sort(key=lambda e: (e.score, names.index(e.optimizer)))
    for k, e in enumerate(entries, 1):
        e.rank = k
        if objective == "global_share":
            e.score, e.default_score = -e.score, -e.default_score
    method = (f"Optuna {optuna.__version__} TPESampler(seed={seed}), {budget} trials per optimizer, trial 1 = the "
              f"default setting, same {len(p0)} starts for all")
    return RaceResult(entries, objective, steps, tol, budget, seed, p0, f_star, method)


LEADERBOARD_COLUMNS = ("rank", "optimizer", "objective", "score", "default_score", "best", "tuned", "trials",
                       "method")


def leaderboard_csv_text(result: RaceResult) -> str:
    """The leaderboard as CSV: one row per optimizer, best first; ``best`` is the JSON of every
    hyperparameter in force, ``tuned`` the ranges searched."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LEADERBOARD_COLUMNS)
    for e in result.entries:
        w.writerow([e.rank, e.optimizer, result.objective, repr(float(e.score)), repr(float(e.default_score)),
                    json.dumps(e.best, separators=(",", ":")), "; ".join(r.text() for r in e.tuned) or "nothing",
                    e.trials, result.method])
    return buf.getvalue()


def leaderboard_text(result: RaceResult) -> str:
    """A readable table for a terminal."""
    lines = [f"objective: {result.objective} ({OBJECTIVES[result.objective]}), {result.steps} steps; "
             f"{result.method}"]
    for e in result.entries:
        best = ", ".join(f"{r.name}={e.best[r.name]:.4g}" if not isinstance(e.best[r.name], bool)
                         else f"{r.name}={str(e.best[r.name]).lower()}" for r in e.tuned)
        lines.append(f"{e.rank:>2}. {e.optimizer:<10} {e.score:<12.6g} (defaults {e.default_score:.6g})  "
                     f"{best or 'nothing tuned'}")
    return "\n".join(lines) + "\n"


__all__ = ["Entry", "LEADERBOARD_COLUMNS", "OBJECTIVES", "RaceResult", "SearchRange", "global_minimum",
           "leaderboard_csv_text", "leaderboard_text", "race", "search_space"]
