"""The fair race: seeded tuning with the same budget and starts, and the leaderboard it produces."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.race import leaderboard_csv_text, race, search_space
from landscape_gui.core.starts import random_starts
from landscape_gui.core.surfaces import get_surface

SURFACE = get_surface("himmelblau")
STARTS = random_starts(SURFACE.bounds, 8, 0)
UNFAIR = {"sgd": {"lr": 0.0005}}  # plain SGD shipped with a learning rate far too small for this map


def test_the_leaderboard_is_reproducible_from_its_seed() -> None:
    a = race(SURFACE, ["sgd", "adam"], STARTS, steps=40, budget=8, seed=3)
    b = race(SURFACE, ["sgd", "adam"], STARTS, steps=40, budget=8, seed=3)
    assert leaderboard_csv_text(a) == leaderboard_csv_text(b)
    c = race(SURFACE, ["sgd", "adam"], STARTS, steps=40, budget=8, seed=4)
    assert [e.best for e in c.entries] != [e.best for e in a.entries]


def test_tuning_changes_the_ranking_when_default_learning_rates_are_unfair() -> None:
    as_shipped = race(SURFACE, ["sgd", "adam"], STARTS, steps=50, budget=1, seed=0, base=UNFAIR)
    tuned = race(SURFACE, ["sgd", "adam"], STARTS, steps=50, budget=20, seed=0, base=UNFAIR)
    assert as_shipped.ranking() == ["adam", "sgd"]
    assert tuned.ranking() == ["sgd", "adam"]
    sgd = next(e for e in tuned.entries if e.optimizer == "sgd")
    assert sgd.best["lr"] > 10 * UNFAIR["sgd"]["lr"]  # the search found a learning rate that suits the map
    assert sgd.default_score == next(e.score for e in as_shipped.entries if e.optimizer == "sgd")


def test_every_optimizer_gets_the_same_budget_and_starts_and_never_does_worse_than_trial_one() -> None:
    r = race(SURFACE, ["sgd", "momentum", "adam"], STARTS, steps=40, budget=6, seed=1)
    for e in r.entries:
        assert e.trials == 6
        assert e.score <= e.default_score
        assert len(e.runs) == len(STARTS)
        assert [run.start for run in e.runs] == [tuple(s) for s in STARTS]
        assert all(run.params == e.best for run in e.runs)
    assert [e.rank for e in r.entries] == [1, 2, 3]
    assert "TPESampler(seed=1), 6 trials per optimizer" in r.method


def test_the_leaderboard_says_what_was_tuned_and_how() -> None:
    r = race(SURFACE, ["momentum", "adam"], STARTS, steps=30, budget=3, seed=0)
    rows = list(csv.DictReader(io.StringIO(leaderboard_csv_text(r))))
    assert [row["rank"] for row in rows] == ["1", "2"]
    by = {row["optimizer"]: row for row in rows}
    assert by["momentum"]["tuned"] == "lr log-uniform [1e-05, 1]; momentum uniform [0, 0.99]"
    assert by["adam"]["tuned"] == "lr log-uniform [0.0001, 10]; beta1 uniform [0, 0.999]; beta2 uniform [0, 0.999]"
    assert json.loads(by["adam"]["best"]).keys() == get_optimizer("adam").defaults().keys()
    assert "Optuna" in by["adam"]["method"]


def test_search_ranges_come_from_the_declarations() -> None:
    names = {o: [r.name for r in search_space(get_optimizer(o))] for o in ("sgd", "nesterov", "rmsprop", "qhm")}
    assert names["sgd"] == ["lr"]  # plain SGD stays plain: its momentum default is 0
    assert names["nesterov"] == ["lr", "momentum"]
    assert names["rmsprop"] == ["lr", "alpha"]
    assert names["qhm"] == ["lr", "beta", "nu"]
    explicit = search_space(get_optimizer("adam"), ["lr", "amsgrad"])
    assert [(r.name, r.kind) for r in explicit] == [("lr", "log"), ("amsgrad", "choice")]
    with pytest.raises(LandscapeError, match=r"adam.weight_decay has no range to search \(default 0.0, declared"):
        search_space(get_optimizer("adam"), ["weight_decay"])
    with pytest.raises(LandscapeError, match="sgd has no hyperparameter 'foo'"):
        search_space(get_optimizer("sgd"), ["foo"])


def test_other_objectives() -> None:
    share = race(SURFACE, ["sgd", "adam"], STARTS, objective="global_share", steps=300, budget=2, seed=0)
    assert all(0.0 <= e.score <= 1.0 for e in share.entries)
    assert share.entries[0].score == 1.0  # every Himmelblau minimum is global; tuned SGD reaches one
    steps = race(SURFACE, ["sgd", "adam"], STARTS, objective="steps_to_tol", steps=100, tol=1e-3, budget=4, seed=0)
    assert all(0 <= e.score <= 101 for e in steps.entries)
    assert steps.entries[0].score < steps.entries[1].score or steps.entries[0].score == steps.entries[1].score


@pytest.mark.parametrize("kwargs, message", [
    ({"objective": "fast"}, "unknown objective 'fast'; choose one of: final_loss, steps_to_tol, global_share"),
    ({"budget": 0}, "budget must be a whole number of trials from 1"),
    ({"optimizers": ["sgd", "sgd"]}, "each optimizer races once"),
    ({"optimizers": []}, "a race needs at least one optimizer"),
])
def test_bad_race_settings_are_refused(kwargs, message) -> None:
    args = {"optimizers": ["sgd"], **kwargs}
    with pytest.raises(LandscapeError, match=message):
        race(SURFACE, args.pop("optimizers"), STARTS, **args)


def test_a_formula_without_known_minima_races_too() -> None:
    from landscape_gui.core.formula import formula_surface

    s = formula_surface("(x - 1)**2 + 2*(y + 0.5)**2")
    r = race(s, ["sgd", "adam"], random_starts((-3, 3, -3, 3), 4, 0), steps=30, budget=3, seed=0, bounds=(-3, 3, -3, 3))
    assert abs(r.f_star) < 1e-12
    assert np.isfinite([e.score for e in r.entries]).all()


def test_race_reports_progress_and_can_be_cancelled() -> None:
    from landscape_gui.core.engine import Cancelled

    seen: list[float] = []
    race(SURFACE, ["sgd", "adam"], STARTS, steps=20, budget=3, seed=0, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 6
    calls = [0]

    def cancel() -> bool:
        calls[0] += 1
        return calls[0] > 4

    with pytest.raises(Cancelled):
        race(SURFACE, ["sgd", "adam"], STARTS, steps=20, budget=50, seed=0, should_cancel=cancel)
    assert calls[0] == 5  # stopped at the first poll that answered True
