"""Gradient noise, mini-batch gradients, fans and probability maps."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.basins import basin_map
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.noise import GradientNoise, batch_masks, philox4x32, standard_normals
from landscape_gui.core.schedules import make_schedule
from landscape_gui.core.stochastic import entropy_bits, fan, probability_image, probability_map
from landscape_gui.core.surfaces import get_surface


def test_philox_matches_the_published_known_answers() -> None:
    # Random123's kat_vectors for philox4x32-10
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, want in cases:
        assert tuple(int(w) for w in philox4x32(*ctr, *key)) == want


def test_normals_are_standard_and_depend_only_on_seed_run_and_step() -> None:
    z = standard_normals(7, np.arange(200_000), 3, 2)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.01
    # the same (seed, run, step) in any company gives the same draw
    assert np.array_equal(standard_normals(7, [5], 3, 2)[0], z[5])
    assert np.array_equal(standard_normals(7, [123, 5], 3, 2)[1], z[5])
    assert not np.array_equal(standard_normals(8, [5], 3, 2), standard_normals(7, [5], 3, 2))
    assert not np.array_equal(standard_normals(7, [5], 4, 2), standard_normals(7, [5], 3, 2))
    # more dimensions extend, they do not reshuffle
    assert np.array_equal(standard_normals(7, [5], 3, 5)[:, :2], standard_normals(7, [5], 3, 2))


def test_batch_masks_pick_exactly_the_batch_size_without_replacement() -> None:
    m = batch_masks(3, np.arange(50), 9, 37, 8)
    assert m.shape == (50, 37) and (m.sum(axis=1) == 8).all()
    assert np.array_equal(batch_masks(3, [17], 9, 37, 8)[0], m[17])
    assert len({tuple(row) for row in m}) > 40  # runs draw different batches


def test_scale_zero_is_the_noiseless_run_bit_for_bit() -> None:
    s = get_surface("himmelblau")
    starts = np.random.default_rng(1).uniform(-5, 5, (40, 2))
    plain = engine.run(s, "adam", starts, max_steps=200)
    quiet = engine.run(s, "adam", starts, max_steps=200, noise=GradientNoise(0.0, 99))
    for a, b in zip(plain.runs, quiet.runs):
        assert a.same_trajectory(b)
    m1 = basin_map(s, "adam", resolution=24, max_steps=200)
    m0 = basin_map(s, "adam", resolution=24, max_steps=200, noise=GradientNoise(0.0, 5))
    assert np.array_equal(m1.labels, m0.labels)


def test_same_seed_same_runs_however_the_work_is_split() -> None:
    s = get_surface("himmelblau")
    starts = np.random.default_rng(2).uniform(-5, 5, (30, 2))
    noise = GradientNoise(3.0, 11)
    together = engine.run(s, "momentum", starts, max_steps=150, noise=noise, first_id=1).runs
    again = engine.run(s, "momentum", starts, max_steps=150, noise=noise, first_id=1).runs
    assert all(a.same_trajectory(b) for a, b in zip(together, again))
    # run 17 alone (id 17) equals run 17 of the batch, though the batch compacts around it
    alone = engine.run(s, "momentum", starts[16:17], max_steps=150, noise=noise, first_id=17).runs[0]
    assert alone.same_trajectory(together[16])
    # the second half as its own call
    half = engine.run(s, "momentum", starts[15:], max_steps=150, noise=noise, first_id=16).runs
    assert all(a.same_trajectory(b) for a, b in zip(half, together[15:]))
    # a basin map (no trajectories kept) ends where the recorded runs end
    res = engine.run(s, "momentum", starts, max_steps=150, noise=noise, record=False)
    assert np.array_equal(res.final_positions, np.array([r.positions[-1] for r in together]))
    other = engine.run(s, "momentum", starts, max_steps=150, noise=GradientNoise(3.0, 12)).runs
    assert not all(a.same_trajectory(b) for a, b in zip(other, together))


def test_noise_is_recorded_and_the_true_gradient_kept() -> None:
    s = get_surface("saddle")
    run = engine.run(s, "sgd", [[1.0, 0.5]], {"lr": 0.05}, max_steps=20, tol=0,
                     noise=GradientNoise(0.3, 4)).runs[0]
    assert run.params["noise"] == {"scale": 0.3, "seed": 4}
    _, g = s.value_and_grad(run.positions)
    assert np.array_equal(run.grads, g)
    # the step is the noisy gradient's: x_{t+1} - x_t = -lr (g_t + σ z_t)
    z = np.array([standard_normals(4, [1], t, 2)[0] for t in range(1, 21)])
    np.testing.assert_allclose(np.diff(run.positions, axis=0), -0.05 * (g[:-1] + 0.3 * z), rtol=1e-12, atol=1e-15)


def test_noise_works_with_a_formula_and_a_schedule() -> None:
    from landscape_gui.core.formula import formula_surface

    s = formula_surface("x**2 + 3*y**2")
    runs = engine.run(s, "sgd", [[1.0, 1.0]] * 3, {"lr": 0.05}, max_steps=60, tol=0, noise=GradientNoise(0.5, 1),
                      schedule=make_schedule("exponential", {"gamma": 0.95})).runs
    ends = np.array([r.positions[-1] for r in runs])
    assert len({tuple(e) for e in ends}) == 3  # three different noisy runs
    assert np.abs(ends).max() < 0.5  # all near the bottom: the decaying lr quiets the noise


def test_bad_noise_settings_are_refused() -> None:
    with pytest.raises(LandscapeError, match="noise scale must be a finite number >= 0"):
        GradientNoise(-1.0)
    with pytest.raises(LandscapeError, match="noise seed must be a whole number >= 0"):
        GradientNoise(1.0, -3)
    with pytest.raises(LandscapeError, match="a mini-batch size needs a neural-network surface"):
        engine.run(get_surface("saddle"), "sgd", [[1, 1]], noise=GradientNoise(0.0, 1, batch_size=4))


@pytest.fixture(scope="module")
def line_surface():
    return get_surface("nn_line_affine_mse")


def test_mini_batch_gradients_are_the_gradients_of_the_batch_loss(line_surface) -> None:
    s = line_surface
    n = s.dataset.n_samples
    p = np.array([[0.3, -0.2], [1.0, 0.5]])
    # all weights one: the full gradient
    np.testing.assert_allclose(s.batch_grad(p, np.ones((2, n))), s.value_and_grad(p)[1], rtol=1e-12)
    # a batch: the gradient of the loss on just those samples, computed from the batch alone
    mask = batch_masks(0, [1, 2], 1, n, 5)
    got = s.batch_grad(p, mask * (n / 5))
    for r in range(2):
        X, t = s.dataset.X[mask[r]], s.targets[mask[r]]
        _, gw = s.net.loss_and_grad(s._w(p[r:r + 1]), X, t, s.loss)
        np.testing.assert_allclose(got[r], (gw @ s._dw.T)[0], rtol=1e-10)


def test_mini_batch_runs_in_the_plane_are_seeded_and_full_batch_is_exact(line_surface) -> None:
    s = line_surface
    n = s.dataset.n_samples
    starts = [[0.5, 0.5], [-0.5, 1.0]]
    a = engine.run(s, "sgd", starts, {"lr": 0.1}, max_steps=40, tol=0, noise=GradientNoise(0.0, 3, batch_size=4)).runs
    b = engine.run(s, "sgd", starts, {"lr": 0.1}, max_steps=40, tol=0, noise=GradientNoise(0.0, 3, batch_size=4)).runs
    full = engine.run(s, "sgd", starts, {"lr": 0.1}, max_steps=40, tol=0).runs
    whole = engine.run(s, "sgd", starts, {"lr": 0.1}, max_steps=40, tol=0,
                       noise=GradientNoise(0.0, 3, batch_size=n)).runs
    assert all(x.same_trajectory(y) for x, y in zip(a, b))
    assert not a[0].same_trajectory(full[0])
    assert all(x.same_trajectory(y) for x, y in zip(whole, full))
    assert a[0].params["noise"] == {"scale": 0.0, "seed": 3, "batch_size": 4}


def test_a_fan_groups_noisy_runs_by_start() -> None:
    s = get_surface("saddle")
    groups = fan(s, "sgd", [[1.5, 0.02], [-1.0, 1.5]], 6, GradientNoise(1.0, 2), {"lr": 0.05}, max_steps=120, tol=0)
    assert [len(g) for g in groups] == [6, 6]
    assert [r.id for r in groups[1]] == list(range(7, 13))
    for g, start in zip(groups, [(1.5, 0.02), (-1.0, 1.5)]):
        assert all(r.start == start for r in g)
        assert len({r.end for r in g}) == 6  # a bundle, not one path six times
    # from just above the saddle's ridge, noise sends some runs to each well
    wells = {np.sign(r.end[1]) for r in groups[0]}
    assert wells == {-1.0, 1.0}


def test_probability_map_of_the_saddle_is_symmetric_to_sampling_error() -> None:
    s = get_surface("saddle")
    k = 64
    pm = probability_map(s, "sgd", GradientNoise(1.5, 1), k, {"lr": 0.05}, resolution=12, max_steps=150, tol=1e-4)
    assert [(c.x, c.y) for c in pm.points()] == [(0.0, -1.0), (0.0, 1.0)] or \
        sorted((c.x, c.y) for c in pm.points()) == [(0.0, -1.0), (0.0, 1.0)]
    down, up = (pm.probabilities[m] for m in range(2))
    if pm.points()[0].y > 0:
        down, up = up, down
    assert np.allclose(up + down + pm.nowhere, 1.0)
    # mirror y -> -y swaps the wells; mirror x -> -x keeps them
    for a, b in ((up, down[:, ::-1]), (up, up[::-1, :])):
        pbar = (a + b) / 2
        sigma = np.sqrt(2 * pbar * (1 - pbar) / k)
        assert (np.abs(a - b) <= 5 * sigma + 1.5 / k).all()
    # the border (y = 0) is uncertain, the well bottoms certain
    mid = pm.entropy[:, 5:7]
    assert mid.mean() > 0.2 and mid.mean() > 4 * pm.entropy[:, 2:4].mean()
    assert pm.entropy[:, 0].max() == 0 and pm.entropy[:, -1].max() == 0
    assert up[:, -1].min() == 1.0 and down[:, 0].min() == 1.0
    # reproducible, and a different seed gives a different estimate
    again = probability_map(s, "sgd", GradientNoise(1.5, 1), k, {"lr": 0.05}, resolution=12, max_steps=150, tol=1e-4)
    assert np.array_equal(again.probabilities, pm.probabilities)


def test_probability_picture_colours_by_most_likely_minimum_and_fades_with_doubt() -> None:
    s = get_surface("saddle")
    pm = probability_map(s, "sgd", GradientNoise(1.5, 1), 16, {"lr": 0.05}, resolution=8, max_steps=100, tol=1e-4)
    img = probability_image(pm)
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8
    labels, prob = pm.most_likely()
    # a certain cell is fully saturated; an uncertain one is paler (closer to white)
    sure = img[0, 0].astype(int)  # top-left: y max, certain
    doubt_ij = np.unravel_index(np.argmin(np.where(labels >= 0, prob, 2)), prob.shape)
    doubt = img[7 - doubt_ij[1], doubt_ij[0]].astype(int)
    assert prob[doubt_ij] < 1.0
    assert (255 - sure).sum() > (255 - doubt).sum()


def test_entropy_is_zero_for_certainty_and_one_bit_for_a_coin() -> None:
    assert entropy_bits(np.array([[1.0], [0.0]]))[0] == 0.0
    assert entropy_bits(np.array([[0.5], [0.5]]))[0] == 1.0


def test_probability_map_needs_noise() -> None:
    with pytest.raises(LandscapeError, match="a probability map needs gradient noise"):
        probability_map(get_surface("saddle"), "sgd", GradientNoise(0.0), 4, resolution=4)


def test_full_weight_space_runs_take_the_same_noise_and_schedule(line_surface) -> None:
    from landscape_gui.core.nn.fullspace import run_full_space

    s = line_surface  # a two-weight model: its full weight space is the plane itself
    starts = [[0.5, 0.5], [-0.5, 1.0], [1.0, -1.0]]
    setting = make_schedule("exponential", {"gamma": 0.97})
    for noise in (GradientNoise(0.2, 8), GradientNoise(0.0, 8, batch_size=5), GradientNoise(0.1, 2, batch_size=7)):
        plane = engine.run(s, "adam", starts, {"lr": 0.05}, max_steps=30, tol=0, noise=noise, schedule=setting).runs
        full = run_full_space(s, "adam", starts, {"lr": 0.05}, max_steps=30, tol=0, noise=noise, schedule=setting)
        for a, b in zip(plane, full):
            np.testing.assert_allclose(b.positions, a.positions, rtol=1e-9, atol=1e-12)
            assert b.params["noise"] == noise.record() and b.params["schedule"]["name"] == "exponential"
    quiet = run_full_space(s, "adam", starts, {"lr": 0.05}, max_steps=30, tol=0, noise=GradientNoise(0.0, 1))
    plain = run_full_space(s, "adam", starts, {"lr": 0.05}, max_steps=30, tol=0)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(quiet, plain))
    with pytest.raises(LandscapeError, match="give the mini-batch size once"):
        run_full_space(s, "sgd", starts, batch_size=4, noise=GradientNoise(0.0, 1, batch_size=4))


def test_compiled_and_numpy_philox_give_the_same_integers() -> None:
    from landscape_gui.core import noise as noisemod

    assert noisemod._compiled_rounds() is not None  # numba is a dependency
    ids = np.arange(0, 5000, 7) * 104729
    for step, blocks, purpose, seed in ((1, 1, 0, 0), (2**31 + 5, 3, 1, 2**40 + 17), (99, 9, 1, 5)):
        a = noisemod._words(seed, ids, step, blocks, purpose, compiled=True)
        b = noisemod._words(seed, ids, step, blocks, purpose, compiled=False)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    # and both agree with the published known answer at counter 0, key 0
    w = noisemod._words(0, [0], 0, 1, 0, compiled=True)
    assert [int(v[0, 0]) for v in w] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_fan_and_probability_map_report_progress_and_can_be_cancelled() -> None:
    from landscape_gui.core.engine import Cancelled

    s = get_surface("saddle")
    seen: list[float] = []
    probability_map(s, "sgd", GradientNoise(1.0, 1), 3, {"lr": 0.05}, resolution=6, max_steps=40, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        probability_map(s, "sgd", GradientNoise(1.0, 1), 3, {"lr": 0.05}, resolution=6, max_steps=400,
                        should_cancel=lambda: True)
    with pytest.raises(Cancelled):
        fan(s, "sgd", [[1, 1]], 4, GradientNoise(1.0, 1), max_steps=400, should_cancel=lambda: True)
