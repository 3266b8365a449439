"""The teaching tools in the window (issue 14): schedules and gradient noise, driven through the real
widgets of the optimizer and noise panels, the loss curves and the map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from landscape_gui.core import engine
from landscape_gui.core.noise import GradientNoise
from landscape_gui.core.schedules import make_schedule
from landscape_gui.core.stochastic import fan


def _click_map(qtbot, window, x, y):
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))


def _choose(combo, data):
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)


# ---------------------------------------------------------------------------------------------- schedules


def test_schedule_form_is_generated_from_the_declaration(window):
    panel = window.lessons.schedule_panel
    _choose(panel.combo, "cyclic")
    form = panel.form
    assert form is not None and form.schedule.name == "cyclic"
    names = [h.name for h in form.schedule.hyperparameters]
    assert list(form.fields) == names
    from PySide6.QtWidgets import QCheckBox, QComboBox

    assert isinstance(form.fields["mode"], QComboBox)  # a Choice
    assert [form.fields["mode"].itemText(i) for i in range(form.fields["mode"].count())] == list(
        form.schedule.hyperparameter("mode").choices)
    assert isinstance(form.fields["cycle_momentum"], QCheckBox)
    form.fields["mode"].setCurrentText("triangular2")
    assert window.ctl.schedule_settings()["mode"] == "triangular2"
    _choose(panel.combo, "multistep")
    assert window.lessons.schedule_panel.form.schedule.name == "multistep"


def test_a_run_follows_the_schedule_chosen_in_the_panel(window, qtbot):
    ctl = window.ctl
    panel = window.lessons.schedule_panel
    _choose(panel.combo, "step")
    form = panel.form
    form.fields["step_size"].setValue(20)
    slider = form.sliders["gamma"]  # a positive number without an upper end: a log slider
    assert slider.kind == "log"
    slider.setValue(slider.to_position(0.5))
    gamma = ctl.schedule_settings()["gamma"]
    assert gamma == pytest.approx(0.5, rel=0.01)
    assert form.fields["gamma"].value() == gamma

    _click_map(qtbot, window, 0.5, 0.5)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    run = ctl.runs[0]
    assert run.params["schedule"] == {"name": "step", "step_size": 20, "gamma": gamma}
    expected = engine.run(ctl.surface, "sgd", [run.start], ctl.hyperparameters("sgd"), bounds=ctl.bounds,
                          max_steps=ctl.max_steps, tol=ctl.tol,
                          schedule=make_schedule("step", {"step_size": 20, "gamma": gamma})).runs[0]
    assert np.array_equal(run.positions, expected.positions)
    plain = engine.run(ctl.surface, "sgd", [run.start], ctl.hyperparameters("sgd"), bounds=ctl.bounds,
                       max_steps=ctl.max_steps, tol=ctl.tol).runs[0]
    assert not np.array_equal(run.positions[:60], plain.positions[:60])

    # changing a setting re-runs the run under the new schedule
    form.fields["step_size"].setValue(5)
    qtbot.waitUntil(lambda: ctl.runs[0].params["schedule"]["step_size"] == 5)
    # back to a constant learning rate
    _choose(panel.combo, None)
    qtbot.waitUntil(lambda: "schedule" not in ctl.runs[0].params)
    assert np.array_equal(ctl.runs[0].positions, plain.positions)


def test_step_list_field_takes_only_step_numbers(window, qtbot):
    panel = window.lessons.schedule_panel
    _choose(panel.combo, "multistep")
    field = panel.form.fields["milestones"]
    field.clear()
    qtbot.keyClicks(field, "30,x7y0")  # letters are refused as they are typed
    assert field.text() == "30,70"
    qtbot.keyClick(field, Qt.Key_Return)
    assert window.ctl.schedule_settings()["milestones"] == (30, 70)
    assert not panel.error.isVisible()


def test_loss_curves_show_the_learning_rate_against_step(window, qtbot):
    ctl = window.ctl
    panel = window.lessons.schedule_panel
    _choose(panel.combo, "step")
    panel.form.fields["step_size"].setValue(10)
    panel.form.fields["gamma"].setValue(0.5)
    ctl.start_at(0.5, 0.5)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    view = window.loss_view
    assert view.learning_rate_curves() == []
    qtbot.mouseClick(view.lr_box, Qt.LeftButton, pos=view.lr_box.rect().center())
    assert view.lr_box.isChecked()
    (steps, lr), = view.learning_rate_curves()
    lr0 = ctl.hyperparameters("sgd")["lr"]
    assert steps[0] == 1 and len(steps) == ctl.runs[0].steps
    assert lr[0] == lr0 and lr[9] == lr0 and lr[10] == lr0 * 0.5 and lr[20] == lr0 * 0.25
    assert view.plot_item.getAxis("right").isVisible()
    # a new setting redraws the curve
    panel.form.fields["gamma"].setValue(0.1)
    qtbot.waitUntil(lambda: view.learning_rate_curves()[0][1][10] == pytest.approx(lr0 * 0.1))


def test_sessions_save_and_restore_the_schedule_and_noise(window, qtbot, tmp_path):
    ctl = window.ctl
    _choose(window.lessons.schedule_panel.combo, "multistep")
    field = window.lessons.schedule_panel.form.fields["milestones"]
    field.setText("40,90")
    field.editingFinished.emit()
    noise = window.lessons.noise_panel
    noise.scale.setValue(0.3)
    noise.seed.setValue(11)
    ctl.start_at(0.5, 0.5)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    before = ctl.runs[0]
    path = tmp_path / "lesson.json"
    window.dialogs.paths.append(str(path))
    assert window.save_session(None)
    saved = json.loads(path.read_text())
    assert saved["schedule"]["name"] == "multistep" and saved["schedule"]["milestones"] == [40, 90]
    assert saved["noise"] == {"scale": 0.3, "seed": 11}

    _choose(window.lessons.schedule_panel.combo, None)
    noise.scale.setValue(0.0)
    ctl.clear_runs()
    window.dialogs.paths.append(str(path))
    with qtbot.waitSignal(ctl.sessionLoaded, timeout=60000):
        assert window.open_session(None)
    assert ctl.schedule_name == "multistep" and ctl.schedule_settings()["milestones"] == (40, 90)
    assert window.lessons.schedule_panel.combo.currentData() == "multistep"
    assert window.lessons.schedule_panel.form.fields["milestones"].text() == "40,90"
    assert noise.scale.value() == 0.3 and noise.seed.value() == 11
    assert ctl.runs[0].same_trajectory(before)  # the same seed: the same noisy run, bit for bit


# ---------------------------------------------------------------------------------------------- noise


def test_noise_from_the_panel_is_seeded_and_zero_is_exact(window, qtbot):
    ctl = window.ctl
    ctl.start_at(0.5, 0.5)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    plain = ctl.runs[0]
    panel = window.lessons.noise_panel
    assert not panel.batch.isVisible()  # no mini-batches off network surfaces
    slider = panel.scale_slider
    slider.setValue(slider.to_position(1.0))
    assert panel.scale.value() == pytest.approx(1.0)
    qtbot.waitUntil(lambda: "noise" in ctl.runs[0].params)
    noisy = ctl.runs[0]
    assert noisy.params["noise"] == {"scale": 1.0, "seed": 0}
    assert not noisy.same_trajectory(plain)
    expected = engine.run(ctl.surface, "sgd", [noisy.start], ctl.hyperparameters("sgd"), bounds=ctl.bounds,
                          max_steps=ctl.max_steps, tol=ctl.tol, noise=GradientNoise(1.0, 0), first_id=noisy.id).runs[0]
    assert noisy.same_trajectory(expected)
    panel.seed.setValue(5)
    qtbot.waitUntil(lambda: ctl.runs[0].params["noise"]["seed"] == 5)
    assert not ctl.runs[0].same_trajectory(noisy)
    panel.seed.setValue(0)
    qtbot.waitUntil(lambda: ctl.runs[0].params["noise"]["seed"] == 0)
    assert ctl.runs[0].same_trajectory(noisy)  # same seed, same run
    panel.scale.setValue(0.0)
    qtbot.waitUntil(lambda: "noise" not in ctl.runs[0].params)
    assert ctl.runs[0].same_trajectory(plain)  # scale 0: the noiseless run bit for bit


def test_fan_mode_draws_a_bundle_per_click_in_one_colour(window, qtbot):
    ctl = window.ctl
    panel = window.lessons.noise_panel
    panel.scale.setValue(2.0)
    panel.fan_n.setValue(6)
    qtbot.mouseClick(panel.fan_box, Qt.LeftButton, pos=panel.fan_box.rect().center())
    assert ctl.fan == 6
    _click_map(qtbot, window, 0.0, 0.0)
    qtbot.waitUntil(lambda: len(ctl.runs) == 6)
    _click_map(qtbot, window, -1.0, 2.0)
    qtbot.waitUntil(lambda: len(ctl.runs) == 12)
    first, second = ctl.runs[:6], ctl.runs[6:]
    assert len({ctl.color_of(r) for r in first}) == 1
    assert len({ctl.color_of(r) for r in second}) == 1
    assert ctl.color_of(first[0]) != ctl.color_of(second[0])
    assert len({r.end for r in first}) == 6  # six different noisy paths from one start
    # the same runs core.stochastic.fan makes from that start and seed
    ref = fan(ctl.surface, "sgd", [first[0].start], 6, GradientNoise(2.0, 0), ctl.hyperparameters("sgd"),
              first_id=first[0].id, bounds=ctl.bounds, max_steps=ctl.max_steps, tol=ctl.tol)[0]
    assert all(a.same_trajectory(b) for a, b in zip(first, ref))
    # fan mode off: a click starts one run again
    qtbot.mouseClick(panel.fan_box, Qt.LeftButton, pos=panel.fan_box.rect().center())
    _click_map(qtbot, window, 1.0, 1.0)
    qtbot.waitUntil(lambda: len(ctl.runs) == 13)


def test_a_fan_without_noise_is_refused_with_a_message(window, qtbot):
    window.lessons.noise_panel.fan_box.setChecked(True)
    _click_map(qtbot, window, 0.0, 0.0)
    assert window.ctl.runs == []
    assert window.dialogs.errors and "noise" in window.dialogs.errors[-1][1]


def test_basin_map_under_noise_becomes_a_probability_map(window, qtbot):
    ctl, lessons = window.ctl, window.lessons
    window.lessons.noise_panel.scale.setValue(1.0)
    ctl.set_max_steps(200)
    panel = lessons.noise_panel
    _choose(panel.resolution, 24)
    panel.samples.setValue(4)
    prob = lessons.probability
    with qtbot.waitSignal(prob.mapChanged, timeout=120000, check_params_cb=lambda: prob.pmap is not None):
        window.act_basins.trigger()
    pmap = prob.pmap
    assert pmap.resolution == 24 and pmap.samples == 4 and pmap.params["noise"] == {"scale": 1.0, "seed": 0}
    assert window.basins.basin_map is None and not window.basin_overlay.isVisible()
    assert lessons.overlay.isVisible()
    shown = lessons.overlay.image.copy()
    # the overlay's colours: the most likely minimum, pale where it is uncertain
    labels, p = pmap.most_likely()
    certain = np.unravel_index(np.argmax(p), p.shape)
    uncertain = np.unravel_index(np.argmin(np.where(labels >= 0, p, 2)), p.shape)
    assert shown[certain][:3].astype(int).sum() < shown[uncertain][:3].astype(int).sum()
    # the 3-D surface is coloured too: the vertex over the most certain cell takes its colour
    rgba = window.surface_view.surface_colors
    assert rgba is not None
    xs, ys, _ = ctl.grid
    i = int(np.argmin(np.abs(xs - pmap.xs[certain[0]])))
    j = int(np.argmin(np.abs(ys - pmap.ys[certain[1]])))
    cell = shown[certain][:3] / 255.0
    assert np.allclose(rgba[i, j, :3], cell, atol=0.21)  # at most a fifth of the height colour mixed in
    assert not np.allclose(rgba[i, j, :3], shown[uncertain][:3] / 255.0, atol=0.05)
    # entropy view
    window.lessons.act_entropy.trigger()
    assert panel.entropy_box.isChecked()
    ent = lessons.overlay.image
    assert ent[..., 0].tolist() == ent[..., 1].tolist()  # grey
    assert not np.array_equal(ent, shown)
    # noise off: the ordinary basin map comes back
    with qtbot.waitSignal(window.basins.mapsChanged, timeout=120000,
                          check_params_cb=lambda: window.basins.basin_map is not None):
        panel.scale.setValue(0.0)
    qtbot.waitUntil(lambda: not lessons.overlay.isVisible())
    # basins off: nothing coloured is left behind
    with qtbot.waitSignal(prob.mapChanged, timeout=120000, check_params_cb=lambda: prob.pmap is not None):
        panel.scale.setValue(1.0)
    assert window.map_view.plot_item.titleLabel.isVisible()
    window.act_basins.trigger()
    assert not lessons.overlay.isVisible() and prob.pmap is None
    assert not window.map_view.plot_item.titleLabel.isVisible()
    assert window.surface_view.surface_colors is None


def test_probability_map_progress_and_cancel(window, qtbot):
    ctl, lessons = window.ctl, window.lessons
    lessons.noise_panel.scale.setValue(1.0)
    _choose(lessons.noise_panel.resolution, 128)
    lessons.noise_panel.samples.setValue(256)
    labels = []
    ctl.jobs.progressChanged.connect(lambda label, f: labels.append(label))
    with qtbot.waitSignal(ctl.jobs.busyChanged, timeout=10000):
        window.act_basins.trigger()
    assert any(label.startswith("Probability map 128×128, 256 noisy runs") for label in labels)
    with qtbot.waitSignal(lessons.probability.cancelled, timeout=10000):
        window.act_cancel.trigger()
    assert not window.act_basins.isChecked()
    assert lessons.probability.pmap is None and not lessons.overlay.isVisible()
    assert not window.dialogs.errors


def test_batch_size_appears_on_network_surfaces_and_makes_mini_batch_runs(window, qtbot):
    from landscape_gui.core.surfaces import surface_from_spec

    ctl = window.ctl
    panel = window.lessons.noise_panel
    net = surface_from_spec("nn:dataset=xor;n=40;hidden=4;steps=20;seed=1")
    ctl.set_surface_object(net)
    qtbot.waitUntil(lambda: panel.batch.isVisible())
    assert panel.batch.maximum() == 40
    panel.batch.setValue(8)
    assert ctl.noise.batch_size == 8 and not panel.error.isVisible()
    ctl.start_at(0.3, -0.2)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    run = ctl.runs[0]
    assert run.params["noise"] == {"scale": 0.0, "seed": 0, "batch_size": 8}
    expected = engine.run(net, "sgd", [run.start], ctl.hyperparameters("sgd"), bounds=ctl.bounds,
                          max_steps=ctl.max_steps, tol=ctl.tol, noise=GradientNoise(0.0, 0, 8),
                          first_id=run.id).runs[0]
    assert run.same_trajectory(expected)
    full = engine.run(net, "sgd", [run.start], ctl.hyperparameters("sgd"), bounds=ctl.bounds,
                      max_steps=ctl.max_steps, tol=ctl.tol).runs[0]
    assert not run.same_trajectory(full)
    # off the network the batch size has nothing to draw from: hidden, and runs are exact again
    ctl.clear_runs()
    ctl.set_surface("himmelblau")
    qtbot.waitUntil(lambda: not panel.batch.isVisible())
    ctl.start_at(0.5, 0.5)
    qtbot.waitUntil(lambda: len(ctl.runs) == 1)
    assert "noise" not in ctl.runs[0].params
