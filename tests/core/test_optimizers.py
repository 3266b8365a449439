"""Optimizers: torch.optim-exact update rules, declared hyperparameters, batch and shape behaviour.

The reference trajectories in tests/data/torch_trajectories.json were made by
scripts/make_torch_fixtures.py with torch.optim 2.13 (float64, single-tensor implementation, gradients
by autograd). Here every case is replayed with this project's optimizers, fed the exact gradients of
this project's surfaces, and compared position by position.

Tolerance: ``rtol = atol = 1e-12``. Bit-for-bit agreement is not possible: torch's CPU kernels fuse
``a + b * c`` into one FMA, torch's float64 ``sqrt`` is one ulp off for ~2% of inputs, and autograd's
gradient differs from the closed-form one in the last bit now and then. These one-ulp differences
grow along a trajectory; over the fixture's 40 steps the worst case measured is 5e-14 relative
(median 2e-16), so 1e-12 leaves a margin while any change to an update rule (a missing bias
correction, eps in the wrong place, a wrong flag) moves positions by far more.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core import optimizers as optmod
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import Hyperparameter, get_optimizer, optimizer_names, optimizers
from landscape_gui.core.surfaces import get_surface

DATA = json.loads((Path(__file__).resolve().parent.parent / "data" / "torch_trajectories.json").read_text())
CASES = DATA["cases"]
NOT_IN_TORCH = {"qhm", "qhadam"}
"""Built-ins with no torch.optim counterpart; tests/core/test_optimizers_qh.py checks them against their paper."""


def _case_id(i: int) -> str:
    c = CASES[i]
    return f"{i:02d}-{c['optimizer']}-{c['surface']}"


def replay(case: dict, steps: int | None = None) -> np.ndarray:
    """Our trajectory for a fixture case: ``(steps + 1, n, 2)`` positions."""
    opt = get_optimizer(case["optimizer"])
    hp = opt.resolve(case["hp"])
    surface = get_surface(case["surface"])
    p = np.array(case["starts"], dtype=float)
    state = opt.init(p, hp)
    out = [p]
    for t in range(1, (steps or DATA["steps"]) + 1):
        p, state = opt.update(p, surface.grad(p), state, hp, t)
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("i", range(len(CASES)), ids=_case_id)
def test_trajectory_matches_torch(i: int) -> None:
    case = CASES[i]
    ref = np.array(case["positions"]).reshape(len(case["positions"]), -1, 2)
    ours = replay(case)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12, err_msg=f"{case['optimizer']} {case['hp']}")


def test_every_builtin_optimizer_has_torch_fixtures() -> None:
    covered = {c["optimizer"] for c in CASES}
    builtins = set(optmod._BUILTINS)
    assert builtins - NOT_IN_TORCH <= covered
    assert {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam", "radam",
            "adamax", "adadelta"} <= builtins


def test_fixtures_vary_every_hyperparameter_and_flag() -> None:
    # Each hyperparameter takes a non-default value in some case; each flag is seen both on and off.
    # Exception: the Nesterov preset cannot have dampening (torch refuses it).
    for name in set(optmod._BUILTINS) - NOT_IN_TORCH:
        opt = get_optimizer(name)
        cases = [c for c in CASES if c["optimizer"] == name]
        for h in opt.hyperparameters:
            if (name, h.name) == ("nesterov", "dampening"):
                continue
            seen = {c["hp"][h.name] for c in cases}
            if h.kind is bool:
                assert seen == {True, False}, (name, h.name)
            else:
                assert seen - {h.default}, (name, h.name)


def test_fixture_cases_leave_their_starts() -> None:
    # A case that never moves would prove nothing.
    for case in CASES:
        pos = np.array(case["positions"])
        assert np.abs(pos[-1] - pos[0]).max() > 1e-3, case["optimizer"]


@pytest.mark.parametrize("name", sorted(set(DATA["defaults"])))
def test_defaults_equal_torch_except_lr(name: str) -> None:
    ours = get_optimizer(name).defaults()
    torch_defaults = dict(DATA["defaults"][name])
    assert set(ours) == set(torch_defaults), "same hyperparameters as torch (betas/etas/step_sizes split)"
    for key, value in torch_defaults.items():
        if key != "lr":
            assert ours[key] == value and type(ours[key]) is type(value), (name, key)


def test_lr_help_states_the_catalogue_default() -> None:
    for name in set(DATA["defaults"]):
        h = get_optimizer(name).hyperparameter("lr")
        if h.default != DATA["defaults"][name]["lr"]:
            assert repr(h.default) in h.help and repr(DATA["defaults"][name]["lr"]) in h.help


# --------------------------------------------------------------------------------------------------
# Shapes, batches, purity


def _quadratic_grad(p: np.ndarray) -> np.ndarray:
    scales = 1.0 + np.arange(p.shape[1]) % 3
    return scales * p - 0.5


@pytest.mark.parametrize("name", optimizer_names())
def test_update_is_shape_generic_and_elementwise(name: str) -> None:
    # (n, d) params with d = 6 behave exactly like (3n, 2): the rules are elementwise, so a network
    # helper can run them in full weight space.
    opt = get_optimizer(name)
    hp = opt.resolve()
    rng = np.random.default_rng(1)
    wide = rng.normal(size=(4, 6))
    narrow = wide.reshape(12, 2).copy()
    sw, sn = opt.init(wide, hp), opt.init(narrow, hp)
    for key, arr in sw.items():
        assert arr.shape[0] == 4, f"state {key!r} must have one row per run"
    for t in range(1, 8):
        wide, sw = opt.update(wide, _quadratic_grad(wide.reshape(12, 2)).reshape(4, 6), sw, hp, t)
        narrow, sn = opt.update(narrow, _quadratic_grad(narrow), sn, hp, t)
        assert wide.shape == (4, 6)
        np.testing.assert_array_equal(wide.reshape(12, 2), narrow)


@pytest.mark.parametrize("name", optimizer_names())
def test_update_never_mutates_params_or_grads(name: str) -> None:
    opt = get_optimizer(name)
    hp = opt.resolve({"weight_decay": 0.1} if "weight_decay" in opt.defaults() else {})
    p = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = np.array([[0.3, 0.4], [-1.0, 2.0]])
    state = opt.init(p, hp)
    for t in (1, 2, 3):
        p0, g0 = p.copy(), g.copy()
        new, state = opt.update(p, g, state, hp, t)
        np.testing.assert_array_equal(p, p0)
        np.testing.assert_array_equal(g, g0)
        assert not np.array_equal(new, p)
        p = new


@pytest.mark.parametrize("name", optimizer_names())
def test_batched_engine_run_equals_separate_runs(name: str) -> None:
    # Runs finish at different steps, so the engine compacts the state along axis 0 mid-flight; each
    # run's trajectory must equal the one it has when run alone.
    surface = get_surface("himmelblau")
    opt = get_optimizer(name)
    # (3, 2) is a minimum: that run ends at step 0, the others at different later steps.
    starts = np.array([[3.0, 2.0], [2.9, 2.1], [-4.0, 4.0], [0.5, -1.5], [3.2, -1.7]])
    kw = {"max_steps": 150, "tol": 1e-2}
    together = engine.run_many(surface, opt, starts, **kw)
    for start, run in zip(starts, together):
        alone = engine.run_many(surface, opt, start[None, :], **kw)[0]
        assert run.same_trajectory(alone)
    assert together[0].steps == 0 and max(r.steps for r in together) > 10


def test_maximize_climbs_where_descent_falls() -> None:
    surface = get_surface("himmelblau")
    start = np.array([[0.2, -0.6]])
    for name in ("sgd", "adam", "rmsprop"):
        up = engine.run_many(surface, name, start, {"maximize": "true", "lr": 0.005}, max_steps=50)[0]
        down = engine.run_many(surface, name, start, {"lr": 0.005}, max_steps=50)[0]
        assert up.losses[-1] > up.losses[0] and down.losses[-1] < down.losses[0], name


# --------------------------------------------------------------------------------------------------
# Declared hyperparameters


def test_resolve_fills_defaults_in_declaration_order_and_coerces() -> None:
    adam = get_optimizer("adam")
    hp = adam.resolve({"amsgrad": "true", "beta1": "0.5", "lr": 1})
    assert list(hp) == [h.name for h in adam.hyperparameters]
    assert hp["amsgrad"] is True and hp["beta1"] == 0.5 and hp["lr"] == 1.0
    assert type(hp["lr"]) is float and hp["eps"] == 1e-8 and hp["maximize"] is False
    assert adam.resolve({"amsgrad": "False", "maximize": " TRUE "})["amsgrad"] is False
    assert adam.resolve({"maximize": " TRUE "})["maximize"] is True
    assert adam.resolve({"amsgrad": np.bool_(True)})["amsgrad"] is True


def test_unknown_hyperparameter_message_lists_valid_names() -> None:
    with pytest.raises(LandscapeError) as err:
        get_optimizer("rmsprop").resolve({"betas": 0.9})
    msg = str(err.value)
    assert "'betas'" in msg
    for name in ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"):
        assert name in msg


@pytest.mark.parametrize(
    "name, key, value, range_text",
    [
        ("sgd", "lr", -1, "(0, inf)"),
        ("sgd", "lr", 0, "(0, inf)"),
        ("sgd", "momentum", -0.1, "[0, inf)"),
        ("sgd", "dampening", 1.5, "[0, 1]"),
        ("adam", "beta1", 1.0, "[0, 1)"),
        ("adam", "beta2", -0.1, "[0, 1)"),
        ("adam", "eps", -1e-8, "[0, inf)"),
        ("adamw", "weight_decay", -0.01, "[0, inf)"),
        ("adagrad", "lr_decay", -1, "[0, inf)"),
        ("adagrad", "initial_accumulator_value", -1, "[0, inf)"),
        ("rmsprop", "alpha", 1.5, "[0, 1]"),
        ("nadam", "momentum_decay", -0.004, "[0, inf)"),
        ("adadelta", "rho", 1.1, "[0, 1]"),
        ("rprop", "etaminus", 1.0, "(0, 1)"),
        ("rprop", "etaplus", 1.0, "(1, inf)"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_range(name: str, key: str, value: float, range_text: str) -> None:
    with pytest.raises(LandscapeError) as err:
        get_optimizer(name).resolve({key: value})
    assert key in str(err.value) and range_text in str(err.value)


@pytest.mark.parametrize("value", ["yes", "1", 1, 0.0, "maybe"])
def test_flags_take_only_true_or_false(value: object) -> None:
    with pytest.raises(LandscapeError, match="true or false"):
        get_optimizer("adam").resolve({"amsgrad": value})


@pytest.mark.parametrize("value", ["abc", True, "nan", "inf", None])
def test_numbers_refuse_non_numbers(value: object) -> None:
    with pytest.raises(LandscapeError, match="lr"):
        get_optimizer("adam").resolve({"lr": value})


def test_cross_parameter_checks_follow_torch() -> None:
    with pytest.raises(LandscapeError, match="Nesterov"):
        get_optimizer("sgd").resolve({"nesterov": True})
    with pytest.raises(LandscapeError, match="Nesterov"):
        get_optimizer("nesterov").resolve({"dampening": 0.1})
    with pytest.raises(LandscapeError, match="Nesterov"):
        get_optimizer("nesterov").resolve({"momentum": 0})
    with pytest.raises(LandscapeError, match="step_size_min"):
        get_optimizer("rprop").resolve({"step_size_min": 2.0, "step_size_max": 1.0})
    assert get_optimizer("momentum").resolve({"nesterov": "true"})["nesterov"] is True


def test_int_hyperparameters_refuse_fractions() -> None:
    h = Hyperparameter("warmup", 3, "steps", low=0)
    assert h.coerce("5") == 5 and type(h.coerce(5.0)) is int
    with pytest.raises(LandscapeError, match="whole number"):
        h.coerce(2.5)


def test_every_builtin_declares_help_and_valid_defaults() -> None:
    for name, opt in optimizers().items():
        assert opt.description and opt.reference, name
        assert "lr" in opt.defaults(), name
        for h in opt.hyperparameters:
            assert h.help, (name, h.name)
            assert h.coerce(h.default) == h.default, (name, h.name)


def test_unknown_optimizer_names_the_valid_ones() -> None:
    with pytest.raises(LandscapeError) as err:
        get_optimizer("adamm")
    assert "adam" in str(err.value) and "rmsprop" in str(err.value)
