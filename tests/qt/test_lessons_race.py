"""Runs ▸ Race: tuning on the job runner, small multiples in step, a leaderboard saying what was tuned."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from landscape_gui.core.race import race
from landscape_gui.qt.model.lessons import RaceRequest


def _race(window, qtbot, request):
    window.lessons.dialogs.race = lambda lessons: request
    with qtbot.waitSignal(window.lessons.race.finished, timeout=300000):
        window.lessons.act_race.trigger()
    rw = window.lessons.race_window
    qtbot.waitExposed(rw)
    return rw


def test_race_window_shows_a_small_map_per_optimizer_beside_the_leaderboard(window, qtbot, tmp_path):
    ctl = window.ctl
    ctl.set_hyperparameter("sgd", "lr", 0.002)  # the window's setting is trial 1 of sgd
    request = RaceRequest(("sgd", "adam"), "final_loss", budget=5, seed=3, starts=4, steps=60)
    rw = _race(window, qtbot, request)
    model = window.lessons.race
    result = model.result
    # the leaderboard is the numeric core's, for the same request
    ref = race(ctl.surface, ["sgd", "adam"], model.starts_for(request), objective="final_loss", steps=60,
               budget=5, seed=3, tol=request.tol, base={n: ctl.hyperparameters(n) for n in ("sgd", "adam")},
               bounds=ctl.bounds)
    assert result.ranking() == ref.ranking()
    assert [e.score for e in result.entries] == [e.score for e in ref.entries]
    assert [e.default_score for e in result.entries if e.optimizer == "sgd"] == [
        e.default_score for e in ref.entries if e.optimizer == "sgd"]
    # one small map per optimizer, best first, titled with rank and name
    assert len(rw.maps) == 2
    for m, e in zip(rw.maps, result.entries):
        assert f"{e.rank}. {e.optimizer}" in m.plot_item.titleLabel.text
        assert len(m.runs) == 4
    # the table says who won, with what setting, and what was searched over which ranges
    t = rw.table
    assert t.rowCount() == 2
    assert [t.item(r, 1).text() for r in range(2)] == result.ranking()
    for r, e in enumerate(result.entries):
        assert f"lr={e.best['lr']:.4g}" in t.item(r, 4).text()
        assert "lr log-uniform" in t.item(r, 5).text() and "5 trials" in t.item(r, 5).text()
    assert "TPESampler(seed=3)" in rw.method.text()
    # synchronised playback: one step for every map
    model.playback.set_step(7)
    for m, e in zip(rw.maps, result.entries):
        assert np.array_equal(m.head_positions(), np.array([r.positions[min(7, r.steps)] for r in e.runs]))
    bar = rw.playback_bar
    bar.act_end.trigger()
    assert model.playback.step == model.playback.max_step
    for m, e in zip(rw.maps, result.entries):
        assert np.array_equal(m.head_positions(), np.array([r.positions[-1] for r in e.runs]))
    # the leaderboard as the command line writes it
    from landscape_gui.core.race import leaderboard_csv_text

    path = tmp_path / "leaderboard.csv"
    window.dialogs.paths.append(str(path))
    qtbot.mouseClick(rw.save_button, Qt.LeftButton, pos=rw.save_button.rect().center())
    assert path.read_text() == leaderboard_csv_text(result)
    # closed, the race window comes back from the Runs menu
    rw.close()
    assert window.lessons.act_race_show.isEnabled()
    window.lessons.act_race_show.trigger()
    qtbot.waitExposed(rw)
    assert len(rw.maps) == 2


def test_race_dialog_builds_the_request(window, qtbot):
    from landscape_gui.qt.panels.race_dialog import RaceDialog

    dialog = RaceDialog(window, window.ctl)
    qtbot.addWidget(dialog)
    for i in range(dialog.list.count()):
        it = dialog.list.item(i)
        it.setCheckState(Qt.Checked if it.text() in ("sgd", "rmsprop") else Qt.Unchecked)
    dialog.objective.setCurrentIndex(dialog.objective.findData("steps_to_tol"))
    assert dialog.tol.isEnabled()
    dialog.budget.setValue(7)
    dialog.seed.setValue(4)
    req = dialog.request()
    assert req.optimizers == ("sgd", "rmsprop") and req.objective == "steps_to_tol"
    assert req.budget == 7 and req.seed == 4
    for i in range(dialog.list.count()):
        dialog.list.item(i).setCheckState(Qt.Unchecked)
    assert not dialog.ok.isEnabled()  # no race without optimizers


def test_race_progress_and_cancel(window, qtbot):
    ctl = window.ctl
    labels = []
    ctl.jobs.progressChanged.connect(lambda label, f: labels.append(label))
    window.lessons.dialogs.race = lambda lessons: RaceRequest(("sgd", "adam", "rmsprop"), budget=400, starts=16,
                                                              steps=500)
    with qtbot.waitSignal(ctl.jobs.busyChanged, timeout=10000):
        window.lessons.act_race.trigger()
    assert any(label.startswith("Race: tuning 3 optimizer(s), 400 trial(s) each") for label in labels)
    with qtbot.waitSignal(window.lessons.race.cancelled, timeout=60000):
        window.act_cancel.trigger()
    assert window.lessons.race.result is None and window.lessons.race_window is None
    assert not window.lessons.act_race_show.isEnabled()
    assert not window.dialogs.errors
