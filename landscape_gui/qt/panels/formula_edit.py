"""A one-line formula editor that validates as the user types.

:class:`FormulaEdit` is a monospace line edit with an Apply button, a drop-down of recent and example
formulas, and an error line underneath that repeats the formula with a caret under the column the
error points at::

    x + * y
        ^ unexpected '*' at column 5

Validation runs 150 ms after the last keystroke (a :class:`QTimer`), in the GUI thread: compiling is
bounded by the guards of :mod:`landscape_gui.core.formula` (typical formulas take a few
milliseconds, the worst accepted ones well under a second) and cached by text. The last valid surface
is kept while the text is invalid, so the views can keep showing it. Enter or Apply on a valid formula
emits :attr:`FormulaEdit.formulaAccepted` with the formula text (stripped), which is exactly what
:func:`landscape_gui.core.surfaces.surface_from_spec` and the CSV ``surface`` column take.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFontDatabase
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from landscape_gui.core.formula import EXAMPLES, FormulaError, FormulaSurface, formula_surface
from landscape_gui.core.surfaces import Bounds

MAX_RECENT = 12
"""Recent formulas kept (most recent first)."""

_CONTEXT = 36  # characters shown either side of the caret in the error line


def caret_lines(text: str, column: int, message: str) -> str:
    """The formula (clipped around ``column``) and a caret under that column, then ``message``.

    ``column`` is 1-based and may be one past the end (an incomplete formula).
    """
    text = text.replace("\t", " ").replace("\n", " ").replace("\0", " ")
    start = max(0, column - 1 - _CONTEXT)
    stop = min(len(text), column - 1 + _CONTEXT)
    prefix = "…" if start > 0 else ""
    suffix = "…" if stop < len(text) else ""
    shown = prefix + text[start:stop] + suffix
    caret = " " * (len(prefix) + column - 1 - start) + "^"
    return f"{shown}\n{caret} {message}"


class FormulaEdit(QWidget):
    """Line edit for ``f(x, y)`` with live validation, an error caret, Apply and recent formulas.

    Signals:
        formulaAccepted(str): Enter or Apply on a valid formula; the stripped formula text.
        validityChanged(bool): the text became valid or invalid (after the debounce).

    Use :meth:`surface` for the last valid :class:`FormulaSurface` (``None`` before any),
    :meth:`set_formula` to show a formula (e.g. from a loaded session) without emitting
    ``formulaAccepted``, :meth:`set_recent` / :meth:`recent` for the history, :meth:`set_bounds` for
    the bounds the surfaces are made with.
    """

    formulaAccepted = Signal(str)
    validityChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, bounds: Bounds | None = None, debounce_ms: int = 150) -> None:
        super().__init__(parent)
        self._bounds = bounds
        self._valid: bool | None = None
        self._surface: FormulaSurface | None = None
        self._error: FormulaError | None = None
        self._recent: list[str] = []

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.line_edit = QLineEdit(self)
        self.line_edit.setFont(mono)
        self.line_edit.setPlaceholderText("f(x, y), e.g. (1 - x)^2 + 100*(y - x^2)^2")
        self.line_edit.setClearButtonEnabled(True)
        self.line_edit.setToolTip(
            "Variables x, y; numbers; + - * / and ^ or ** for powers; pi, e; functions such as\n"
            "sin cos tan exp log sqrt abs min max atan2 (see the README for the full list)."
        )
        self._completion_model = QStringListModel(self)
        completer = QCompleter(self._completion_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.line_edit.setCompleter(completer)

        self.history_button = QToolButton(self)
        self.history_button.setText("▾")
        self.history_button.setToolTip("Recent and example formulas")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self.history_button)
        self.history_button.setMenu(self.history_menu)

        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setEnabled(False)
        self.apply_button.setToolTip("Use this formula (Enter)")

        self.error_label = QLabel(self)
        self.error_label.setFont(mono)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: #b00020;")
        # A long caret line must not widen the panel holding the box (it would clip the whole panel):
        # it is clipped itself, and its tooltip repeats the message.
        self.error_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.error_label.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.line_edit, 1)
        row.addWidget(self.history_button)
        row.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.error_label)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._validate)
        self.line_edit.textChanged.connect(self._timer.start)
        self.line_edit.returnPressed.connect(self.apply)
        self.apply_button.clicked.connect(self.apply)
        self._rebuild_choices()

    # -- public API ------------------------------------------------------------------------------
    def text(self) -> str:
        """The text as typed."""
        return self.line_edit.text()

    def is_valid(self) -> bool:
        """Whether the current text compiles (validating now if a check is pending)."""
        self._flush()
        return bool(self._valid)

    def error(self) -> FormulaError | None:
        """Why the current text is refused, or ``None``."""
        self._flush()
        return self._error

    def surface(self) -> FormulaSurface | None:
        """The last valid formula's surface (kept while the text is invalid); ``None`` before any."""
        self._flush()
        return self._surface

    def set_formula(self, text: str) -> None:
        """Show ``text`` and validate it now, without emitting ``formulaAccepted``."""
        self.line_edit.setText(text)
        self._flush()

    def set_bounds(self, bounds: Bounds | None) -> None:
        """Bounds the surfaces are built with (``None``: the formula default, (-5, 5, -5, 5))."""
        self._bounds = bounds
        if self._surface is not None:
            self._surface = formula_surface(self._surface.name, bounds)

    def set_recent(self, formulas: list[str]) -> None:
        """Offer ``formulas`` (most recent first) in the drop-down and the completer."""
        seen: list[str] = []
        for f in formulas:
            f = f.strip()
            if f and f not in seen:
                seen.append(f)
        self._recent = seen[:MAX_RECENT]
        self._rebuild_choices()

    def recent(self) -> list[str]:
        """Recent formulas, most recent first (accepted ones are added automatically)."""
        return list(self._recent)

    def choices(self) -> list[str]:
        """What the drop-down offers (a pick applies it): recent formulas, then the built-in examples not among them."""
        return self._recent + [e for e in EXAMPLES if e not in self._recent]

    def apply(self) -> None:
        """Accept the current text if valid: emit ``formulaAccepted`` and remember it as recent."""
        self._flush()
        if not self._valid or self._surface is None:
            return
        text = self._surface.name
        self.set_recent([text] + self._recent)
        self.formulaAccepted.emit(text)

    # -- internals -------------------------------------------------------------------------------
    def _flush(self) -> None:
        if self._timer.isActive() or self._valid is None:
            self._timer.stop()
            self._validate()

    def _validate(self) -> None:
        text = self.line_edit.text()
        try:
            surface = formula_surface(text, self._bounds)
        except FormulaError as err:
            self._error = err
            self.error_label.setText(caret_lines(text, err.column, str(err)))
            self.error_label.setToolTip(str(err))
            self.error_label.show()
            self.line_edit.setStyleSheet("QLineEdit { border: 1px solid #b00020; }")
            valid = False
        else:
            self._error = None
            self._surface = surface
            self.error_label.clear()
            self.error_label.hide()
            self.line_edit.setStyleSheet("")
            valid = True
        self.apply_button.setEnabled(valid)
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)

    def _rebuild_choices(self) -> None:
        self.history_menu.clear()
        if self._recent:
            self.history_menu.addSection("Recent")
            for f in self._recent:
                self._add_choice(f)
        self.history_menu.addSection("Examples")
        for f in EXAMPLES:
            if f not in self._recent:
                self._add_choice(f)
        self._completion_model.setStringList(self.choices())

    def _add_choice(self, formula: str) -> None:
        action = QAction(formula.replace("&", "&&"), self.history_menu)
        action.triggered.connect(lambda _=False, f=formula: self._choose(f))
        self.history_menu.addAction(action)

    def _choose(self, formula: str) -> None:
        """A pick from the drop-down is shown and, when valid, applied at once."""
        self.set_formula(formula)
        self.line_edit.setFocus()
        self.apply()


__all__ = ["FormulaEdit", "caret_lines", "MAX_RECENT"]
