"""The playback tool bar: play/pause, step, restart, end, speed and a scrub slider over the
:class:`~landscape_gui.qt.model.playback.Playback` clock."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QStyle, QToolBar, QWidget

from landscape_gui.qt.model.playback import SPEEDS, Playback


def _icon(widget: QWidget, sp: QStyle.StandardPixmap) -> QIcon:
    return widget.style().standardIcon(sp)


class PlaybackBar(QToolBar):
    """Play/pause, single steps, restart, a scrub slider, the step readout and the speed box."""

    def __init__(self, playback: Playback, parent: QWidget | None = None) -> None:
        super().__init__("Playback", parent)
        self.setObjectName("playbackToolbar")
        self.playback = playback
        self.act_restart = QAction(_icon(self, QStyle.SP_MediaSkipBackward), "Restart", self)
        self.act_restart.setToolTip("Restart playback from step 0 (Home)")
        self.act_restart.setShortcut(QKeySequence(Qt.Key_Home))
        self.act_back = QAction(_icon(self, QStyle.SP_MediaSeekBackward), "Step back", self)
        self.act_back.setToolTip("One step back (,)")
        self.act_back.setShortcut(QKeySequence(Qt.Key_Comma))
        self.act_play = QAction(_icon(self, QStyle.SP_MediaPlay), "Play", self)
        self.act_play.setToolTip("Play / pause (Space)")
        self.act_play.setShortcut(QKeySequence(Qt.Key_Space))
        self.act_fwd = QAction(_icon(self, QStyle.SP_MediaSeekForward), "Step forward", self)
        self.act_fwd.setToolTip("One step forward (.)")
        self.act_fwd.setShortcut(QKeySequence(Qt.Key_Period))
        self.act_end = QAction(_icon(self, QStyle.SP_MediaSkipForward), "Jump to end", self)
        self.act_end.setToolTip("Show every run to its final step (End)")
        self.act_end.setShortcut(QKeySequence(Qt.Key_End))
        for a in (self.act_restart, self.act_back, self.act_play, self.act_fwd, self.act_end):
            a.setShortcutContext(Qt.WindowShortcut)
            self.addAction(a)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setToolTip("Scrub through the steps")
        self.slider.setMinimumWidth(200)
        self.addWidget(self.slider)
        self.label = QLabel()
        self.label.setMinimumWidth(110)
        self.label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.addWidget(self.label)
        self.addSeparator()
        self.addWidget(QLabel(" Speed "))
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed in optimizer steps per second")
        for s in SPEEDS:
            self.speed.addItem(f"{s} steps/s", s)
        self.speed.setCurrentIndex(SPEEDS.index(300))
        self.addWidget(self.speed)

        self.act_restart.triggered.connect(playback.restart)
        self.act_back.triggered.connect(playback.step_back)
        self.act_play.triggered.connect(playback.toggle)
        self.act_fwd.triggered.connect(playback.step_forward)
        self.act_end.triggered.connect(playback.to_end)
        self.slider.valueChanged.connect(self._scrub)
        self.speed.currentIndexChanged.connect(lambda i: playback.set_speed(self.speed.itemData(i)))
        playback.set_speed(self.speed.currentData())
        # While playing, the slider and the step label follow a few times a second: repainting them on
        # every frame costs the views frames (the whole tool bar row is flushed with software rendering).
        self._shown_timer = QTimer(self)
        self._shown_timer.setSingleShot(True)
        self._shown_timer.setInterval(self.PLAYING_REFRESH_MS)
        self._shown_timer.timeout.connect(lambda: self._sync(self.playback.step, now=True))
        playback.stepChanged.connect(self._sync)
        playback.rangeChanged.connect(self._sync_range)
        playback.playingChanged.connect(self._sync_playing)
        self._sync_range(playback.max_step)

    def _scrub(self, value: int) -> None:
        if value != self.playback.step:
            self.playback.pause()
            self.playback.set_step(value)

    PLAYING_REFRESH_MS = 120

    def _sync(self, step: int, now: bool = False) -> None:
        if self.playback.playing and not now:
            if not self._shown_timer.isActive():
                self._shown_timer.start()
            return
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        self.label.setText(f"step {step} / {self.playback.max_step}")

    def _sync_range(self, n: int) -> None:
        # the readout never shrinks: a label that changed width with the range re-laid out the whole
        # tool bar (and repainted the slider) whenever runs came or went
        wide = self.label.fontMetrics().horizontalAdvance(f"step {n} / {n}") + 8
        if wide > self.label.minimumWidth():
            self.label.setMinimumWidth(wide)
        self.slider.blockSignals(True)
        self.slider.setRange(0, n)
        self.slider.setPageStep(max(1, n // 20))
        self.slider.blockSignals(False)
        self._sync(self.playback.step)

    def _sync_playing(self, playing: bool) -> None:
        if not playing:
            self._shown_timer.stop()
            self._sync(self.playback.step, now=True)
        self.act_play.setIcon(_icon(self, QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay))
        self.act_play.setText("Pause" if playing else "Play")
