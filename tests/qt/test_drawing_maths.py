"""Qt-free drawing helpers: contour segments, thinned path sets, session files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import CONVERGED, Run
from landscape_gui.qt.views.contours import contour_segments
from landscape_gui.qt.views.paths import MANY_RUNS, build_paths, thinning_unit
from landscape_gui.core.session import Session, load_session, save_session


def test_contours_of_a_bowl_lie_on_the_level_circle():
    xs = ys = np.linspace(-1, 1, 81)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    seg = contour_segments(xs, ys, gx**2 + gy**2, [0.25])
    r = np.hypot(seg[:, 0], seg[:, 1])
    assert len(seg) > 100 and np.allclose(r, 0.5, atol=2e-3)


def test_contours_of_a_saddle_and_gaps():
    xs = ys = np.linspace(-1, 1, 41)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    z = gx * gy
    seg = contour_segments(xs, ys, z, [0.3])
    assert np.allclose(seg[:, 0] * seg[:, 1], 0.3, atol=0.02)  # on the hyperbola, both branches
    assert (seg[:, 0] > 0).any() and (seg[:, 0] < 0).any()
    z[gx < 0] = np.nan
    assert (contour_segments(xs, ys, z, [0.3])[:, 0] >= -0.05).all()  # nothing drawn in the gap


def _run(i, pts):
    pts = np.asarray(pts, dtype=float)
    return Run(i, pts, np.arange(len(pts), dtype=float)[::-1], np.zeros_like(pts), CONVERGED, "sgd")


def test_paths_thin_tiny_steps_but_keep_ends_and_order_segments_by_step():
    tail = np.column_stack([1 + 1e-6 * np.arange(500), np.zeros(500)])
    a = _run(1, np.vstack([[[0.0, 0.0], [0.5, 0.0]], tail]))
    b = _run(2, [[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    p = build_paths([a, b], 0.01, 0.01)
    assert len(p.xy) < 20  # 500 sub-pixel steps collapse
    assert np.array_equal(p.ends, np.array([a.positions[-1], b.positions[-1]]))
    heads, _ = p.heads(1)
    assert np.array_equal(heads, np.array([a.positions[1], b.positions[1]]))
    ends, steps, runs = p.step_sorted_segments()
    assert np.all(np.diff(steps) >= 0)
    k = np.searchsorted(steps, 1, side="right")  # at step 1: each run's first segment only
    assert sorted(runs[:k]) == [0, 1]


def test_coarser_thinning_of_many_runs_stays_within_a_pixel_of_every_step():
    assert thinning_unit(1) == 1.0 and thinning_unit(MANY_RUNS + 1) == 2.0
    t = np.linspace(0, 1.5 * np.pi, 1000)  # a curling path, 1 data unit = 100 px
    curl = _run(1, np.column_stack([np.cos(t), np.sin(t)]) * (1 - 0.6 * t[:, None] / t[-1]))
    px = 0.01
    fine = build_paths([curl], px, px)
    coarse = build_paths([curl], px * thinning_unit(MANY_RUNS + 1), px * thinning_unit(MANY_RUNS + 1))
    assert len(coarse.xy) < 0.6 * len(fine.xy)  # about half the segments to draw
    a, b = coarse.xy[:-1], coarse.xy[1:]
    P = curl.positions[:, None, :]
    ab = b - a
    u = np.clip(np.sum((P - a) * ab, axis=2) / np.maximum(np.sum(ab * ab, axis=1), 1e-300), 0, 1)
    dist = np.linalg.norm(P - (a + u[..., None] * ab), axis=2).min(axis=1)
    assert dist.max() < 0.5 * px  # every step lies within half a pixel of the drawn polyline


def test_session_round_trip_and_named_problems(tmp_path):
    s = Session("himmelblau", (-5.0, 5.0, -5.0, 5.0), 150, True, "momentum", ["sgd", "momentum"],
                {"momentum": {"lr": 0.002}}, 500, 1e-5, [("sgd", 1.0, 2.0), ("momentum", -1.5, 0.25)])
    path = tmp_path / "s.json"
    save_session(path, s)
    back = load_session(path)
    assert back.runs == s.runs and back.bounds == s.bounds and back.hyperparameters["momentum"]["lr"] == 0.002
    data = json.loads(path.read_text())
    data["runs"][1]["start"] = [1.0, "x"]
    path.write_text(json.dumps(data))
    with pytest.raises(LandscapeError, match="run 2 start y"):
        load_session(path)
