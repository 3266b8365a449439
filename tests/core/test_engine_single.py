"""One recorded run (a click, a dragged start) takes the engine's scalar lane: the same run as in a batch.

``engine.run`` with one start, ``record=True``, an optimizer with a rule and no noise steps the rule and
the surface on float64 scalars instead of one-row arrays. These tests hold it to the general loop bit
for bit: the same start inside a batch of several goes through the array path.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.optimizers import (
    SGD_RULE,
    Optimizer,
    Rule,
    builtin_optimizer_names,
    get_optimizer,
    rule_update,
)
from landscape_gui.core.runs import CONVERGED, DIVERGED, MAX_STEPS
from landscape_gui.core.schedules import make_schedule, schedule_names
from landscape_gui.core.surfaces import (
    Surface,
    get_surface,
    surface_from_spec,
    surface_names,
)
from tests.core.optimizer_cases import CASES

CATALOGUE = [n for n in surface_names() if not n.startswith("nn_")]


def _starts(surface: Surface, n: int, seed: int = 0) -> np.ndarray:
    xmin, xmax, ymin, ymax = surface.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])


def _same(alone: engine.BatchResult, batch: engine.BatchResult, i: int) -> None:
    """Run 0 of ``alone`` is run ``i`` of ``batch``, bit for bit, with the same ending."""
    (a,), b = alone.runs, batch.runs[i]
    assert a.status == b.status and a.params == b.params and a.optimizer == b.optimizer and a.surface == b.surface
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.losses, b.losses, equal_nan=True)
    assert np.array_equal(a.grads, b.grads, equal_nan=True)
    assert alone.status_codes[0] == batch.status_codes[i] and alone.steps[0] == batch.steps[i]
    assert np.array_equal(alone.final_positions[0], batch.final_positions[i])
    assert np.array_equal(alone.final_losses[0], batch.final_losses[i], equal_nan=True)
    assert np.array_equal(alone.final_grads[0], batch.final_grads[i], equal_nan=True)


def _check_alone_equals_batched(surface, opt, starts, hp, **kw) -> list[str]:
    batch = engine.run(surface, opt, np.vstack([starts, starts[:1]]), hp, **kw)  # > 1 start: the array path
    for i, s in enumerate(starts):
        _same(engine.run(surface, opt, [s], hp, **kw), batch, i)
    return [r.status for r in batch.runs]


def test_the_case_list_covers_every_built_in_rule():
    with_rule = {name for name in builtin_optimizer_names() if isinstance(getattr(get_optimizer(name).update, "rule",
                                                                                  None), Rule)}
    assert with_rule == {name for name, _ in CASES}


def test_one_start_takes_the_scalar_lane(monkeypatch):
    calls = []
    real = engine._run_single
    monkeypatch.setattr(engine, "_run_single", lambda *a, **k: calls.append(1) or real(*a, **k))
    surface = get_surface("himmelblau")
    engine.run(surface, "adam", [[1.0, 1.0]], max_steps=5)
    assert calls == [1]
    engine.run(surface, "adam", [[1.0, 1.0], [2.0, 2.0]], max_steps=5)  # a batch: the array path
    from landscape_gui.core.noise import GradientNoise

    engine.run(surface, "adam", [[1.0, 1.0]], max_steps=5, noise=GradientNoise(0.1, 1))  # noise: the general loop
    assert calls == [1]


@pytest.mark.parametrize("opt_name, hp", CASES)
@pytest.mark.parametrize("surface_name", ["himmelblau", "rosenbrock", "ackley", "rastrigin"])
def test_every_built_in_optimizer_runs_alone_as_in_a_batch(surface_name, opt_name, hp):
    surface = get_surface(surface_name)
    _check_alone_equals_batched(surface, opt_name, _starts(surface, 3), hp, max_steps=150, tol=1e-6)


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_surface_runs_alone_as_in_a_batch(name):
    surface = get_surface(name)
    _check_alone_equals_batched(surface, "momentum", _starts(surface, 2, seed=5), {"lr": 0.002}, max_steps=200,
                                tol=1e-6)
    _check_alone_equals_batched(surface, "adam", _starts(surface, 2, seed=6), {"lr": 0.05}, max_steps=200, tol=0)


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_point_function_gives_the_same_bits_on_scalars(name):
    """The scalar lane's premise: a surface's point function is plain arithmetic and ufuncs."""
    surface = get_surface(name)
    xmin, xmax, ymin, ymax = surface.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 21) * 1.01 + 0.003, np.linspace(ymin, ymax, 21) * 0.99 - 0.001,
                         indexing="ij")
    p = np.column_stack([gx.ravel(), gy.ravel()])
    f, g = surface.value_and_grad(p)
    vg = engine._scalar_value_and_grad(surface)
    with np.errstate(all="ignore"):
        got = np.array([vg(np.float64(x), np.float64(y)) for x, y in p])
    assert np.array_equal(got[:, 0], f, equal_nan=True)
    assert np.array_equal(got[:, 1:], g, equal_nan=True)


@pytest.mark.parametrize("text", ["x^2 + 3*y^2", "log(x) + y^2", "max(abs(x), 2*abs(y)) + 0.1*sign(x)*cbrt(y)",
                                  "atan2(y, x + 6) + exp(-(x^2 + y^2)) + 0.05*hypot(x, y)^2", "1", "x",
                                  "sqrt(x^2 + y^2 + 1) - 1/(1 + x^2)"])
def test_typed_formulas_run_alone_as_in_a_batch(text):
    surface = surface_from_spec(text)
    statuses = _check_alone_equals_batched(surface, "sgd", _starts(surface, 4, seed=2), {"lr": 0.05}, max_steps=300)
    if text.startswith("log"):
        assert DIVERGED in statuses


@pytest.mark.parametrize("schedule", schedule_names())
@pytest.mark.parametrize("opt_name", ["momentum", "adam"])
def test_schedules_run_alone_as_in_a_batch(schedule, opt_name):
    surface = get_surface("himmelblau")
    _check_alone_equals_batched(surface, opt_name, _starts(surface, 2, seed=4), {"lr": 0.01}, max_steps=120,
                                schedule=make_schedule(schedule))


def test_every_ending_is_the_same_alone():
    himmelblau = get_surface("himmelblau")
    # converged, and the step it converged at
    assert _check_alone_equals_batched(himmelblau, "momentum", np.array([[1.0, 1.0]]), {"lr": 0.001},
                                       max_steps=5000, tol=1e-6)[0] == CONVERGED
    # already converged at the start; no steps allowed at all
    _check_alone_equals_batched(himmelblau, "sgd", np.array([[3.0, 2.0]]), {"lr": 0.001}, max_steps=20, tol=1e-6)
    assert _check_alone_equals_batched(himmelblau, "sgd", np.array([[1.0, 1.0]]), {}, max_steps=0)[0] == MAX_STEPS
    # overflow to inf: ends at the last finite step
    assert _check_alone_equals_batched(himmelblau, "sgd", np.array([[4.0, 4.0]]), {"lr": 0.5}, max_steps=100)[0] \
        == DIVERGED
    # far outside the bounds: recorded, then diverged
    far = _check_alone_equals_batched(himmelblau, "sgd", np.array([[3.5, 3.5]]), {"lr": 0.1},
                                      bounds=(3.4, 3.6, 3.4, 3.6), max_steps=10)
    assert far[0] == DIVERGED
    (r,) = engine.run_many(himmelblau, "sgd", [[3.5, 3.5]], {"lr": 0.1}, bounds=(3.4, 3.6, 3.4, 3.6), max_steps=10)
    assert r.steps == 1
    # a start where the loss is undefined: the start is all there is
    log = surface_from_spec("log(x) + y^2")
    (r,) = engine.run_many(log, "adam", [[-1.0, 0.5]], max_steps=10)
    assert r.status == DIVERGED and r.steps == 0 and np.isnan(r.losses[0])
    _check_alone_equals_batched(log, "adam", np.array([[-1.0, 0.5]]), {}, max_steps=10)


def test_a_surface_without_a_point_function_and_a_plugin_rule_run_alone_as_in_a_batch():
    class Bowl(Surface):
        name = "bowl"
        bounds = (-2.0, 2.0, -2.0, 2.0)

        def value_and_grad(self, p):
            return p[:, 0] ** 2 + 3 * np.sin(p[:, 1]) ** 2, np.column_stack([2 * p[:, 0], 3 * np.sin(2 * p[:, 1])])

    sgd = get_optimizer("sgd")
    mine = Optimizer("mine", "", sgd.hyperparameters, sgd.init, rule_update(SGD_RULE))
    _check_alone_equals_batched(Bowl(), mine, _starts(Bowl(), 3), {"lr": 0.02, "momentum": 0.8}, max_steps=200)
    _check_alone_equals_batched(get_surface("rosenbrock"), mine, _starts(get_surface("rosenbrock"), 2),
                                {"lr": 0.001}, max_steps=200)


def test_progress_and_cancel_alone():
    surface = get_surface("himmelblau")
    seen: list[float] = []
    engine.run(surface, "adam", [[0.0, 0.0]], max_steps=300, tol=0, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 5
    polls = []

    def cancel() -> bool:
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(engine.Cancelled):
        engine.run(surface, "adam", [[0.0, 0.0]], max_steps=1000, tol=0, should_cancel=cancel)
