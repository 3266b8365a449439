"""Runs ▸ Sweep…: the dialog, a sweep on a local Dask cluster through the job runner, the phase
diagram, and a clicked cell's basin map on the landscape."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from landscape_gui import api
from landscape_gui.qt.panels.sweep_dialog import SweepDialog

pytest.importorskip("distributed")

TIMEOUT = 300_000  # a local cluster takes seconds to start on an idle machine, much longer on a busy one


def _fill(dialog: SweepDialog, qtbot) -> None:
    """lr over 0.002 and 0.02 (log), momentum over 0 and 0.9; 8 × 8 starts; one worker."""
    a, b = dialog.first, dialog.second
    assert a.name.currentText() == "lr" and a.log.isChecked()  # the learning rate defaults to a log axis
    a.start.setValue(0.002)
    a.stop.setValue(0.02)
    a.count.setValue(2)
    qtbot.mouseClick(dialog.two, Qt.LeftButton, pos=dialog.two.rect().center())
    assert b.isVisible()
    b.name.setCurrentText("momentum")
    b.log.setChecked(False)
    b.start.setValue(0.0)
    b.stop.setValue(0.9)
    b.count.setValue(2)
    dialog.resolution.setCurrentIndex(dialog.resolution.findData(8))
    dialog.workers.setValue(1)


def _use_dialog(window, qtbot, fill, answers: list) -> None:
    """Runs ▸ Sweep… opens the real dialog, filled by ``fill`` and confirmed with its OK button."""

    def ask():
        dialog = SweepDialog(window, window.ctl)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        fill(dialog, qtbot)
        qtbot.mouseClick(dialog.ok, Qt.LeftButton, pos=dialog.ok.rect().center())
        answers.append(dialog)
        return dialog.request() if dialog.result() == SweepDialog.Accepted else None

    window.sweeps.dialogs.sweep = ask


def test_sweep_shows_the_phase_diagram_and_a_clicked_cells_basin_map(window, qtbot):
    ctl = window.ctl
    ctl.set_optimizer("momentum")
    ctl.set_max_steps(60)
    answers: list = []
    _use_dialog(window, qtbot, _fill, answers)
    tools = window.sweeps
    with qtbot.waitSignal(tools.model.finished, timeout=TIMEOUT):
        tools.act_sweep.trigger()
        assert ctl.jobs.is_running("sweep")  # on the job runner: the window's progress bar and Cancel
    assert window.dialogs.errors == []
    sw = tools.sweep_window
    qtbot.waitExposed(sw)
    view = sw.view
    assert view.n_cells == 4 and view.shape == (2, 2)
    assert "momentum" in view.plot_item.getAxis("left").labelText
    assert "lr" in view.plot_item.getAxis("bottom").labelText
    # the cell colours are the basin overlay's colours of each cell's dominant minimum (paler: smaller share)
    from landscape_gui.basin_image import minimum_rgb

    dominant, share = tools.model.phase()
    for i, j in np.ndindex(2, 2):
        base = np.array(minimum_rgb(int(dominant[i, j])), float)
        expected = np.round(base + (255 - base) * 0.75 * (1 - share[i, j]))
        assert np.array_equal(view.rgba[i, j, :3], expected)
    assert "Click a cell" in sw.shown.text()
    # click the cell lr = 0.02, momentum = 0.9 (flat index 3) with the mouse
    hp = ctl.hyperparameters()
    overlay_before = window.basin_overlay.basin_map
    assert overlay_before is None
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.cell_center(3))
    qtbot.waitUntil(lambda: tools.model.shown_cell == 3, timeout=10000)
    shown = window.basin_overlay.basin_map
    assert shown is not None and window.basin_overlay.isVisible()
    assert "lr = 0.02" in sw.shown.text() and "momentum = 0.9" in sw.shown.text()
    assert view.outline.isVisible()
    # the overlay is exactly basins() for that cell's hyperparameters, in the session's ids
    ref = api.basins(ctl.surface, "momentum", {**hp, "lr": 0.02, "momentum": 0.9}, bounds=ctl.bounds,
                     resolution=8, max_steps=60, tol=ctl.tol)
    ref = ref.rebased(window.minima.table)
    assert np.array_equal(shown.labels, ref.labels)
    # the window's settings were not touched by showing a cell
    assert ctl.hyperparameters() == hp
    # another cell replaces it
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.cell_center(0))
    qtbot.waitUntil(lambda: tools.model.shown_cell == 0, timeout=10000)
    ref0 = api.basins(ctl.surface, "momentum", {**hp, "lr": 0.002, "momentum": 0.0}, bounds=ctl.bounds,
                      resolution=8, max_steps=60, tol=ctl.tol).rebased(window.minima.table)
    assert np.array_equal(window.basin_overlay.basin_map.labels, ref0.labels)


def test_dialog_says_what_is_wrong_and_stays_open(window, qtbot):
    window.ctl.set_optimizer("momentum")
    dialog = SweepDialog(window, window.ctl)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.first.start.setValue(-0.01)  # a log axis over a negative value
    qtbot.mouseClick(dialog.ok, Qt.LeftButton, pos=dialog.ok.rect().center())
    assert dialog.isVisible() and dialog.message.isVisible()
    assert "log scale needs start and stop > 0" in dialog.message.text()
    dialog.first.log.setChecked(False)
    qtbot.mouseClick(dialog.ok, Qt.LeftButton, pos=dialog.ok.rect().center())
    assert dialog.isVisible() and "out of range" in dialog.message.text()  # lr must be > 0
    dialog.first.start.setValue(0.001)
    dialog.two.setChecked(True)
    dialog.second.name.setCurrentText("lr")
    qtbot.mouseClick(dialog.ok, Qt.LeftButton, pos=dialog.ok.rect().center())
    assert dialog.isVisible() and "chosen twice" in dialog.message.text()
    dialog.second.name.setCurrentText("momentum")
    dialog.second.log.setChecked(False)
    qtbot.mouseClick(dialog.ok, Qt.LeftButton, pos=dialog.ok.rect().center())
    assert not dialog.isVisible() and dialog.result() == SweepDialog.Accepted
    req = dialog.request()
    assert [a.name for a in req.axes] == ["lr", "momentum"]


def test_cancelled_sweep_keeps_the_session_and_the_overlay(window, qtbot):
    ctl = window.ctl
    ctl.set_optimizer("momentum")
    ctl.set_max_steps(60)
    ctl.start_grid(3)
    runs_before = [r.id for r in ctl.runs]
    hp = ctl.hyperparameters()
    answers: list = []

    def fill(dialog, qtbot):
        _fill(dialog, qtbot)
        dialog.resolution.setCurrentIndex(dialog.resolution.findData(256))  # long enough to cancel

    _use_dialog(window, qtbot, fill, answers)
    tools = window.sweeps
    with qtbot.waitSignal(ctl.jobs.busyChanged, timeout=TIMEOUT):
        tools.act_sweep.trigger()
    assert tools.model.busy
    with qtbot.waitSignal(tools.model.cancelled, timeout=TIMEOUT):
        qtbot.mouseClick(window.cancel_button, Qt.LeftButton, pos=window.cancel_button.rect().center())
    assert not tools.model.busy and tools.model.result is None
    assert tools.sweep_window is None and not tools.act_sweep_show.isEnabled()
    assert [r.id for r in ctl.runs] == runs_before and ctl.hyperparameters() == hp
    assert window.basin_overlay.basin_map is None and window.dialogs.errors == []


def test_one_varied_hyperparameter_is_a_strip_of_cells_that_answer_clicks(qtbot):
    from landscape_gui.qt.views.phase_view import PhaseView

    view = PhaseView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_phase(np.array([1, 2, -1]), np.array([1.0, 0.5, 0.0]), ["lr"], [[0.001, 0.01, 0.1]], [True])
    assert view.shape == (3, 1) and view.n_cells == 3
    assert view.plot_item.getAxis("bottom").labelText == "lr (log-spaced)"
    assert [t.toPlainText() for t in view.texts] == ["#1\n100 %", "#2\n50 %", "none"]
    # a full share keeps the minimum's colour; half a share is paler; no minimum is the overlay's grey
    assert tuple(view.rgba[0, 0, :3]) == (31, 119, 180)
    half, base = view.rgba[1, 0, :3].astype(int), np.array((255, 127, 14))
    assert (half >= base).all() and half.sum() > base.sum()
    assert tuple(view.rgba[2, 0, :3]) == (235, 235, 235)
    with qtbot.waitSignal(view.cellClicked, timeout=10000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.cell_center(2))
    assert blocker.args == [2]
