"""The researchers' instruments in the window: model, panels, plots and overlays, composed and wired.

:class:`Instruments` is made by :class:`~landscape_gui.qt.main_window.MainWindow` once its own parts
exist. It owns a :class:`~landscape_gui.qt.model.research.ResearchModel` (every computation on the
window's one job runner) and puts the instruments where a user looks for them:

* the **Slice plane** box in the Network section of the Controls (random, PCA of the runs so far,
  top-two Hessian eigenvectors, through three points); runs on the new plane show their distance
  from it and their true loss in the Data tab and in the Explain readout;
* **Sharpness** under the loss curves (λ_max of the selected run per step against 2/lr) and in the
  Explain readout; View ▸ Edge of Stability shades the map where λ_max > 2/lr at the current lr;
* the **Profile & path** tab: the loss between two points and the minimum-energy path between two
  minima (also from the *Where runs settled* table's context menu), drawn on the map and the 3-D view;
* the **Hessian spectrum** tab for network landscapes.

Like the rest of the window, the widgets only show the model and emit intents; the wiring is here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QLabel, QMenu, QScrollArea, QSplitter, QWidget

from landscape_gui.qt.model.research import ResearchModel, key_text
from landscape_gui.qt.panels.research_panels import PlanePanel, SpectrumPanel, TwoPointPanel
from landscape_gui.qt.views.basin_overlay import BasinOverlay
from landscape_gui.qt.views.research_views import (
    EOS_RGB,
    MapInstruments,
    ProfilePlot,
    SharpnessView,
    SpectrumPlot,
    SurfaceInstruments,
)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _panel_over_plot(panel: QWidget, plot: QWidget) -> QSplitter:
    """A form (scrolling when the tab is short, so its text is never cut) above a plot."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setWidget(panel)
    scroll.setMinimumHeight(min(panel.sizeHint().height(), 110))
    split = QSplitter(Qt.Vertical)
    split.setChildrenCollapsible(False)
    split.addWidget(scroll)
    split.addWidget(plot)
    split.setStretchFactor(0, 0)
    split.setStretchFactor(1, 1)
    return split


class Instruments(QObject):
    """Composes and wires the instruments into ``window`` (see the module docstring).

    Once the window is closing, the reactions here do nothing: while a window is deleted its docks
    are hidden one by one, and a reaction must not reach into widgets half torn down."""

    def __init__(self, window: Any) -> None:
        """``window``: the :class:`~landscape_gui.qt.main_window.MainWindow` composing it (not imported:
        the window sits above this module)."""
        super().__init__(window)
        self.closing = False
        window.installEventFilter(self)
        self.window = w = window
        ctl = w.ctl
        self.model = ResearchModel(ctl, w.networks, w.minima, w)

        # ---- slice plane, in the Network section
        self.plane_panel = PlanePanel()
        w.network_section.layout().addWidget(self.plane_panel)

        # ---- sharpness, under the loss curves (made with their tab: on first show, or when asked for)
        self._sharpness_view: SharpnessView | None = None
        w.loss_dock.add_part(self._make_sharpness_view, stretch=2)
        w.loss_dock.built.connect(lambda _w: self._show_sharpness())

        # ---- the Explain readout
        form = w.explain_panel.readout_box.layout()
        self.readout: dict[str, QLabel] = {}
        for key, label, tip in (
            ("sharpness", "λ_max", "largest Hessian eigenvalue here (all steps: Sharpness under the loss curves)"),
            ("limit", "2/lr", "plain gradient descent is unstable where λ_max exceeds 2/lr"),
            ("true_loss", "true loss", "the network's loss at the run's own weights (a run that left the plane)"),
            ("distance", "off plane", "distance of the run's weights from the plane shown"),
        ):
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            name = QLabel(label)
            name.setToolTip(tip)
            value.setToolTip(tip)
            form.addRow(name, value)
            self.readout[key] = value

        # ---- profile and minimum-energy path (the tab's widgets made on its first show, or when asked for)
        self.profile_dock = w.add_dock(self._make_profile_tab, "Profile", name="profileDock", below=True)
        self.profile_dock.built.connect(lambda _w: self._profile_tab_built())
        self.map_items = MapInstruments()
        for item in self.map_items.items:
            w.map_view.add_overlay(item, 4)
        self.surface_items = SurfaceInstruments()
        for item in self.surface_items.items:
            w.surface_view.add_item(item)

        # ---- Hessian spectrum (likewise)
        self.spectrum_dock = w.add_dock(self._make_spectrum_tab, "Spectrum", name="spectrumDock", below=True)
        self.spectrum_dock.built.connect(lambda _w: self._spectrum_tab_built())
        self.profile_dock.setToolTip("The loss between two points and the minimum-energy path between two minima")
        self.spectrum_dock.setToolTip("The Hessian spectrum of a network at a point")

        # ---- edge of stability overlay
        self.eos_overlay = BasinOverlay(opacity=0.45)
        self.eos_overlay.setVisible(False)
        w.map_view.add_overlay(self.eos_overlay, -18)
        self.act_eos = QAction("Edge of &Stability (λ_max > 2/lr)", w)
        self.act_eos.setCheckable(True)
        self.act_eos.setShortcut("Ctrl+Shift+U")  # U for unstable (Ctrl+Shift+S is Save As)
        self.act_eos.setToolTip("Shade the map where plain gradient descent at the current learning rate is "
                                "unstable: the largest Hessian eigenvalue exceeds 2/lr")
        self.act_eos.setStatusTip(self.act_eos.toolTip())
        w.view_menu.insertAction(w.panels_menu.menuAction(), self.act_eos)
        w.view_menu.insertSeparator(w.panels_menu.menuAction())

        # ---- minima table: context menu
        table = w.settle_widget.panel.table
        table.setContextMenuPolicy(Qt.CustomContextMenu)
        table.customContextMenuRequested.connect(self._minima_menu)

        self._wire()
        self._sync_anchors()
        self._surface_changed()

    # ------------------------------------------------------------------ tabs made when first shown
    def _make_sharpness_view(self) -> QWidget:
        view = self._sharpness_view = SharpnessView()
        view.enabledChanged.connect(lambda _on: self._sharpness_wanted())
        return view

    @property
    def sharpness_view(self) -> SharpnessView:
        """λ_max against step, under the loss curves (made with that tab)."""
        self.window.loss_dock.content()
        assert self._sharpness_view is not None
        return self._sharpness_view

    def _make_profile_tab(self) -> QWidget:
        panel = self._two_point = TwoPointPanel()
        self._profile_plot = ProfilePlot()
        m = self.model
        panel.profileRequested.connect(m.profile_between)
        panel.pathRequested.connect(m.path_between)
        panel.clearRequested.connect(self._clear)
        return _panel_over_plot(panel, self._profile_plot)

    def _profile_tab_built(self) -> None:
        self._sync_anchors()
        self._show_two_point()

    def _make_spectrum_tab(self) -> QWidget:
        panel = self._spectrum_panel = SpectrumPanel()
        self._spectrum_plot = SpectrumPlot()
        m = self.model
        panel.spectrumRequested.connect(lambda key: m.spectrum_at(key, panel.top_k.value()))
        return _panel_over_plot(panel, self._spectrum_plot)

    def _spectrum_tab_built(self) -> None:
        self.spectrum_panel.set_available(self.model.is_network)
        self._sync_anchors()
        self._show_spectrum()

    @property
    def two_point(self) -> TwoPointPanel:
        """The Profile tab's form (made with the tab: on first show, or here)."""
        self.profile_dock.content()
        return self._two_point

    @property
    def profile_plot(self) -> ProfilePlot:
        self.profile_dock.content()
        return self._profile_plot

    @property
    def spectrum_panel(self) -> SpectrumPanel:
        """The Spectrum tab's form (made with the tab: on first show, or here)."""
        self.spectrum_dock.content()
        return self._spectrum_panel

    @property
    def spectrum_plot(self) -> SpectrumPlot:
        self.spectrum_dock.content()
        return self._spectrum_plot

    # ------------------------------------------------------------------ wiring
    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if obj is self.window and ev.type() == QEvent.Type.Close:
            self.closing = True
        return False

    def _wire(self) -> None:
        w, m, ctl = self.window, self.model, self.window.ctl
        self.plane_panel.planeRequested.connect(m.choose_plane)
        # the sharpness of the selected run is computed while its plot or the Explain readout is shown
        w.explain_dock.visibilityChanged.connect(lambda _on: self._sharpness_wanted())
        self.act_eos.toggled.connect(m.set_eos_visible)
        m.eosStateChanged.connect(self._sync_eos_action)
        m.eosChanged.connect(self._show_eos)
        m.failed.connect(lambda title, msg: w.dialogs.error(title, msg))
        m.planeChanged.connect(self._plane_changed)
        m.sharpnessChanged.connect(self._show_sharpness)
        m.profileChanged.connect(self._show_two_point)
        m.pathChanged.connect(self._show_two_point)
        m.spectrumChanged.connect(self._show_spectrum)
        m.anchorsChanged.connect(self._sync_anchors)
        ctl.selectionChanged.connect(self._sync_anchors)
        for dock in (self.profile_dock, self.spectrum_dock, w.controls_dock):
            dock.visibilityChanged.connect(lambda on: on and self._sync_anchors())
        w.network_box.toggled.connect(lambda on: on and self._sync_anchors())
        ctl.surfaceChanged.connect(self._surface_changed)
        ctl.playback.stepChanged.connect(self._step_changed)
        ctl.selectionChanged.connect(self._update_readout)
        ctl.runsChanged.connect(self._update_readout)

    def _surface_changed(self) -> None:
        if self.closing:
            return
        m = self.model
        self.plane_panel.set_available(m.is_network)
        if self.spectrum_dock.is_built():
            self.spectrum_panel.set_available(m.is_network)
        desc = self.window.ctl.surface.description or ""
        self.plane_panel.set_description(desc if m.is_network else "")
        self.surface_items.redraw(self.window.ctl.box)
        self._sync_anchors()

    def _plane_changed(self, description: str) -> None:
        if self.closing:
            return
        self.plane_panel.set_description(description)
        self.window.statusBar().showMessage("Showing the network on a new plane; runs are drawn by their projection "
                                            "onto it (Undo brings the old plane back)", 8000)

    def _sync_anchors(self, *_args) -> None:
        """Refill the point choosers that are on screen (the others when they are shown)."""
        if self.closing:
            return
        m = self.model
        if self.profile_dock.is_built() and self.profile_dock.isVisible():  # else filled when made
            self.two_point.set_anchors([(key_text(a.key), a.label) for a in m.anchors()])
        if m.is_network:
            if self.plane_panel.isVisible():
                self.plane_panel.set_anchors([(key_text(a.key), a.label) for a in m.anchors() if a.weights is not None])
            if self.spectrum_dock.is_built() and self.spectrum_dock.isVisible():
                self.spectrum_panel.set_anchors([(key_text(a.key), a.label) for a in m.anchors(include_step=True)
                                                 if a.weights is not None])

    # ------------------------------------------------------------------ sharpness and readout
    def _sharpness_wanted(self) -> None:
        if self.closing:
            return
        w, view = self.window, self._sharpness_view
        self.model.set_sharpness_enabled((view is not None and view.check.isChecked()) or w.explain_dock.isVisible())
        self._show_sharpness()

    def _show_sharpness(self) -> None:
        if self.closing:
            return
        m, ctl, view = self.model, self.window.ctl, self._sharpness_view
        if view is None:  # the tab is not made yet: only the Explain readout
            self._update_readout()
            return
        if m.sharpness is None:
            sel = ctl.selected
            view.set_series(sel[0] if sel else None, None, None)
            if m.sharpness_problem:
                view.set_message(f"No sharpness: {m.sharpness_problem}")
        else:
            run, series = m.sharpness
            view.set_series(run.id, ctl.color_of(run), series, run.optimizer)
        view.set_step(ctl.playback.step)
        self._update_readout()

    def _step_changed(self, step: int) -> None:
        if self.closing:
            return
        if self._sharpness_view is not None:
            self._sharpness_view.set_step(step)
        self._update_readout()

    def _update_readout(self) -> None:
        if self.closing:
            return
        ctl, r = self.window.ctl, self.readout
        sel = ctl.selected
        run = ctl.run(sel[0]) if sel else None
        if run is None:
            for v in r.values():
                v.setText("–")
            return
        k = min(ctl.playback.step, run.steps)
        at = self.model.sharpness_at(k) if self.model.sharpness is not None and self.model.sharpness[0] is run else None
        if at is None:
            hint = "computing…" if self.model.sharpness_enabled else "–"
            if self.model.sharpness_problem:
                hint = "– (see Sharpness under the loss curves)"
            r["sharpness"].setText(hint)
            lr = run.params.get("lr")
            r["limit"].setText(_fmt(2.0 / float(lr)) if lr else "–")
        else:
            lam, limit, pre = at
            state = "unstable for plain GD" if lam > limit else "stable for plain GD"
            text = f"{_fmt(lam)} ({state})"
            if pre is not None:
                text += f"; preconditioned {_fmt(pre)}"
            r["sharpness"].setText(text)
            r["limit"].setText(_fmt(limit))
        extras = run.extras or {}
        if "true_loss" in extras and "distance" in extras:
            r["true_loss"].setText(f"{_fmt(float(extras['true_loss'][k]))} (plane's {_fmt(float(run.losses[k]))})")
            r["distance"].setText(_fmt(float(extras["distance"][k])))
        else:
            r["true_loss"].setText("– (the run is on the plane)")
            r["distance"].setText("0")

    # ------------------------------------------------------------------ edge of stability
    def _sync_eos_action(self, on: bool) -> None:
        if self.closing:
            return
        if self.act_eos.isChecked() != on:
            self.act_eos.blockSignals(True)
            self.act_eos.setChecked(on)
            self.act_eos.blockSignals(False)

    def _show_eos(self) -> None:
        if self.closing:
            return
        eos = self.model.eos
        if eos is None:
            self.eos_overlay.setVisible(False)
            return
        mask, bounds, lr = eos
        self.eos_overlay.set_difference(mask, bounds, EOS_RGB)
        self.window.statusBar().showMessage(
            f"Edge of stability at lr {lr:g}: plain gradient descent is unstable on {100 * mask.mean():.1f} % of the map "
            f"(λ_max > 2/lr = {2 / lr:.4g})", 8000)

    # ------------------------------------------------------------------ profile, path, spectrum
    def _show_two_point(self) -> None:
        if self.closing:
            return
        m = self.model
        self.map_items.set_profile(m.profile)
        self.map_items.set_path(m.path)
        self.surface_items.set_path(m.path, self.window.ctl.box)
        if not self.profile_dock.is_built() and m.profile is None and m.path is None:
            return  # nothing to show in a tab not made yet
        self.profile_plot.set_profile(m.profile)
        self.profile_plot.set_path(m.path)
        self.two_point.show_results(m.profile, m.path)
        if m.profile is not None or m.path is not None:
            self.profile_dock.show()
            self.profile_dock.raise_()

    def _clear(self) -> None:
        self.model.clear_profile()
        self.model.clear_path()

    def _show_spectrum(self) -> None:
        if self.closing or not self.spectrum_dock.is_built():
            return
        self.spectrum_plot.set_spectrum(self.model.spectrum)
        self.spectrum_panel.show_result(self.model.spectrum)

    def _minima_menu(self, pos: QPoint) -> None:
        menu = self.minima_menu(pos)
        if menu is not None:
            menu.exec(self.window.settle_widget.panel.table.viewport().mapToGlobal(pos))

    def minima_menu(self, pos: QPoint) -> QMenu | None:
        """The context menu of the minima table at ``pos``: a profile or a minimum-energy path from the
        point under the mouse to every other point listed."""
        panel = self.window.settle_widget.panel
        item = panel.table.itemAt(pos)
        if item is None:
            return None
        ident = item.data(Qt.ItemDataRole.UserRole)
        others = [c for c in panel._points if c.id != ident]
        menu = QMenu(panel.table)
        path_menu = menu.addMenu(f"Minimum-energy path from #{ident} to…")
        profile_menu = menu.addMenu(f"Profile from #{ident} to…")
        for c in others:
            label = f"#{c.id} {c.kind} ({c.x:.4g}, {c.y:.4g})"
            path_menu.addAction(label).triggered.connect(lambda _=False, j=c.id: self.path_between_minima(ident, j))
            profile_menu.addAction(label).triggered.connect(lambda _=False, j=c.id: self.profile_between_minima(ident, j))
        path_menu.setEnabled(bool(others))
        profile_menu.setEnabled(bool(others))
        return menu

    def path_between_minima(self, i: int, j: int) -> None:
        self.profile_dock.show()
        self.profile_dock.raise_()
        self._sync_anchors()
        self.two_point.choose(f"min:{i}", f"min:{j}")
        self.model.path_between(("min", i), ("min", j), self.two_point.images.value())

    def profile_between_minima(self, i: int, j: int) -> None:
        self.profile_dock.show()
        self.profile_dock.raise_()
        self._sync_anchors()
        self.two_point.choose(f"min:{i}", f"min:{j}")
        self.model.profile_between(("min", i), ("min", j))


__all__ = ["Instruments"]
