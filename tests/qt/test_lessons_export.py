"""File ▸ Export Animation: the exported frames are the window's own rendering of each step."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core.animation import read_frames
from landscape_gui.qt.animation_export import image_array
from landscape_gui.qt.model.lessons import AnimationSpec


def _with_runs(window, qtbot, steps=120):
    ctl = window.ctl
    ctl.set_max_steps(steps)
    ctl.set_hyperparameter("sgd", "lr", 0.004)
    ctl.start_grid(3)
    qtbot.waitUntil(lambda: len(ctl.runs) == 9)
    ctl.playback.to_end()


def _shown(window, qtbot, step):
    window.ctl.playback.set_step(step)
    return image_array(window.grab_image("map")).astype(int)


def _far(a, b):
    """Share of pixels whose colour differs by more than 48 levels in some channel."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 48).mean())


def _export(window, qtbot, spec):
    window.lessons.dialogs.export_animation = lambda lessons: spec
    finished = []
    window.lessons.act_animation.trigger()
    exporter = window.lessons.exporter
    assert exporter is not None
    exporter.finished.connect(finished.append)
    qtbot.waitUntil(lambda: bool(finished) or not exporter.running, timeout=180000)
    assert finished == [spec.path], window.dialogs.errors
    return exporter


def test_gif_frames_equal_the_map_the_window_shows_at_each_step(window, qtbot, tmp_path):
    _with_runs(window, qtbot)
    before = window.ctl.playback.step
    path = str(tmp_path / "runs.gif")
    spec = AnimationSpec(path=path, target="map", first=0, last=120, every=30, fps=10)
    _export(window, qtbot, spec)
    assert window.ctl.playback.step == before  # the playback comes back where it was
    frames = read_frames(path)
    steps = spec.steps()
    assert len(frames) == len(steps) == 5
    h, w = frames[0].shape[:2]
    assert (w, h) == (window.map_view.width() - window.map_view.width() % 2,
                      window.map_view.height() - window.map_view.height() % 2)
    for k in (1, 4):
        shown = _shown(window, qtbot, steps[k])[:h, :w]
        assert _far(frames[k], shown) < 0.002  # the same picture up to the GIF palette
    # and a frame is its own step's picture: where the window's step 30 and step 120 differ (the
    # markers have moved), frame 1 looks like step 30, not like step 120
    at30, at120 = _shown(window, qtbot, 30)[:h, :w], _shown(window, qtbot, 120)[:h, :w]
    moved = np.abs(at30 - at120).max(axis=-1) > 48
    assert moved.sum() > 100
    f1 = frames[1].astype(int)
    assert np.abs(f1 - at30)[moved].mean() < 0.25 * np.abs(f1 - at120)[moved].mean()


def test_mp4_of_the_map_at_a_chosen_size(window, qtbot, tmp_path):
    _with_runs(window, qtbot)
    path = str(tmp_path / "runs.mp4")
    width = 2 * (window.map_view.width() // 2)
    spec = AnimationSpec(path=path, target="map", first=0, last=120, every=60, fps=12, width=width)
    _export(window, qtbot, spec)
    frames = read_frames(path)
    assert len(frames) == 3
    h, w = frames[0].shape[:2]
    assert w == width
    last = _shown(window, qtbot, 120)[:h, :w]
    mid = _shown(window, qtbot, 60)[:h, :w]
    first = _shown(window, qtbot, 0)[:h, :w]
    assert np.abs(frames[2].astype(int) - last).mean() < 6  # the same picture up to H.264's losses
    moved = np.abs(first - last).max(axis=-1) > 48
    assert moved.sum() > 100
    f2, f1 = frames[2].astype(int), frames[1].astype(int)
    assert np.abs(f2 - last)[moved].mean() < 0.5 * np.abs(f2 - first)[moved].mean()
    moved = np.abs(mid - last).max(axis=-1) > 48
    assert np.abs(f1 - mid)[moved].mean() < 0.5 * np.abs(f1 - last)[moved].mean()


def test_rotating_3d_export_turns_the_camera_and_puts_it_back(window, qtbot, tmp_path):
    _with_runs(window, qtbot, steps=40)
    gl = window.surface_view.gl
    azimuth = gl.opts["azimuth"]
    turned = []
    path = str(tmp_path / "turn.gif")
    spec = AnimationSpec(path=path, target="surface", first=0, last=40, every=10, fps=10, width=320, rotate=True)
    window.lessons.dialogs.export_animation = lambda lessons: spec
    window.lessons.act_animation.trigger()
    exporter = window.lessons.exporter
    exporter.frameRendered.connect(lambda step: turned.append(gl.opts["azimuth"]))
    done = []
    exporter.finished.connect(done.append)
    qtbot.waitUntil(lambda: bool(done) or not exporter.running, timeout=180000)
    assert done == [path], window.dialogs.errors
    assert gl.opts["azimuth"] == pytest.approx(azimuth)
    frames = read_frames(path)
    assert len(frames) == 5 and frames[0].shape[1] == 320
    # frames 1-4 (frame 0 is rendered before the test can listen): a fifth of a turn each
    assert turned == pytest.approx([azimuth + 72.0 * k for k in range(1, 5)])
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).mean() > 3  # the view has turned


def test_export_progress_and_cancel_leave_nothing_behind(window, qtbot, tmp_path):
    _with_runs(window, qtbot)
    ctl = window.ctl
    path = tmp_path / "long.gif"
    spec = AnimationSpec(path=str(path), target="window", first=0, last=120, every=1, fps=30)
    labels = []
    ctl.jobs.progressChanged.connect(lambda label, f: labels.append(label))
    window.lessons.dialogs.export_animation = lambda lessons: spec
    window.lessons.act_animation.trigger()
    exporter = window.lessons.exporter
    rendered = []
    exporter.frameRendered.connect(rendered.append)
    qtbot.waitUntil(lambda: len(rendered) >= 3, timeout=60000)
    assert any(label.startswith("Exporting 121 frames of the whole window") for label in labels)
    with qtbot.waitSignal(exporter.cancelled, timeout=60000):
        window.act_cancel.trigger()
    assert not exporter.running
    qtbot.waitUntil(lambda: not ctl.jobs.busy)
    ctl.jobs.wait(60000)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left
    assert not window.dialogs.errors


def test_bad_requests_are_refused_with_a_message(window, qtbot, tmp_path):
    _with_runs(window, qtbot, steps=20)
    window.lessons.dialogs.export_animation = lambda lessons: AnimationSpec(path=str(tmp_path / "x.avi"), last=20)
    window.lessons.act_animation.trigger()
    assert window.dialogs.errors and ".gif or .mp4" in window.dialogs.errors[-1][1]
    window.lessons.dialogs.export_animation = lambda lessons: AnimationSpec(
        path=str(tmp_path / "missing" / "x.gif"), last=20)
    window.lessons.act_animation.trigger()
    assert "does not exist" in window.dialogs.errors[-1][1]
    assert list(tmp_path.iterdir()) == []


def test_a_new_export_replaces_one_still_running(window, qtbot, tmp_path):
    _with_runs(window, qtbot)
    lessons = window.lessons
    lessons.dialogs.export_animation = lambda _l: AnimationSpec(path=str(tmp_path / "a.gif"), target="window",
                                                               last=120, every=1)
    lessons.act_animation.trigger()
    first = lessons.exporter
    rendered = []
    first.frameRendered.connect(rendered.append)
    qtbot.waitUntil(lambda: len(rendered) >= 2, timeout=60000)
    stopped = []
    first.cancelled.connect(lambda: stopped.append(True))
    lessons.dialogs.export_animation = lambda _l: AnimationSpec(path=str(tmp_path / "b.gif"), last=120, every=60)
    lessons.act_animation.trigger()
    second = lessons.exporter
    assert second is not first and stopped == [True] and not first.running
    done = []
    second.finished.connect(done.append)
    qtbot.waitUntil(lambda: bool(done) or not second.running, timeout=180000)
    assert done == [str(tmp_path / "b.gif")]
    window.ctl.jobs.wait(60000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.gif"]
    assert len(read_frames(done[0])) == 3


def test_animation_dialog_builds_the_request(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QDialog

    from landscape_gui.qt.animation_export import frame_size
    from landscape_gui.qt.panels.animation_dialog import AnimationDialog

    _with_runs(window, qtbot, steps=80)
    lessons = window.lessons
    dialog = AnimationDialog(window, lessons.animation_defaults(), window.ctl.playback.max_step,
                             lambda target, width: frame_size(window, target, width))
    qtbot.addWidget(dialog)
    assert dialog.last.value() == 80 and not dialog.rotate.isEnabled()  # the map does not turn
    dialog.target.setCurrentIndex(dialog.target.findData("surface"))
    assert dialog.rotate.isEnabled()
    dialog.rotate.setChecked(True)
    dialog.first.setValue(10)
    dialog.every.setValue(20)
    dialog.width.setValue(400)
    assert dialog.frames.text() == "5 frames"  # 10, 30, 50, 70 and the last step, 80
    w, h = frame_size(window, "surface", 400)
    assert dialog.size_label.text() == f"{w} × {h} pixels" and w == 400
    dialog.path.setText(str(tmp_path / "turn.avi"))
    dialog._accept()
    assert dialog.result() != QDialog.Accepted and ".gif or .mp4" in dialog.error.text()
    dialog.path.setText(str(tmp_path / "turn.mp4"))
    spec = dialog.spec()
    assert spec == AnimationSpec(path=str(tmp_path / "turn.mp4"), target="surface", first=10, last=80, every=20,
                                 fps=30.0, width=400, rotate=True)
    assert spec.steps() == [10, 30, 50, 70, 80]


def test_an_export_asked_for_before_the_window_is_on_screen_starts_once_it_is(make_window, qtbot, tmp_path):
    """The 3-D view draws only once it has shown its first frame: an animation of the whole window asked
    for before then waits for it instead of failing, and a figure of the 3-D view says why it cannot be
    made yet (a message; the session stays)."""
    from tests.qt.conftest import RecordingDialogs

    w = make_window(restore_settings=False)
    w.dialogs = RecordingDialogs()
    w.ctl.animate_new_runs = False
    w.ctl.force_sync = True
    w.ctl.start_grid(2)
    assert not w.first_frame_done()
    assert not w.export_figure("surface", str(tmp_path / "s.png"))
    assert "not on screen yet" in w.dialogs.errors[-1][1]
    spec = AnimationSpec(path=str(tmp_path / "a.gif"), target="window", last=20, every=10)
    exporter = w.lessons.export_animation(spec)
    assert exporter is not None and not exporter.running
    done = []
    exporter.finished.connect(done.append)
    w.resize(1000, 700)
    w.show()
    qtbot.waitUntil(lambda: bool(done), timeout=120000)
    assert done == [str(tmp_path / "a.gif")] and len(read_frames(done[0])) == 3
    assert len(w.dialogs.errors) == 1 and list(tmp_path.iterdir()) == [tmp_path / "a.gif"]
