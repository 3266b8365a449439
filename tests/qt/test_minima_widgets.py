"""The minima panel, the basin overlay and legend, 3-D colours, and the background worker."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from landscape_gui.basin_image import TABLEAU10
from landscape_gui.core import fastpath
from landscape_gui.core.basins import basin_map
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.surfaces import get_surface
from landscape_gui.qt.basin_overlay import (
    BasinLegend,
    BasinOverlay,
    BasinRequest,
    BasinWorker,
    basin_vertex_colors,
)
from landscape_gui.qt.minima_panel import MinimaPanel, minimum_color


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


def test_worker_computes_off_the_gui_thread_and_reports(qtbot):
    surface = get_surface("himmelblau")
    table = MinimaTable(surface)
    worker = BasinWorker(debounce_ms=50)
    seen: list[float] = []
    worker.progress.connect(seen.append)
    req = BasinRequest(surface, "sgd", {"lr": 0.01}, resolution=24, max_steps=300, table=table, fused=False)
    with qtbot.waitSignal(worker.finished, timeout=20000) as sig:
        worker.start(req)
    bmap = sig.args[0]
    assert bmap.labels.shape == (24, 24) and len(bmap.points()) == 4
    assert len(table) == 0  # the caller's table is untouched; the map carries the extended copy
    assert seen and seen[-1] == 1.0
    assert not worker.busy


def test_cancel_stops_a_long_computation(qtbot):
    surface = get_surface("rosenbrock")
    worker = BasinWorker()
    finished: list[object] = []
    worker.finished.connect(finished.append)
    # 512² starts on the numpy engine for up to 20,000 steps: far longer than the test waits.
    req = BasinRequest(surface, "sgd", {"lr": 1e-5}, resolution=512, max_steps=20000, fused=False)
    with qtbot.waitSignal(worker.progress, timeout=20000):
        worker.start(req)
    with qtbot.waitSignal(worker.cancelled, timeout=20000):
        worker.cancel()
    assert worker.wait(20000)
    qtbot.wait(50)
    assert finished == [] and not worker.busy


def test_request_debounces_bursts_into_one_computation(qtbot):
    surface = get_surface("himmelblau")
    worker = BasinWorker(debounce_ms=150)
    started: list[int] = []
    worker.started.connect(lambda: started.append(1))
    with qtbot.waitSignal(worker.finished, timeout=20000) as sig:
        for lr in (0.001, 0.002, 0.005, 0.01):  # e.g. a slider being dragged
            worker.request(BasinRequest(surface, "sgd", {"lr": lr}, resolution=12, max_steps=200, fused=False))
    assert len(started) == 1
    assert sig.args[0].params["lr"] == 0.01


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no fused path")
def test_restarting_fused_jobs_back_to_back_is_safe(qtbot):
    """A new request while the compiled kernel is still running (two worker threads at once)."""
    surface = get_surface("himmelblau")
    worker = BasinWorker()
    results: list[object] = []
    worker.finished.connect(results.append)
    with qtbot.waitSignal(worker.finished, timeout=60000):
        for lr in (0.01, 0.02, 0.05):
            worker.start(BasinRequest(surface, "adam", {"lr": lr}, resolution=256, max_steps=1000))
            qtbot.wait(30)
    assert worker.wait(60000)
    qtbot.wait(50)
    assert len(results) == 1 and results[0].fused and results[0].params["lr"] == 0.05
