"""Network builds on the job runner: shown when built, named when they fail, nothing changed on Cancel."""

from __future__ import annotations

import threading

from landscape_gui.core.engine import Cancelled
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import get_surface
from landscape_gui.qt.model.networks import NetworkModel, network_spec


def test_a_build_shows_its_surface(ctl, qtbot):
    ctl.force_sync = False
    nets = NetworkModel(ctl)
    built = get_surface("booth")
    nets.build_function = lambda spec, progress, cancelled: (progress(1.0), built)[1]
    with qtbot.waitSignal(nets.built, timeout=20000):
        nets.build("nn:dataset=moons")
    assert ctl.surface is built


def test_a_failed_build_names_the_problem_and_keeps_the_surface(ctl, qtbot):
    nets = NetworkModel(ctl)

    def broken(spec, progress, cancelled):
        raise LandscapeError("the dataset file 'x.csv' does not exist")

    nets.build_function = broken
    with qtbot.waitSignal(nets.failed, timeout=20000) as sig:
        nets.build("nn:dataset=csv;path=x.csv")
    assert "x.csv" in sig.args[0] and ctl.surface.name == "himmelblau"


def test_cancelling_a_build_changes_nothing(ctl, qtbot):
    nets = NetworkModel(ctl)
    started, release = threading.Event(), threading.Event()

    def endless(spec, progress, cancelled):
        started.set()
        release.wait(60)
        raise Cancelled()

    nets.build_function = endless
    nets.cancelled.connect(release.set)
    nets.build("nn:dataset=moons")
    qtbot.waitUntil(started.is_set, timeout=20000)
    assert nets.building
    with qtbot.waitSignal(nets.cancelled, timeout=1000):
        nets.cancel()
    assert not nets.building and ctl.surface.name == "himmelblau"
    assert ctl.jobs.wait(20000)


def test_catalogue_names_map_to_specs():
    assert network_spec("himmelblau") is None
    assert network_spec(" nn:dataset=moons ") == "nn:dataset=moons"
    assert network_spec("nn_sine_tanh_mse").startswith("nn:")
