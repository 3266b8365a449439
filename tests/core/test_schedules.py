"""Learning-rate schedules against torch.optim.lr_scheduler (fixtures in tests/data/torch_schedules.json,
made by scripts/make_schedule_fixtures.py with torch 2.13).

The learning rates (and cycled momentum) are compared *exactly*: the schedules are ports of torch's
Python code on Python floats, so they round the same way. Trajectories under a schedule are compared
like the optimizer fixtures (``rtol = atol = 1e-12``: torch's kernels fuse multiply-adds, numpy does
not; see tests/core/test_optimizers.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.export import csv_text, read_csv
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.schedules import (
    Choice, Schedule, StepList, get_schedule, make_schedule, schedule_names, schedules,
)
from landscape_gui.core.surfaces import get_surface

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "torch_schedules.json").read_text())
CASES = DATA["cases"]
STEPS = DATA["steps"]


def _id(i: int) -> str:
    c = CASES[i]
    return f"{i}-{c['schedule']}-{c['optimizer']}"


def _setting(case: dict):
    return make_schedule(case["schedule"], case["settings"])


@pytest.mark.parametrize("i", range(len(CASES)), ids=_id)
def test_learning_rates_equal_torch_step_by_step(i: int) -> None:
    case = CASES[i]
    opt = get_optimizer(case["optimizer"])
    hp = opt.resolve(case["hp"])
    table = _setting(case).table(opt, hp, STEPS)
    assert table["lr"].tolist() == case["lrs"]
    cycled = [k for k in table if k != "lr"]
    if cycled:
        assert table[cycled[0]].tolist() == case["momentums"]
    else:  # the momentum torch saw never moved
        assert len(set(m for m in case["momentums"])) <= 1


@pytest.mark.parametrize("i", range(len(CASES)), ids=_id)
def test_runs_under_a_schedule_match_torch_trajectories(i: int) -> None:
    case = CASES[i]
    res = engine.run(get_surface(case["surface"]), case["optimizer"], case["starts"], case["hp"], max_steps=STEPS,
                     tol=0.0, schedule=_setting(case))
    ours = np.stack([r.positions[1:] for r in res.runs], axis=1)  # (steps, n, 2)
    ref = np.array(case["positions"])
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_fixtures_cover_every_builtin_schedule_and_flag() -> None:
    for name in schedule_names():
        s = get_schedule(name)
        cases = [c for c in CASES if c["schedule"] == name]
        assert cases, f"no torch fixture for {name}"
        for h in s.hyperparameters:
            values = {c["settings"].get(h.name, h.default) for c in cases
                      if not isinstance(c["settings"].get(h.name, h.default), list)}
            if isinstance(h.default, tuple):
                continue
            assert len(values) >= 2, f"{name}.{h.name} never varied"


def test_fixture_defaults_are_the_declared_defaults() -> None:
    for name, defaults in DATA["defaults"].items():
        ours = get_schedule(name).defaults()
        assert {k: list(v) if isinstance(v, tuple) else v for k, v in ours.items()} == defaults


def test_a_schedule_changes_the_run() -> None:
    surface = get_surface("himmelblau")
    plain = engine.run(surface, "sgd", [[-4.0, 4.5]], {"lr": 0.01}, max_steps=50, tol=0.0).runs[0]
    sched = engine.run(surface, "sgd", [[-4.0, 4.5]], {"lr": 0.01}, max_steps=50, tol=0.0,
                       schedule=make_schedule("step", {"step_size": 5, "gamma": 0.5})).runs[0]
    assert not np.array_equal(plain.positions, sched.positions)
    # after 50 steps with the step size halved every 5, the run has almost stopped moving
    assert np.linalg.norm(sched.positions[-1] - sched.positions[-2]) < 1e-3 * np.linalg.norm(
        sched.positions[1] - sched.positions[0])


def test_the_csv_params_column_records_the_schedule() -> None:
    setting = make_schedule("multistep", {"milestones": "10,20", "gamma": 0.5})
    runs = engine.run_many(get_surface("himmelblau"), "adam", [[1.0, 1.0]], max_steps=30, schedule=setting)
    assert runs[0].params["schedule"] == {"name": "multistep", "milestones": [10, 20], "gamma": 0.5}
    assert runs[0].params["lr"] == 0.1  # the optimizer's own settings are kept beside it


def test_settings_come_from_the_declaration_and_are_validated() -> None:
    s = make_schedule("cyclic", {"mode": "exp_range", "step_size_up": "7", "cycle_momentum": "false"})
    assert s.settings["mode"] == "exp_range" and s.settings["step_size_up"] == 7
    assert s.settings["cycle_momentum"] is False
    with pytest.raises(LandscapeError, match="mode takes one of triangular, triangular2, exp_range"):
        make_schedule("cyclic", {"mode": "saw"})
    with pytest.raises(LandscapeError, match=r"step_size must be in \[1, inf\)"):
        make_schedule("step", {"step_size": 0})
    with pytest.raises(LandscapeError, match="milestones takes whole numbers"):
        make_schedule("multistep", {"milestones": "10,x"})
    with pytest.raises(LandscapeError, match="has no hyperparameter 'lr'; valid: step_size, gamma"):
        make_schedule("step", {"lr": 1})
    with pytest.raises(LandscapeError, match="unknown schedule 'warmup'; choose one of: step, multistep"):
        make_schedule("warmup")


def test_every_builtin_declares_help_ranges_and_a_torch_class() -> None:
    for s in schedules().values():
        assert s.description and s.reference and s.torch_class
        for h in s.hyperparameters:
            assert h.help
            assert h.coerce(h.default) == h.default
            assert h.range_text()
        assert isinstance(s, Schedule)
    kinds = {type(h) for s in schedules().values() for h in s.hyperparameters}
    assert Choice in kinds and StepList in kinds


def test_cycling_momentum_needs_an_optimizer_with_momentum() -> None:
    with pytest.raises(LandscapeError, match="adagrad has neither momentum nor beta1: set cycle_momentum=false"):
        engine.run(get_surface("himmelblau"), "adagrad", [[1.0, 1.0]], max_steps=5, schedule=make_schedule("onecycle"))
    res = engine.run(get_surface("himmelblau"), "adagrad", [[1.0, 1.0]], max_steps=5,
                     schedule=make_schedule("onecycle", {"cycle_momentum": False}))
    assert res.runs[0].steps == 5


def test_onecycle_longer_than_its_cycle_is_refused_like_torch() -> None:
    with pytest.raises(LandscapeError, match="total_steps=10 is less than the max steps"):
        engine.run(get_surface("himmelblau"), "sgd", [[1.0, 1.0]], max_steps=20,
                   schedule=make_schedule("onecycle", {"total_steps": 10}))


def test_schedule_values_are_lazy_and_agree_with_the_table() -> None:
    opt = get_optimizer("adam")
    hp = opt.resolve()
    setting = make_schedule("warmup_cosine", {"warmup_steps": 3, "T_max": 20})
    it = setting.values(opt, hp, 10**9)  # nothing is computed up front
    first = [next(it)["lr"] for _ in range(8)]
    assert first == setting.table(opt, hp, 8)["lr"].tolist()


def test_a_scheduled_run_survives_a_csv_round_trip(tmp_path: Path) -> None:
    runs = engine.run_many(get_surface("himmelblau"), "sgd", [[1.0, 1.0], [-2, 3]], max_steps=20,
                           schedule=make_schedule("cosine"))
    path = tmp_path / "r.csv"
    path.write_text(csv_text(runs))
    back = read_csv(path)
    assert back[0].params["schedule"] == {"name": "cosine", "T_max": 0, "eta_min": 0.0}
    assert csv_text(back) == csv_text(runs)


def test_runs_under_a_schedule_and_noise_can_be_explained_step_by_step(tmp_path: Path) -> None:
    from landscape_gui.core.explain import RunExplainer
    from landscape_gui.core.noise import GradientNoise

    s = get_surface("himmelblau")
    for opt, hp, setting in (("momentum", {"lr": 0.005}, make_schedule("cyclic", {"step_size_up": 5})),
                             ("adam", {"lr": 0.1}, make_schedule("warmup_cosine", {"warmup_steps": 4}))):
        runs = engine.run_many(s, opt, [[-4.0, 4.5], [0.5, -1.5]], hp, max_steps=25, tol=0, schedule=setting,
                               noise=GradientNoise(2.0, 9), first_id=4)
        path = tmp_path / "r.csv"
        path.write_text(csv_text(runs))
        for run in read_csv(path):  # from the file alone
            ex = RunExplainer(run)
            assert ex.replayed and ex.replay_error == 0.0
            assert ex.hp_at(3)["lr"] == setting.table(get_optimizer(opt), ex.hp, 25)["lr"][3]
            step = ex.explain(10)
            np.testing.assert_allclose(sum(c.value for c in step.components), run.positions[11] - run.positions[10],
                                       rtol=1e-9, atol=1e-12)
    # a mini-batch run cannot be replayed from its record, and says so
    lost = runs[0]
    lost.params = {**lost.params, "noise": {"scale": 0.0, "seed": 1, "batch_size": 4}}
    ex = RunExplainer(lost, strict=False)
    assert not ex.replayed and "mini-batch gradients" in ex.problem


def test_a_basin_map_under_a_schedule_is_compiled_and_matches_the_recorded_runs() -> None:
    from landscape_gui.core.basins import basin_map, cell_centres
    from landscape_gui.core.minima import MinimaTable

    s = get_surface("himmelblau")
    setting = make_schedule("onecycle", {"max_lr": 0.05})
    plain = basin_map(s, "adam", {"lr": 0.05}, resolution=20, max_steps=300)
    m = basin_map(s, "adam", {"lr": 0.05}, resolution=20, max_steps=300, schedule=setting)
    assert plain.fused and m.fused
    assert m.params["schedule"]["name"] == "onecycle"
    xs, ys = cell_centres(s.bounds, 20)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    # recorded runs (the path every other engine shortcut must agree with)
    res = engine.run(s, "adam", np.column_stack([gx.ravel(), gy.ravel()]), {"lr": 0.05}, max_steps=300,
                     record=True, schedule=setting)
    assert np.array_equal(res.final_positions, np.array([r.positions[-1] for r in res.runs]))
    labels = MinimaTable(s, s.bounds).assign(res.final_positions, res.status_codes, 1e-6).reshape(20, 20)
    assert np.array_equal(m.labels, labels)
    assert not np.array_equal(m.labels, plain.labels)  # the schedule mattered
