"""Exploring by hand, through the real widgets: sliders that re-run while dragged, dragging a start,
a wheel that never changes what was not clicked, surface changes that lose nothing, a bounded undo
history and sessions that come back exactly as saved."""

from __future__ import annotations

import gc
import weakref

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider

from landscape_gui.qt.model.controller import UNDO_LIMIT


def _click_map(qtbot, window, x, y):
    qtbot.mouseClick(window.map_view.viewport(), Qt.LeftButton, Qt.NoModifier, window.map_view.pixel_of(x, y))


def _wheel(widget, steps: int = 1) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps), Qt.NoButton,
                     Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def _mouse(widget, kind, pos: QPoint, buttons=Qt.LeftButton) -> None:
    p = QPointF(pos)
    ev = QMouseEvent(kind, p, widget.mapToGlobal(p), Qt.LeftButton if kind != QEvent.MouseMove else Qt.NoButton,
                     buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def _drag_until(qtbot, widget, pos, arrived) -> None:
    """Move the mouse, left button held, to ``pos()`` until ``arrived()``. pyqtgraph drops a move that
    follows the previous one within 1/``mouseRateLimit`` s (as it drops a fast hand's), so one
    event is not sure to land: the move is repeated, as a hand holding the mouse there would, to
    the pixel of the target as the view shows it now."""

    def moved() -> bool:
        _mouse(widget, QEvent.MouseMove, pos())
        return arrived()

    qtbot.waitUntil(moved, timeout=10000)


def _focus_by_click(qtbot, window, widget) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.mouseClick(widget, Qt.LeftButton, pos=QPoint(5, widget.height() // 2))
    qtbot.waitUntil(widget.hasFocus, timeout=5000)


# ------------------------------------------------------------------------------------------ sliders
def test_the_lr_slider_is_log_scale_and_reruns_while_dragged(qtbot, window):
    ctl = window.ctl
    window.controls_dock.raise_()
    _click_map(qtbot, window, 1.0, 1.0)
    form = window.optimizer_panel.form
    slider, field = form.sliders["lr"], form.fields["lr"]
    qtbot.waitUntil(slider.isVisible, timeout=3000)
    assert slider.kind == "log"
    assert slider.to_value(slider.minimum()) == pytest.approx(1e-5)
    assert slider.to_value(slider.maximum()) == pytest.approx(1.0)
    assert slider.to_value((slider.minimum() + slider.maximum()) // 2) == pytest.approx(3.16e-3, rel=0.01)
    first = ctl.runs[0]
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = slider.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderHandle, slider).center()
    _mouse(slider, QEvent.MouseButtonPress, handle)
    seen = []
    for dx in (-20, -10, 10):  # the runs follow while the button is still down
        _mouse(slider, QEvent.MouseMove, handle + QPoint(dx, 0))
        assert slider.isSliderDown()
        lr = field.value()
        qtbot.waitUntil(lambda: ctl.runs[0].params["lr"] == lr, timeout=5000)
        seen.append(lr)
    _mouse(slider, QEvent.MouseButtonRelease, handle + QPoint(10, 0), Qt.NoButton)
    assert len(set(seen)) >= 3 and seen == sorted(seen)  # three different, growing learning rates
    assert field.value() == pytest.approx(ctl.hyperparameters("sgd")["lr"])
    assert ctl.runs[0] is not first and ctl.runs[0].params["lr"] == field.value()
    field.setValue(0.1)  # typing moves the knob
    assert slider.value() == slider.to_position(0.1)


def test_every_ranged_hyperparameter_gets_a_slider(window):
    window.ctl.set_optimizer("adam")
    form = window.optimizer_panel.form
    assert {"lr", "beta1", "beta2", "eps"} <= set(form.sliders)
    assert form.sliders["beta1"].kind == "linear" and form.sliders["lr"].kind == "log"
    assert "amsgrad" not in form.sliders  # a flag has no range to slide over


# ------------------------------------------------------------------------------------------ drag a start
def test_dragging_a_start_marker_moves_the_run_and_the_path_follows(qtbot, window):
    ctl = window.ctl
    # the run is started through the controller: a click just before the press would make the press
    # a double click whenever the run appears within the double-click interval
    ctl.start_at(1.0, 1.0)
    original = ctl.runs[0]
    vp = window.map_view.viewport()
    start = window.map_view.pixel_of(1.0, 1.0)
    _mouse(vp, QEvent.MouseButtonPress, start)
    seen = []
    for x in (1.5, 2.5, -2.0):
        _drag_until(qtbot, vp, lambda: window.map_view.pixel_of(x, 1.0),
                    lambda: ctl.runs[0].start[0] == pytest.approx(x, abs=0.05))
        seen.append(ctl.runs[0].start[0])
    _mouse(vp, QEvent.MouseButtonRelease, window.map_view.pixel_of(-2.0, 1.0), Qt.NoButton)
    assert len(ctl.runs) == 1  # moved, not added
    assert seen[-1] == pytest.approx(-2.0, abs=0.05) and seen[0] == pytest.approx(1.5, abs=0.05)
    assert ctl.runs[0].positions[-1][0] < 0  # it now settles in a western minimum
    assert window.act_undo.text().endswith(f"Move run {original.id}")
    window.act_undo.trigger()
    assert ctl.runs[0] is original


# ------------------------------------------------------------------------------------------ wheel safety
def test_the_wheel_never_changes_a_field_or_a_choice_that_was_not_clicked(qtbot, window):
    ctl = window.ctl
    window.controls_dock.raise_()
    _click_map(qtbot, window, 1.0, 1.0)
    lr = window.optimizer_panel.form.fields["lr"]
    slider = window.optimizer_panel.form.sliders["lr"]
    combo = window.surface_panel.combo
    qtbot.waitUntil(lr.isVisible, timeout=3000)
    before = ctl.runs[0]
    for w in (lr, slider, combo, window.optimizer_panel.combo, window.optimizer_panel.max_steps):
        assert w.focusPolicy() == Qt.StrongFocus
        _wheel(w, 3)
    assert lr.value() == 0.01 and ctl.hyperparameters("sgd")["lr"] == 0.01
    assert ctl.surface.name == "himmelblau" and ctl.optimizer == "sgd" and ctl.max_steps == 1000
    assert ctl.runs[0] is before  # nothing re-ran
    _focus_by_click(qtbot, window, lr)  # once clicked, the wheel is for it
    _wheel(lr, 1)
    assert lr.value() != 0.01


def test_the_wheel_over_a_field_scrolls_the_panel_instead(qtbot, window):
    window.resize(1366, 600)
    window.controls_dock.raise_()
    scroll = window.controls.parentWidget().parentWidget()
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(0)
    _wheel(window.optimizer_panel.form.fields["lr"], -2)
    assert bar.value() > 0


# ------------------------------------------------------------------------------------------ surfaces and undo
def test_switching_the_surface_keeps_every_run_and_undo_brings_the_old_picture_back(qtbot, window):
    ctl = window.ctl
    ctl.start_grid(7)  # 49 runs, many starting outside the next surface's bounds
    before = ctl.runs
    combo = window.surface_panel.combo
    combo.setCurrentIndex(combo.findData("rosenbrock"))
    assert ctl.surface.name == "rosenbrock"
    assert [r.id for r in ctl.runs] == [r.id for r in before]  # kept, recomputed on the new surface
    assert window.runs_table.model_.rowCount() == 49
    window.act_undo.trigger()
    assert ctl.surface.name == "himmelblau" and ctl.runs == before
    assert combo.currentData() == "himmelblau"
    window.act_redo.trigger()
    assert ctl.surface.name == "rosenbrock" and len(ctl.runs) == 49


def test_the_undo_history_is_bounded_over_many_add_and_clear_cycles(qtbot, window):
    ctl = window.ctl
    alive: weakref.WeakSet = weakref.WeakSet()

    def cycles(n: int) -> int:
        for _ in range(n):
            window.act_random.trigger()  # 20 random starts (the Starts panel's N)
            alive.update(ctl.runs)
            window.act_clear.trigger()
        gc.collect()
        return len(alive)

    first = cycles(UNDO_LIMIT // 2 + 10)
    assert ctl.undo_stack.count() <= UNDO_LIMIT
    second = cycles(UNDO_LIMIT // 2 + 10)
    assert ctl.undo_stack.count() == UNDO_LIMIT
    assert second <= max(first, UNDO_LIMIT // 2 * 20 + 40)  # flat: old runs leave with old history


# ------------------------------------------------------------------------------------------ sessions
def test_a_session_comes_back_exactly_as_saved_compare_mode_included(make_window, qtbot, window, tmp_path):

    panel = window.optimizer_panel
    window.controls_dock.raise_()
    panel.compare_box.setChecked(True)
    for name in ("sgd", "adam"):
        item = panel.compare_list.findItems(name, Qt.MatchExactly)[0]
        item.setCheckState(Qt.Checked)
    _click_map(qtbot, window, 1.0, 1.0)  # two runs: one per checked optimizer
    panel.compare_box.setChecked(False)  # then the mode goes off, the list stays checked
    panel.combo.setCurrentIndex(panel.combo.findData("momentum"))
    panel.form.fields["lr"].setValue(0.004)
    path = tmp_path / "s.json"
    window.dialogs.paths.append(str(path))
    window.act_save_as.trigger()
    assert window.dialogs.errors == []
    saved = window.ctl.to_session()

    other = make_window(restore_settings=False)
    other.ctl.force_sync = True
    other.show()
    other.dialogs = type(window.dialogs)()
    other.dialogs.paths.append(str(path))
    with qtbot.waitSignal(other.ctl.sessionLoaded, timeout=20000):
        other.act_open.trigger()
    o = other.optimizer_panel
    assert not o.compare_box.isChecked() and not other.act_compare.isChecked()
    checked = [o.compare_list.item(i).text() for i in range(o.compare_list.count())
               if o.compare_list.item(i).checkState() == Qt.Checked]
    assert checked == ["sgd", "adam"]
    assert o.combo.currentData() == "momentum" and o.form.fields["lr"].value() == 0.004
    assert other.ctl.to_session() == saved
    assert [(r.optimizer, r.start) for r in other.ctl.runs] == [(r.optimizer, r.start) for r in window.ctl.runs]
    other.close()
