"""Playback of finished runs: the step clock (its tool bar is :mod:`landscape_gui.qt.panels.playback_bar`).

Runs are computed at once by the engine; playback only chooses how much of each to show. The clock
is a single integer *step*: every view draws run ``r`` up to ``min(step, r.steps)``, so each run stops
at its own final step. A timer advances the step at ``speed`` steps per second (frames at up to 60 Hz,
several steps per frame when fast).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

SPEEDS = (10, 30, 100, 300, 1000, 3000, 10000)
"""Steps per second offered by the speed box."""


class Playback(QObject):
    """The step clock.

    Signals:
        stepChanged(int): the step shown changed.
        rangeChanged(int): the last step of the longest run changed.
        playingChanged(bool)
    """

    stepChanged = Signal(int)
    rangeChanged = Signal(int)
    playingChanged = Signal(bool)

    FRAME_MS = 16

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._step = 0
        self._max = 0
        self._speed = 300.0
        self._timer = QTimer(self)
        self._timer.setInterval(self.FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._t0 = 0.0
        self._s0 = 0

    @property
    def step(self) -> int:
        return self._step

    @property
    def max_step(self) -> int:
        return self._max

    @property
    def at_end(self) -> bool:
        return self._step >= self._max

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, steps_per_second: float) -> None:
        self._speed = max(float(steps_per_second), 1e-3)
        self._t0, self._s0 = time.perf_counter(), self._step

    def set_max_step(self, n: int, follow_end: bool = True) -> None:
        """Set the last step; when the clock was at the old end (and ``follow_end``), it moves to the
        new end, so re-run paths appear whole."""
        n = max(int(n), 0)
        if n == self._max:
            return
        was_end = self.at_end
        self._max = n
        self.rangeChanged.emit(n)
        if (was_end and follow_end and not self.playing) or self._step > n:
            self.set_step(n)

    def set_step(self, step: int) -> None:
        step = min(max(int(step), 0), self._max)
        if step != self._step:
            self._step = step
            self._s0, self._t0 = step, time.perf_counter()
            self.stepChanged.emit(step)

    def play(self) -> None:
        if self.at_end:
            self.set_step(0)
        if not self.playing and self._max > 0:
            self._t0, self._s0 = time.perf_counter(), self._step
            self._timer.start()
            self.playingChanged.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step_forward(self) -> None:
        self.pause()
        self.set_step(self._step + 1)

    def step_back(self) -> None:
        self.pause()
        self.set_step(self._step - 1)

    def restart(self) -> None:
        """Back to step 0 and play."""
        self.set_step(0)
        self.play()

    def to_end(self) -> None:
        self.pause()
        self.set_step(self._max)

    def _tick(self) -> None:
        target = self._s0 + int((time.perf_counter() - self._t0) * self._speed)
        target = max(target, self._step + 1)
        if target >= self._max:
            self._timer.stop()
            self._step = -1  # force the emit below even when already at max
            self.set_step(self._max)
            self.playingChanged.emit(False)
            return
        self._step = target
        self.stepChanged.emit(target)
