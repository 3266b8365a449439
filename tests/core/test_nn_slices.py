"""Network surfaces: specs, the catalogue, slices, full-weight-space runs."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.catalogue import CATALOGUE
from landscape_gui.core.nn.fullspace import run_full_space
from landscape_gui.core.nn.losses import LOSSES
from landscape_gui.core.nn.slices import NetSurface, nn_surface_from_spec, parse_spec
from landscape_gui.core.runs import CONVERGED, MAX_STEPS
from landscape_gui.core.surfaces import get_surface, surface_entries, surface_from_spec

SMALL_MLP = "nn:dataset=moons;n=40;model=mlp;hidden=6,5;loss=bce;seed=1;centre=trained;steps=60"


def fd_grad(s, p, h=1e-6):
    return np.column_stack([(s.value(p + [h, 0]) - s.value(p - [h, 0])) / (2 * h),
                            (s.value(p + [0, h]) - s.value(p - [0, h])) / (2 * h)])


def fd_hess(s, p, h=1e-6):
    return np.stack([(s.grad(p + [h, 0]) - s.grad(p - [h, 0])) / (2 * h),
                     (s.grad(p + [0, h]) - s.grad(p - [0, h])) / (2 * h)], axis=1)


def test_every_loss_has_a_catalogue_surface_named_after_it():
    names = {e.name for e in surface_entries()}
    abbreviations = {loss.abbreviation: loss.name for loss in LOSSES.values()}
    covered = set()
    for name in CATALOGUE:
        assert name in names
        suffix = name.split("_", 3)[-1].removesuffix("_initial")
        covered.add(abbreviations.get(suffix, suffix))
    assert covered >= set(LOSSES)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_catalogue_surfaces_have_exact_derivatives(name):
    s = get_surface(name)
    assert s.name == name and isinstance(s, NetSurface)
    xmin, xmax, ymin, ymax = s.bounds
    p = np.random.default_rng(2).uniform([xmin, ymin], [xmax, ymax], (4, 2))
    g = s.grad(p)
    np.testing.assert_allclose(g, fd_grad(s, p), rtol=1e-5, atol=1e-6 * (1 + np.abs(g).max()))
    H = s.hessian(p)
    np.testing.assert_allclose(H, fd_hess(s, p), rtol=1e-4, atol=1e-5 * (1 + np.abs(H).max()))
    np.testing.assert_array_equal(H[:, 0, 1], H[:, 1, 0])


def test_spec_round_trip_and_surface_from_spec():
    s = nn_surface_from_spec("nn: loss = bce ; dataset=moons; model=mlp; hidden=6,5; n=40; steps=60; seed=1")
    assert s.name == parse_spec(SMALL_MLP).canonical()
    again = surface_from_spec(s.name)
    p = np.array([[0.1, -0.2], [0.5, 0.5]])
    np.testing.assert_array_equal(again.value(p), s.value(p))
    assert again.name == s.name


@pytest.mark.parametrize(
    "spec,message",
    [
        ("nn:dataset=moons;loss=mse;model=tanh_unit", "model tanh_unit needs one feature"),
        ("nn:dataset=sine;loss=bce", "binary_crossentropy needs a two-class dataset"),
        ("nn:dataset=blobs;loss=mse", "needs a regression or two-class dataset"),
        ("nn:dataset=moons;colour=red", "unknown key 'colour'"),
        ("nn:dataset=moons;hidden=a,b", "hidden takes layer sizes"),
        ("nn:dataset=mars", "unknown dataset 'mars'"),
        ("nn:dataset=csv", "needs path=FILE"),
        ("nn:dataset=moons;centre=middle", "centre must be trained or initial"),
        ("nn:dataset=moons;loss=huber", "unknown loss 'huber'"),
    ],
)
def test_bad_specs_raise_actionable_errors(spec, message):
    with pytest.raises(LandscapeError, match=message):
        nn_surface_from_spec(spec)


def test_tanh_unit_on_sine_is_symmetric():
    s = get_surface("nn_sine_tanh_mse")
    p = np.array([[1.3, 0.7], [-0.4, 2.0]])
    np.testing.assert_allclose(s.value(p), s.value(-p), rtol=1e-13)


def test_slice_gradient_is_projection_of_full_gradient():
    s = nn_surface_from_spec(SMALL_MLP)
    p = np.array([[0.3, -0.1], [-0.5, 0.8]])
    _, full = s.full_value_and_grad(s.theta(p))
    np.testing.assert_allclose(s.grad(p), full @ s.directions.T, rtol=1e-12)
    np.testing.assert_allclose(s.grad(p), fd_grad(s, p), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(s.hessian(p), fd_hess(s, p), rtol=1e-4, atol=1e-7)


def test_trained_centre_beats_initial_and_is_the_slice_origin():
    trained = nn_surface_from_spec(SMALL_MLP)
    initial = nn_surface_from_spec(SMALL_MLP.replace("centre=trained", "centre=initial"))
    origin = np.zeros((1, 2))
    assert trained.value(origin)[0] < 0.75 * initial.value(origin)[0]
    assert trained.train_loss == pytest.approx(trained.value(origin)[0])


def test_csv_dataset_surface(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] + X[:, 2] > 0).astype(int)
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,cls\n" + "\n".join(f"{r[0]},{r[1]},{r[2]},{c}" for r, c in zip(X, y)))
    s = surface_from_spec(f"nn:dataset=csv;path={path};target=cls;model=mlp;hidden=4;steps=20")
    assert s.net.sizes == (3, 4, 1) and s.loss.name == "binary_crossentropy"
    assert s.predict((0.0, 0.0)).shape == (30, 1)


def test_full_space_run_on_two_weight_model_equals_plane_run():
    s = get_surface("nn_sine_tanh_mse")
    a = run_full_space(s, "sgd", [[1.0, 1.0]], {"lr": 0.1}, max_steps=30)[0]
    b = engine.run_many(s, "sgd", [[1.0, 1.0]], {"lr": 0.1}, max_steps=30)[0]
    np.testing.assert_allclose(a.positions, b.positions, atol=1e-12)
    np.testing.assert_allclose(a.extras["distance"], 0.0, atol=1e-12)


def test_full_space_run_leaves_the_plane_and_reports_it():
    s = nn_surface_from_spec(SMALL_MLP)
    runs = run_full_space(s, "sgd", [[0.6, 0.6], [-0.4, 0.3]], {"lr": 0.5}, max_steps=40, first_id=5)
    assert [r.id for r in runs] == [5, 6]
    for r in runs:
        assert r.status == MAX_STEPS and r.steps == 40
        assert r.extras["distance"][0] == pytest.approx(0.0, abs=1e-12)
        assert r.extras["distance"][-1] > 1e-3
        assert r.extras["true_loss"][0] == pytest.approx(r.losses[0])
        assert r.extras["true_loss"][-1] < r.extras["true_loss"][0]
        np.testing.assert_allclose(r.losses, s.value(r.positions), rtol=1e-12)
        theta_end = s.theta(r.positions[-1:])
        assert s.project(theta_end)[1][0] == pytest.approx(0.0, abs=1e-10)


def test_full_space_convergence_uses_full_gradient():
    s = nn_surface_from_spec(SMALL_MLP)
    r = run_full_space(s, "sgd", [[0.0, 0.0]], {"lr": 0.5}, max_steps=10, tol=10.0)[0]
    assert r.status == CONVERGED and r.steps == 0


def test_minibatch_full_space_runs_are_seeded():
    s = nn_surface_from_spec(SMALL_MLP)
    a = run_full_space(s, "sgd", [[0.5, 0.5]], {"lr": 0.3}, max_steps=15, batch_size=8, batch_seed=3)[0]
    b = run_full_space(s, "sgd", [[0.5, 0.5]], {"lr": 0.3}, max_steps=15, batch_size=8, batch_seed=3)[0]
    c = run_full_space(s, "sgd", [[0.5, 0.5]], {"lr": 0.3}, max_steps=15, batch_size=8, batch_seed=4)[0]
    assert np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)
    assert a.params["batch_size"] == 8


def test_in_plane_runs_work_through_the_engine():
    s = get_surface("nn_line_affine_mse")
    r = engine.run_many(s, "momentum", [[2.5, -0.5]], {"lr": 0.05}, max_steps=2000, tol=1e-7)[0]
    assert r.status == CONVERGED
    assert r.end == pytest.approx((0.8, 1.0), abs=0.1)


def test_training_that_diverges_is_reported():
    with pytest.raises(LandscapeError, match="training diverged"):
        nn_surface_from_spec("nn:dataset=line;n=20;model=mlp;hidden=4;activation=relu;loss=mse;optimizer=sgd;lr=9;steps=200")


def test_build_progress_and_cancel():
    seen = []
    nn_surface_from_spec("nn:dataset=moons;n=30;hidden=4;steps=64;seed=11", progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    with pytest.raises(engine.Cancelled):
        nn_surface_from_spec("nn:dataset=moons;n=30;hidden=4;steps=64;seed=12", should_cancel=lambda: True)


def test_creased_losses_are_flagged_not_smooth():
    assert get_surface("nn_sine_tanh_mse").smooth
    assert not get_surface("nn_sine_tanh_mae").smooth
    assert not get_surface("nn_moons_linear_hinge").smooth
    assert not nn_surface_from_spec("nn:dataset=line;n=20;model=mlp;hidden=4;activation=relu;loss=mse;steps=0").smooth
