"""The tools composed onto the window (teaching tools, race, sweep): where their actions are, and how
a refused race or sweep is answered; the race and sweep windows' own contents are tested in
test_lessons_race.py and test_sweep_window.py."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from landscape_gui.qt.model.lessons import RaceRequest
from landscape_gui.qt.model.sweeps import SweepRequest


def _texts(menu):
    return [a.text() for a in menu.actions()]


def _runs_menu(window):
    return next(a.menu() for a in window.menuBar().actions() if a.menu() is not None and a.text() == "&Runs")


def test_race_and_sweep_actions_sit_above_cancel_in_the_runs_menu(window):
    texts = _texts(_runs_menu(window))
    cancel = texts.index(window.act_cancel.text())
    for text in ("&Race…", "Show Last Race", "S&weep…", "Show Last Sweep"):
        assert texts.index(text) < cancel, text
    assert texts.index("&Race…") + 1 == texts.index("Show Last Race")
    assert texts.index("S&weep…") + 1 == texts.index("Show Last Sweep")
    lessons, sweeps = window.lessons, window.sweeps
    for act in (lessons.act_race, lessons.act_race_show, sweeps.act_sweep, sweeps.act_sweep_show):
        assert act.statusTip() == act.toolTip() != ""
    assert not lessons.act_race_show.isEnabled() and not sweeps.act_sweep_show.isEnabled()


def test_animation_export_and_entropy_actions(window):
    lessons = window.lessons
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() is not None and a.text() == "&File")
    assert lessons.act_animation in file_menu.actions()
    assert lessons.act_animation.shortcut() == QKeySequence("Ctrl+Shift+A")
    assert lessons.act_entropy in window.view_menu.actions() and lessons.act_entropy.isCheckable()
    lessons.act_entropy.trigger()  # the menu switches the probability map's view ...
    assert lessons.probability.show_entropy and lessons.noise_panel.entropy_box.isChecked()
    lessons.noise_panel.entropy_box.setChecked(False)  # ... and follows the panel's check box
    assert not lessons.probability.show_entropy and not lessons.act_entropy.isChecked()


def test_a_refused_race_is_reported_and_opens_no_window(window):
    lessons = window.lessons
    lessons.dialogs.race = lambda _lessons: RaceRequest(())
    lessons.act_race.trigger()
    assert window.dialogs.errors == [("Race", "pick at least one optimizer for the race")]
    assert lessons.race_window is None and not lessons.act_race_show.isEnabled()
    lessons.show_race()  # nothing to show yet
    assert lessons.race_window is None


def test_a_refused_sweep_is_reported_and_opens_no_window(window):
    sweeps = window.sweeps
    window.ctl.set_noise(scale=0.5)
    sweeps.dialogs.sweep = lambda: SweepRequest(())
    sweeps.act_sweep.trigger()
    ((title, text),) = window.dialogs.errors
    assert title == "Sweep" and "without gradient noise" in text
    assert sweeps.sweep_window is None and not sweeps.act_sweep_show.isEnabled()
    sweeps.show_sweep()
    assert sweeps.sweep_window is None
