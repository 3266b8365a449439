"""The batched engine: statuses, recording rules, compaction equals one-by-one runs."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.runs import CONVERGED, DIVERGED, MAX_STEPS
from landscape_gui.core.surfaces import get_surface


@pytest.fixture
def himmelblau():
    return get_surface("himmelblau")


def test_step_zero_is_the_start_and_rows_are_evaluated_at_their_position(himmelblau):
    starts = np.array([[0.0, 0.0], [-1.0, 3.0]])
    runs = engine.run_many(himmelblau, "momentum", starts, {"lr": 0.001}, max_steps=50)
    for r, s in zip(runs, starts):
        assert np.array_equal(r.positions[0], s)
        np.testing.assert_array_equal(r.losses, himmelblau.value(r.positions))
        np.testing.assert_array_equal(r.grads, himmelblau.grad(r.positions))
    assert [r.id for r in runs] == [1, 2]


def test_each_row_follows_from_the_previous_by_one_optimizer_update(himmelblau):
    opt = get_optimizer("momentum")
    hp = opt.resolve({"lr": 0.002})
    (r,) = engine.run_many(himmelblau, opt, [[1.0, -1.0]], hp, max_steps=30)
    p = r.positions[:1].copy()
    state = opt.init(p, hp)
    for t in range(1, r.steps + 1):
        p, state = opt.update(p, himmelblau.grad(p), state, hp, t)
        np.testing.assert_array_equal(p[0], r.positions[t])


def test_statuses_converged_maxsteps_diverged(himmelblau):
    starts = [[1.0, 1.0], [-4.0, 4.0]]
    conv = engine.run_many(himmelblau, "momentum", starts, {"lr": 0.001}, max_steps=5000, tol=1e-6)
    assert all(r.status == CONVERGED for r in conv)
    assert all(np.hypot(*r.grads[-1]) <= 1e-6 for r in conv)
    assert all(np.hypot(*r.grads[-2]) > 1e-6 for r in conv)
    short = engine.run_many(himmelblau, "momentum", starts, {"lr": 0.001}, max_steps=7)
    assert [r.status for r in short] == [MAX_STEPS, MAX_STEPS]
    assert [r.steps for r in short] == [7, 7]
    div = engine.run_many(himmelblau, "sgd", [[4.0, 4.0]], {"lr": 0.5}, max_steps=100)
    assert div[0].status == DIVERGED
    assert np.all(np.isfinite(div[0].positions)) and np.all(np.isfinite(div[0].losses))


def test_tol_zero_disables_convergence(himmelblau):
    (r,) = engine.run_many(himmelblau, "momentum", [[3.0, 2.0]], {"lr": 0.001}, max_steps=20, tol=0)
    assert r.status == MAX_STEPS and r.steps == 20
    (r,) = engine.run_many(himmelblau, "momentum", [[3.0, 2.0]], {"lr": 0.001}, max_steps=20, tol=1e-6)
    assert r.status == CONVERGED and r.steps == 0


def test_far_outside_bounds_is_recorded_then_diverged(himmelblau):
    # With tiny bounds the first step from (3.5, 3.5) lands beyond 10 widths: one recorded step, diverged.
    (r,) = engine.run_many(himmelblau, "sgd", [[3.5, 3.5]], {"lr": 0.1}, bounds=(3.4, 3.6, 3.4, 3.6), max_steps=10)
    assert r.status == DIVERGED and r.steps == 1
    assert abs(r.positions[1, 0] - 3.5) > 10 * 0.2


def test_non_finite_step_is_not_recorded():
    from landscape_gui.core.surfaces import Surface

    class Log(Surface):
        name = "logtest"
        bounds = (0.1, 5.0, 0.1, 5.0)

        def value(self, p):
            return np.log(p[:, 0]) + p[:, 1] ** 2

        def grad(self, p):
            return np.column_stack([1.0 / p[:, 0], 2 * p[:, 1]])

    # From x=0.5 the step x - lr/x jumps to x = -1.5 where log is NaN: the run ends at its start.
    (r,) = engine.run_many(Log(), "sgd", [[0.5, 1.0]], {"lr": 1.0}, max_steps=10)
    assert r.status == DIVERGED
    assert r.steps == 0 and np.all(np.isfinite(r.losses))


def test_batched_runs_equal_one_by_one_runs(himmelblau):
    rng = np.random.default_rng(3)
    starts = rng.uniform(-5, 5, size=(40, 2))
    batch = engine.run_many(himmelblau, "nesterov", starts, {"lr": 0.003}, max_steps=400)
    steps = {r.steps for r in batch}
    assert len(steps) > 5, "runs should finish at different steps so compaction is exercised"
    for s, r in zip(starts, batch):
        (alone,) = engine.run_many(himmelblau, "nesterov", [s], {"lr": 0.003}, max_steps=400)
        assert alone.same_trajectory(r)


def test_record_false_gives_the_same_end_points(himmelblau):
    starts = np.random.default_rng(0).uniform(-5, 5, size=(30, 2))
    full = engine.run(himmelblau, "momentum", starts, {"lr": 0.002}, max_steps=300)
    lean = engine.run(himmelblau, "momentum", starts, {"lr": 0.002}, max_steps=300, record=False)
    assert lean.runs is None
    np.testing.assert_array_equal(full.final_positions, lean.final_positions)
    np.testing.assert_array_equal(full.status_codes, lean.status_codes)
    np.testing.assert_array_equal(full.final_positions, np.array([r.positions[-1] for r in full.runs]))


def test_cancel_and_progress(himmelblau):
    seen = []
    engine.run(himmelblau, "sgd", [[0.0, 0.0]], {"lr": 1e-4}, max_steps=200, tol=0, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(engine.Cancelled):
        engine.run(himmelblau, "sgd", [[0.0, 0.0]], {"lr": 1e-4}, max_steps=200, should_cancel=lambda: True)


@pytest.mark.parametrize("bad", [[[np.nan, 0.0]], [[1.0, 2.0, 3.0]], "abc"])
def test_bad_starts_are_refused(himmelblau, bad):
    with pytest.raises(LandscapeError):
        engine.run(himmelblau, "sgd", bad)


def test_bad_limits_are_refused(himmelblau):
    with pytest.raises(LandscapeError, match="max steps"):
        engine.run(himmelblau, "sgd", [[0, 0]], max_steps=-1)
    with pytest.raises(LandscapeError, match="tolerance"):
        engine.run(himmelblau, "sgd", [[0, 0]], tol=-1)
    with pytest.raises(LandscapeError, match="XMIN < XMAX"):
        engine.run(himmelblau, "sgd", [[0, 0]], bounds=(1, 0, 0, 1))
