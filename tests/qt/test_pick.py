"""The 3-D pick maths, without OpenGL: a surface point projected to a pixel and picked back."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.qt.model.pick import (
    DisplayBox,
    intersect_heightfield,
    pick,
    project,
    projection_matrix,
    unproject,
    view_matrix,
)


def _bowl(R=121, bounds=(-2.0, 4.0, -1.0, 3.0), log=False):
    xs = np.linspace(bounds[0], bounds[1], R)
    ys = np.linspace(bounds[2], bounds[3], R)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    z = (gx - 1.0) ** 2 + 0.5 * (gy - 1.0) ** 2
    box = DisplayBox.from_grid(bounds, z, log)
    return xs, ys, z, box, box.height(z)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("elevation,azimuth", [(30, -60), (60, 20), (85, 135), (15, 200)])
def test_pick_round_trip(log, elevation, azimuth):
    """A surface point projected to a pixel picks back a surface point on the same pixel, no farther
    from the camera; seen from high up (no occlusion of a bowl) it is the point itself."""
    xs, ys, z, box, H = _bowl(log=log)
    W, Hpx = 900, 600
    view = view_matrix(4.0, elevation, azimuth, (0, 0, 0.3))
    mvp = projection_matrix(4.0, 60, W, Hpx) @ view
    eye = np.linalg.inv(view)[:3, 3]
    rng = np.random.default_rng(0)
    for x, y in rng.uniform([-1.0, 0.0], [3.0, 2.0], size=(12, 2)):
        zz = (x - 1.0) ** 2 + 0.5 * (y - 1.0) ** 2
        p3 = box.points(np.array([[x, y]]), np.array([zz]))[0].astype(float)
        px, py = project(mvp, p3[None, :], W, Hpx)[0]
        got = pick(mvp, px, py, W, Hpx, box, xs, ys, H)
        assert got is not None
        gz = (got[0] - 1.0) ** 2 + 0.5 * (got[1] - 1.0) ** 2
        g3 = box.points(np.array([got]), np.array([gz]))[0].astype(float)
        assert project(mvp, g3[None, :], W, Hpx)[0] == pytest.approx((px, py), abs=1.5)
        assert np.linalg.norm(g3 - eye) <= np.linalg.norm(p3 - eye) + 1e-3
        if elevation >= 60:
            assert got == pytest.approx((x, y), abs=0.02)


def test_ray_missing_the_box_picks_nothing():
    xs, ys, z, box, H = _bowl()
    W, Hpx = 900, 600
    mvp = projection_matrix(4.0, 60, W, Hpx) @ view_matrix(4.0, 30, 45)
    assert pick(mvp, 2, 2, W, Hpx, box, xs, ys, H) is None  # a corner pixel looks past the surface


def test_holes_let_the_ray_through():
    gx = np.linspace(-1, 1, 21)
    gy = np.linspace(-1, 1, 21)
    H = np.full((21, 21), 0.5)
    straight_down = np.array([0.0, 0.0, -1.0])
    hit = intersect_heightfield(np.array([0.1, 0.2, 3.0]), straight_down, gx, gy, H)
    assert hit == pytest.approx([0.1, 0.2, 0.5])
    H[8:14, 8:14] = np.nan
    assert intersect_heightfield(np.array([0.1, 0.2, 3.0]), straight_down, gx, gy, H) is None


def test_unproject_gives_the_ray_through_the_projected_point():
    W, Hpx = 640, 480
    mvp = projection_matrix(3.0, 60, W, Hpx) @ view_matrix(3.0, 40, 10)
    p = np.array([0.3, -0.2, 0.4])
    px, py = project(mvp, p[None, :], W, Hpx)[0]
    o, d = unproject(mvp, px, py, W, Hpx)
    # distance of p from the ray
    v = p - o
    assert np.linalg.norm(v - (v @ d) * d) < 1e-9


def test_display_box_log_heights_are_monotone_and_invertible():
    box = DisplayBox((-1, 1, -1, 1), 0.0, 1000.0, log=True)
    z = np.array([0.0, 0.01, 1.0, 10.0, 1000.0])
    h = box.height(z)
    assert np.all(np.diff(h) > 0) and h[0] == pytest.approx(0.0) and h[-1] == pytest.approx(0.9)
    assert box.loss_at_height(h) == pytest.approx(z, abs=1e-9)
