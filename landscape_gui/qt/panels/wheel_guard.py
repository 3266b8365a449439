"""Wheel safety: a mouse wheel never changes a value or a selection in a widget not focused by a click.

Scrolling a panel with the wheel passes over spin boxes, combo boxes and sliders; Qt gives them the
wheel event and they change their value (re-running every run, or switching the surface). Here those
widgets take focus only by a click or Tab (``Qt.StrongFocus``), and a wheel event reaching one that has
no focus scrolls the nearest scroll area instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    """Event filter: swallows wheel events of unfocused value widgets, scrolling their scroll area."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, GUARDED) or obj.hasFocus():
            return False
        area = obj.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            bar = area.verticalScrollBar()
            steps = event.angleDelta().y() / 120.0
            bar.setValue(bar.value() - int(round(steps * 3 * bar.singleStep())))
        return True


_GUARD: WheelGuard | None = None


def guard_wheel(root: QWidget) -> None:
    """Guard ``root`` and every spin box, combo box and slider inside it (call again for widgets made
    later)."""
    global _GUARD
    if _GUARD is None:
        _GUARD = WheelGuard()
    widgets = [root] if isinstance(root, GUARDED) else []
    widgets += [w for cls in GUARDED for w in root.findChildren(cls)]
    for w in widgets:
        w.setFocusPolicy(Qt.StrongFocus)
        w.removeEventFilter(_GUARD)
        w.installEventFilter(_GUARD)


__all__ = ["WheelGuard", "guard_wheel"]
