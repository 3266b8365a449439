"""Minimum-energy paths (climbing-image NEB) and 1-D profiles."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import eigenvalues_2x2
from landscape_gui.core.neb import SADDLE, nudged_elastic_band
from landscape_gui.core.nn.slices import build_surface
from landscape_gui.core.profile import interpolate_networks, segment_profile
from landscape_gui.core.surfaces import get_surface

# Müller & Brown (1979), Table 1: saddles (−0.822, 0.624) V = −40.66 and (0.212, 0.293) V = −72.25;
# to ten digits as reproduced by saddle-search codes: (−0.8220015587, 0.6243128028) V = −40.66484351
# and (0.2124865820, 0.2929883251) V = −72.24894011.
MB_SADDLE_1 = (-0.8220015587, 0.6243128028, -40.66484351)
MB_SADDLE_2 = (0.2124865820, 0.2929883251, -72.24894011)
MB_A, MB_B, MB_C = (-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467)
# peaks: the saddles between its minima (see landscape_gui.core.neb's docstring)
PEAKS_S_02 = (0.4163233217, -0.3941450984, 0.4085479246)
PEAKS_S_12 = (-0.2659375568, 0.4667399937, 0.7882934627)


def _dense_max(surface, points, per_segment=200):
    t = np.linspace(0.0, 1.0, per_segment)[:, None]
    dense = np.vstack([(1 - t) * points[i] + t * points[i + 1] for i in range(len(points) - 1)])
    return float(surface.value(dense).max())


def _check_saddle(surface, s, want):
    assert s.x == pytest.approx(want[0], abs=1e-4)
    assert s.y == pytest.approx(want[1], abs=1e-4)
    assert s.loss == pytest.approx(want[2], abs=1e-4)
    eig = eigenvalues_2x2(surface.hessian(np.array([[s.x, s.y]])))[0]
    assert (eig < 0).sum() == 1 and s.is_saddle


@pytest.mark.parametrize("a, b, want", [(MB_A, MB_C, MB_SADDLE_1), (MB_C, MB_B, MB_SADDLE_2)])
def test_muller_brown_saddles_agree_with_the_literature(a, b, want):
    mb = get_surface("muller_brown")
    path = nudged_elastic_band(mb, a, b, images=15)
    assert len(path.saddles) == 1
    _check_saddle(mb, path.saddle, want)
    assert path.kinds[0] == path.kinds[-1] == "end" and path.kinds.count(SADDLE) == 1
    assert path.losses.max() == path.saddle.loss
    assert _dense_max(mb, path.points) <= path.saddle.loss + 1e-9
    assert path.barrier_forward == pytest.approx(want[2] - mb.value(np.array([path.start]))[0])
    assert path.barrier_backward == pytest.approx(want[2] - mb.value(np.array([path.end]))[0])


def test_muller_brown_path_through_the_intermediate_minimum_finds_both_saddles():
    mb = get_surface("muller_brown")
    path = nudged_elastic_band(mb, MB_A, MB_B, images=21)
    assert len(path.saddles) == 2
    _check_saddle(mb, path.saddles[0], MB_SADDLE_1)
    _check_saddle(mb, path.saddles[1], MB_SADDLE_2)
    assert path.saddle.loss == pytest.approx(MB_SADDLE_1[2], abs=1e-4)  # the higher one sets the barrier
    assert _dense_max(mb, path.points) <= path.saddle.loss + 1e-9
    # the ends were relaxed to the exact minima
    assert path.start == pytest.approx((-0.5582236346, 1.4417258418), abs=1e-8)


@pytest.mark.parametrize("i, j, want", [(0, 2, PEAKS_S_02), (1, 2, PEAKS_S_12)])
@pytest.mark.parametrize("images", [7, 21])
def test_peaks_saddles(i, j, want, images):
    pk = get_surface("peaks")
    m = pk.minima
    path = nudged_elastic_band(pk, (m[i].x, m[i].y), (m[j].x, m[j].y), images=images)
    _check_saddle(pk, path.saddle, want)
    assert _dense_max(pk, path.points) <= path.saddle.loss + 1e-9


def test_path_errors_are_readable():
    mb = get_surface("muller_brown")
    with pytest.raises(LandscapeError, match="same minimum"):
        nudged_elastic_band(mb, MB_A, (-0.55, 1.44))
    with pytest.raises(LandscapeError, match="at least 3 images"):
        nudged_elastic_band(mb, MB_A, MB_B, images=2)
    with pytest.raises(LandscapeError, match="no local minimum"):
        nudged_elastic_band(_Plane(), (0.0, 0.0), (1.0, 1.0))


class _Plane:
    """A tilted plane: no minimum anywhere."""

    bounds = (-1.0, 1.0, -1.0, 1.0)

    def value(self, p):
        return p[:, 0] + p[:, 1]

    def value_and_grad(self, p):
        return self.value(p), np.ones_like(p)

    def grad(self, p):
        return np.ones_like(p)

    def hessian(self, p):
        return np.zeros((len(p), 2, 2))


def test_segment_profile_peak_and_barriers():
    mb = get_surface("muller_brown")
    prof = segment_profile(mb, MB_A, MB_B, points=41)
    assert prof.t[0] == 0 and prof.t[-1] == 1 and len(prof.loss) == 41
    np.testing.assert_allclose(prof.loss, mb.value(prof.points))
    assert prof.peak_loss >= prof.loss.max()
    # the refined peak is the maximum of the 1-D function: a dense sampling finds nothing higher
    t = np.linspace(0, 1, 20001)[:, None]
    dense = mb.value((1 - t) * np.array(MB_A) + t * np.array(MB_B))
    assert prof.peak_loss == pytest.approx(dense.max(), abs=1e-6)
    assert prof.peak_loss >= dense.max() - 1e-9
    assert prof.barrier_from_start == pytest.approx(prof.peak_loss - prof.loss[0])
    assert prof.barrier_from_end == pytest.approx(prof.peak_loss - prof.loss[-1])
    assert prof.linear_barrier > 0 and prof.accuracy is None


def test_network_profile_is_the_interpolation_between_two_networks():
    s = build_surface("nn:dataset=moons;n=40;hidden=4;steps=60;directions=points")
    a, b = np.array([0.0, 0.0]), np.array([1.5, 0.5])
    prof = segment_profile(s, a, b, points=11)
    interp = interpolate_networks(s, s.theta(a[None])[0], s.theta(b[None])[0], points=11)
    np.testing.assert_allclose(interp.loss, prof.loss, rtol=1e-10)
    np.testing.assert_allclose(interp.accuracy, prof.accuracy)
    assert ((prof.accuracy >= 0) & (prof.accuracy <= 1)).all()
    wide = interpolate_networks(s, s.theta(a[None])[0], s.theta(b[None])[0], points=5, alpha_range=(-0.5, 1.5))
    assert 0.0 in wide.alpha and 1.0 in wide.alpha
    with pytest.raises(LandscapeError, match="2..100000 points"):
        segment_profile(s, a, b, points=1)
