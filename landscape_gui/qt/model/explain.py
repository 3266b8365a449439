"""Explanations of the selected run's steps, made off the GUI thread.

:class:`~landscape_gui.core.explain.RunExplainer` replays the run's optimizer over the recorded
positions and gradients to recover its state at every step (velocity, moments, ...). For a long run
that replay is real work, so :class:`ExplainModel` makes the explainer on the controller's job runner
(key ``"explain"``) whenever the selected run (or its record) changes, and announces it with
``explainerChanged(run, explainer, problem)``; the explain panel only shows what it is given.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from landscape_gui.core.explain import RunExplainer
from landscape_gui.core.runs import Run
from landscape_gui.qt.model.controller import Controller

JOB_KEY = "explain"

SYNC_STEPS = 2000
"""Runs up to this many steps are replayed at once (well under a frame); longer ones in the background."""


def explain_run(run: Run | None) -> tuple[RunExplainer | None, str | None]:
    """``(explainer, problem)`` for ``run``: the explainer (``None`` without a run or steps, or when
    the optimizer cannot replay) and a one-line note of what went wrong, if anything."""
    if run is None or run.steps <= 0:
        return None, None
    try:
        explainer = RunExplainer(run, strict=False)
    except Exception as exc:  # a plugin optimizer failing must not take the window down
        return None, f"{type(exc).__name__}: {exc}"
    return explainer, explainer.problem


class ExplainModel(QObject):
    """The explainer of the first selected run.

    Signals:
        explainerChanged(object, object, object): ``(run or None, explainer or None, problem or None)``.
    """

    explainerChanged = Signal(object, object, object)

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.ctl = controller
        self.run: Run | None = None
        self.explainer: RunExplainer | None = None
        self.problem: str | None = None
        self.enabled = True
        controller.selectionChanged.connect(self.refresh)
        controller.runsChanged.connect(self.refresh)

    def selected_run(self) -> Run | None:
        sel = self.ctl.selected
        return self.ctl.run(sel[0]) if sel else None

    def set_enabled(self, on: bool) -> None:
        """Nothing is computed while the explain panel is hidden."""
        self.enabled = bool(on)
        if on:
            self.refresh()

    def refresh(self) -> None:
        run = self.selected_run() if self.enabled else None
        if run is self.run:
            return
        self.run = run
        if run is None or run.steps <= SYNC_STEPS or self.ctl.force_sync:
            self.ctl.jobs.drop(JOB_KEY)
            self._publish(run, *explain_run(run))
            return

        def done(result: tuple[Any, Any]) -> None:
            if self.run is run:
                self._publish(run, *result)

        self._publish(run, None, None)  # the gradient-and-step fallback until the replay is in
        self.ctl.jobs.submit(JOB_KEY, f"Replaying run {run.id} for its explanation",
                             lambda progress, cancelled: explain_run(run), done)

    def _publish(self, run: Run | None, explainer: RunExplainer | None, problem: str | None) -> None:
        self.explainer, self.problem = explainer, problem
        self.explainerChanged.emit(run, explainer, problem)


__all__ = ["ExplainModel", "explain_run"]
