"""The minima panel, the basin overlay and legend, and 3-D colours (the basin model: tests/qt/model)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from landscape_gui.basin_image import TABLEAU10
from landscape_gui.core.basins import basin_map
from landscape_gui.core.surfaces import get_surface
from landscape_gui.qt.panels.minima_panel import BasinLegend, MinimaPanel, minimum_color
from landscape_gui.qt.views.basin_overlay import BasinOverlay, basin_vertex_colors


@pytest.fixture(scope="module")
def himmelblau_map():
    surface = get_surface("himmelblau")
    return basin_map(surface, "momentum", {"lr": 0.01}, resolution=40, max_steps=300, fused=False)


def test_minimum_color_matches_the_png_palette():
    assert minimum_color(3).getRgb()[:3] == TABLEAU10[2]
    assert minimum_color(None).getRgb()[:3] == (235, 235, 235)


def test_panel_lists_minima_and_a_click_selects_one(qtbot, himmelblau_map):
    panel = MinimaPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.empty.isVisible()
    points = himmelblau_map.points()
    panel.set_points(points, run_counts={points[0].id: 3})
    assert not panel.empty.isVisible()
    t = panel.table
    assert t.rowCount() == len(points) == 4
    assert t.item(0, 1).text() == str(points[0].id)
    assert t.item(0, 2).text() == "global min"
    assert t.item(0, 6).text() == "3" and t.item(1, 6).text() == "0"
    assert t.item(0, 7).text() == "–"  # no basin map given yet
    assert t.item(2, 0).background().color() == minimum_color(points[2].id)
    panel.set_basin_fractions(himmelblau_map.fractions())
    shares = [float(t.item(r, 7).text().rstrip(" %")) for r in range(4)]
    assert sum(shares) == pytest.approx(100 * himmelblau_map.labelled_share(), abs=0.3)
    row = 2
    rect = t.visualItemRect(t.item(row, 3))
    with qtbot.waitSignal(panel.minimumSelected, timeout=2000) as sig:
        qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [points[row].id]
    # Programmatic selection highlights without echoing the signal back.
    with qtbot.assertNotEmitted(panel.minimumSelected):
        panel.select_minimum(points[1].id)
    assert {i.row() for i in t.selectedIndexes()} == {1}


def test_overlay_draws_each_cell_at_its_place_and_legend_shows_shares(qtbot, himmelblau_map):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    overlay = BasinOverlay()
    plot.addItem(overlay)
    overlay.set_map(himmelblau_map)
    plot.show()
    qtbot.waitExposed(plot)
    assert overlay.isVisible() and 0 < overlay.opacity() < 1
    br = overlay.mapRectToView(overlay.boundingRect())
    assert (br.left(), br.right(), br.top(), br.bottom()) == pytest.approx((-5, 5, -5, 5))
    # Cell (i, j) sits at its data position: check through the overlay's own lookup and the image.
    for i, j in [(3, 4), (35, 2), (20, 37)]:
        x = -5 + (i + 0.5) * 10 / 40
        y = -5 + (j + 0.5) * 10 / 40
        assert overlay.label_at(x, y) == himmelblau_map.labels[i, j]
        local = overlay.mapFromView(pg.Point(x, y))
        px = overlay.image[int(local.x()), int(local.y())]
        assert tuple(px[:3]) == minimum_color(int(himmelblau_map.labels[i, j])).getRgb()[:3]
    legend = BasinLegend()
    qtbot.addWidget(legend)
    legend.set_map(himmelblau_map)
    legend.show()
    texts = [w.text() for w in legend.findChildren(type(legend.findChild(pg.QtWidgets.QLabel))) if w.text()]
    for c in himmelblau_map.points():
        share = f"{100 * himmelblau_map.fractions()[c.id]:.1f} %"
        assert any(t.startswith(f"#{c.id} minimum") for t in texts)
        assert share in texts
    # Comparing two optimizers: only the differing cells are coloured.
    mask = np.zeros((40, 40), dtype=bool)
    mask[5, 30] = True
    overlay.set_difference(mask, himmelblau_map.bounds)
    assert overlay.image[5, 30, 3] == 255 and overlay.image[6, 30, 3] == 0
    overlay.set_map(None)
    assert not overlay.isVisible()


def test_vertex_colors_follow_the_basins(himmelblau_map):
    xs = np.linspace(-6, 6, 25)
    ys = np.linspace(-5, 5, 21)
    cols = basin_vertex_colors(himmelblau_map, xs, ys)
    assert cols.shape == (25, 21, 4) and cols.min() >= 0 and cols.max() <= 1
    i, j = 18, 15  # x = 3, y ≈ 2.5
    cell = himmelblau_map.labels[int((xs[i] + 5) / 10 * 40), int((ys[j] + 5) / 10 * 40)]
    assert tuple(np.round(cols[i, j, :3] * 255)) == minimum_color(int(cell)).getRgb()[:3]
    assert np.allclose(cols[0, 10, :3], 0.6)  # x = -6: outside the map keeps the base colour
    base = np.zeros((25, 21, 4))
    mixed = basin_vertex_colors(himmelblau_map, xs, ys, base=base, mix=0.5)
    assert np.allclose(mixed[i, j, :3], 0.5 * cols[i, j, :3])
