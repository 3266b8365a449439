"""The explain views with real widgets: arrows on a real PlotWidget and a real GLViewWidget, the panel
driven by mouse and keyboard, all fed by a real engine run (Adam on Himmelblau)."""

from __future__ import annotations

from types import SimpleNamespace

import math

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
import pytest
from PySide6.QtCore import QCoreApplication, QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QWidget

from landscape_gui.core import engine
from landscape_gui.core.explain import RunExplainer, format_number, format_vector
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.runs import Run
from landscape_gui.core.surfaces import get_surface
from landscape_gui.qt.views.arrows import NORM_FRACTION, PALETTE, MapArrows, SurfaceArrows
from landscape_gui.qt.panels.explain_panel import ExplainPanel

import landscape_gui.qt  # noqa: F401  (pins True/False/None against the PySide6 refcount bug)

STEP = 5

# pyqtgraph caches compiled shader programs globally, so the GL contexts of the process must share
# objects (as the application does); this must happen before the QApplication exists.
if QCoreApplication.instance() is None:
    QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)


def show_run(panel, run) -> None:
    """Show ``run`` in the panel with the explainer the window's model makes for it."""
    from landscape_gui.qt.model.explain import explain_run

    panel.set_run(run, *explain_run(run))


@pytest.fixture(scope="module")
def surface():
    return get_surface("himmelblau")


@pytest.fixture(scope="module")
def adam_run(surface) -> Run:
    result = engine.run(surface, get_optimizer("adam"), [[-1.0, 0.5]], {"lr": 0.05}, max_steps=40)
    return result.runs[0]


class Scene:
    """A window as the app builds it: heat map + path on a PlotWidget, a surface on a GLViewWidget,
    the explain panel beside them; the panel drives both arrow drawers and its own step requests."""

    def __init__(self, qtbot, surface, run: Run) -> None:
        self.window = QWidget()
        qtbot.addWidget(self.window)
        lay = QHBoxLayout(self.window)
        self.bounds = xmin, xmax, ymin, ymax = surface.bounds
        xs, ys, z = surface.grid(surface.bounds, 120)
        self.plot = pg.PlotWidget(background="w")
        img = pg.ImageItem(np.log10(z - z.min() + 1e-3), axisOrder="col-major")
        img.setColorMap(pg.colormap.get("viridis"))
        img.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        img.setZValue(-100)
        self.plot.addItem(img)
        path = pg.PlotCurveItem(run.positions[:, 0], run.positions[:, 1], pen=pg.mkPen(20, 20, 20, 255, width=1))
        self.plot.addItem(path)
        lay.addWidget(self.plot, 2)
        self.gl = gl.GLViewWidget()
        X = (xs - 0.5 * (xmin + xmax)) * 2 / (xmax - xmin)
        Y = (ys - 0.5 * (ymin + ymax)) * 2 / (ymax - ymin)
        self.zlo, self.zhi = float(z.min()), float(z.max())
        H = self._height(z)
        cols = pg.colormap.get("viridis").map((H / 0.9).ravel(), mode="float").reshape(H.shape + (4,))
        self.gl.addItem(gl.GLSurfacePlotItem(x=X, y=Y, z=H, colors=cols, computeNormals=False))
        self.gl.setCameraPosition(pos=pg.Vector(0, 0, 0.3), distance=3.0, elevation=40, azimuth=-60)
        lay.addWidget(self.gl, 2)
        self.panel = ExplainPanel()
        lay.addWidget(self.panel, 1)
        self.map_arrows = MapArrows(self.plot)
        self.surface_arrows = SurfaceArrows(self.gl, surface.value, self.to_scene, surface.bounds)
        self.panel.connect_arrows(self.map_arrows, self.surface_arrows)
        self.panel.stepRequested.connect(self.panel.set_step)
        self.window.resize(1500, 700)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.window.activateWindow()
        qtbot.waitUntil(lambda: self.window.isActiveWindow())

    def _height(self, z):
        return 0.9 * (np.log10(np.asarray(z, dtype=float) - self.zlo + 1e-3) - math.log10(1e-3)) / (
            math.log10(self.zhi - self.zlo + 1e-3) - math.log10(1e-3)
        )

    def to_scene(self, xy: np.ndarray, loss: np.ndarray) -> np.ndarray:
        xmin, xmax, ymin, ymax = self.bounds
        return np.column_stack([
            (xy[:, 0] - 0.5 * (xmin + xmax)) * 2 / (xmax - xmin),
            (xy[:, 1] - 0.5 * (ymin + ymax)) * 2 / (ymax - ymin),
            self._height(np.maximum(loss, self.zlo)),
        ]).astype(np.float32)

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        vb = self.plot.getPlotItem().getViewBox()
        p = self.plot.mapFromScene(vb.mapViewToScene(pg.Point(x, y)))
        return int(round(p.x())), int(round(p.y()))


@pytest.fixture
def scene(qtbot, surface, adam_run) -> Scene:
    s = Scene(qtbot, surface, adam_run)
    show_run(s.panel, adam_run)
    s.panel.set_step(STEP)
    return s


def near_colour(image, x: int, y: int, rgb, radius: int = 4, tol: int = 45) -> bool:
    """Some pixel within ``radius`` of (x, y) has colour ``rgb`` (each channel within ``tol``)."""
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            c = QColor(image.pixel(x + dx, y + dy))
            if abs(c.red() - rgb[0]) <= tol and abs(c.green() - rgb[1]) <= tol and abs(c.blue() - rgb[2]) <= tol:
                return True
    return False


def count_colour(image, rgb, tol: int = 40) -> int:
    arr = np.frombuffer(image.convertToFormat(image.Format.Format_RGB888).constBits(), dtype=np.uint8)
    w, h = image.width(), image.height()
    bpl = image.convertToFormat(image.Format.Format_RGB888).bytesPerLine()
    arr = arr.reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3).astype(int)
    return int((np.abs(arr - np.array(rgb)) <= tol).all(axis=2).sum())


def test_arrows_start_at_the_run_and_follow_playback(scene, adam_run):
    map_drawn = scene.map_arrows.drawn()
    assert {"gradient", "neg_gradient", "velocity", "first_moment", "scale", "step"} <= set(map_drawn)
    for kind in ("gradient", "velocity", "step"):
        origin, _ = map_drawn[kind][0]
        np.testing.assert_allclose(origin, adam_run.positions[STEP])
    # the same vectors lie on the surface in 3-D, starting on the surface above the run's point
    gl_drawn = scene.surface_arrows.drawn()
    assert set(gl_drawn) == set(map_drawn)
    start = gl_drawn["gradient"][0]
    expect = scene.to_scene(adam_run.positions[STEP : STEP + 1], adam_run.losses[STEP : STEP + 1])[0]
    np.testing.assert_allclose(start[:2], expect[:2], atol=1e-5)
    assert start[2] == pytest.approx(expect[2] + scene.surface_arrows.lift, abs=1e-4)

    scene.panel.set_step(STEP + 3)
    moved = scene.map_arrows.drawn()
    np.testing.assert_allclose(moved["gradient"][0][0], adam_run.positions[STEP + 3])
    assert not np.allclose(moved["gradient"][0][1], map_drawn["gradient"][0][1])
    moved3 = scene.surface_arrows.drawn()["gradient"][0]
    assert not np.allclose(moved3, start)


def test_arrows_are_visible_on_the_map_and_on_the_surface(scene, adam_run, qtbot):
    _, tip = scene.map_arrows.drawn()["scale"][0]
    origin = adam_run.positions[STEP]
    mid = origin + 0.6 * (tip - origin)
    qtbot.waitUntil(lambda: near_colour(scene.plot.grab().toImage(), *scene.pixel(*mid), PALETTE["scale"]),
                    timeout=5000)
    before = count_colour(scene.gl.grabFramebuffer(), PALETTE["scale"])
    assert before > 30

    scene.panel.legend_checkbox("scale").click()
    qtbot.waitUntil(lambda: not near_colour(scene.plot.grab().toImage(), *scene.pixel(*mid), PALETTE["scale"]),
                    timeout=5000)
    # (a stray blended pixel of another arrow's anti-aliased edge may match the colour)
    assert count_colour(scene.gl.grabFramebuffer(), PALETTE["scale"]) < before / 10


def test_unchecking_a_kind_hides_its_items_in_both_views(scene, qtbot):
    assert scene.map_arrows.items("velocity") and scene.surface_arrows.items("velocity")
    box = scene.panel.legend_checkbox("velocity")
    with qtbot.waitSignal(scene.panel.kindsChanged) as sig:
        qtbot.mouseClick(box, Qt.LeftButton, pos=box.rect().center())
    assert "velocity" not in sig.args[0] and "gradient" in sig.args[0]
    assert scene.map_arrows.items("velocity") == [] and scene.surface_arrows.items("velocity") == []
    assert "velocity" not in scene.map_arrows.drawn()
    assert scene.map_arrows.items("gradient") and scene.surface_arrows.items("gradient")
    # the choice survives a step change, and checking brings the arrows back
    scene.panel.set_step(STEP + 1)
    assert scene.map_arrows.items("velocity") == []
    qtbot.mouseClick(scene.panel.legend_checkbox("velocity"), Qt.LeftButton,
                     pos=scene.panel.legend_checkbox("velocity").rect().center())
    assert scene.map_arrows.items("velocity") and "velocity" in scene.surface_arrows.drawn()


def test_true_length_and_normalised(scene, adam_run, qtbot):
    k = STEP
    with qtbot.waitSignal(scene.panel.normalisedChanged):
        scene.panel.true_length.click()
    drawn = scene.map_arrows.drawn()
    origin, tip = drawn["step"][0]
    np.testing.assert_allclose(tip, adam_run.positions[k + 1], atol=1e-9)
    _, gtip = drawn["gradient"][0]
    np.testing.assert_allclose(gtip - origin, adam_run.grads[k], rtol=1e-9)
    # the parts of the step are chained head to tail and end where the step ends
    parts = drawn["momentum_term"] + drawn["gradient_term"]
    assert len(parts) == 2
    ends = {tuple(np.round(t, 12)) for _, t in parts}
    assert tuple(np.round(adam_run.positions[k + 1], 12)) in ends

    scene.panel.normalised.click()
    drawn = scene.map_arrows.drawn()
    vb = scene.plot.getPlotItem().getViewBox()
    px, py = vb.viewPixelSize()
    diag = math.hypot(vb.width(), vb.height())

    def screen(kind):
        o, t = drawn[kind][0]
        return np.array([(t[0] - o[0]) / px, (t[1] - o[1]) / py])

    # the longest of each unit group is a fixed fraction of the view; directions are exact
    assert np.linalg.norm(screen("gradient")) == pytest.approx(NORM_FRACTION * diag, rel=1e-6)
    assert np.linalg.norm(screen("step")) == pytest.approx(NORM_FRACTION * diag, rel=1e-6)
    g = adam_run.grads[k] / np.array([px, py])
    a, b = screen("gradient"), g
    assert a[0] * b[1] - a[1] * b[0] == pytest.approx(0.0, abs=1e-6 * np.linalg.norm(b) * NORM_FRACTION * diag)
    # proportions inside a group are kept: velocity / gradient as in the data
    e = RunExplainer(adam_run).explain(k)
    ratio = np.linalg.norm(e.arrow("velocity").value / [px, py]) / np.linalg.norm(g)
    assert np.linalg.norm(screen("velocity")) / np.linalg.norm(screen("gradient")) == pytest.approx(ratio, rel=1e-6)


def test_step_by_step_walks_every_stage_of_an_adam_step_from_the_keyboard(scene, adam_run, qtbot):
    panel = scene.panel
    panel.setFocus()
    expected = RunExplainer(adam_run).explain(STEP).stages
    assert [s.key for s in expected][-1] == "step" and len(expected) >= 5
    stages_seen = []
    with qtbot.waitSignal(panel.stageChanged):
        qtbot.keyClick(panel, Qt.Key_Greater)  # ">" turns the mode on at the first stage
    assert panel.stage == 0 and panel.stage_box.isChecked()
    for i, stage in enumerate(expected):
        if i:
            qtbot.keyClick(panel, Qt.Key_Greater)
        assert panel.stage == i
        assert panel.stage_title.text() == f"Stage {i + 1} of {len(expected)}: {stage.title}"
        narration = panel.narration.text()
        assert narration == stage.narration
        shown = panel.stage_numbers_text()
        for a in stage.arrows:
            text = format_vector(a.value)
            assert any(text in row for row in shown)
            assert text in narration, f"stage {stage.key!r}: {text} shown but not narrated"
        for name, value in stage.numbers.items():
            if name.startswith("bias_correction") or name in ("gain",):
                continue
            assert f"{name} = {format_number(value)}" in " ".join(shown)
        stages_seen.append(stage.key)
        # the map draws only the vectors of the stages so far
        assert set(scene.map_arrows.drawn()) == {a.kind for s in expected[: i + 1] for a in s.arrows}
    assert stages_seen[0] == "gradient" and stages_seen[-1] == "step"
    assert {"decay_momentum", "add_gradient", "running_square", "scale"} <= set(stages_seen)
    last = panel.narration.text()
    assert "lr = 0.05" in last and format_vector(adam_run.positions[STEP + 1] - adam_run.positions[STEP]) in last

    # past the last stage: the next step, first stage; "<" goes back to the last stage of this step
    with qtbot.waitSignal(panel.stepRequested) as sig:
        qtbot.keyClick(panel, Qt.Key_Right, Qt.AltModifier)
    assert sig.args == [STEP + 1] and panel.step == STEP + 1 and panel.stage == 0
    qtbot.keyClick(panel, Qt.Key_Less)
    assert panel.step == STEP and panel.stage == len(expected) - 1
    # steps: "]" and Ctrl+Left
    qtbot.keyClick(panel, Qt.Key_BracketRight)
    assert panel.step == STEP + 1 and panel.stage == 0
    qtbot.keyClick(panel, Qt.Key_Left, Qt.ControlModifier)
    qtbot.keyClick(panel, Qt.Key_Left, Qt.ControlModifier)
    assert panel.step == STEP - 1
    assert "Run 1, update 5" in panel.title.text()
    # leaving the mode draws every vector again
    panel.stage_box.setChecked(False)
    assert panel.stage is None
    assert {"first_moment", "scale", "step"} <= set(scene.map_arrows.drawn())


def test_readout_shows_the_run_at_the_current_step(scene, adam_run):
    r = scene.panel.readout
    for k in (STEP, 0, adam_run.steps):
        scene.panel.set_step(k)
        x, y = adam_run.positions[k]
        assert r["x"].text() == format_number(x) and r["y"].text() == format_number(y)
        assert r["loss"].text() == format_number(adam_run.losses[k])
        assert r["grad_norm"].text() == format_number(np.linalg.norm(adam_run.grads[k]))
        assert r["step"].text() == f"{k} of {adam_run.steps}"
    assert r["step_length"].text().startswith("–")  # the last point: no step from here
    assert "lr = 0.05" in r["hyperparameters"].text() and "beta2 = 0.999" in r["hyperparameters"].text()
    # the last point shows its gradient only
    assert set(scene.map_arrows.drawn()) == {"gradient", "neg_gradient"}


def test_a_run_whose_optimizer_is_not_installed_shows_gradient_and_step(scene, adam_run):
    stranger = Run(7, adam_run.positions, adam_run.losses, adam_run.grads, adam_run.status, "not-installed",
                   {"lr": 0.05})
    show_run(scene.panel, stranger)
    assert scene.panel.note.isVisible() and "not-installed" in scene.panel.note.text()
    assert set(scene.map_arrows.drawn()) == {"gradient", "neg_gradient", "step"}
    np.testing.assert_allclose(scene.map_arrows.drawn()["step"][0][0], adam_run.positions[STEP])
    show_run(scene.panel, None)
    assert scene.map_arrows.drawn() == {} and scene.surface_arrows.drawn() == {}
    assert not scene.panel.next_step_action.isEnabled()


def test_actions_carry_the_documented_shortcuts(scene):
    p = scene.panel
    keys = {a.text(): [s.toString() for s in a.shortcuts()] for a in p.menu_actions()}
    assert keys[p.next_stage_action.text()] == [">", "Alt+Right"]
    assert keys[p.prev_stage_action.text()] == ["<", "Alt+Left"]
    assert keys[p.next_step_action.text()] == ["]", "Ctrl+Right"]
    assert keys[p.prev_step_action.text()] == ["[", "Ctrl+Left"]
    assert p.step_mode_action.isCheckable()


def test_a_run_recomputed_in_place_is_explained_afresh(scene, surface):
    """The window re-runs a run in place (same object, new arrays) after a change of settings."""
    run = engine.run(surface, get_optimizer("adam"), [[-1.0, 0.5]], {"lr": 0.05}, max_steps=40).runs[0]
    show_run(scene.panel, run)
    before = scene.map_arrows.drawn()["velocity"][0][1]
    fresh = engine.run(surface, get_optimizer("adam"), [[-1.0, 0.5]], {"lr": 0.02}, max_steps=40).runs[0]
    run.positions, run.losses, run.grads, run.params = fresh.positions, fresh.losses, fresh.grads, fresh.params
    show_run(scene.panel, run)
    assert "lr = 0.02" in scene.panel.readout["hyperparameters"].text()
    np.testing.assert_allclose(scene.map_arrows.drawn()["step"][0][0], fresh.positions[STEP])
    assert not np.allclose(scene.map_arrows.drawn()["velocity"][0][1], before)
    assert scene.panel.note.isHidden()  # replayed from the new record without complaint


def test_install_explain_in_the_main_window(make_window, qtbot):
    """With the explorer window (issue 3): the panel follows selection and playback, its step requests
    move playback, its actions are in the Playback menu, closing its dock hides the arrows."""
    w = make_window(restore_settings=False)
    w.ctl.animate_new_runs = False
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    inst = SimpleNamespace(panel=w.explain_panel, map_arrows=w.map_arrows, surface_arrows=w.surface_arrows,
                           dock=w.explain_dock)  # a tab beside the controls
    inst.dock.raise_()
    w.ctl.set_optimizer("adam")
    w.ctl.set_hyperparameter("adam", "lr", 0.05)
    with qtbot.waitSignal(w.ctl.runsChanged, timeout=20000):
        w.ctl.start_at(-1.0, 0.5)
    qtbot.waitUntil(lambda: not w.ctl.busy, timeout=20000)
    run = w.ctl.runs[0]
    w.ctl.select([run.id])
    w.ctl.playback.set_step(STEP)
    assert inst.panel.run is run and inst.panel.step == STEP
    drawn = inst.map_arrows.drawn()
    assert {"gradient", "velocity", "step"} <= set(drawn)
    np.testing.assert_allclose(drawn["gradient"][0][0], run.positions[STEP])
    start = inst.surface_arrows.drawn()["gradient"][0]
    expect = w.ctl.box.points(run.positions[STEP : STEP + 1], run.losses[STEP : STEP + 1])[0]
    np.testing.assert_allclose(start[:2], expect[:2], atol=1e-5)

    inst.panel.next_step_action.trigger()
    assert w.ctl.playback.step == STEP + 1 and inst.panel.step == STEP + 1
    assert inst.panel.next_stage_action in w.playback_menu.actions()
    # the keys do not clash with the window's: "." is still the playback bar's step, ">" a stage
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.map_view.setFocus()
    qtbot.keyClick(w.map_view, Qt.Key_Period)
    assert w.ctl.playback.step == STEP + 2 and inst.panel.stage is None
    qtbot.keyClick(w.map_view, Qt.Key_Greater)
    qtbot.keyClick(w.map_view, Qt.Key_Right, Qt.AltModifier)
    assert inst.panel.stage == 1 and w.ctl.playback.step == STEP + 2
    qtbot.keyClick(w.map_view, Qt.Key_BracketLeft)
    assert w.ctl.playback.step == STEP + 1 and inst.panel.stage == 0

    w.ctl.set_hyperparameter("adam", "lr", 0.02)  # re-runs: a new run replaces the old one
    qtbot.waitUntil(lambda: "lr = 0.02" in inst.panel.readout["hyperparameters"].text(), timeout=20000)
    fresh = w.ctl.run(run.id)
    assert fresh is not run and run.params["lr"] == 0.05  # the old record is left as it was
    np.testing.assert_allclose(inst.map_arrows.drawn()["gradient"][0][0], fresh.positions[inst.panel.step])

    inst.dock.toggleViewAction().trigger()
    assert inst.map_arrows.drawn() == {} and inst.surface_arrows.drawn() == {}
    w.ctl.select([])
    assert inst.panel.run is None
    w.ctl.cancel()
    w.close()


def test_the_map_legend_keeps_clear_of_the_arrows(scene, adam_run):
    """The legend sits in the corner of the view farthest from the run's current point."""
    vb = scene.plot.getPlotItem().getViewBox()
    legend = scene.map_arrows._legend
    for centre in ((-4.0, 4.0), (4.0, -4.0)):
        x, y = adam_run.positions[STEP]
        vb.setRange(xRange=(x - 1 - centre[0] / 4, x + 1 - centre[0] / 4), yRange=(y - 1 - centre[1] / 4, y + 1 - centre[1] / 4), padding=0)
        scene.map_arrows.redraw()
        origin_px = scene.pixel(x, y)
        rect = legend.mapRectToScene(legend.boundingRect())
        corner_px = scene.plot.mapFromScene(rect.center())
        far = max(abs(corner_px.x() - origin_px[0]), abs(corner_px.y() - origin_px[1]))
        assert far > 0.3 * min(scene.plot.width(), scene.plot.height())
        for _, tip in scene.map_arrows.drawn()["gradient"]:
            assert not rect.contains(vb.mapViewToScene(pg.Point(*tip)))


def test_a_plugin_whose_explain_fails_falls_back_to_gradient_and_step(scene, adam_run):
    import dataclasses

    from landscape_gui.core import optimizers

    def broken(*args):
        raise RuntimeError("plugin bug")

    adam = optimizers.get_optimizer("adam")
    optimizers.register_optimizer(dataclasses.replace(adam, name="adam-broken-explain", explain=broken))
    try:
        run = Run(3, adam_run.positions, adam_run.losses, adam_run.grads, adam_run.status, "adam-broken-explain",
                  dict(adam_run.params))
        show_run(scene.panel, run)
        assert "plugin bug" in scene.panel.note.text() and not scene.panel.note.isHidden()
        drawn = scene.map_arrows.drawn()
        assert set(drawn) == {"gradient", "neg_gradient", "step"}
        scene.panel.true_length.click()
        np.testing.assert_allclose(scene.map_arrows.drawn()["step"][0][1], adam_run.positions[STEP + 1])
    finally:
        optimizers._BUILTINS.pop("adam-broken-explain", None)


def test_normalised_lengths_keep_proportions_within_a_group():
    from landscape_gui.qt.views.arrows import display_lengths

    lengths = np.array([50.0, 25.0, 0.5, 0.02, 0.01, 0.0])
    groups = ["gradient", "gradient", "gradient", "step", "step", "step"]
    out = display_lengths(lengths, groups, 100.0, 10.0, normalised=True)
    np.testing.assert_allclose(out, [100.0, 50.0, 10.0, 100.0, 50.0, 0.0])  # 1.0 floored to 10
    np.testing.assert_array_equal(display_lengths(lengths, groups, 100.0, 10.0, normalised=False), lengths)
