"""Network landscapes in the window: building them on the job runner, and stepping in full weight space.

Building a network surface trains the network first (for a slice through trained weights), which takes
a moment, so :class:`NetworkModel` runs :func:`~landscape_gui.core.nn.slices.nn_surface_from_spec` on
the controller's one :class:`~landscape_gui.qt.model.jobs.JobRunner` (key ``"network"``: the window's
progress bar and Cancel serve it like every other job). The surface in view stays until the new one is
ready; a cancelled or failed build changes nothing.

Catalogue ``nn_*`` names and sessions whose surface is a network go through the same build
(:meth:`NetworkModel.show_surface`, :meth:`NetworkModel.prepare`); afterwards the surface resolves from
the trained weights cached by :mod:`landscape_gui.core.nn.slices`.

Full weight space is a :class:`~landscape_gui.qt.model.strategy.FullSpaceStrategy` handed to the
controller (:meth:`NetworkModel.set_full_space`).
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.slices import MODELS, NetSpec, nn_surface_from_spec, parse_spec
from landscape_gui.core.surfaces import Surface
from landscape_gui.qt.model.controller import Controller
from landscape_gui.qt.model.strategy import FullSpaceStrategy, is_mlp_slice

JOB_KEY = "network"


def network_spec(name: str) -> str | None:
    """The ``nn:`` spec a surface name stands for: a catalogue ``nn_*`` name's spec, an ``nn:`` spec
    itself, else ``None`` (a textbook surface or a formula: nothing to train)."""
    from landscape_gui.core.nn.catalogue import CATALOGUE

    if name in CATALOGUE:
        return CATALOGUE[name][0]
    if name.strip().startswith("nn:"):
        return name.strip()
    return None


def catalogue_description(name: str) -> str:
    from landscape_gui.core.nn.catalogue import CATALOGUE

    return CATALOGUE[name][1] if name in CATALOGUE else ""


class NetworkModel(QObject):
    """Builds network surfaces on the job runner and owns the full-weight-space strategy.

    Signals:
        built(object): a surface was built (and handed on).
        failed(str): a build failed; the message names the problem.
        cancelled(): a build was cancelled; the surface in view is unchanged.
        buildingChanged(bool)
        fullSpaceChanged(bool): new runs step in full weight space (or not).
    """

    built = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    buildingChanged = Signal(bool)
    fullSpaceChanged = Signal(bool)

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl = controller
        self.build_function: Callable[..., Surface] = nn_surface_from_spec
        """``fn(spec, progress, should_cancel) -> Surface``; tests give a function they control."""
        self.full_space = FullSpaceStrategy()
        self._full_space_on = False

    # ------------------------------------------------------------------ building
    @property
    def building(self) -> bool:
        return self.ctl.jobs.is_running(JOB_KEY)

    def build(self, spec: str, then: Callable[[Surface], None] | None = None, label: str = "Building network") -> None:
        """Build ``spec`` on the job runner, then hand the surface to ``then`` (default: show it).
        A build still running is replaced (its result dropped)."""
        then = then or (lambda s: self.ctl.set_surface_object(s))
        build = self.build_function

        def work(progress: Callable[[float], None], cancelled: Callable[[], bool]) -> Surface:
            return build(spec, progress, cancelled)

        def done(surface: Surface) -> None:
            self.buildingChanged.emit(False)
            then(surface)
            self.built.emit(surface)

        def failed(exc: BaseException) -> None:
            self.buildingChanged.emit(False)
            if isinstance(exc, LandscapeError):
                self.failed.emit(str(exc))
            else:
                self.failed.emit(f"building the network failed: {type(exc).__name__}: {exc}")

        def cancelled() -> None:
            self.buildingChanged.emit(False)
            self.cancelled.emit()

        self.ctl.jobs.submit(JOB_KEY, label, work, done, failed, cancelled)
        self.buildingChanged.emit(True)

    def cancel(self) -> None:
        """Stop the build in progress (``cancelled`` follows at once)."""
        self.ctl.jobs.cancel(JOB_KEY)

    def show_surface(self, name: str) -> None:
        """Intent: show the catalogue surface ``name``; a network one is built first."""
        spec = network_spec(name)
        if spec is None:
            self.cancel()
            self.ctl.set_surface(name)
            return
        description = catalogue_description(name)

        def show(surface: Surface) -> None:
            if description:  # as the registry's factory names it: CSV and sessions store the short name
                surface.name = name
                surface.description = description
            self.ctl.set_surface_object(surface)

        self.build(spec, show, f"Building {name}")

    def prepare(self, surface_name: str, then: Callable[[], None]) -> bool:
        """Make sure ``surface_name`` resolves quickly, then call ``then``: a network is built (and
        cached) first on the job runner; anything else calls ``then`` at once. Returns whether it
        had to build."""
        spec = network_spec(surface_name)
        if spec is None:
            then()
            return False
        self.build(spec, lambda _s: then(), "Preparing the session's network")
        return True

    # ------------------------------------------------------------------ full weight space
    @property
    def full_space_on(self) -> bool:
        """New runs step in full weight space (when the surface is an MLP slice)."""
        return self._full_space_on

    def set_full_space(self, on: bool, batch_size: int | None = None, batch_seed: int = 0) -> None:
        """Step new runs on MLP slices in full weight space, with mini-batches of ``batch_size``
        samples drawn from ``batch_seed`` (``None`` or 0: the full batch)."""
        self.full_space.batch_size = batch_size or None
        self.full_space.batch_seed = int(batch_seed)
        on = bool(on)
        self.ctl.set_strategy(self.full_space if on else None)
        if on != self._full_space_on:
            self._full_space_on = on
            self.fullSpaceChanged.emit(on)

    def weights_of(self, run: Any) -> Any:
        """The full-space weights at every step of ``run`` (``(k + 1, P)``), or ``None``."""
        return self.full_space.weights_of(run)


__all__ = ["MODELS", "NetSpec", "NetworkModel", "is_mlp_slice", "network_spec", "parse_spec"]
