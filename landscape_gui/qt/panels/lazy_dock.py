"""A dock whose content is made the first time it is needed, not when the window is made.

The window starts with most of its docks hidden behind a tab (the loss curves behind the runs table,
the Data, Profile and Spectrum tabs behind the Controls). Their plots cost as much to make as the
map, and a user who never opens them should not wait for them at launch. A :class:`LazyDock` holds
the functions that make its parts and calls them, in order, when the dock is first shown (its tab
raised, View ▸ Panels, a restored layout) or when code asks for :meth:`LazyDock.content` (a menu
action, a session being restored, a test): a panel is always there when asked for, and its owner
brings it up to date in the ``built`` signal's slot. The parts are stacked in a vertical splitter
(one part: the part itself is the dock's widget).

Before it is built the dock is empty, but it is never drawn so: the first show builds it before the
first paint.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QSplitter, QWidget


class LazyDock(QDockWidget):
    """A :class:`QDockWidget` built on first show or first :meth:`content` call (see the module
    docstring).

    Signals:
        built(QWidget): the content was just made (emitted once, after it is in the dock).
    """

    built = Signal(QWidget)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._parts: list[tuple[Callable[[], QWidget], int]] = []
        self._content: QWidget | None = None
        self._building = False
        self.visibilityChanged.connect(self._visibility_changed)

    def add_part(self, make: Callable[[], QWidget], stretch: int = 1) -> None:
        """Add ``make()`` below the parts added before (``stretch``: its share of the height). Once the
        dock is built, the part is made at once."""
        self._parts.append((make, stretch))
        if self._content is not None:
            self._rebuild_with(make, stretch)

    def is_built(self) -> bool:
        return self._content is not None

    def content(self) -> QWidget:
        """The dock's widget, made now if it was not yet."""
        if self._content is None and not self._building:
            self._building = True
            try:
                widgets = [(make(), stretch) for make, stretch in self._parts]
            finally:
                self._building = False
            if len(widgets) == 1:
                self._content = widgets[0][0]
            else:
                self._content = self._splitter(widgets)
            self.setWidget(self._content)
            self.built.emit(self._content)
        return self._content  # type: ignore[return-value]

    def _splitter(self, widgets: list[tuple[QWidget, int]]) -> QSplitter:
        split = QSplitter(Qt.Vertical)
        split.setObjectName(f"{self.objectName()}Splitter")
        split.setChildrenCollapsible(False)
        for i, (w, stretch) in enumerate(widgets):
            split.addWidget(w)
            split.setStretchFactor(i, stretch)
        return split

    def _rebuild_with(self, make: Callable[[], QWidget], stretch: int) -> None:
        current = self._content
        widget = make()
        if isinstance(current, QSplitter) and current.objectName() == f"{self.objectName()}Splitter":
            current.addWidget(widget)
            current.setStretchFactor(current.count() - 1, stretch)
            return
        first_stretch = self._parts[0][1]
        self._content = self._splitter([(current, first_stretch), (widget, stretch)])  # type: ignore[list-item]
        self.setWidget(self._content)

    def _visibility_changed(self, visible: bool) -> None:
        if visible:
            self.content()
