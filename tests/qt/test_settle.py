"""Where runs settle, in the window: minimum ids, the settled dock, colour by minimum, basin maps,
comparison of two optimizers, and CSV export equal to the command line's."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from landscape_gui.core import engine
from landscape_gui.qt.panels.runs_table import COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _click_map(qtbot, window, x, y):
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))


def _table_minimum(window, run_id):
    model = window.runs_table.model_
    return model.data(model.index(model.row_of(run_id), COLUMNS.index("minimum")))


def test_clicks_in_two_basins_get_two_ids_kept_on_later_clicks_and_reruns(qtbot, window):
    ctl = window.ctl
    _click_map(qtbot, window, 1.0, 1.0)  # himmelblau: basin of (3, 2)
    first = ctl.runs[0].minimum
    assert first is not None and _table_minimum(window, ctl.runs[0].id) == str(first)
    _click_map(qtbot, window, -3.0, -1.0)  # basin of (-3.78, -3.28)
    _click_map(qtbot, window, 4.0, 4.0)  # (3, 2) again
    a, b, c = ctl.runs
    assert a.minimum == first and c.minimum == first  # one click at a time keeps ids
    assert b.minimum is not None and b.minimum != first
    assert [_table_minimum(window, r.id) for r in ctl.runs] == [str(first), str(b.minimum), str(first)]
    point = window.minima.table.get(b.minimum)
    assert (point.x, point.y) == pytest.approx((-3.779310, -3.283186), abs=1e-5)

    ctl.set_hyperparameter("sgd", "lr", 0.008)  # re-run: new trajectories, same ids
    ctl._rerun_stale()
    assert [r.minimum for r in ctl.runs] == [first, b.minimum, first]
    assert [_table_minimum(window, r.id) for r in ctl.runs] == [str(first), str(b.minimum), str(first)]


def test_settled_panel_lists_minima_and_a_row_click_selects_their_runs(qtbot, window):
    ctl = window.ctl
    for x, y in ((1.0, 1.0), (-3.0, -1.0), (4.0, 4.0)):
        _click_map(qtbot, window, x, y)
    panel = window.settle_widget.panel
    t = panel.table
    assert t.rowCount() == 2
    shown = {int(t.item(r, 1).text()): int(t.item(r, 6).text()) for r in range(2)}
    assert shown == {ctl.runs[0].minimum: 2, ctl.runs[1].minimum: 1}
    row = panel.row_of(ctl.runs[0].minimum)
    rect = t.visualItemRect(t.item(row, 3))
    qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=rect.center())
    assert ctl.selected == (ctl.runs[0].id, ctl.runs[2].id)
    assert window.runs_table.selected_ids() == [ctl.runs[0].id, ctl.runs[2].id]
    assert window.map_view.sel_curve.xData is not None and len(window.map_view.sel_curve.xData) > 0
    assert len(window.surface_view._sel_pos) > 0
    # selecting one run only: the panel no longer claims the whole minimum is selected
    ctl.select([ctl.runs[0].id])
    assert t.selectedItems() == []


def test_colour_by_minimum_gives_runs_in_one_basin_one_colour_everywhere(qtbot, window):
    ctl = window.ctl
    for x, y in ((1.0, 1.0), (-3.0, -1.0), (4.0, 4.0)):
        _click_map(qtbot, window, x, y)
    a, b, c = ctl.runs
    model = window.runs_table.model_

    def swatch(r):  # the colour in the middle of the table's swatch icon
        icon = model.data(model.index(model.row_of(r.id), 0), Qt.DecorationRole)
        return icon.pixmap(14, 14).toImage().pixelColor(7, 7)

    assert ctl.color_of(a) != ctl.color_of(c)  # colour per run to begin with
    assert len({tuple(i.opts["pen"].color().getRgb()[:3]) for i in window.loss_view.curves()}) == 3
    window.act_color_minimum.trigger()
    assert window.act_color_minimum.isChecked() and not window.act_color_run.isChecked()
    assert ctl.color_of(a) == ctl.color_of(c) != ctl.color_of(b)
    assert swatch(a) == swatch(c) == QColor(*ctl.color_of(a)) and swatch(b) != swatch(a)
    pens = {tuple(item.opts["pen"].color().getRgb()[:3]) for item in window.loss_view.curves()}
    assert len(pens) == 2  # the loss curves: one colour per minimum (three runs, two minima)
    panel = window.settle_widget.panel
    row = panel.row_of(a.minimum)
    assert panel.table.item(row, 0).background().color().getRgb()[:3] == ctl.color_of(a)
    window.act_color_run.trigger()  # back to a colour per run
    assert not window.act_color_minimum.isChecked() and ctl.color_of(a) != ctl.color_of(c)


def test_basin_overlay_and_legend_appear_and_follow_the_learning_rate(qtbot, window):
    basins = window.basins
    basins.set_resolution(64)
    _click_map(qtbot, window, 1.0, 1.0)
    assert not window.basin_overlay.isVisible()
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        window.act_basins.trigger()
        assert window.progress.isVisibleTo(window) and window.cancel_button.isVisibleTo(window)
        assert "Basin map 64×64" in window.progress.format()
    bmap = basins.basin_map
    assert bmap.resolution == 64 and window.basin_overlay.isVisible()
    assert not window.progress.isVisibleTo(window)
    legend = window.settle_widget.legend.rows
    assert len(legend) == 4 and all(text.startswith(f"#{i}") for i, text, _ in legend)
    assert sum(float(share.rstrip(" %")) for _, _, share in legend) == pytest.approx(100, abs=0.3)
    assert window.surface_view.surface_colors is not None  # 3-D surface coloured by basin
    panel = window.settle_widget.panel.table
    shares = [panel.item(r, 7).text() for r in range(panel.rowCount())]
    assert panel.rowCount() == 4 and all(s.endswith("%") for s in shares)
    # the run's label and the map's agree: same table
    run = window.ctl.runs[0]
    assert window.basin_overlay.label_at(*run.start) == run.minimum

    window.ctl.set_hyperparameter("sgd", "lr", 0.03)  # debounced recompute
    qtbot.waitUntil(lambda: basins.basin_map is not None and basins.basin_map is not bmap, timeout=60000)
    assert basins.basin_map.params["lr"] == 0.03
    assert not np.array_equal(basins.basin_map.labels, bmap.labels)

    window.act_basins.trigger()  # hide
    assert not window.basin_overlay.isVisible() and window.surface_view.surface_colors is None


def test_cancel_stops_the_basin_map(qtbot, window):
    """A basin map that only ends when cancelled: Cancel takes the overlay off at once, the worker
    stops, and no map appears afterwards."""
    started, release = threading.Event(), threading.Event()

    def endless(*args, should_cancel, **kwargs):
        started.set()
        release.wait(60)  # until the user's Cancel lets it go
        raise engine.Cancelled()

    window.basins.map_function = endless
    window.basins.cancelled.connect(release.set)
    window.act_basins.trigger()
    qtbot.waitUntil(started.is_set, timeout=20000)
    assert window.progress.isVisibleTo(window)
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert "cancelled" in window.statusBar().currentMessage()
    assert not window.progress.isVisibleTo(window) and not window.act_basins.isChecked()
    assert window.ctl.jobs.wait(30000)
    with qtbot.assertNotEmitted(window.basins.mapsChanged):
        qtbot.waitUntil(lambda: not window.ctl.busy, timeout=5000)
    assert window.basins.basin_map is None and not window.basin_overlay.isVisible()
    assert window.surface_view.surface_colors is None


def test_compare_two_optimizers_shows_where_they_differ_and_the_share(qtbot, window):
    basins = window.basins
    basins.set_resolution(64)
    window.ctl.set_hyperparameter("sgd", "lr", 0.02)
    window.dialogs.choices.append("adam")
    window.act_compare_basins.trigger()
    qtbot.waitUntil(lambda: basins.difference is not None, timeout=60000)
    assert window.dialogs.asked == ["sgd"]
    mask, share = basins.difference
    assert mask.shape == (64, 64) and 0 < share < 1 and share == mask.mean()
    assert basins.other_map.optimizer == "adam" and basins.basin_map.optimizer == "sgd"
    assert basins.other_map.table is basins.basin_map.table is window.minima.table
    assert f"{100 * share:.1f} %" in window.settle_widget.compare_label.text()
    assert f"{100 * share:.1f} %" in window.statusBar().currentMessage()
    assert window.difference_overlay.isVisible() and window.basin_overlay.isVisible()
    window.act_compare_basins.trigger()  # off: back to one map
    qtbot.waitUntil(lambda: basins.difference is None and basins.basin_map is not None, timeout=10000)
    window.act_compare_basins.trigger()  # the dialog's Cancel (no choice) leaves things as they were
    assert not window.act_compare_basins.isChecked() and basins.difference is None


def test_window_export_carries_the_table_ids_and_a_grid_has_the_cli_bytes(qtbot, window, tmp_path):
    ctl = window.ctl
    # A grid of starts, as one batch: the same bytes as `landscape-gui run --grid`.
    ctl.start_grid(3)
    qtbot.waitUntil(lambda: len(ctl.runs) == 9 and not ctl.busy, timeout=20000)
    ours = tmp_path / "window.csv"
    window.dialogs.paths.append(str(ours))
    window.act_export.trigger()
    assert window.dialogs.errors == []
    cli = tmp_path / "cli.csv"
    cmd = [sys.executable, "-m", "landscape_gui", "run", "--surface", "himmelblau", "--optimizer", "sgd",
           "--grid", "3", "-o", str(cli)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert ours.read_bytes() == cli.read_bytes()
    header = ours.read_text().splitlines()[0].split(",")
    col = header.index("minimum")
    assert len({line.split(",")[col] for line in ours.read_text().splitlines()[1:]}) >= 3

    # One click at a time: ids in the order found, and the file says what the table says.
    ctl.clear_runs()
    ctl.set_surface("six_hump_camel")
    _click_map(qtbot, window, 1.0, 0.5)
    _click_map(qtbot, window, -1.0, -0.5)
    clicks = tmp_path / "clicks.csv"
    window.dialogs.paths.append(str(clicks))
    window.act_export.trigger()
    assert window.dialogs.errors == []
    text = clicks.read_text().splitlines()
    in_file = {int(line.split(",")[0]): line.split(",")[col] for line in text[1:]}
    shown = {r.id: _table_minimum(window, r.id) for r in ctl.runs}
    assert in_file == shown and len(set(shown.values())) == 2 and "" not in shown.values()


def test_overlay_follows_a_new_surface_and_hover_names_the_basin(qtbot, window):
    basins = window.basins
    basins.set_resolution(64)
    with qtbot.waitSignal(basins.mapsChanged, timeout=60000):
        window.act_basins.trigger()
    pos = window.map_view.pixel_of(3.2, 2.1)
    qtbot.mouseMove(window.map_view.viewport(), pos)
    qtbot.waitUntil(lambda: "basin #" in window.hover_label.text(), timeout=3000)
    ident = window.basin_overlay.label_at(3.2, 2.1)
    assert window.hover_label.text().endswith(f"basin #{ident}")
    table = window.minima.table
    assert (table.get(ident).x, table.get(ident).y) == pytest.approx((3.0, 2.0))
    window.ctl.set_surface("rosenbrock")
    assert basins.basin_map is None  # the old map does not apply to the new surface
    qtbot.waitUntil(lambda: basins.basin_map is not None, timeout=60000)
    assert basins.basin_map.surface == "rosenbrock" and window.minima.table is not table
    assert basins.basin_map.bounds == window.ctl.bounds
