"""Step explanations: components that add up to the recorded step, stable kinds, narrated stages."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core import optimizers as optmod
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.explain import (
    COMPONENT_KINDS,
    STAGE_KEYS,
    VECTOR_KINDS,
    RunExplainer,
    StepExplanation,
    explain_run,
    explain_step,
    format_number,
    format_vector,
)
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface

# Every built-in, and every flag that changes the shape of the update.
VARIANTS = [(name, {}) for name in sorted(optmod._BUILTINS)] + [
    ("sgd", {"weight_decay": 0.05, "maximize": True, "lr": 0.002}),
    ("momentum", {"dampening": 0.5, "weight_decay": 0.05}),
    ("nesterov", {"weight_decay": 0.05}),
    ("adagrad", {"weight_decay": 0.1, "lr_decay": 0.1}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "lr": 0.01}),
    ("rmsprop", {"momentum": 0.8, "lr": 0.01}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamw", {"amsgrad": True}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("nadam", {"weight_decay": 0.1}),
    ("radam", {"weight_decay": 0.1}),
    ("radam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamax", {"weight_decay": 0.1}),
    ("adadelta", {"weight_decay": 0.1}),
    ("asgd", {"weight_decay": 0.1, "lambd": 0.1}),
    ("rprop", {"maximize": True}),
    ("qhm", {"weight_decay": 0.1, "beta": 0.9}),
    ("qhadam", {"weight_decay": 0.1, "nu2": 0.5}),
]


def _runs(name: str, hp: dict) -> list:
    starts = [[-1.0, -2.5], [0.5, 4.0]] if not hp.get("maximize") else [[0.2, -0.6], [-0.6, -1.2]]
    return engine.run_many(get_surface("himmelblau"), name, starts, hp, max_steps=30)


@pytest.mark.parametrize("name, hp", VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
def test_components_add_up_to_the_recorded_step_at_every_step(name: str, hp: dict) -> None:
    assert get_optimizer(name).explain is not None, "every built-in explains itself"
    for run in _runs(name, hp):
        assert run.steps > 5
        explainer = RunExplainer(run)
        assert explainer.replay_error == 0.0, "the replay reproduces the engine's positions bit for bit"
        explained = list(explainer)
        assert len(explained) == run.steps
        for k, e in enumerate(explained):
            step = run.positions[k + 1] - run.positions[k]
            np.testing.assert_array_equal(e.position, run.positions[k])
            np.testing.assert_array_equal(e.gradient, run.grads[k])
            np.testing.assert_array_equal(e.step_vector, step)
            if not e.components:  # only a step of exactly zero (Rprop resting both axes) has no parts
                assert not np.any(step)
                continue
            total = np.sum([c.value for c in e.components], axis=0)
            scale = np.abs(run.positions[k]) + sum(np.abs(c.value) for c in e.components)
            assert np.all(np.abs(total - step) <= 1e-12 * scale), (k, total, step)


@pytest.mark.parametrize("name, hp", VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
def test_kinds_are_stable_and_every_stage_quotes_its_numbers(name: str, hp: dict) -> None:
    run = _runs(name, hp)[0]
    explainer = RunExplainer(run)
    for e in (explainer.explain(k) for k in range(6)):
        kinds = [a.kind for a in e.arrows]
        assert set(kinds) <= set(VECTOR_KINDS)
        assert len(kinds) == len(set(kinds)), "one arrow per kind, so one colour means one thing"
        assert {"gradient", "neg_gradient", "step"} <= set(kinds)
        assert {c.kind for c in e.components} <= set(COMPONENT_KINDS)
        assert all(a.value.shape == (2,) and a.text and a.label for a in (*e.arrows, *e.components))
        assert e.stages[0].key == "gradient" and e.stages[-1].key in ("step", "average")
        assert any(s.key == "step" for s in e.stages)
        for s in e.stages:
            assert s.key in STAGE_KEYS and s.title and s.narration
            for a in s.arrows:
                assert format_vector(a.value) in s.narration, (s.key, a.label, s.narration)
            for key, value in s.numbers.items():
                assert format_number(value) in s.narration, (s.key, key, s.narration)


def test_an_adam_step_walks_every_stage_with_its_numbers() -> None:
    run = engine.run_many(get_surface("himmelblau"), "adam", [[-1.0, -2.5]], {"lr": 0.1}, max_steps=10)[0]
    e = explain_run(run)[3]
    assert [s.key for s in e.stages] == [
        "gradient", "decay_momentum", "add_gradient", "running_square", "bias_correction", "scale", "step"]
    titles = [s.title for s in e.stages]
    for phrase in ("compute the gradient", "decay the momentum", "add the gradient",
                   "scale by the root of the running square", "take the step"):
        assert phrase in titles
    text = {s.key: s.narration for s in e.stages}
    assert format_vector(run.grads[3]) in text["gradient"]
    assert "lr = 0.1" in text["step"]
    assert format_vector(run.positions[4] - run.positions[3]) in text["step"]
    assert format_vector(run.positions[4]) in text["step"]
    assert "beta1 = 0.9" in text["decay_momentum"] and "beta2 = 0.999" in text["running_square"]
    bc1 = 1 - 0.9**4
    assert format_number(bc1) in text["bias_correction"]
    m_hat = e.arrow("first_moment")
    assert m_hat is not None and format_vector(m_hat.value) in text["bias_correction"]
    assert {c.kind for c in e.components} == {"momentum_term", "gradient_term"}


def test_momentum_components_are_carried_velocity_and_fresh_gradient() -> None:
    run = engine.run_many(get_surface("himmelblau"), "momentum", [[-1.0, -2.5]], {"lr": 0.01}, max_steps=5)[0]
    ex = explain_run(run)
    first, second = ex[0], ex[1]
    assert [c.kind for c in first.components] == ["gradient_term"]  # b_1 = g_1: nothing carried yet
    np.testing.assert_allclose(first.components[0].value, -0.01 * run.grads[0])
    parts = {c.kind: c.value for c in second.components}
    np.testing.assert_allclose(parts["gradient_term"], -0.01 * run.grads[1])
    np.testing.assert_allclose(parts["momentum_term"], 0.9 * first.step_vector)  # -lr·μ·b_1 = μ·Δ_1
    np.testing.assert_allclose(second.arrow("velocity").value, 0.9 * run.grads[0] + run.grads[1])


def test_qhm_step_is_a_visible_mix_of_gradient_and_buffer() -> None:
    run = engine.run_many(get_surface("himmelblau"), "qhm", [[-1.0, -2.5]], {"lr": 0.01, "nu": 0.7, "beta": 0.9},
                          max_steps=5)[0]
    e = explain_run(run)[2]
    parts = {c.kind: c.value for c in e.components}
    np.testing.assert_allclose(parts["gradient_term"], -0.01 * 0.3 * run.grads[2])
    assert "mix" in [s.key for s in e.stages]


def test_explain_step_equals_the_same_step_of_explain_run() -> None:
    run = engine.run_many(get_surface("himmelblau"), "nadam", [[-1.0, -2.5]], max_steps=30)[0]
    whole = explain_run(run)
    for k in (0, 7, run.steps - 1):
        one = explain_step(run, k)
        assert isinstance(one, StepExplanation) and one.step == k + 1
        assert [s.narration for s in one.stages] == [s.narration for s in whole[k].stages]
    with pytest.raises(LandscapeError, match="steps 0 to"):
        RunExplainer(run).explain(run.steps)


def test_explanations_come_from_the_record_alone() -> None:
    # The surface named in the run is never looked up: explanations replay the recorded gradients.
    run = engine.run_many(get_surface("himmelblau"), "rmsprop", [[-1.0, -2.5]], max_steps=20)[0]
    run.surface = "no such surface"
    explainer = RunExplainer(run)
    assert explainer.replayed and len(explainer) == run.steps
    assert set(explainer.state_before(5)) == {"square_avg"}
    assert explainer.state_before(5)["square_avg"].shape == (1, 2)
    assert len(list(explainer)) == run.steps


def test_a_run_that_does_not_replay_is_refused_or_shown_plainly() -> None:
    run = engine.run_many(get_surface("himmelblau"), "adam", [[-1.0, -2.5]], max_steps=20)[0]
    run.params = {**run.params, "lr": 0.05}  # not the settings it was made with
    with pytest.raises(LandscapeError, match="step 1"):
        RunExplainer(run)
    plain = RunExplainer(run, strict=False)
    assert not plain.replayed and "other settings" in (plain.problem or "")
    e = plain.explain(3)
    assert [a.kind for a in e.arrows] == ["gradient", "neg_gradient", "step"]
    np.testing.assert_array_equal(e.components[0].value, run.positions[4] - run.positions[3])
    run.optimizer = "not-installed"
    assert "unknown optimizer" in (RunExplainer(run, strict=False).problem or "")


def test_optimizers_without_explain_show_gradient_and_step_only() -> None:
    plain = dataclasses.replace(get_optimizer("adam"), name="plain-adam", explain=None)
    run = engine.run_many(get_surface("himmelblau"), plain, [[-1.0, -2.5]], max_steps=10)[0]
    ex = explain_run(run, plain)
    for k, e in enumerate(ex):
        assert [a.kind for a in e.arrows] == ["gradient", "neg_gradient", "step"]
        assert [c.kind for c in e.components] == ["step"]
        np.testing.assert_array_equal(e.components[0].value, run.positions[k + 1] - run.positions[k])
        assert [s.key for s in e.stages] == ["gradient", "step"]
        assert "lr = 0.1" in e.stages[-1].narration


def test_a_run_that_took_no_steps_has_nothing_to_explain() -> None:
    run = engine.run_many(get_surface("himmelblau"), "adam", [[3.0, 2.0]])[0]
    assert run.steps == 0 and explain_run(run) == []
    with pytest.raises(LandscapeError, match="nothing to explain"):
        RunExplainer(run).explain(0)
