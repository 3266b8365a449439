"""The window's layout and look, driven at the sizes people have: the two views own the window, the
map keeps equal units on both axes, nothing is clipped, layouts that do not fit are reset, the run
palette reads on every background, and tick labels keep apart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QGuiApplication

from landscape_gui.qt.theme import BACKGROUNDS, PALETTE, contrast
from landscape_gui.qt.views.ticks import MIN_LABEL_GAP, log_levels

SIZES = [(1366, 768), (1600, 1000), (1920, 1080)]


def _lay_out(qtbot, window, w, h):
    window.resize(w, h)
    window.reset_layout()
    qtbot.waitUntil(lambda: window.width() == w and window.height() == h, timeout=5000)
    qtbot.waitUntil(lambda: abs(window.surface_view.width() - window.map_view.width()) <= 2, timeout=5000)


@pytest.mark.parametrize("w,h", SIZES)
def test_the_two_views_hold_most_of_the_window_and_the_map_is_not_stretched(qtbot, window, w, h):
    _lay_out(qtbot, window, w, h)
    qtbot.waitUntil(lambda: window.views_share() >= 0.60, timeout=5000)
    vb = window.map_view.view_box
    window.fit_views()
    px, py = vb.viewPixelSize()  # data units per pixel along x and y
    assert px == pytest.approx(py, rel=1e-3)
    # a square domain is drawn square: the same pixels for 10 units across and 10 units up
    p0, p1, p2 = (window.map_view.pixel_of(*p) for p in ((-5, -5), (5, -5), (-5, 5)))
    assert abs(p1.x() - p0.x()) == pytest.approx(abs(p2.y() - p0.y()), abs=2)
    # the colour bar stands beside the plot, not over it
    bar = window.map_view.colorbar.sceneBoundingRect()
    plot = vb.sceneBoundingRect()
    assert bar.left() >= plot.right() - 1


def test_nothing_is_clipped_at_1366_by_768(qtbot, window):
    _lay_out(qtbot, window, 1366, 768)
    window.controls_dock.raise_()
    lr = window.optimizer_panel.form.fields["lr"]
    qtbot.waitUntil(lr.isVisible, timeout=3000)
    viewport = window.controls.parentWidget()
    right = lr.mapTo(viewport, lr.rect().topRight()).x()
    assert right <= viewport.width()  # the field ends inside the panel
    assert lr.width() >= QFontMetrics(lr.font()).horizontalAdvance("0.000001")  # and shows a long value
    assert window.controls.width() <= viewport.width()
    # the progress text of a long job fits its bar
    window._progress("Basin map 512×512 (adam and momentum)", 0.5)
    bar = window.progress
    assert QFontMetrics(bar.font()).horizontalAdvance(bar.text()) <= bar.maximumWidth()


def test_a_long_hyperparameter_name_does_not_widen_the_controls_past_the_panel(make_window, qtbot):
    """Adam's decoupled_weight_decay, chosen before the window opens (as `landscape-gui --optimizer
    adam` does) at 1366×768: its field goes under the name, the Reset button and the bounds' right-hand
    fields stay inside the panel."""

    w = make_window(restore_settings=False)
    w.ctl.set_optimizer("adam")
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    w.reset_layout()
    viewport = w.controls.parentWidget()
    qtbot.waitUntil(lambda: viewport.width() > 0 and w.optimizer_panel.form.isVisible(), timeout=5000)
    assert w.controls.minimumSizeHint().width() <= viewport.width()
    assert w.controls.width() <= viewport.width()
    w.ctl.cancel()
    w.ctl.jobs.wait(10000)
    w.close()


def test_the_window_opens_inside_the_available_screen(make_window, qtbot):

    w = make_window(restore_settings=False)
    avail = QGuiApplication.primaryScreen().availableGeometry()
    assert avail.contains(QRect(w.pos(), w.size()))
    w.close()


def test_a_restored_layout_that_no_longer_fits_is_reset(make_window, qtbot, window):

    _lay_out(qtbot, window, 1366, 768)
    window.resizeDocks([window.controls_dock], [1000], Qt.Horizontal)  # squeeze the views
    qtbot.waitUntil(lambda: window.views_share() < 0.45, timeout=5000)
    window.close()  # saves the squeezed layout
    again = make_window(restore_settings=True)
    again.show()
    qtbot.waitExposed(again)
    qtbot.waitUntil(lambda: not again._check_layout_pending, timeout=5000)
    qtbot.waitUntil(lambda: again.views_share() >= 0.6, timeout=5000)
    again.close()


def test_reset_layout_brings_every_panel_back(qtbot, window):
    _lay_out(qtbot, window, 1600, 1000)
    window.loss_dock.setFloating(True)
    window.runs_dock.close()
    window.act_reset_layout.trigger()
    qtbot.waitUntil(lambda: window.runs_dock.isVisible(), timeout=3000)
    assert not window.loss_dock.isFloating()
    below = set(window.tabifiedDockWidgets(window.runs_dock))  # with the docks added below (instruments)
    assert window.loss_dock in below
    assert below - {window.loss_dock} == {d for d in window.docks if d in getattr(window, "_docks_below", [])}
    assert window.controls_dock.isVisible()
    qtbot.waitUntil(lambda: window.views_share() >= 0.6, timeout=5000)


def test_the_run_palette_reads_on_every_background_and_in_the_table(window):
    for rgb in PALETTE:
        assert min(rgb) < 200  # never near white (nor grey: the channels differ)
        assert max(rgb) - min(rgb) > 80
        for name, bg in BACKGROUNDS.items():
            assert contrast(rgb, bg) >= 2.0, (rgb, name)
    gl_bg = window.surface_view.gl.opts["bgcolor"]
    bg = tuple(round(255 * c) for c in gl_bg[:3])
    assert all(contrast(rgb, bg) >= 2.0 for rgb in PALETTE)
    window.ctl.start_many([(x, 1.0) for x in range(-4, 5)])
    model = window.runs_table.model_
    for r in window.ctl.runs:
        icon = model.data(model.index(model.row_of(r.id), 0), Qt.DecorationRole)
        img = icon.pixmap(14, 14).toImage()
        assert img.pixelColor(7, 7) == QColor(*window.ctl.color_of(r))
        edge = img.pixelColor(1, 7)
        assert max(edge.red(), edge.green(), edge.blue()) < 120  # a dark outline on the light table


def test_log_tick_labels_keep_apart():
    label = 14
    for lo, hi, length in ((0, 3, 600), (-12, 2, 120), (-30, 30, 300), (0.2, 1.1, 400), (-1, 1, 50)):
        majors, labelled, _ = log_levels(lo, hi, length, label)
        values = sorted(majors + labelled)
        assert values, (lo, hi)
        gaps = [(b - a) * length / (hi - lo) for a, b in zip(values, values[1:])]
        assert all(g >= MIN_LABEL_GAP * label - 1e-6 for g in gaps), (lo, hi, gaps)


def test_the_colour_bar_labels_decades_only_on_a_log_scale(qtbot, window):
    window.ctl.set_surface("goldstein_price")  # values over six decades
    assert window.ctl.log_height
    ticks = window.map_view.colorbar.axis._tickLevels
    labels = [text for level in ticks for _, text in level if text]
    assert labels and all("·" not in t for t in labels)


def test_run_ids_past_1000_and_far_ends_are_not_cut_in_the_table(qtbot, window):
    ctl = window.ctl
    ctl._next_id = 12345  # as after a long session
    ctl.start_many([(4.9, -4.9)])
    table = window.runs_table
    model = table.model_
    fm = table.fontMetrics()
    for col in (0, 3):
        text = model.data(model.index(0, col))
        assert fm.horizontalAdvance(text) + 16 <= table.columnWidth(col), (col, text)
