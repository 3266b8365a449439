"""The teaching tools in the window (issue 14), composed onto a :class:`MainWindow`.

:class:`Lessons` is made by the main window once its own model, views and panels exist; it adds,
explicitly and without replacing anyone's methods:

* the **learning-rate schedule** form inside the optimizer panel
  (:class:`~landscape_gui.qt.panels.lessons_panels.SchedulePanel`); the loss curves can show the
  learning rate against step;
* the **gradient noise** panel (scale, seed, batch size on network surfaces, fan mode, the sampling
  of probability maps) below the optimizer panel, and the **probability map** that stands for the
  basin map under noise (:class:`~landscape_gui.qt.model.lessons.ProbabilityModel`), drawn on the map
  and on the 3-D surface, with View ▸ Show Entropy;
* File ▸ **Export Animation…** (:mod:`landscape_gui.qt.animation_export`);
* Runs ▸ **Race…** (:mod:`landscape_gui.qt.race_window`).

Modal questions go through :attr:`Lessons.dialogs`, which tests replace.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from landscape_gui.qt.model.lessons import ProbabilityModel, RaceModel
from landscape_gui.qt.panels.lessons_panels import NoisePanel, SchedulePanel
from landscape_gui.qt.result_window import ResultActions, add_action, report_failures, window_menu
from landscape_gui.qt.views.probability_overlay import ProbabilityOverlay, probability_vertex_colors


class LessonDialogs:
    """The teaching tools' modal dialogs (tests replace the instance or its methods)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window

    def export_animation(self, lessons: "Lessons"):
        """Ask what to export: an :class:`~landscape_gui.qt.animation_export.AnimationSpec` or ``None``."""
        from landscape_gui.qt.animation_export import frame_size
        from landscape_gui.qt.panels.animation_dialog import AnimationDialog

        w = self.window
        dialog = AnimationDialog(w, lessons.animation_defaults(), w.ctl.playback.max_step,
                                 lambda target, width: frame_size(w, target, width))
        return dialog.ask()

    def race(self, lessons: "Lessons"):
        """Ask what to race: a :class:`~landscape_gui.qt.model.lessons.RaceRequest` or ``None``."""
        from landscape_gui.qt.panels.race_dialog import RaceDialog

        return RaceDialog(self.window, self.window.ctl).ask()


class Lessons(QObject):
    """Schedules, noise and probability maps, animation export and the race, on one window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = w = window
        ctl = w.ctl
        self.dialogs = LessonDialogs(w)
        # ---- model
        self.probability = ProbabilityModel(ctl, w.minima, w.basins, self)
        self.race = RaceModel(ctl, self)
        self.exporter = None
        # ---- panels
        self.schedule_panel = SchedulePanel(ctl)
        op = w.optimizer_panel.layout()
        op.insertWidget(op.indexOf(w.optimizer_panel.compare_box), self.schedule_panel)
        self.noise_panel = NoisePanel(ctl, self.probability)
        cl = w.controls.layout()
        cl.insertWidget(cl.indexOf(w.starts_panel), self.noise_panel)
        # ---- views
        self.overlay = ProbabilityOverlay()
        self.overlay.setVisible(False)
        w.map_view.add_overlay(self.overlay, -18)
        # ---- actions
        self.act_entropy = add_action(
            w, "Show &Entropy of Probability Maps",
            "Under gradient noise the basin map is a probability map: show the entropy of where runs end "
            "instead of the most likely minimum", self.probability.set_entropy, checkable=True)
        w.view_menu.insertAction(w.act_compare_basins, self.act_entropy)
        self.act_animation = add_action(
            w, "Export &Animation…",
            "Write playback as GIF or MP4: the map, the 3-D view (optionally rotating) or the whole window",
            lambda: self.export_animation(), shortcut="Ctrl+Shift+A")
        window_menu(w, "&File").insertAction(w.act_png_map, self.act_animation)
        self.race_actions = ResultActions(
            w, self.race, "Race", start_text="&Race…",
            start_tip="A fair race: tune every chosen optimizer with the same budget, then race them from the "
                      "same starts",
            show_tip="Open the small multiples and the leaderboard of the last race again",
            start=self.start_race, make_window=self._make_race_window)
        self.act_race, self.act_race_show = self.race_actions.act_start, self.race_actions.act_show
        # ---- wiring
        self.probability.mapChanged.connect(self._show_probability)
        self.probability.stateChanged.connect(
            lambda: self.act_entropy.setChecked(self.probability.show_entropy))
        report_failures(w, self.probability, "Probability map")
        w.basins.mapsChanged.connect(self._show_probability)  # after the window's own basin drawing
        w.map_view.hovered.connect(self._hover)

    # ------------------------------------------------------------------ probability maps
    def _show_probability(self) -> None:
        w, pmap = self.window, self.probability.pmap
        entropy = self.probability.show_entropy
        self.overlay.set_map(pmap, entropy)
        if pmap is None:
            if w.basins.basin_map is None:  # nothing coloured any more: the plain map and surface
                w.map_view.plot_item.setTitle(None)
                w.surface_view.set_surface_colors(None)
            return
        xs, ys, _ = w.ctl.grid
        sv = w.surface_view
        base = sv.base_colors
        if base is not None and len(base) == len(xs) * len(ys):
            base = np.asarray(base, dtype=float).reshape(len(xs), len(ys), 4)
        else:
            base = None
        sv.set_surface_colors(probability_vertex_colors(pmap, xs, ys, entropy, base))
        self._legend(pmap, entropy)

    def _legend(self, pmap, entropy: bool) -> None:
        from landscape_gui.basin_image import minimum_rgb
        from landscape_gui.qt.theme import share_text

        plot = self.window.map_view.plot_item
        if entropy:
            text = (f"Entropy of where {pmap.samples} noisy runs per cell end: white 0 bits (certain), "
                    f"black {np.log2(len(pmap.ids) + 1):.2g} bits")
        else:
            shares = pmap.shares()
            order = sorted(shares, key=lambda i: (-shares[i], i))[:5]
            parts = [f"<span style='color: rgb{tuple(minimum_rgb(i))}'>■</span>&nbsp;#{i}&nbsp;"
                     f"{share_text(shares[i], '')}" for i in order]
            text = (f"Most likely minimum of {pmap.samples} noisy runs per cell (pale: uncertain)<br>"
                    + "&nbsp;&nbsp; ".join(parts))
        plot.setTitle(f"<span style='color: #222'>{text}</span>", size="8pt")
        self.window.statusBar().showMessage(
            f"Probability map of {pmap.optimizer}: {pmap.resolution}×{pmap.resolution} cells, {pmap.samples} runs each, "
            f"mean entropy {float(pmap.entropy.mean()):.2f} bits", 8000)

    def _hover(self, x: float, y: float) -> None:
        cell = self.overlay.cell_at(x, y) if self.overlay.isVisible() else None
        pmap = self.probability.pmap
        if cell is None or pmap is None:
            return
        i, j = cell
        parts = [f"#{int(k)}: {100 * pmap.probabilities[m, i, j]:.0f} %" for m, k in enumerate(pmap.ids)
                 if pmap.probabilities[m, i, j] > 0]
        if pmap.nowhere[i, j] > 0:
            parts.append(f"nowhere: {100 * pmap.nowhere[i, j]:.0f} %")
        self.window.hover_label.setText(f"x={x:.4g}  y={y:.4g}   ends at " + ", ".join(parts)
                                        + f"   entropy {pmap.entropy[i, j]:.2f} bits")

    # ------------------------------------------------------------------ animation
    def animation_defaults(self):
        from landscape_gui.qt.animation_export import default_spec

        return default_spec(self.window)

    def export_animation(self, spec=None):
        """Export playback (``spec``: an :class:`~landscape_gui.qt.animation_export.AnimationSpec`;
        without it a dialog asks). Returns the exporter, or ``None``: it starts at once, or when the
        window has shown its first frame if it has not yet (the 3-D view draws only from then on)."""
        from landscape_gui.qt.animation_export import AnimationExporter

        if spec is None:
            spec = self.dialogs.export_animation(self)
            if spec is None:
                return None
        w = self.window
        if self.exporter is not None and self.exporter.running:
            self.exporter.cancel()  # one export at a time: the newest request wins
        exporter = AnimationExporter(w, spec, self)
        exporter.finished.connect(lambda path: w.statusBar().showMessage(f"Saved {path}", 8000))
        exporter.failed.connect(lambda msg: w.dialogs.error("Export animation", msg))
        exporter.cancelled.connect(lambda: w.statusBar().showMessage("Animation export cancelled", 8000))
        self.exporter = exporter
        if w.first_frame_done():
            exporter.start()
        else:  # frames draw the 3-D view offscreen, which needs the OpenGL context its first frame makes
            w.after_first_frame(lambda: exporter.start() if self.exporter is exporter else None)
        return exporter

    # ------------------------------------------------------------------ race
    def start_race(self, request=None) -> bool:
        """Start a race (``request``: a :class:`~landscape_gui.qt.model.lessons.RaceRequest`; without
        it a dialog asks). Returns whether one started."""
        if request is None:
            request = self.dialogs.race(self)
            if request is None:
                return False
        self.race.start(request)
        return True

    @property
    def race_window(self):
        """The small multiples and leaderboard (a
        :class:`~landscape_gui.qt.race_window.RaceWindow`; ``None`` until the first race is done)."""
        return self.race_actions.result_window

    def show_race(self) -> None:
        """Open the window of the last race (nothing before the first)."""
        self.race_actions.show()

    def _make_race_window(self):
        from landscape_gui.qt.race_window import RaceWindow

        window = RaceWindow(self.race, self.window)
        window.saveRequested.connect(lambda: self.save_race_csv())
        return window

    def save_race_csv(self, path: str | None = None) -> bool:
        """Write the last race's leaderboard as CSV (atomically; without ``path`` a dialog asks)."""
        from landscape_gui.core.errors import LandscapeError
        from landscape_gui.core.fileio import atomic_write_text
        from landscape_gui.core.race import leaderboard_csv_text

        w = self.window
        if self.race.result is None:
            return False
        path = path or w.dialogs.save_path("Save leaderboard", "CSV (*.csv);;All files (*)", "leaderboard.csv")
        if not path:
            return False
        try:
            atomic_write_text(path, leaderboard_csv_text(self.race.result))
        except (LandscapeError, OSError) as exc:
            w.dialogs.error("Save leaderboard", str(exc))
            return False
        w.statusBar().showMessage(f"Saved {path}", 5000)
        return True


__all__ = ["LessonDialogs", "Lessons"]
