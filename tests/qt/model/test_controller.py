"""The controller without a window: runs replaced (never mutated), undo of surface changes, bounded
history, dragging a start, exact session restore, and the run strategy it is given."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from landscape_gui.core.session import Session, parse_session
from landscape_gui.qt.model.controller import UNDO_LIMIT, Controller
from landscape_gui.qt.model.minima import MinimaModel


def test_runs_are_replaced_not_mutated_and_views_hear_once(ctl, qtbot):
    ctl.start_many([(1.0, 1.0), (-3.0, -1.0)])
    old = ctl.runs
    old_positions = [r.positions.copy() for r in old]
    with qtbot.waitSignal(ctl.runsChanged, timeout=5000):
        ctl.set_hyperparameter("sgd", "lr", 0.005)  # re-run (debounced)
    new = ctl.runs
    assert [r.id for r in new] == [r.id for r in old]
    assert all(a is not b for a, b in zip(old, new))
    for r, p in zip(old, old_positions):  # the old records are untouched (the undo history holds them)
        np.testing.assert_array_equal(r.positions, p)
        assert r.params["lr"] == 0.01
    assert all(r.params["lr"] == 0.005 for r in new)


def test_fresh_runs_arrive_labelled_by_the_minima_model(ctl, qtbot):
    minima = MinimaModel(ctl)
    seen = []
    ctl.runsAdded.connect(lambda runs: seen.extend((r.id, r.minimum) for r in runs))
    ctl.start_at(1.0, 1.0)
    ctl.start_at(4.0, 4.0)
    assert seen[0][1] is not None and seen[0][1] == seen[1][1]  # labelled before anyone saw them
    assert minima.run_counts() == {seen[0][1]: 2}


def test_changing_the_surface_keeps_every_run_and_is_one_undo_step(ctl):
    ctl.start_many([(1.0, 1.0), (4.5, 4.5)])
    csv_like = ctl.runs[0]
    ctl.add_runs([type(csv_like)(0, csv_like.positions.copy(), csv_like.losses.copy(), csv_like.grads.copy(),
                                 csv_like.status, csv_like.optimizer, dict(csv_like.params), csv_like.surface)],
                 "Overlay file")
    before = ctl.runs
    assert len(before) == 3
    ctl.set_surface("rosenbrock")  # bounds (-2, 2, -1, 3): the start (4.5, 4.5) lies outside
    assert ctl.surface.name == "rosenbrock"
    kept = ctl.runs
    assert [r.id for r in kept] == [1, 2]  # the recomputable runs stay, recomputed on the new surface
    assert all(r.surface == "rosenbrock" for r in kept)
    assert ctl.undo_stack.undoText().startswith("Show ")
    ctl.undo_stack.undo()
    assert ctl.surface.name == "himmelblau"
    assert ctl.runs == before  # the very same runs, the overlay included
    ctl.undo_stack.redo()
    assert ctl.surface.name == "rosenbrock" and [r.id for r in ctl.runs] == [1, 2]


def test_changing_the_bounds_is_undoable(ctl):
    ctl.start_at(1.0, 1.0)
    ctl.set_bounds((-2, 2, -2, 2))
    assert ctl.bounds == (-2.0, 2.0, -2.0, 2.0) and len(ctl.runs) == 1
    ctl.undo_stack.undo()
    assert ctl.bounds == (-5.0, 5.0, -5.0, 5.0) and len(ctl.runs) == 1


def test_undo_history_is_bounded_and_memory_stays_flat(ctl):
    alive: weakref.WeakSet = weakref.WeakSet()

    def cycles(n: int) -> int:
        for _ in range(n):
            ctl.start_many([(1.0, 1.0), (-3.0, 2.0), (2.0, -2.0)])
            alive.update(ctl.runs)
            ctl.clear_runs()
        gc.collect()
        return len(alive)

    first = cycles(UNDO_LIMIT)
    assert ctl.undo_stack.count() == UNDO_LIMIT
    second = cycles(UNDO_LIMIT)
    assert ctl.undo_stack.count() == UNDO_LIMIT
    assert second <= first  # runs beyond the history's reach are freed: no growth with more cycles


def test_dragging_a_start_moves_the_run_live_and_is_one_undo_step(ctl):
    ctl.start_at(1.0, 1.0)
    original = ctl.runs[0]
    for x in (1.2, 1.5, 2.0, -2.0):  # the path follows every move
        ctl.drag_start(original.id, x, 1.0)
        assert ctl.runs[0].start == (x, 1.0)
    ctl.finish_drag(original.id)
    assert ctl.undo_stack.undoText() == f"Move run {original.id}"
    moved = ctl.runs[0]
    ctl.undo_stack.undo()
    assert ctl.runs[0] is original
    ctl.undo_stack.redo()
    assert ctl.runs[0] is moved


def test_a_session_restores_exactly_what_was_saved_compare_mode_included(ctl, qtbot):
    ctl.set_compare(["sgd", "adam"])
    ctl.set_compare_mode(False)  # optimizers checked, but the mode is off
    ctl.set_optimizer("momentum")
    ctl.set_hyperparameter("momentum", "lr", 0.003)
    ctl.set_max_steps(500)
    ctl.start_many([(1.0, 1.0), (-2.0, 3.0)])
    saved = ctl.to_session()
    data = parse_session(saved.to_json()).to_json()  # through the file format
    other = Controller()
    other.force_sync = True
    other.set_compare_mode(True)
    with qtbot.waitSignal(other.sessionLoaded, timeout=10000):
        other.apply_session(parse_session(data))
    assert other.compare_mode is False and other.compare == ["sgd", "adam"]
    assert other.optimizer == "momentum" and other.hyperparameters("momentum")["lr"] == 0.003
    assert other.max_steps == 500 and other.to_session() == saved
    ctl.set_compare_mode(True)
    assert parse_session(ctl.to_session().to_json()).compare_mode is True


def test_an_old_session_without_compare_mode_opens_with_it_off():
    old = Session("himmelblau", (-5, 5, -5, 5), compare=["sgd", "adam"]).to_json()
    del old["compare_mode"]
    assert parse_session(old).compare_mode is False


class Recording:
    """A strategy given to the controller: records what it was asked, runs in the plane."""

    recomputable = False

    def __init__(self, ctl: Controller) -> None:
        self.calls: list[tuple[str, int]] = []
        self.plane = ctl.plane

    def applies_to(self, surface) -> bool:
        return True

    def describe(self, n: int) -> str:
        return f"{n} recorded runs"

    def compute(self, surface, plan, starts, bounds, max_steps, tol, progress, cancelled):
        self.calls += [(name, len(starts)) for name, _ in plan]
        return self.plane.compute(surface, plan, starts, bounds, max_steps, tol, progress, cancelled)


def test_new_runs_use_the_strategy_the_controller_is_given(ctl):
    strategy = Recording(ctl)
    ctl.set_strategy(strategy)
    ctl.start_many([(1.0, 1.0), (2.0, 2.0)])
    assert strategy.calls == [("sgd", 2)]
    assert all(ctl.is_overlay(r.id) for r in ctl.runs)  # made once, not recomputable
    before = ctl.runs
    ctl.set_hyperparameter("sgd", "lr", 0.02)
    ctl._rerun_stale()
    assert ctl.runs == before and strategy.calls == [("sgd", 2)]
    ctl.set_strategy(None)  # back in the plane
    ctl.start_at(0.0, 0.0)
    assert not ctl.is_overlay(ctl.runs[-1].id) and strategy.calls == [("sgd", 2)]


def test_a_click_is_computed_at_once_even_after_slow_batches(ctl, qtbot):
    """One run steps on scalars, far faster per step than a batch: what the controller learned from
    slow batches (or a slow machine) does not send the next click to a worker thread."""
    from landscape_gui.qt.model.controller import SYNC_RUN_SECONDS

    ctl.force_sync = False
    ctl.set_tol(0.0)
    ctl.set_hyperparameter("sgd", "lr", 1e-4)
    for _ in range(5):  # batches that took 200 µs an iteration
        ctl.cost.observe(3, 1000, 0.2)
    assert ctl.cost.predict(3, 1000) > SYNC_RUN_SECONDS
    with qtbot.assertNotEmitted(ctl.jobs.busyChanged):
        ctl.start_at(1.0, -1.0)
    assert len(ctl.runs) == 1 and ctl.runs[0].steps == 1000  # there when start_at returns
    for _ in range(8):  # lone runs that were slow too (a network surface): those go to the worker
        ctl.cost.observe(1, 1000, 0.5)
    ctl.start_at(-1.0, 1.0)
    assert len(ctl.runs) == 1 and ctl.busy
    qtbot.waitUntil(lambda: len(ctl.runs) == 2, timeout=30000)
