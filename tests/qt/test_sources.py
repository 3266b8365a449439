"""Formula and network surfaces in the window, and the Data dock, driven through the real widgets."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from landscape_gui.core.engine import Cancelled
from landscape_gui.core.runs import DIVERGED
RECENT_KEY = "recent/formulas"

SMALL_NN = "nn:dataset=moons;n=60;hidden=4,4;steps=30"


def _click_map(qtbot, window, x, y):
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))


def _type_formula(qtbot, window, text, enter=True):
    window.wait_for_formula_edit()  # imported in the background (sympy)
    qtbot.waitUntil(window.formula_edit.isVisible, timeout=3000)
    le = window.formula_edit.line_edit
    le.clear()
    qtbot.keyClicks(le, text)
    window.formula_edit.is_valid()  # the debounced check, now
    if enter:
        qtbot.keyClick(le, Qt.Key_Return)


def _mesh_heights(window):
    return np.array(window.surface_view.mesh.vertexes[:, 2])


def _build_small_network(qtbot, window, hidden="4,4"):
    panel = window.network_panel
    window.network_box.setChecked(True)  # unfold the section
    window.controls_dock.raise_()
    qtbot.waitUntil(panel.build_button.isVisible, timeout=3000)
    panel.dataset.setCurrentIndex(panel.dataset.findData("moons"))
    panel.samples.setValue(60)
    panel.model.setCurrentIndex(panel.model.findData("mlp"))
    panel.hidden.setText(hidden)
    panel.steps.setValue(30)
    with qtbot.waitSignal(window.networks.built, timeout=60000):
        qtbot.mouseClick(panel.build_button, Qt.LeftButton)
        assert window.progress.isVisible()  # the build runs on the job runner, with the one progress bar
        assert "Building network" in window.progress.format()


# ---------------------------------------------------------------------------------------------- formula
def test_a_bad_formula_shows_the_error_at_its_column_and_keeps_the_surface(qtbot, window):
    ctl = window.ctl
    z_before = ctl.grid[2].copy()
    _type_formula(qtbot, window, "x + * y")
    fe = window.formula_edit
    assert fe.error_label.isVisible()
    assert "column 5" in fe.error_label.text()
    assert fe.error_label.text().splitlines()[1].index("^") == 4  # the caret under the '*'
    assert not fe.apply_button.isEnabled()
    # a long caret line does not widen (and so clip) the controls panel
    _type_formula(qtbot, window, "x + y + sin(x) * cos(y) + exp(-(x^2 + y^2)) + log(1 + x^2) + * y", enter=False)
    assert fe.error_label.isVisible()
    scroll_viewport = window.controls.parentWidget()
    qtbot.waitUntil(lambda: window.controls.width() <= scroll_viewport.width(), timeout=3000)
    _type_formula(qtbot, window, "x + * y")
    assert ctl.surface.name == "himmelblau"
    np.testing.assert_array_equal(ctl.grid[2], z_before)


def test_a_valid_formula_redraws_both_views_and_a_click_runs_on_it(qtbot, window):
    ctl = window.ctl
    map_before = window.map_view.image.image.copy()
    mesh_before = _mesh_heights(window)
    formula = "(x - 1)^2 + 2*(y + 1)^2"
    with qtbot.waitSignal(ctl.surfaceChanged, timeout=5000):
        _type_formula(qtbot, window, formula)
    assert ctl.surface.name == formula
    xs, ys, z = ctl.grid
    assert z[np.argmin(abs(xs - 1)), np.argmin(abs(ys + 1))] == pytest.approx(0, abs=1e-2)
    assert not np.allclose(window.map_view.image.image, map_before)
    # The mesh's level of detail follows the view's size, so compare the height distributions.
    q = [5, 50, 95]
    assert not np.allclose(np.percentile(_mesh_heights(window), q), np.percentile(mesh_before, q))
    assert window.surface_panel.combo.currentText().startswith("custom")
    sections = window.surface_panel.sections  # the formula box sits above the network form
    assert sections.indexOf(window.formula_edit.parentWidget()) < sections.indexOf(window.network_box)
    with qtbot.waitSignal(ctl.runsAdded, timeout=5000):
        _click_map(qtbot, window, -2.0, 2.0)
    run = ctl.runs[0]
    assert run.surface == formula
    assert run.positions[-1] == pytest.approx((1.0, -1.0), abs=1e-2)


def test_where_a_formula_is_not_finite_the_views_show_a_gap_and_runs_diverge(qtbot, window):
    ctl = window.ctl
    _type_formula(qtbot, window, "log(x) + y^2")
    xs, ys, z = ctl.grid
    assert np.isnan(z[xs <= 0]).all() and np.isfinite(z[xs > 0.05]).all()
    R = len(xs)
    assert 0 < len(window.surface_view.mesh.faces) < 2 * (R - 1) ** 2 * 0.6
    ctl.set_hyperparameter("sgd", "lr", 0.3)
    ctl.start_many([(0.5, 0.5)])  # d/dx log x = 1/x pushes x through 0
    ctl.playback.to_end()
    assert ctl.runs[0].status == DIVERGED
    assert window.runs_table.model().rowCount() == 1


def test_editing_a_formula_keeps_the_bounds_and_recent_formulas_persist(make_window, qtbot, window):

    ctl = window.ctl
    _type_formula(qtbot, window, "x^2 + y^2")
    ctl.set_bounds((-1, 2, -1, 2))
    _type_formula(qtbot, window, "x^2 + 3*y^2")
    assert ctl.surface.name == "x^2 + 3*y^2"
    assert ctl.bounds == (-1, 2, -1, 2)
    assert QSettings().value(RECENT_KEY)[:2] == ["x^2 + 3*y^2", "x^2 + y^2"]
    other = make_window(restore_settings=False)
    other.wait_for_formula_edit()
    assert other.formula_edit.recent()[:2] == ["x^2 + 3*y^2", "x^2 + y^2"]
    assert other.formula_edit.choices()[0] == "x^2 + 3*y^2"  # offered again in the drop-down
    other.close()


def test_a_formula_survives_session_save_and_open_and_csv_export(qtbot, window, tmp_path):
    from landscape_gui.core.export import read_csv

    ctl = window.ctl
    formula = "sin(x) * cos(y) + (x^2 + y^2) / 20"
    _type_formula(qtbot, window, formula)
    ctl.start_many([(1.0, 1.0), (-2.0, 0.5)])
    ends = [r.positions[-1].copy() for r in ctl.runs]
    session = tmp_path / "formula.json"
    assert window.save_session(str(session))
    csv = tmp_path / "runs.csv"
    assert window.export_csv(str(csv))
    assert {r.surface for r in read_csv(str(csv))} == {formula}
    assert f",{formula}" in csv.read_text() or f'"{formula}"' in csv.read_text()

    window.surface_panel.combo.setCurrentIndex(window.surface_panel.combo.findData("rosenbrock"))
    window.formula_edit.line_edit.setText("")
    assert ctl.surface.name == "rosenbrock"
    with qtbot.waitSignal(ctl.sessionLoaded, timeout=5000):
        assert window.open_session(str(session))
    assert ctl.surface.name == formula
    assert window.formula_edit.text() == formula  # the box shows the formula in force
    np.testing.assert_allclose([r.positions[-1] for r in ctl.runs], ends)


# ---------------------------------------------------------------------------------------------- network
def test_building_a_network_surface_from_the_panel_shows_it(qtbot, window):
    ctl = window.ctl
    window.ctl.force_sync = False
    assert not window.data_dock.isVisible()  # himmelblau: nothing to show
    assert not window.network_panel.isVisible()  # folded away from the optimizer panel
    _build_small_network(qtbot, window)
    qtbot.waitUntil(lambda: ctl.surface.name.startswith("nn:"), timeout=10000)
    qtbot.waitUntil(lambda: not ctl.busy, timeout=20000)  # the grid of a slice is sampled in the background
    s = ctl.surface
    assert "hidden=4,4" in s.name and "n=60" in s.name and "steps=30" in s.name
    assert ctl.bounds == (-1.0, 1.0, -1.0, 1.0)
    assert np.isfinite(ctl.grid[2]).all()
    assert window.data_dock.isVisible()  # turned up with the network surface
    qtbot.waitUntil(lambda: window.data_plot.surface is s, timeout=3000)
    assert sum(len(sc.data) for sc in window.data_plot.scatters) == 60


def test_data_dock_draws_the_selected_runs_boundary_and_follows_playback(qtbot, window):
    ctl = window.ctl
    _build_small_network(qtbot, window)
    qtbot.waitUntil(lambda: ctl.surface.name.startswith("nn:"), timeout=10000)
    ctl.set_optimizer("momentum")
    ctl.start_many([(0.9, -0.9)])
    run = ctl.runs[0]
    assert run.steps > 5
    plot, caption = window.data_plot, window.data_caption
    assert "Select a run" in caption.text()
    ctl.select([run.id])
    ctl.playback.set_step(0)
    qtbot.waitUntil(lambda: plot.point is not None and plot.point == pytest.approx(tuple(run.positions[0])), timeout=3000)
    first = np.array(plot.boundary.xData), np.array(plot.boundary.yData)
    assert len(first[0]) > 4  # a boundary is drawn
    assert "step 0" in caption.text()
    ctl.playback.set_step(run.steps)
    qtbot.waitUntil(lambda: plot.point == pytest.approx(tuple(run.positions[-1])), timeout=3000)
    last = np.array(plot.boundary.xData), np.array(plot.boundary.yData)
    assert len(last[0]) != len(first[0]) or not np.allclose(last[0], first[0])
    assert f"step {run.steps} of" in caption.text()
    ctl.playback.set_step(0)
    ctl.playback.play()  # real playback: the dock follows while it runs
    qtbot.waitUntil(lambda: ctl.playback.step > 2 and plot.point != pytest.approx(tuple(run.positions[0])), timeout=5000)
    ctl.playback.pause()
    ctl.select([])
    qtbot.waitUntil(lambda: plot.point is None, timeout=3000)


def test_data_dock_on_a_surface_without_data_shows_a_note(qtbot, window):
    window.data_dock.show()
    window.refresh_data()
    assert "not a network loss" in window.data_caption.text()
    assert not window.data_plot.scatters


def test_catalogue_network_surfaces_build_in_the_background_from_the_combo(qtbot, window):
    ctl = window.ctl
    combo = window.surface_panel.combo
    with qtbot.waitSignal(window.networks.built, timeout=60000):
        combo.setCurrentIndex(combo.findData("nn_sine_tanh_mse"))
        assert ctl.surface.name == "himmelblau"  # the old surface stays while it builds
    assert ctl.surface.name == "nn_sine_tanh_mse"  # the short name: CSV and sessions store it
    assert window.network_panel.isVisible()  # unfolded, showing the surface's settings
    assert window.network_panel.model.currentData() == "tanh_unit"
    assert combo.currentData() == "nn_sine_tanh_mse"
    ctl.start_many([(1.5, 1.0)])
    ctl.select([ctl.runs[0].id])
    ctl.playback.to_end()
    qtbot.waitUntil(lambda: window.data_plot.point is not None, timeout=3000)
    assert len(window.data_plot.curve.xData) > 10  # the fitted curve


def test_a_session_on_a_network_surface_reopens_with_its_runs(qtbot, window, tmp_path):
    ctl = window.ctl
    _build_small_network(qtbot, window)
    qtbot.waitUntil(lambda: ctl.surface.name.startswith("nn:"), timeout=10000)
    spec = ctl.surface.name
    ctl.start_many([(0.5, 0.5)])
    end = ctl.runs[0].positions[-1].copy()
    path = tmp_path / "nn.json"
    assert window.save_session(str(path))
    ctl.set_surface("himmelblau")
    with qtbot.waitSignal(ctl.sessionLoaded, timeout=20000):
        assert window.open_session(str(path))
    assert ctl.surface.name == spec
    assert ctl.runs[0].positions[-1] == pytest.approx(end)


class BlockingBuild:
    """A network build that only ends when cancelled (or released): the test decides when."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, spec, progress, should_cancel):
        self.started.set()
        progress(0.25)
        self.release.wait(60)  # released by the test (or by the cancel it makes)
        raise Cancelled()


def test_cancelling_a_build_keeps_the_surface(qtbot, window):
    build = BlockingBuild()
    window.networks.build_function = build
    window.networks.cancelled.connect(build.release.set)  # Cancel lets the worker end
    panel = window.network_panel
    window.network_box.setChecked(True)
    window.controls_dock.raise_()
    qtbot.waitUntil(panel.build_button.isVisible, timeout=3000)
    qtbot.mouseClick(panel.build_button, Qt.LeftButton)
    qtbot.waitUntil(build.started.is_set, timeout=20000)
    assert window.progress.isVisible() and window.networks.building
    with qtbot.waitSignal(window.networks.cancelled, timeout=5000):
        qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert window.ctl.surface.name == "himmelblau"
    assert not window.progress.isVisible() and not window.networks.building
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.ctl.jobs.wait(20000)  # the worker saw the cancel and ended


def test_full_weight_space_runs_report_their_distance_from_the_plane(qtbot, window):
    ctl = window.ctl
    _build_small_network(qtbot, window)
    qtbot.waitUntil(lambda: ctl.surface.name.startswith("nn:"), timeout=10000)
    box = window.network_section.full_space_box
    assert box.isEnabled()
    box.setChecked(True)
    ctl.set_optimizer("momentum")
    ctl.force_sync = False  # the full-space steps run as a background job
    with qtbot.waitSignal(ctl.runsAdded, timeout=20000):
        _click_map(qtbot, window, 0.6, -0.4)
    ctl.force_sync = True
    run = ctl.runs[0]
    assert run.extras["distance"][0] == pytest.approx(0, abs=1e-9)
    assert run.extras["distance"][-1] > 1e-3  # the path left the plane
    ctl.select([run.id])
    ctl.playback.to_end()
    qtbot.waitUntil(lambda: "from the plane" in window.data_caption.text(), timeout=3000)
    # the data dock draws the network with the run's real weights, whose loss is the true loss
    drawn = window.data_plot.surface
    assert drawn is not ctl.surface
    s = ctl.surface
    loss_drawn = s.loss.value(s.targets, drawn.predict(None)[None])[0]
    assert loss_drawn == pytest.approx(run.extras["true_loss"][-1], rel=1e-5)
    assert "with those weights" in window.data_caption.text()
    box.setChecked(False)
    ctl.start_many([(0.6, -0.4)])
    assert "distance" not in ctl.runs[-1].extras  # in the plane again
    ctl.set_surface("himmelblau")
    assert not box.isEnabled()


def test_full_space_mini_batch_runs_follow_their_seed(qtbot, window):
    ctl = window.ctl
    _build_small_network(qtbot, window)
    qtbot.waitUntil(lambda: ctl.surface.name.startswith("nn:"), timeout=10000)
    src = window.network_section
    assert not src.batch_spin.isEnabled()  # only with full-space steps
    src.full_space_box.setChecked(True)
    assert src.batch_spin.isEnabled() and src.batch_spin.maximum() == ctl.surface.dataset.n_samples
    ctl.set_optimizer("sgd")
    ctl.set_max_steps(40)

    def one_run(batch: int, seed: int):
        src.batch_spin.setValue(batch)
        src.batch_seed_spin.setValue(seed)
        ctl.start_many([(0.3, -0.2)])
        return ctl.runs[-1]

    full = one_run(0, 0)
    a, b, c = one_run(8, 1), one_run(8, 1), one_run(8, 2)
    assert "batch_size" not in full.params
    assert a.params["batch_size"] == 8 and a.params["batch_seed"] == 1
    np.testing.assert_array_equal(a.positions, b.positions)  # same seed, same batches, same path
    assert not np.array_equal(a.positions, c.positions)
    assert not np.array_equal(a.positions, full.positions)


def test_a_session_whose_network_cannot_be_built_names_the_problem_and_changes_nothing(qtbot, window, tmp_path):
    import json

    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"format": "landscape-gui session", "version": 1,
                                "surface": f"nn:dataset=csv;path={tmp_path / 'missing.csv'}",
                                "bounds": [-1, 1, -1, 1], "runs": []}))
    with qtbot.waitSignal(window.networks.failed, timeout=20000):
        window.open_session(str(path))
    assert window.dialogs.errors and "missing.csv" in window.dialogs.errors[-1][1]
    assert ctl.surface.name == "himmelblau" and len(ctl.runs) == 1


def test_closing_the_window_while_a_network_builds_stops_the_build(qtbot, window):
    build = BlockingBuild()
    window.networks.build_function = build
    window.networks.cancelled.connect(build.release.set)  # Cancel lets the worker end
    window.network_panel.request()
    qtbot.waitUntil(build.started.is_set, timeout=20000)
    window.close()  # waits for the job runner: the build was cancelled, so its thread has ended
    assert not window.networks.building
    assert window.ctl.jobs.wait(0)
