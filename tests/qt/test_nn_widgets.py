"""The network panel and the data plot, as a user drives them (builds: tests/qt/model)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from landscape_gui.core.nn.slices import nn_surface_from_spec, parse_spec
from landscape_gui.core.surfaces import get_surface, surface_from_spec
from landscape_gui.qt.views.data_plot import DataPlot, contour_segments
from landscape_gui.qt.panels.nn_panel import NetworkPanel


@pytest.fixture
def panel(qtbot):
    w = NetworkPanel()
    qtbot.addWidget(w)
    w.show()
    return w


def test_build_emits_canonical_spec_that_resolves(panel, qtbot):
    panel.dataset.setCurrentIndex(panel.dataset.findData("xor"))
    panel.samples.setValue(40)
    panel.hidden.setText("6, 5")
    panel.steps.setValue(30)
    with qtbot.waitSignal(panel.surfaceRequested, timeout=2000) as sig:
        qtbot.mouseClick(panel.build_button, Qt.LeftButton)
    spec = sig.args[0]
    assert spec.startswith("nn:dataset=xor;n=40;")
    assert "hidden=6,5" in spec and "loss=binary_crossentropy" in spec
    surface = surface_from_spec(spec)
    assert surface.name == spec and surface.net.sizes == (2, 6, 5, 1)


def test_dataset_choice_sets_a_fitting_loss_and_hides_irrelevant_fields(panel):
    panel.dataset.setCurrentIndex(panel.dataset.findData("sine"))
    assert panel.loss.currentData() == "mean_squared_error"
    panel.model.setCurrentIndex(panel.model.findData("tanh_unit"))
    assert panel.hidden.isHidden() and panel.centre.isHidden()
    panel.dataset.setCurrentIndex(panel.dataset.findData("csv"))
    assert not panel.csv_path.isHidden() and panel.samples.isHidden()


def test_invalid_settings_show_an_error_and_emit_nothing(panel, qtbot):
    panel.dataset.setCurrentIndex(panel.dataset.findData("blobs"))
    panel.loss.setCurrentIndex(panel.loss.findData("binary_crossentropy"))
    panel.hidden.setText("sixteen")
    with qtbot.assertNotEmitted(panel.surfaceRequested):
        panel.request()
    assert "hidden takes layer sizes" in panel.error_label.text()


def test_set_spec_round_trips(panel):
    spec = "nn:dataset=moons;n=60;noise=0.2;data_seed=3;model=mlp;loss=hinge;hidden=8;activation=relu;seed=4;centre=initial;span=2"
    panel.set_spec(spec)
    assert parse_spec(panel.spec()).canonical() == parse_spec(spec).canonical()
    assert panel.optimizer.isHidden()  # no training for an initial centre


def test_contour_segments_follow_the_level_set():
    xs = np.linspace(-1, 1, 41)
    ys = np.linspace(-1, 1, 31)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    seg = contour_segments(xs, ys, gx ** 2 + gy ** 2, 0.5)
    assert len(seg) > 50 and len(seg) % 2 == 0
    np.testing.assert_allclose(np.hypot(seg[:, 0], seg[:, 1]), np.sqrt(0.5), atol=5e-3)


def test_data_plot_boundary_is_where_the_network_says_one_half(qtbot):
    plot = DataPlot()
    qtbot.addWidget(plot)
    s = get_surface("nn_moons_logistic_bce")
    plot.show_point(s, 1.0, -5.0)
    assert len(plot.scatters) == 2
    assert sum(len(sc.data) for sc in plot.scatters) == s.dataset.n_samples
    x, y = plot.boundary.getData()
    assert x is not None and len(x) > 10
    p = s.predict((1.0, -5.0), np.column_stack([x, y]))[:, 0]
    np.testing.assert_allclose(p, 0.5, atol=0.02)
    # the next playback step moves the boundary
    plot.show_point(s, 3.0, 2.0)
    x2, y2 = plot.boundary.getData()
    assert not np.allclose(np.sort(x2)[:5], np.sort(x)[:5]) or not np.allclose(np.sort(y2)[:5], np.sort(y)[:5])


def test_data_plot_multiclass_regions_and_regression_curve(qtbot):
    plot = DataPlot()
    qtbot.addWidget(plot)
    s = get_surface("nn_blobs_rotation_cce")
    plot.show_point(s, 3.0, 0.0)
    assert len(plot.scatters) == 3
    assert plot.regions.image is not None and plot.regions.image.shape[2] == 3
    r = get_surface("nn_sine_tanh_mse")
    plot.show_point(r, 1.0, 1.0)
    assert len(plot.scatters) == 1
    t, v = plot.curve.getData()
    np.testing.assert_allclose(v, 1.0 * np.tanh(1.0 * t), rtol=1e-12)


def test_data_plot_notes_surfaces_without_data(qtbot):
    plot = DataPlot()
    qtbot.addWidget(plot)
    plot.show_point(get_surface("himmelblau"), 0.0, 0.0)
    assert "not a network" in plot.message.textItem.toPlainText()
    assert not plot.scatters


def test_slice_surface_predictions_change_across_the_plane():
    s = nn_surface_from_spec("nn:dataset=circles;n=40;hidden=6;steps=20")
    assert not np.allclose(s.predict((0.0, 0.0)), s.predict((0.8, -0.8)))


def test_many_playback_steps_do_not_exhaust_singleton_references(qtbot):
    # PySide6 6.12 on CPython < 3.12 takes a reference from True/None per emit; without
    # landscape_gui.qt.pyside_fix the interpreter aborts after a few hundred plot updates.
    plot = DataPlot()
    qtbot.addWidget(plot)
    s = get_surface("nn_blobs_rotation_cce")
    for k in range(700):
        plot.show_point(s, 3.0, 0.001 * k)
