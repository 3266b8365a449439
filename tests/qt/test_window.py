"""The explorer window, driven through its real widgets under Xvfb with real OpenGL."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

from landscape_gui.core.engine import Cancelled
from landscape_gui.core.runs import DIVERGED
from landscape_gui.qt.model.pick import projection_matrix, view_matrix


def _click_map(qtbot, window, x, y, modifier=Qt.NoModifier):
    pos = window.map_view.pixel_of(x, y)
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, modifier, pos)


def _visible_map_points(window) -> int:
    return sum(int(np.isfinite(c.xData).sum()) for c in window.map_view._curves.values() if c.xData is not None)


def test_click_on_map_adds_a_run_to_table_and_both_views(qtbot, window):
    ctl = window.ctl
    assert window.runs_table.model().rowCount() == 0
    with qtbot.waitSignal(ctl.runsAdded, timeout=5000):
        _click_map(qtbot, window, 1.0, 1.0)
    ctl.playback.to_end()
    assert len(ctl.runs) == 1
    run = ctl.runs[0]
    px, py = window.map_view.view_box.viewPixelSize()
    assert run.start == pytest.approx((1.0, 1.0), abs=2 * max(px, py))
    assert run.steps > 10
    assert window.runs_table.model().rowCount() == 1
    assert window.runs_table.model().index(0, 1).data() == "sgd"
    assert _visible_map_points(window) > 2  # path drawn in the map
    assert len(window.surface_view.paths_item.pos) > 2  # and in the 3-D view
    assert "1 run" in window.count_label.text()


def test_clicking_a_start_marker_selects_the_run_everywhere(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0), (-3.0, -1.0)])
    ctl.playback.to_end()
    with qtbot.waitSignal(ctl.selectionChanged, timeout=3000):
        _click_map(qtbot, window, -3.0, -1.0)
    assert len(ctl.runs) == 2  # a marker click selects, it starts nothing
    assert ctl.selected == (2,)
    assert window.runs_table.selected_ids() == [2]
    assert window.map_view.sel_curve.isVisible()
    assert len(window.surface_view.sel_item.pos) > 0
    # selecting in the table selects in the views
    window.runs_table.selectRow(0)
    assert ctl.selected == (1,)
    # Ctrl+click on empty ground clears
    _click_map(qtbot, window, 4.5, -4.5, Qt.ControlModifier)
    assert ctl.selected == ()


def test_gl_view_uses_the_pick_maths_camera(window):
    gl = window.surface_view.gl
    o = gl.opts
    c = o["center"]
    expected = projection_matrix(o["distance"], o["fov"], gl.width(), gl.height()) @ view_matrix(
        o["distance"], o["elevation"], o["azimuth"], (c.x(), c.y(), c.z()))
    assert gl.mvp() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_click_on_3d_surface_starts_a_run_where_clicked_and_a_drag_only_rotates(qtbot, window):
    ctl = window.ctl
    sv = window.surface_view
    sv.gl.setCameraPosition(elevation=70, azimuth=-60)  # from high up the point is not occluded
    qtbot.waitExposed(sv.gl)
    px, py = sv.pixel_of(2.0, -1.0)
    with qtbot.waitSignal(ctl.runsAdded, timeout=5000):
        qtbot.mouseClick(sv.gl, Qt.LeftButton, Qt.NoModifier, QPoint(round(px), round(py)))
    assert len(ctl.runs) == 1
    assert ctl.runs[0].start == pytest.approx((2.0, -1.0), abs=0.1)

    azimuth = sv.gl.opts["azimuth"]
    qtbot.mousePress(sv.gl, Qt.LeftButton, Qt.NoModifier, QPoint(200, 200))
    for k in range(1, 6):
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        ev = QMouseEvent(QMouseEvent.MouseMove, QPointF(200 + 12 * k, 200), sv.gl.mapToGlobal(QPointF(200 + 12 * k, 200)),
                         Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(sv.gl, ev)
    qtbot.mouseRelease(sv.gl, Qt.LeftButton, Qt.NoModifier, QPoint(260, 200))
    assert sv.gl.opts["azimuth"] != azimuth
    assert len(ctl.runs) == 1


def test_hover_reports_position_and_loss(qtbot, window):
    pos = window.map_view.pixel_of(3.0, 2.0)
    qtbot.mouseMove(window.map_view.viewport(), pos)
    qtbot.waitUntil(lambda: "loss" in window.hover_label.text(), timeout=3000)
    text = window.hover_label.text()
    assert "x = 3" in text or "x = 2.9" in text
    assert "loss = " in text


def test_compare_mode_starts_one_run_per_checked_optimizer(qtbot, window):
    ctl = window.ctl
    panel = window.optimizer_panel
    panel.compare_box.setChecked(True)
    for i in range(panel.compare_list.count()):
        it = panel.compare_list.item(i)
        if it.text() in ("sgd", "momentum"):
            it.setCheckState(Qt.Checked)
    with qtbot.waitSignal(ctl.runsAdded, timeout=5000):
        _click_map(qtbot, window, 0.5, 0.5)
    assert sorted(r.optimizer for r in ctl.runs) == ["momentum", "sgd"]
    assert ctl.runs[0].start == ctl.runs[1].start


def test_grid_and_random_starts(qtbot, window):
    ctl = window.ctl
    window.starts_panel.grid_n.setValue(3)
    window.act_grid.trigger()
    qtbot.waitUntil(lambda: len(ctl.runs) == 9, timeout=10000)
    starts = np.array([r.start for r in ctl.runs])
    assert sorted(set(np.round(starts[:, 0], 6))) == pytest.approx([-5 + 10 / 6, 0.0, 5 - 10 / 6])
    window.starts_panel.random_n.setValue(5)
    window.act_random.trigger()
    qtbot.waitUntil(lambda: len(ctl.runs) == 14, timeout=10000)
    assert window.runs_table.model().rowCount() == 14


def test_changing_lr_in_the_form_reruns_the_runs(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0), (-1.0, -2.0)])
    before = [r.positions.copy() for r in ctl.runs]
    lr_box = window.optimizer_panel.form.fields["lr"]
    with qtbot.waitSignal(ctl.runsChanged, timeout=5000):
        lr_box.setValue(0.002)
    assert all(r.params["lr"] == 0.002 for r in ctl.runs)
    assert all(not np.array_equal(b, r.positions) for b, r in zip(before, ctl.runs))
    assert [r.id for r in ctl.runs] == [1, 2]  # same runs, new paths
    # the table shows the new results
    model = window.runs_table.model()
    assert model.index(0, 5).data() == str(ctl.runs[0].steps)


def test_inconsistent_hyperparameters_are_refused_inline(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    before = ctl.runs[0].positions.copy()
    window.optimizer_panel.form.fields["nesterov"].setChecked(True)  # sgd has momentum 0
    assert window.optimizer_panel.error.isVisibleTo(window)
    assert "Nesterov" in window.optimizer_panel.error.text()
    assert ctl.hyperparameters("sgd")["nesterov"] is False
    assert np.array_equal(ctl.runs[0].positions, before)


def test_undo_redo_of_adding_and_removing_runs(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    ctl.start_many([(2.0, -1.0)])
    assert [r.id for r in ctl.runs] == [1, 2]
    window.runs_table.selectRow(0)
    window.act_delete.trigger()
    assert [r.id for r in ctl.runs] == [2]
    window.act_undo.trigger()
    assert [r.id for r in ctl.runs] == [1, 2]
    window.act_redo.trigger()
    assert [r.id for r in ctl.runs] == [2]
    window.act_clear.trigger()
    assert ctl.runs == [] and window.runs_table.model().rowCount() == 0
    window.act_undo.trigger()
    assert [r.id for r in ctl.runs] == [2]


def test_undone_run_readded_after_an_lr_change_is_recomputed(qtbot, window):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    window.act_undo.trigger()
    ctl.set_hyperparameter("sgd", "lr", 0.003)
    window.act_redo.trigger()
    qtbot.waitUntil(lambda: ctl.runs and ctl.runs[0].params["lr"] == 0.003, timeout=5000)


def test_playback_animates_each_run_to_its_own_end(qtbot, window):
    ctl = window.ctl
    ctl.set_hyperparameter("sgd", "lr", 0.005)
    ctl.start_many([(0.0, 0.0), (-4.5, 4.5)])
    pb = ctl.playback
    pb.set_speed(3000)
    pb.restart()
    assert pb.playing
    qtbot.waitUntil(lambda: not pb.playing, timeout=10000)
    assert pb.step == max(r.steps for r in ctl.runs)
    heads, _ = window.map_view.paths.heads(pb.step)
    assert heads == pytest.approx(np.array([r.end for r in ctl.runs]))
    pb.set_step(5)
    heads, _ = window.map_view.paths.heads(5)
    assert heads == pytest.approx(np.array([r.positions[5] for r in ctl.runs]))
    assert window.playback_bar.slider.value() == 5
    assert window.loss_view.cursor.value() == 5


def test_diverging_run_is_marked_and_views_survive(qtbot, window):
    ctl = window.ctl
    ctl.set_surface("rosenbrock")
    ctl.set_hyperparameter("sgd", "lr", 0.01)
    ctl.start_many([(-1.5, 2.5)])
    ctl.playback.to_end()
    assert ctl.runs[0].status == DIVERGED
    assert len(window.map_view.diverged.data) == 1
    # the 3-D view keeps to the plotted box: the start is marked, nothing is drawn far outside
    assert len(window.surface_view.starts.pos) == 1
    pos = window.surface_view.paths_item.pos
    assert np.isfinite(pos).all() and (len(pos) == 0 or np.abs(pos[:, :2]).max() <= 1.0 + 1e-6)
    assert window.runs_table.model().index(0, 6).data() == "diverged"


def test_session_save_and_open_restores_the_same_runs(qtbot, window, tmp_path):
    ctl = window.ctl
    ctl.set_surface("rosenbrock")
    ctl.set_hyperparameter("sgd", "lr", 0.0015)
    ctl.set_compare_mode(True)
    ctl.set_compare(["sgd", "momentum"])
    ctl.start_many([(-1.0, 2.0), (0.5, -0.5)])
    saved = [(r.optimizer, r.positions.copy(), r.status) for r in ctl.runs]
    path = tmp_path / "s.json"
    window.dialogs.paths.append(str(path))
    assert window.act_save_as.trigger() is None and path.exists()

    ctl.set_surface("himmelblau")
    ctl.set_compare_mode(False)
    ctl.clear_runs()
    with qtbot.waitSignal(ctl.sessionLoaded, timeout=10000):
        assert window.open_session(str(path))
    assert ctl.surface.name == "rosenbrock"
    assert ctl.hyperparameters("sgd")["lr"] == 0.0015
    assert ctl.compare_mode and ctl.compare == ["sgd", "momentum"]
    assert [(r.optimizer, r.status) for r in ctl.runs] == [(o, s) for o, _, s in saved]
    assert all(np.array_equal(p, r.positions) for (_, p, _), r in zip(saved, ctl.runs))
    assert window.surface_panel.combo.currentData() == "rosenbrock"
    assert window.dialogs.errors == []


@pytest.mark.parametrize(
    "content, needle",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"format": "something else"}), "not a landscape-gui session"),
        (json.dumps({"format": "landscape-gui session", "version": 1, "surface": "himmelblau",
                     "bounds": [1, 0, 0, 1]}), "XMIN < XMAX"),
        (json.dumps({"format": "landscape-gui session", "version": 1, "surface": "himmelblau",
                     "bounds": [0, 1, 0, 1], "hyperparameters": {"sgd": {"lr": -1}}}), "lr must be in"),
        (json.dumps({"format": "landscape-gui session", "version": 1, "surface": "no_such_surface",
                     "bounds": [0, 1, 0, 1]}), "no_such_surface"),
    ],
)
def test_malformed_session_names_the_problem_and_changes_nothing(qtbot, window, tmp_path, content, needle):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    before = ctl.runs[0]
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert not window.open_session(str(path))
    assert len(window.dialogs.errors) == 1 and needle in window.dialogs.errors[0][1]
    assert ctl.runs == [before] and ctl.surface.name == "himmelblau"


def test_export_from_the_window_writes_the_same_bytes_as_write_csv(qtbot, window, tmp_path):
    from landscape_gui.core import export
    ctl = window.ctl
    ctl.set_compare_mode(True)
    ctl.set_compare(["sgd", "momentum"])
    ctl.start_many([(1.0, 1.0), (-2.0, 0.5)])
    ours = tmp_path / "window.csv"
    window.dialogs.paths.append(str(ours))
    window.act_export.trigger()
    ref = tmp_path / "ref.csv"
    export.write_csv(str(ref), ctl.runs)
    assert ours.read_bytes() == ref.read_bytes()
    assert window.dialogs.errors == []

    # and it overlays back: same trajectories, drawn, not recomputed when lr changes
    window.overlay_csv(str(ours))
    assert len(ctl.runs) == 8
    overlays = ctl.runs[4:]
    assert all(ctl.is_overlay(r.id) for r in overlays)
    assert all(a.same_trajectory(b) for a, b in zip(ctl.runs[:4], overlays))
    kept = [r.positions.copy() for r in overlays]
    ctl.set_hyperparameter("sgd", "lr", 0.004)
    ctl._rerun_stale()
    assert all(np.array_equal(k, r.positions) for k, r in zip(kept, overlays))


def test_save_views_as_png(qtbot, window, tmp_path):
    window.ctl.start_many([(1.0, 1.0)])
    for which in ("map", "surface", "window"):
        path = tmp_path / f"{which}.png"
        assert window.save_png(which, str(path))
        img = QImage(str(path))
        assert img.width() > 200 and img.height() > 200
    assert not list(tmp_path.glob(".*.png"))  # no temporary files left behind


def test_failed_save_keeps_the_old_file_and_reports(qtbot, window, tmp_path):
    path = tmp_path / "s.json"
    path.write_text("precious")
    window.save_session(str(tmp_path / "missing_dir" / "s.json"))
    assert window.dialogs.errors and "cannot write session" in window.dialogs.errors[0][1]
    assert path.read_text() == "precious"


def test_settings_restore_geometry_surface_and_optimizer(make_window, qtbot, window):

    window.ctl.set_surface("rosenbrock")
    window.ctl.set_optimizer("momentum")
    window.resize(1100, 700)
    window.close()
    again = make_window(restore_settings=True)
    assert again.ctl.surface.name == "rosenbrock"
    assert again.ctl.optimizer == "momentum"
    assert again.optimizer_panel.combo.currentData() == "momentum"
    assert again.size().width() == 1100


class BlockingStrategy:
    """Runs that only end when the test says so: cancelling does not depend on the machine's speed."""

    recomputable = True

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def applies_to(self, surface) -> bool:
        return True

    def describe(self, n: int) -> str:
        return f"Running {n} runs"

    def compute(self, surface, plan, starts, bounds, max_steps, tol, progress, cancelled):
        self.started.set()
        progress(0.5)
        self.release.wait(60)
        raise Cancelled()


def test_long_work_runs_off_the_gui_thread_with_progress_and_cancel(qtbot, window, qapp):
    ctl = window.ctl
    ctl.force_sync = False
    slow = BlockingStrategy()
    ctl.set_strategy(slow)  # the controller is given how to compute; here: until released
    with qtbot.waitSignal(ctl.jobs.busyChanged, timeout=3000):
        ctl.start_random(4000, seed=1)
    qtbot.waitUntil(slow.started.is_set, timeout=20000)
    assert ctl.busy and window.progress.isVisibleTo(window) and window.cancel_button.isVisibleTo(window)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert not ctl.busy and not window.progress.isVisibleTo(window)
    slow.release.set()
    assert ctl.jobs.wait(20000)
    qapp.processEvents()  # whatever the worker sent back is delivered (and dropped)
    assert ctl.runs == []


def test_long_work_finishes_in_the_background(qtbot, window):
    ctl = window.ctl
    ctl.force_sync = False
    ctl.set_max_steps(300)
    ctl.set_tol(0.0)
    with qtbot.waitSignal(ctl.runsAdded, timeout=30000):
        ctl.start_random(1000, seed=2)
        assert ctl.busy  # returned at once; the GUI thread is free
    assert len(ctl.runs) == 1000
    assert window.runs_table.model().rowCount() == 1000


def test_surface_with_gaps_draws_gaps_and_runs_into_them_diverge(qtbot, window):
    from landscape_gui.core.surfaces import Surface

    class LogBowl(Surface):
        """sqrt(x + 1) + y**2: undefined left of x = -1, and descent walks straight into the gap."""

        name = "sqrt-slope-test"
        title = "sqrt slope"
        bounds = (-2.0, 2.0, -2.0, 2.0)

        def value(self, p):
            with np.errstate(all="ignore"):
                return np.sqrt(p[:, 0] + 1.0) + p[:, 1] ** 2

        def grad(self, p):
            with np.errstate(all="ignore"):
                return np.column_stack([0.5 / np.sqrt(p[:, 0] + 1.0), 2 * p[:, 1]])

    ctl = window.ctl
    ctl.set_surface_object(LogBowl())
    xs, ys, z = ctl.grid
    assert np.isnan(z[xs < -1]).all()
    sv = window.surface_view
    full = 2 * (len(sv._mesh_xs) - 1) * (len(sv._mesh_ys) - 1)
    assert 0 < len(sv.mesh.faces) < 0.8 * full  # the undefined quarter of the domain is a hole
    ctl.set_hyperparameter("sgd", "lr", 0.3)
    ctl.start_many([(0.5, 0.5)])
    ctl.playback.to_end()
    assert ctl.runs[0].status == DIVERGED
    assert window.surface_panel.combo.currentText().startswith("custom")


def test_about_box_shows_the_version(window):
    import landscape_gui

    window.act_about.trigger()
    assert landscape_gui.__version__ in window.dialogs.abouts[0][1]


def test_exception_in_an_event_handler_is_shown_and_the_session_survives(qtbot, window):
    from landscape_gui.qt.app import install_excepthook
    import sys

    shown = []
    restore = install_excepthook(lambda title, text: shown.append((title, text)))
    try:
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        restore()
    assert shown and "boom in a slot" in shown[0][1]
    window.ctl.start_many([(1.0, 1.0)])
    assert len(window.ctl.runs) == 1


def test_hover_over_the_3d_surface_reports_the_picked_point(qtbot, window):
    sv = window.surface_view
    sv.gl.setCameraPosition(elevation=70, azimuth=-60)
    px, py = sv.pixel_of(-1.0, 2.0)
    with qtbot.waitSignal(sv.hovered, timeout=3000) as blocker:
        qtbot.mouseMove(sv.gl, QPoint(round(px), round(py)))
    x, y = blocker.args
    assert (x, y) == pytest.approx((-1.0, 2.0), abs=0.1)
    assert "loss = " in window.hover_label.text()


def test_saved_and_overlaid_files_appear_in_open_recent(qtbot, window, tmp_path):
    window.ctl.start_many([(1.0, 1.0)])
    path = tmp_path / "recent.json"
    assert window.save_session(str(path))
    assert window.recent_files()[0] == ("session", str(path))
    actions = window.recent_menu.actions()
    assert actions and "recent.json" in actions[0].text()
    window.ctl.clear_runs()
    with qtbot.waitSignal(window.ctl.sessionLoaded, timeout=5000):
        actions[0].trigger()
    assert len(window.ctl.runs) == 1


def test_compare_mode_colours_by_optimizer_with_a_legend(qtbot, window):
    ctl = window.ctl
    ctl.set_compare_mode(True)
    ctl.set_compare(["sgd", "momentum"])
    ctl.start_many([(1.0, 1.0), (-2.0, 0.5)])
    colours = {r.optimizer: set() for r in ctl.runs}
    for r in ctl.runs:
        colours[r.optimizer].add(ctl.color_of(r))
    assert all(len(c) == 1 for c in colours.values()) and colours["sgd"] != colours["momentum"]
    assert window.act_color_opt.isChecked()
    assert window.loss_view.legend.isVisible()
    assert len(window.map_view._curves) == 2  # one line item per colour, whatever the number of runs
    window.act_color_run.trigger()
    assert len({ctl.color_of(r) for r in ctl.runs}) == 4
    assert not window.loss_view.legend.isVisible()


def test_malformed_csv_overlay_names_the_problem_and_changes_nothing(qtbot, window, tmp_path):
    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    path = tmp_path / "bad.csv"
    path.write_text("run,step,x,y\n1,0,zero,1\n")
    assert not window.overlay_csv(str(path))
    assert window.dialogs.errors and "bad.csv" in window.dialogs.errors[0][1]
    assert [r.id for r in ctl.runs] == [1]


def test_surface_colours_can_be_replaced_and_restored(window):
    """The hook the basin overlay uses: per-grid-node colours on the 3-D mesh."""
    sv = window.surface_view
    xs, ys, _ = window.ctl.grid
    rgba = np.zeros((len(xs), len(ys), 4), np.float32)
    rgba[..., 0] = rgba[..., 3] = 1.0
    sv.set_surface_colors(rgba)
    assert np.allclose(sv.mesh.colors, [1, 0, 0, 1])
    sv.set_surface_colors(None)
    assert not np.allclose(sv.mesh.colors, [1, 0, 0, 1])
    assert len(sv.mesh.colors) == len(sv.mesh.vertexes)


def test_typing_a_formula_redraws_both_views_and_reruns(qtbot, window):
    qtbot.waitUntil(lambda: window.formula_edit is not None, timeout=30000)  # imported in the background
    edit = window.formula_edit
    ctl = window.ctl
    ctl.set_bounds((-2.0, 2.0, -2.0, 2.0))
    ctl.start_many([(1.5, 1.0)])
    old_image = window.map_view.image.image.copy()
    edit.line_edit.setText("x^2 + 3*y^2")
    with qtbot.waitSignal(ctl.surfaceChanged, timeout=5000):
        qtbot.keyClick(edit.line_edit, Qt.Key_Return)
    assert ctl.surface.name.replace(" ", "") in ("x^2+3*y^2", "x**2+3*y**2")
    assert ctl.bounds == (-2.0, 2.0, -2.0, 2.0)  # the domain stays
    assert not np.array_equal(window.map_view.image.image, old_image)
    run = ctl.runs[0]
    assert run.surface == ctl.surface.name and run.end == pytest.approx((0.0, 0.0), abs=1e-3)
    assert window.surface_panel.combo.currentText().startswith("custom")


def test_a_trajectory_csv_loads_in_the_background_and_cancel_keeps_the_session(qtbot, window, tmp_path):
    from landscape_gui.core.export import write_csv

    ctl = window.ctl
    ctl.start_many([(1.0, 1.0)])
    ctl.start_grid(6)
    path = tmp_path / "many.csv"
    write_csv(path, ctl.runs)
    ctl.clear_runs()
    ctl.start_at(2.0, 2.0)
    before = ctl.runs
    ctl.force_sync = False
    assert window.overlay_csv(str(path))  # reading starts; the window stays responsive
    assert window.progress.isVisible() and "Reading many.csv" in window.progress.toolTip()
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert not window.progress.isVisible()
    assert ctl.jobs.wait(60000)
    with qtbot.assertNotEmitted(ctl.runsAdded):
        qtbot.waitUntil(lambda: not ctl.busy, timeout=5000)
    assert ctl.runs == before  # cancelled: nothing added
    with qtbot.waitSignal(ctl.runsAdded, timeout=60000), \
            qtbot.waitSignal(ctl.jobs.progressChanged, timeout=60000,
                             check_params_cb=lambda label, f: label == "Reading many.csv" and 0 < f <= 1):
        window.overlay_csv(str(path))  # and the bar shows how far the reading got
    assert len(ctl.runs) == 1 + 37 and ctl.runs[:1] == before


def test_the_start_up_warm_up_says_what_it_does_and_can_be_cancelled(qtbot, window):
    pytest.importorskip("numba")
    from landscape_gui.qt.model.warmup import COMPILE_TEXT, LOAD_TEXT, start_warmup

    assert start_warmup(window.ctl)
    assert window.progress.isVisible()
    assert window.progress.toolTip() in (COMPILE_TEXT, LOAD_TEXT)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert not window.ctl.busy and not window.progress.isVisible()
    assert window.ctl.jobs.wait(600000)


def test_the_warm_up_goes_on_to_network_and_noisy_kernels_saying_so_and_only_once(qtbot, window, tmp_path,
                                                                                   monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("LANDSCAPE_GUI_CACHE_DIR", str(tmp_path / "kernels"))
    from landscape_gui.core import warming
    from landscape_gui.qt.model.warmup import COMPILE_TEXT, LOAD_TEXT, start_warmup

    network, noisy = warming.STAGES[1], warming.STAGES[2]
    stages = [warming.Stage("networks", network.label, networks=True, pairs=(("nn_line_affine_mse", "sgd"),)),
              warming.Stage("noisy", noisy.label, noisy=True, pairs=(("booth", "sgd"),))]
    shown: list[str] = []
    window.ctl.jobs.progressChanged.connect(lambda label, _f: shown.append(window.progress.toolTip()))
    assert start_warmup(window.ctl, stages)
    qtbot.waitUntil(lambda: warming.stamp_path(stages[-1]).exists(), timeout=600000)
    qtbot.waitUntil(lambda: not window.ctl.busy and not window.progress.isVisible(), timeout=60000)
    said = list(dict.fromkeys(shown))  # the status bar's labels, in order
    assert said[0] in (COMPILE_TEXT, LOAD_TEXT) and said[1:] == [network.label, noisy.label]
    assert "network surfaces" in network.label and "gradient noise" in noisy.label
    shown.clear()
    assert start_warmup(window.ctl, stages)  # a later start: only the map on screen's kernel is loaded
    qtbot.waitUntil(lambda: not window.ctl.busy, timeout=600000)
    assert set(shown) <= {COMPILE_TEXT, LOAD_TEXT} and shown


def test_cancel_ends_the_warm_up_in_the_middle_of_a_stage(qtbot, window, tmp_path, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("LANDSCAPE_GUI_CACHE_DIR", str(tmp_path / "kernels"))
    from landscape_gui.core import warming
    from landscape_gui.qt.model.warmup import start_warmup

    # a stage of kernels not compiled yet (a fresh cache): its child is still at work when Cancel is pressed
    stages = [warming.Stage("networks", warming.STAGES[1].label, networks=True,
                            pairs=(("nn_sine_tanh_mse", "adam"), ("nn_sine_tanh_mae", "adam"))),
              warming.Stage("noisy", warming.STAGES[2].label, noisy=True, pairs=(("booth", "sgd"),))]
    labels: list[str] = []
    window.ctl.jobs.progressChanged.connect(lambda label, _f: labels.append(label))
    with qtbot.waitSignal(window.ctl.jobs.progressChanged, timeout=600000,
                          check_params_cb=lambda label, _f: label == stages[0].label):
        assert start_warmup(window.ctl, stages)
    assert window.progress.isVisible() and window.progress.toolTip() == stages[0].label
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert not window.ctl.busy and not window.progress.isVisible()
    assert window.ctl.jobs.wait(600000)
    assert stages[1].label not in labels and warming.pending(stages) == stages
    assert not list((tmp_path / "kernels").glob("warmed-*"))


def test_the_playback_bar_follows_playback_and_shows_the_last_step(qtbot, window):
    ctl = window.ctl
    ctl.set_hyperparameter("sgd", "lr", 1e-3)
    ctl.set_tol(0.0)
    ctl.start_at(1.0, 1.0)
    bar = window.playback_bar
    ctl.playback.set_speed(300)
    ctl.playback.restart()
    qtbot.waitUntil(lambda: 0 < bar.slider.value() < ctl.playback.max_step, timeout=10000)  # moves while playing
    assert ctl.playback.playing
    qtbot.waitUntil(lambda: not ctl.playback.playing, timeout=20000)
    assert bar.slider.value() == ctl.playback.max_step == 1000
    assert bar.label.text() == "step 1000 / 1000"
