"""The researchers' instruments in the window, driven through the real widgets: slice planes, sharpness
and the edge-of-stability overlay, profiles, minimum-energy paths, the Hessian spectrum."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from landscape_gui.core.nn.slices import nn_surface_from_spec
from landscape_gui.core.spectrum import hessian_matrix

SMALL_NN = "nn:dataset=moons;n=60;hidden=4,4;steps=30"
# Müller & Brown (1979), Table 1, to ten digits (see landscape_gui.core.neb)
MB_SADDLES = [(-0.8220015587, 0.6243128028, -40.66484351), (0.2124865820, 0.2929883251, -72.24894011)]


def _click_map(qtbot, window, x, y):
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))


def _empty(curve) -> bool:
    x = curve.getData()[0]
    return x is None or len(x) == 0


@pytest.fixture
def ins(window, tmp_path):
    window.instruments.model.plane_dir = str(tmp_path / "planes")
    return window.instruments


def _network_with_full_space_runs(qtbot, window, optimizer="momentum", steps=60):
    ctl = window.ctl
    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    window.network_box.setChecked(True)
    window.network_section.full_space_box.setChecked(True)
    ctl.set_optimizer(optimizer)
    ctl.set_max_steps(steps)
    for x, y in ((0.6, -0.4), (-0.5, 0.5)):
        _click_map(qtbot, window, x, y)
    assert len(ctl.runs) == 2
    return [window.networks.weights_of(r) for r in ctl.runs]


def _show_plane_panel(qtbot, window, ins):
    window.controls_dock.raise_()
    button = ins.plane_panel.apply_button
    qtbot.waitUntil(lambda: button.isVisible() and button.height() > 0, timeout=5000)  # laid out


def _choose_plane(qtbot, ins, kind):
    panel = ins.plane_panel
    _show_plane_panel(qtbot, ins.window, ins)
    panel.kind.setCurrentIndex(panel.kind.findData(kind))
    with qtbot.waitSignal(ins.model.planeChanged, timeout=60000):
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
        assert not ins.window.dialogs.errors


# ---------------------------------------------------------------------------------------- planes
def test_pca_plane_of_the_runs_so_far_redraws_every_run_on_it_with_its_distance_and_true_loss(qtbot, window, ins):
    ctl = window.ctl
    weights = _network_with_full_space_runs(qtbot, window)
    old_surface, old_runs = ctl.surface, ctl.runs
    assert ins.plane_panel.isEnabled()
    _choose_plane(qtbot, ins, "pca")
    s = ctl.surface
    assert "directions=file" in s.name and "PCA plane of 2 runs" in s.description
    assert "PCA plane of 2 runs" in ins.plane_panel.info.text()
    np.testing.assert_allclose(s.directions @ s.directions.T, np.eye(2), atol=1e-10)
    # the union of both trajectories, centred on their mean: the PCA of the stacked weights
    X = np.vstack(weights).astype(float)
    np.testing.assert_allclose(s.theta_c, X.mean(axis=0), atol=1e-12)
    top = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)[2][:2]
    np.testing.assert_allclose(np.abs(s.directions @ top.T), np.eye(2), atol=1e-8)
    assert [r.id for r in ctl.runs] == [r.id for r in old_runs]
    for run, W in zip(ctl.runs, weights):
        # least-squares projection: the residual is orthogonal to the plane and its length is the distance
        resid = W - s.theta(run.positions)
        np.testing.assert_allclose(resid @ s.directions.T, 0, atol=1e-9)
        np.testing.assert_allclose(run.extras["distance"], np.linalg.norm(resid, axis=1), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(run.extras["true_loss"], s.full_value_and_grad(W)[0], rtol=1e-12)
        np.testing.assert_allclose(run.losses, s.value(run.positions), rtol=1e-12)
    run = ctl.runs[0]
    assert run.extras["distance"][-1] > 1e-3  # two runs do not fit in one plane
    # the loss curves show the plane's loss and, dotted, the true loss of the runs that left it
    dotted = [c for c in window.loss_view.curves() if c.opts["pen"].style() == Qt.DotLine]
    assert len(dotted) == 2 and "true loss" in window.loss_view.plot.toolTip()
    y = np.concatenate([c.getData()[1] for c in dotted])
    true = np.log10(np.concatenate([r.extras["true_loss"] for r in ctl.runs]))
    assert np.isin(np.round(y[np.isfinite(y)], 9), np.round(true, 9)).all()
    ctl.select([run.id])
    ctl.playback.to_end()
    r = ins.readout
    assert r["distance"].text() == f"{run.extras['distance'][-1]:.6g}"
    assert f"plane's {run.losses[-1]:.6g}" in r["true_loss"].text()
    window.data_dock.raise_()
    qtbot.waitUntil(lambda: "beside the plane's" in window.data_caption.text(), timeout=5000)
    # one Undo brings back the old plane and the runs as they were
    window.act_undo.trigger()
    assert ctl.surface is old_surface
    assert [r.id for r in ctl.runs] == [r.id for r in old_runs]
    assert all(a is b for a, b in zip(ctl.runs, old_runs))


def test_hessian_and_three_point_planes(qtbot, window, ins):
    ctl = window.ctl
    weights = _network_with_full_space_runs(qtbot, window, steps=40)
    centre = ctl.surface.theta_c.copy()
    _choose_plane(qtbot, ins, "hessian")
    s = ctl.surface
    assert "directions=hessian" in s.name
    vals, vecs = np.linalg.eigh(hessian_matrix(s, centre))
    np.testing.assert_allclose(s.directions @ s.directions.T, np.eye(2), atol=1e-8)
    np.testing.assert_allclose(np.abs(s.directions @ vecs[:, ::-1][:, :2]), np.eye(2), atol=1e-8)
    # the full-space runs are still there, drawn on the Hessian plane
    assert len(ctl.runs) == 2 and all("distance" in r.extras for r in ctl.runs)

    panel = ins.plane_panel
    _show_plane_panel(qtbot, window, ins)
    panel.kind.setCurrentIndex(panel.kind.findData("points"))
    assert panel.points[0].isVisible()
    labels = [panel.points[i].currentText() for i in range(3)]
    assert labels[0].startswith("end of run 1") and labels[1].startswith("end of run 2")
    assert labels[2] == "initial weights"
    with qtbot.waitSignal(ins.model.planeChanged, timeout=60000):
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
        assert not ins.window.dialogs.errors
    s = ctl.surface
    assert "end of run 1" in s.description and "initial weights" in s.description
    # both run ends lie in the plane through them
    for run, W in zip(ctl.runs, weights):
        assert run.extras["distance"][-1] == pytest.approx(0, abs=1e-9)
        np.testing.assert_allclose(s.theta(run.positions[-1:])[0], W[-1], atol=1e-9)


def test_plane_choice_needs_a_network(window, ins):
    assert not ins.plane_panel.isEnabled()
    assert not ins.spectrum_panel.button.isEnabled()
    ins.model.choose_plane("pca")
    assert window.dialogs.errors and "multi-layer-perceptron" in window.dialogs.errors[-1][1]


# ---------------------------------------------------------------------------------------- sharpness
def test_sharpness_of_the_selected_run_is_the_hessians_top_eigenvalue_beside_2_over_lr(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_optimizer("sgd")
    ctl.set_hyperparameters("sgd", {"lr": 0.01})
    _click_map(qtbot, window, 1.0, 1.0)
    run = ctl.runs[0]
    window.loss_dock.raise_()
    ins.sharpness_view.check.setChecked(True)
    assert ins.sharpness_view.caption.text().startswith("Select a run")
    ctl.force_sync = False  # on the job runner, like a long run's
    ctl.select([run.id])
    assert "Computing the sharpness of run" in ins.sharpness_view.caption.text()
    qtbot.waitUntil(lambda: ins.model.sharpness is not None, timeout=30000)
    ctl.force_sync = True
    view = ins.sharpness_view
    assert view.plot.isVisible()
    x, lam = view.curve.getData()
    H = ctl.surface.hessian(run.positions).reshape(-1, 2, 2)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(H)[:, -1], rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(x, np.arange(run.steps + 1))
    np.testing.assert_allclose(view.limit.getData()[1], 200.0)
    assert _empty(view.pre_curve)
    assert f"Run {run.id} (sgd)" in view.caption.text()
    ctl.playback.set_step(0)
    assert ins.readout["sharpness"].text().startswith(f"{lam[0]:.6g}")
    assert ins.readout["limit"].text() == "200"
    ctl.select([])
    assert ins.model.sharpness is None and _empty(view.curve)


def test_the_explain_readout_gives_the_sharpness_at_the_playback_step(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_optimizer("sgd")
    ctl.set_hyperparameters("sgd", {"lr": 0.02})
    _click_map(qtbot, window, 1.0, 1.0)
    run = ctl.runs[0]
    assert not ins.sharpness_view.check.isChecked()
    window.explain_dock.raise_()
    qtbot.waitUntil(window.explain_dock.isVisible, timeout=5000)
    ctl.select([run.id])
    ctl.playback.set_step(3)
    lam = np.linalg.eigvalsh(ctl.surface.hessian(run.positions[3:4]).reshape(2, 2))[-1]
    qtbot.waitUntil(lambda: ins.readout["sharpness"].text().startswith(f"{lam:.6g}"), timeout=10000)
    assert ins.readout["limit"].text() == "100"
    assert ("unstable" in ins.readout["sharpness"].text()) == (lam > 100)


def test_a_run_without_sharpness_says_why_beside_the_plot(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_optimizer("sgd")
    _click_map(qtbot, window, 1.0, 1.0)
    ins.sharpness_view.check.setChecked(True)
    run = ctl.runs[0]
    other = type(run)(99, run.positions, run.losses, run.grads, run.status, "sgd", dict(run.params), "booth")
    ctl.add_runs([other])
    ctl.select([other.id])
    assert "another surface (booth)" in ins.sharpness_view.caption.text()
    assert not window.dialogs.errors  # no message box at every selection
    assert ins.readout["sharpness"].text().startswith("–")


def test_adam_runs_show_the_preconditioned_sharpness(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_optimizer("adam")
    ins.sharpness_view.check.setChecked(True)
    _click_map(qtbot, window, -1.0, 1.0)
    ctl.select([ctl.runs[0].id])
    ser = ins.model.sharpness[1]
    assert ser.preconditioned is not None
    np.testing.assert_allclose(ins.sharpness_view.pre_curve.getData()[1], ser.preconditioned)
    np.testing.assert_allclose(ins.sharpness_view.opt_limit.getData()[1], 38 / ctl.hyperparameters()["lr"])
    assert "preconditioned" in ins.readout["sharpness"].text()
    # on a log axis (the preconditioned values are orders of magnitude above λ_max) the curves hold decades
    ins.sharpness_view.log_box.setChecked(True)
    lam = ser.sharpness
    drawn = ins.sharpness_view.curve.getData()[1]
    np.testing.assert_allclose(drawn[lam > 0], np.log10(lam[lam > 0]))
    assert np.isnan(drawn[lam <= 0]).all()
    pre = ser.preconditioned
    np.testing.assert_allclose(ins.sharpness_view.pre_curve.getData()[1][pre > 0], np.log10(pre[pre > 0]))


def test_edge_of_stability_overlay_matches_lambda_max_over_2_over_lr_cell_by_cell(qtbot, window, ins):
    from landscape_gui.core.sharpness import sharpness_grid

    ctl = window.ctl
    ctl.set_optimizer("sgd")
    ctl.set_hyperparameters("sgd", {"lr": 0.02})
    action = ins.act_eos
    assert action in window.view_menu.actions()
    ctl.force_sync = False
    with qtbot.waitSignal(ins.model.eosChanged, timeout=60000):
        action.trigger()
    ctl.force_sync = True
    assert ins.eos_overlay.isVisible()
    R = ins.model._eos_lam[1].shape[0]
    xs, ys, lam = sharpness_grid(ctl.surface, ctl.bounds, R)
    shown = ins.eos_overlay.image[..., 3] > 0
    np.testing.assert_array_equal(shown, lam > 2 / 0.02)
    assert 0 < shown.mean() < 1
    # a new learning rate re-thresholds the same λ_max
    with qtbot.waitSignal(ins.model.eosChanged, timeout=5000):
        ctl.set_hyperparameters("sgd", {"lr": 0.005})
    np.testing.assert_array_equal(ins.eos_overlay.image[..., 3] > 0, lam > 2 / 0.005)
    action.trigger()
    assert not ins.eos_overlay.isVisible() and ins.model.eos is None


# ---------------------------------------------------------------------------------------- profile and path
def _muller_brown_minima(qtbot, window):
    ctl = window.ctl
    ctl.set_surface("muller_brown")
    ctl.set_optimizer("sgd")
    ctl.set_hyperparameters("sgd", {"lr": 1e-4})
    ctl.set_max_steps(3000)
    for x, y in ((-0.55, 1.44), (0.62, 0.03)):
        _click_map(qtbot, window, x, y)
    points = window.minima.points()
    assert len(points) == 2 and all(c.kind == "minimum" for c in points)
    return points


def test_profile_between_two_minima_from_the_profile_tab(qtbot, window, ins):
    from landscape_gui.core.profile import segment_profile

    a, b = _muller_brown_minima(qtbot, window)
    panel = ins.two_point
    ins.profile_dock.raise_()
    qtbot.waitUntil(lambda: panel.start.count() >= 2, timeout=5000)  # the points are listed when shown
    panel.start.setCurrentIndex(panel.start.findData(f"min:{a.id}"))
    panel.end.setCurrentIndex(panel.end.findData(f"min:{b.id}"))
    with qtbot.waitSignal(ins.model.profileChanged, timeout=30000):
        qtbot.mouseClick(panel.profile_button, Qt.LeftButton)
    want = segment_profile(window.ctl.surface, (a.x, a.y), (b.x, b.y), 201)
    t, loss = ins.profile_plot.profile_curve.getData()
    np.testing.assert_allclose(loss, want.loss)
    assert ins.model.profile.peak_loss == pytest.approx(want.peak_loss)
    assert f"{want.barrier_from_start:.6g} from the start" in panel.result.text()
    x, y = ins.map_items.segment.getData()
    np.testing.assert_allclose(np.column_stack([x, y]), [(a.x, a.y), (b.x, b.y)])
    assert ins.profile_dock.isVisible()


def test_minimum_energy_path_from_the_minima_tables_context_menu(qtbot, window, ins):
    a, b = _muller_brown_minima(qtbot, window)
    window.settled_dock.raise_()
    table = window.settle_widget.panel.table
    row = window.settle_widget.panel.row_of(a.id)
    pos = table.visualItemRect(table.item(row, 2)).center()
    menu = ins.minima_menu(pos)
    path_menu = next(act.menu() for act in menu.actions() if act.menu() and "Minimum-energy path" in act.text())
    (target,) = [act for act in path_menu.actions() if act.text().startswith(f"#{b.id} ")]
    window.ctl.force_sync = False
    with qtbot.waitSignal(ins.model.pathChanged, timeout=120000):
        target.trigger()
    window.ctl.force_sync = True
    path = ins.model.path.path
    got = sorted((s.x, s.y, s.loss) for s in path.saddles)
    np.testing.assert_allclose(got, sorted(MB_SADDLES), atol=1e-4)
    for s in path.saddles:
        assert s.eigenvalues[0] < 0 < s.eigenvalues[1]
    assert path.losses.max() <= max(s.loss for s in path.saddles) + 1e-9  # no image above the saddle
    # drawn on both views, the saddles marked
    x, y = ins.map_items.path.getData()
    np.testing.assert_allclose(np.column_stack([x, y]), path.points)
    assert len(ins.map_items.saddles.data) == 2
    assert len(ins.surface_items.line.pos) == len(path.points)
    assert len(ins.surface_items.markers.pos) == 2
    text = ins.two_point.result.text()
    assert f"{path.barrier_forward:.6g}" in text and f"{path.barrier_backward:.6g}" in text
    assert ins.two_point.start.currentData() == f"min:{a.id}"
    qtbot.mouseClick(ins.two_point.clear_button, Qt.LeftButton)
    assert ins.model.path is None and _empty(ins.map_items.path)


def test_a_path_between_points_in_one_basin_names_the_problem(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_surface("muller_brown")
    ctl.set_hyperparameters("sgd", {"lr": 1e-4})
    ctl.start_many([(-0.55, 1.44), (-0.56, 1.43)])
    ins.model.path_between(("end", 1), ("end", 2))
    assert window.dialogs.errors[-1][0] == "Minimum-energy path"
    assert "same minimum" in window.dialogs.errors[-1][1]
    assert ins.model.path is None


# ---------------------------------------------------------------------------------------- spectrum
def test_hessian_spectrum_tab_at_the_centre_of_a_network_slice(qtbot, window, ins):
    ctl = window.ctl
    ctl.set_surface_object(nn_surface_from_spec(SMALL_NN))
    panel = ins.spectrum_panel
    assert panel.button.isEnabled()
    ins.spectrum_dock.raise_()
    qtbot.waitUntil(lambda: panel.where.findData("centre") >= 0, timeout=5000)
    panel.where.setCurrentIndex(panel.where.findData("centre"))
    with qtbot.waitSignal(ins.model.spectrumChanged, timeout=30000):
        qtbot.mouseClick(panel.button, Qt.LeftButton)
    s = ctl.surface
    ev = np.linalg.eigvalsh(hessian_matrix(s))
    spec = ins.model.spectrum.spectrum
    np.testing.assert_allclose(spec.eigenvalues, ev, atol=1e-10 * np.abs(ev).max())
    assert int(sum(ins.spectrum_plot.bars.opts["height"])) == s.n_params
    assert f"{s.n_params}</b> eigenvalues" in panel.result.text()
    assert f"trace {ev.sum():.6g}" in panel.result.text()


def test_no_two_actions_of_the_window_share_a_shortcut(window):
    """An ambiguous shortcut does nothing in Qt: the instruments' keys must not take another's."""
    from PySide6.QtGui import QAction, QKeySequence

    seen: dict[str, str] = {}
    for act in window.findChildren(QAction):
        for key in act.shortcuts():
            text = key.toString(QKeySequence.PortableText)
            if text:
                assert text not in seen or seen[text] == act.text(), (text, seen.get(text), act.text())
                seen[text] = act.text()
    assert "Ctrl+Shift+U" in seen


def test_a_profile_from_the_minima_tables_menu_before_the_profile_tab_was_ever_shown(qtbot, window, ins):
    a, b = _muller_brown_minima(qtbot, window)
    assert not ins.profile_dock.is_built()  # made on first show: never shown yet
    window.settled_dock.raise_()
    table = window.settle_widget.panel.table
    pos = table.visualItemRect(table.item(window.settle_widget.panel.row_of(a.id), 2)).center()
    profile_menu = next(act.menu() for act in ins.minima_menu(pos).actions() if act.menu() and "Profile" in act.text())
    (target,) = [act for act in profile_menu.actions() if act.text().startswith(f"#{b.id} ")]
    with qtbot.waitSignal(ins.model.profileChanged, timeout=30000):
        target.trigger()
    qtbot.waitUntil(lambda: ins.profile_dock.isVisible(), timeout=5000)  # made and brought to the front
    assert ins.two_point.start.currentData() == f"min:{a.id}" and ins.two_point.end.currentData() == f"min:{b.id}"
    assert len(ins.profile_plot.profile_curve.getData()[0]) == 201
    assert "from the start" in ins.two_point.result.text()
