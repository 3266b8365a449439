"""The instruments' model without a window: planes that rebuild from their name, anchors, the job
runner (progress, Cancel), and problems reported as messages."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.slices import nn_surface_from_spec
from landscape_gui.core.surfaces import surface_from_spec

SMALL_NN = "nn:dataset=moons;n=60;hidden=4,4;steps=30"


@pytest.fixture
def research(ctl, tmp_path):
    from landscape_gui.qt.model.minima import MinimaModel
    from landscape_gui.qt.model.networks import NetworkModel
    from landscape_gui.qt.model.research import ResearchModel

    minima = MinimaModel(ctl)
    nets = NetworkModel(ctl)
    m = ResearchModel(ctl, nets, minima)
    m.plane_dir = str(tmp_path / "planes")
    m.errors = []
    m.failed.connect(lambda title, msg: m.errors.append((title, msg)))
    return m


def test_anchor_keys_round_trip_as_text():
    from landscape_gui.qt.model.research import key_text, parse_key

    for key in (("min", 3), ("end", 12), ("init",), ("centre",), ("step",)):
        assert parse_key(key_text(key)) == key
    with pytest.raises(LandscapeError):
        parse_key(None)


def test_a_chosen_plane_is_named_so_that_its_name_rebuilds_it(ctl, research, tmp_path):
    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    ctl.set_max_steps(30)
    ctl.start_many([(0.3, -0.2), (-0.4, 0.1)])  # runs in the plane: their weights are θ(a, b)
    research.choose_plane("pca")
    assert not research.errors
    s = ctl.surface
    assert "directions=file" in s.name and str(tmp_path / "planes") in s.name
    again = surface_from_spec(s.name)  # what a session or the CSV surface column does
    np.testing.assert_allclose(again.theta_c, s.theta_c)
    np.testing.assert_allclose(again.directions, s.directions)
    # plane runs became weight-space paths on the new plane, with their distance from it
    assert all("distance" in r.extras and r.extras["weights"].shape[1] == s.n_params for r in ctl.runs)


def test_plane_and_path_problems_are_messages(ctl, research):
    research.choose_plane("pca")
    assert "multi-layer-perceptron" in research.errors[-1][1]
    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    research.choose_plane("pca")
    assert "start some first" in research.errors[-1][1]
    research.profile_between("end:7", "init")
    assert research.errors[-1][0] == "Profile" and "no longer available" in research.errors[-1][1]
    assert research.profile is None


def test_spectrum_runs_on_the_job_runner_and_cancel_leaves_nothing(qtbot, ctl, research, monkeypatch):
    import landscape_gui.core.spectrum as spectrum

    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    started, release = threading.Event(), threading.Event()
    real = spectrum.hessian_spectrum

    def slow(surface, theta=None, **kw):
        started.set()
        release.wait(20)
        if kw["should_cancel"]():
            from landscape_gui.core.engine import Cancelled

            raise Cancelled()
        return real(surface, theta, **kw)

    monkeypatch.setattr(spectrum, "hessian_spectrum", slow)
    ctl.force_sync = False
    research.spectrum_at("centre")
    qtbot.waitUntil(started.is_set, timeout=20000)
    assert ctl.jobs.is_running("spectrum")
    with qtbot.waitSignal(ctl.jobs.jobFinished, timeout=5000) as sig:
        ctl.cancel()
    assert sig.args == ["spectrum", "cancelled"]
    release.set()
    assert ctl.jobs.wait(20000)
    assert research.spectrum is None and not research.errors
    monkeypatch.setattr(spectrum, "hessian_spectrum", real)
    with qtbot.waitSignal(research.spectrumChanged, timeout=30000):
        research.spectrum_at("centre")
    assert research.spectrum.spectrum.n_params == ctl.surface.n_params


def test_profile_between_networks_off_the_plane_interpolates_in_full_weight_space(ctl, research):
    from landscape_gui.core.profile import interpolate_networks

    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    research.networks.set_full_space(True)
    ctl.set_max_steps(40)
    ctl.start_many([(0.5, -0.5), (-0.5, 0.5)])
    research.profile_between("end:1", "end:2")
    p = research.profile
    assert p.full_space
    W = [research.weights_of(r)[-1] for r in ctl.runs]
    want = interpolate_networks(ctl.surface, W[0], W[1], 201)
    np.testing.assert_allclose(p.loss, want.loss)
    assert p.accuracy is not None and p.barrier_from_start == pytest.approx(p.peak_loss - want.loss[0])
