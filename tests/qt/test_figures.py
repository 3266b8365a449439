"""Figures at a chosen size: PNG at 2x and 4x (the 3-D view rendered offscreen at that size), SVG and
PDF of the map and the loss curves, through File ▸ Export Figure."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage


def _png(path) -> QImage:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage()
    assert image.loadFromData(data, "PNG")
    return image


def _inked(image: QImage) -> float:
    """Share of pixels that differ from the background (the corner's colour): 0 for a blank image."""
    small = image.scaled(200, 150).convertToFormat(QImage.Format_RGB32)
    pixels = np.frombuffer(small.constBits(), dtype=np.uint32, count=200 * 150)
    return float(np.mean(pixels != pixels[0]))


@pytest.fixture
def runs(window):
    window.ctl.start_many([(1.0, 1.0), (-3.0, -1.0), (4.0, -4.0)])
    window.ctl.select([1])
    return window


@pytest.mark.parametrize("which", ["map", "surface", "window", "loss"])
@pytest.mark.parametrize("scale", [2.0, 4.0])
def test_png_figures_have_the_chosen_size(qtbot, runs, tmp_path, which, scale):
    window = runs
    if which == "loss":
        window.loss_dock.raise_()
        qtbot.waitUntil(window.loss_view.plot.isVisible, timeout=3000)
    if which == "window" and scale == 4.0:
        window.resize(1366, 768)
        qtbot.waitUntil(lambda: window.width() == 1366, timeout=3000)
    widget = {"map": window.map_view, "surface": window.surface_view.gl_widget, "window": window,
              "loss": window.loss_view.plot}[which]
    path = tmp_path / f"{which}.png"
    assert window.export_figure(which, str(path), scale)
    image = _png(path)
    assert (image.width(), image.height()) == (round(widget.width() * scale), round(widget.height() * scale))
    assert _inked(image) > 0.03  # drawn, not blank


def test_the_offscreen_3d_figure_matches_the_view_on_screen(runs, tmp_path):
    window = runs
    path = tmp_path / "s.png"
    assert window.export_figure("surface", str(path), 2.0)
    big = _png(path).scaled(window.surface_view.gl_widget.size())
    screen = window.surface_view.gl.grabFramebuffer().scaled(window.surface_view.gl_widget.size())
    a = np.array([[QImage.pixelColor(big, x, y).lightness() for x in range(0, big.width(), 16)]
                  for y in range(0, big.height(), 16)], dtype=float)
    b = np.array([[QImage.pixelColor(screen, x, y).lightness() for x in range(0, screen.width(), 16)]
                  for y in range(0, screen.height(), 16)], dtype=float)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8  # the same picture, at twice the pixels


@pytest.mark.parametrize("which", ["map", "loss"])
def test_vector_figures_are_valid_svg_and_pdf(qtbot, runs, tmp_path, which):
    window = runs
    if which == "loss":
        window.loss_dock.raise_()
        qtbot.waitUntil(window.loss_view.plot.isVisible, timeout=3000)
    svg = tmp_path / f"{which}.svg"
    assert window.export_figure(which, str(svg))
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 20  # paths, text: a drawing, not an empty page
    pdf = tmp_path / f"{which}.pdf"
    assert window.export_figure(which, str(pdf))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") and len(data) > 2000


def test_the_3d_view_cannot_be_exported_as_vectors_and_says_so(runs, tmp_path):
    window = runs
    assert not window.export_figure("surface", str(tmp_path / "s.svg"))
    assert "PNG only" in window.dialogs.errors[-1][1]
    assert not (tmp_path / "s.svg").exists()


def test_export_figure_from_the_menu(runs, tmp_path):
    window = runs
    path = tmp_path / "from-menu.png"
    window.dialogs.figures.append(("map", str(path), 2.0))
    window.act_figure.trigger()
    image = _png(path)
    assert image.width() == round(window.map_view.width() * 2)


def test_the_export_dialog_offers_sizes_and_formats(qtbot, runs):
    from landscape_gui.qt.figures import figure_size
    from landscape_gui.qt.panels.export_dialog import ExportFigureDialog

    dialog = ExportFigureDialog(runs, figure_size)
    qtbot.addWidget(dialog)
    dialog.what.setCurrentIndex(dialog.what.findData("surface"))
    assert [dialog.format.itemData(i) for i in range(dialog.format.count())] == ["png"]
    sizes = [dialog.scale.itemText(i) for i in range(dialog.scale.count())]
    assert len(sizes) == 3 and sizes[1].startswith("2×") and sizes[2].startswith("4×")
    dialog.what.setCurrentIndex(dialog.what.findData("map"))
    assert {dialog.format.itemData(i) for i in range(dialog.format.count())} == {"png", "svg", "pdf"}
    dialog.format.setCurrentIndex(dialog.format.findData("pdf"))
    assert dialog.path.text().endswith(".pdf") and not dialog.scale.isEnabled()
