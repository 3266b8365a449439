"""Chosen slice planes: PCA against scikit-learn, Hessian eigenvectors against eigh, three points,
least-squares projections and the nn: spec keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core.directions import (pca_plane, path_run, project_path, three_point_plane,
                                           train_trajectory)
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.fullspace import run_full_space
from landscape_gui.core.nn.slices import build_surface, parse_spec
from landscape_gui.core.spectrum import hessian_matrix

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "pca_sklearn.npz"
SMALL = "nn:dataset=moons;n=40;hidden=4,3;steps=60"


def _cases():
    data = np.load(FIXTURE)
    names = sorted({k.split("/")[0] for k in data.files if "/" in k})
    return data, names


@pytest.mark.parametrize("case", _cases()[1])
def test_pca_directions_equal_scikit_learn(case):
    data, _ = _cases()
    X = data[f"{case}/X"]
    pca = pca_plane([X[: len(X) // 2], X[len(X) // 2:]])  # split runs: the union is what counts
    np.testing.assert_allclose(pca.mean, data[f"{case}/mean"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(pca.components, data[f"{case}/components"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(pca.explained_variance, data[f"{case}/explained_variance"], rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio, data[f"{case}/explained_variance_ratio"], rtol=1e-10)


def test_pca_spec_plane_is_the_pca_of_its_runs():
    spec = SMALL + ";directions=pca;runs=adam:0.05,sgd:0.5@1"
    s = build_surface(spec)
    net, X, t, loss = s.net, s.dataset.X, s.targets, s.loss
    trajs = [train_trajectory(net, net.glorot_init(np.random.default_rng(0)), X, t, loss, "adam", 0.05, 60),
             train_trajectory(net, net.glorot_init(np.random.default_rng(1)), X, t, loss, "sgd", 0.5, 60)]
    pca = pca_plane(trajs)
    np.testing.assert_array_equal(s.theta_c, pca.mean)
    np.testing.assert_array_equal(s.directions, pca.components)
    # every visited point projects inside the map
    for tr in s.plane_trajectories:
        ab, _ = s.project(tr)
        assert (ab[:, 0] > s.bounds[0]).all() and (ab[:, 0] < s.bounds[1]).all()
        assert (ab[:, 1] > s.bounds[2]).all() and (ab[:, 1] < s.bounds[3]).all()
    assert build_surface(s.name).name == s.name


def test_hessian_directions_are_the_top_orthonormal_eigenvectors():
    s = build_surface(SMALL + ";directions=hessian")
    plain = build_surface(SMALL)
    H = hessian_matrix(plain)  # full Hessian at the trained centre
    vals, vecs = np.linalg.eigh(H)
    D = s.directions
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-8)
    for i, j in ((0, -1), (1, -2)):
        v = vecs[:, j]
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        np.testing.assert_allclose(D[i], v, atol=1e-8)
        np.testing.assert_allclose(H @ D[i], vals[j] * D[i], atol=1e-8 * max(1, abs(vals[j])))
    np.testing.assert_array_equal(s.theta_c, plain.theta_c)


def test_full_hessian_matches_finite_differences_of_the_exact_gradient():
    s = build_surface("nn:dataset=blobs;n=30;hidden=5;steps=30;loss=cce")
    w = s.theta_c
    H = hessian_matrix(s)
    eps = 1e-6
    E = np.eye(len(w)) * eps
    gp = s.full_value_and_grad(w + E)[1]
    gm = s.full_value_and_grad(w - E)[1]
    np.testing.assert_allclose(H, (gp - gm) / (2 * eps), atol=1e-6 * np.abs(H).max())


def test_three_point_plane_contains_the_points_orthonormally():
    rng = np.random.default_rng(3)
    w1, w2, w3 = rng.standard_normal((3, 50))
    o, D = three_point_plane(w1, w2, w3)
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-12)
    for w in (w1, w2, w3):
        ab = (w - o) @ D.T
        np.testing.assert_allclose(o + ab @ D, w, atol=1e-12)
    with pytest.raises(LandscapeError, match="one line"):
        three_point_plane(w1, w2, 2 * w2 - w1)


def test_points_spec_plane_passes_through_its_three_networks():
    s = build_surface(SMALL + ";directions=points;through=init,adam:0.05,sgd:0.5@2")
    net, X, t, loss = s.net, s.dataset.X, s.targets, s.loss
    w0 = net.glorot_init(np.random.default_rng(0))
    wa = train_trajectory(net, w0, X, t, loss, "adam", 0.05, 60)[-1]
    wb = train_trajectory(net, net.glorot_init(np.random.default_rng(2)), X, t, loss, "sgd", 0.5, 60)[-1]
    for w in (w0, wa, wb):
        ab, dist = s.project(w[None])
        assert dist[0] < 1e-10
        assert s.value(ab)[0] == pytest.approx(s.full_value_and_grad(w[None])[0][0], rel=1e-10)


def test_projection_is_least_squares_and_runs_report_distance_and_true_loss():
    s = build_surface(SMALL + ";directions=pca;runs=adam:0.05")
    runs = run_full_space(s, "sgd", [[0.3, -0.2]], {"lr": 0.5}, max_steps=20, tol=0, record_weights=True)
    W = runs[0].extras["weights"]
    assert W.shape == (21, s.n_params)
    p = project_path(s, W)
    # least squares: the residual is orthogonal to the plane, and no other plane point is closer
    resid = W - s.theta(p.positions)
    np.testing.assert_allclose(resid @ s.directions.T, 0, atol=1e-10)
    rng = np.random.default_rng(0)
    for k in (0, 10, 20):
        other = p.positions[k] + rng.normal(scale=0.1, size=(50, 2))
        assert (np.linalg.norm(W[k] - s.theta(other), axis=1) > p.distance[k]).all()
    np.testing.assert_allclose(p.distance, runs[0].extras["distance"], atol=1e-12)
    np.testing.assert_allclose(p.true_loss, runs[0].extras["true_loss"], rtol=1e-12)
    assert p.distance[-1] > 1e-3  # the run left the plane ...
    assert abs(p.true_loss[-1] - p.plane_loss[-1]) > 1e-6  # ... and the plane's loss is not its loss
    # the same path re-drawn on another plane
    other = build_surface(SMALL + ";directions=hessian")
    r = path_run(other, W, 7, "sgd", {"lr": 0.5})
    np.testing.assert_allclose(r.extras["true_loss"], p.true_loss, rtol=1e-12)
    assert r.positions.shape == (21, 2) and r.id == 7


@pytest.mark.parametrize("bad, message", [
    ("directions=sideways", "directions must be"),
    ("directions=pca;runs=adam", "OPT:LR"),
    ("directions=pca;runs=nosuch:0.1", "unknown optimizer"),
    ("directions=points;through=init,adam:0.1", "three points"),
    ("directions=hessian;runs=adam:0.1", "goes with directions=pca"),
    ("directions=pca;runs=adam:0.1@x", "seed"),
])
def test_bad_direction_keys_are_refused_with_a_reason(bad, message):
    with pytest.raises(LandscapeError, match=message):
        build_surface(SMALL + ";" + bad)


def test_random_directions_keep_their_old_names():
    assert "directions" not in parse_spec(SMALL).canonical()
    assert parse_spec(SMALL + ";directions=random").canonical() == parse_spec(SMALL).canonical()


def test_pca_plane_of_the_runs_made_so_far_is_saved_and_rebuilt_from_its_name(tmp_path):
    from landscape_gui.core import engine
    from landscape_gui.core.directions import plane_of_runs, run_weights

    s = build_surface(SMALL)
    plane_runs = engine.run_many(s, "adam", [[0.5, 0.5], [-0.5, 0.2]], {"lr": 0.05}, max_steps=30)
    full = run_full_space(s, "momentum", [[0.3, -0.6]], {"lr": 0.2}, max_steps=30, tol=0, record_weights=True)
    runs = plane_runs + full
    path = tmp_path / "plane.npz"
    pca_surface = plane_of_runs(s, runs, str(path))
    assert path.exists() and "directions=file" in pca_surface.name
    want = pca_plane([run_weights(s, r) for r in runs])
    np.testing.assert_array_equal(pca_surface.directions, want.components)
    again = build_surface(pca_surface.name)
    np.testing.assert_array_equal(again.theta_c, pca_surface.theta_c)
    assert again.bounds == pca_surface.bounds
    # every run, re-drawn on the shared plane, keeps its true loss and says how far it is from it
    for r in runs:
        W = run_weights(s, r)
        drawn = path_run(pca_surface, W, r.id, r.optimizer, r.params)
        np.testing.assert_allclose(drawn.extras["true_loss"], s.full_value_and_grad(W)[0], rtol=1e-12)
        assert (drawn.extras["distance"] >= 0).all()
    wider = build_surface(pca_surface.name.replace("span=1", "span=2"))
    assert wider.bounds[1] - wider.bounds[0] == pytest.approx(2 * (pca_surface.bounds[1] - pca_surface.bounds[0]))


def test_a_bad_plane_file_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a plane")
    with pytest.raises(LandscapeError, match="not a saved plane"):
        build_surface(SMALL + f";directions=file;plane={bad}")
    with pytest.raises(LandscapeError, match="no such plane file"):
        build_surface(SMALL + f";directions=file;plane={tmp_path / 'none.npz'}")
    with pytest.raises(LandscapeError, match="plane=FILE.npz"):
        build_surface(SMALL + ";directions=file")
    other = build_surface("nn:dataset=moons;n=40;hidden=3;steps=10")
    from landscape_gui.core.directions import save_plane

    save_plane(str(bad), other.theta_c, other.directions, other.bounds, "x")
    with pytest.raises(LandscapeError, match="this network has"):
        build_surface(SMALL + f";directions=file;plane={bad}")
