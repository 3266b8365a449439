"""Basin maps as a model: computed on the job runner, debounced, compared, cancelled."""

from __future__ import annotations

import threading

from landscape_gui.core import engine
from landscape_gui.core.basins import basin_map
from landscape_gui.qt.model.minima import BasinModel, MinimaModel


def test_a_basin_map_is_computed_in_the_background_over_the_session_table(ctl, qtbot):
    ctl.force_sync = False
    minima = MinimaModel(ctl)
    basins = BasinModel(ctl, minima)
    basins.set_resolution(64)
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        basins.set_visible(True)
        assert ctl.busy
    bmap = basins.basin_map
    assert bmap.labels.shape == (64, 64) and bmap.table is minima.table and len(bmap.points()) == 4
    ctl.force_sync = True
    ctl.start_at(3.2, 2.1)
    x, y = ctl.runs[0].start
    i, j = int((x + 5) / 10 * 64), int((y + 5) / 10 * 64)
    assert bmap.labels[i, j] == ctl.runs[0].minimum  # the run's id and the map's agree


def test_a_burst_of_changes_computes_one_map(ctl, qtbot):
    ctl.force_sync = False
    minima = MinimaModel(ctl)
    basins = BasinModel(ctl, minima)
    basins.set_resolution(64)
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[2]["lr"])
        return basin_map(*args, **kwargs)

    basins.map_function = counted
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        basins.set_visible(True)
    calls.clear()
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        for lr in (0.002, 0.004, 0.006, 0.008):  # a slider being dragged
            ctl.set_hyperparameter("sgd", "lr", lr)
    assert calls == [0.008] and basins.basin_map.params["lr"] == 0.008


def test_cancel_turns_the_map_off_at_once(ctl, qtbot):
    ctl.force_sync = False
    minima = MinimaModel(ctl)
    basins = BasinModel(ctl, minima)
    started, release = threading.Event(), threading.Event()

    def endless(*args, should_cancel, **kwargs):
        started.set()
        release.wait(60)
        raise engine.Cancelled()

    basins.map_function = endless
    basins.cancelled.connect(release.set)
    basins.set_visible(True)
    qtbot.waitUntil(started.is_set, timeout=20000)
    with qtbot.waitSignal(basins.cancelled, timeout=1000):
        ctl.cancel()
    assert not basins.visible and basins.basin_map is None and not ctl.busy
    assert ctl.jobs.wait(20000)


def test_the_job_says_when_the_maps_kernel_compiles_first(ctl, qtbot, monkeypatch):
    """Like the command line's "compiling (first run only)": a map whose kernel is not cached yet
    says so in its job's label (the status bar), and only then."""
    from landscape_gui.core import fastpath

    ctl.force_sync = False
    minima = MinimaModel(ctl)
    basins = BasinModel(ctl, minima)
    basins.set_resolution(64)
    labels: list[str] = []
    ctl.jobs.progressChanged.connect(lambda label, f: labels.append(label))
    asked = []

    def due(surface, opt, hp=None, noise=None):
        asked.append((surface.name, opt.name))
        return True

    monkeypatch.setattr(fastpath, "needs_compile", due)
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        basins.set_visible(True)
    assert asked == [(ctl.surface.name, ctl.optimizer)]
    assert labels and all(label.endswith("compiling its kernel (first run only)") for label in labels)
    labels.clear()
    monkeypatch.setattr(fastpath, "needs_compile", lambda *a, **k: False)
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        ctl.set_hyperparameter(ctl.optimizer, "lr", 0.004)
    assert labels and not any("compiling" in label for label in labels)
