"""The formula editor as a user drives it: typing, errors with a caret, Enter, recent formulas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from landscape_gui.core.formula import EXAMPLES
from landscape_gui.qt.panels.formula_edit import FormulaEdit, caret_lines


@pytest.fixture
def edit(qtbot):
    w = FormulaEdit()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_typing_shows_the_error_at_its_column_then_enter_accepts_the_fix(edit, qtbot):
    with qtbot.waitSignal(edit.validityChanged, timeout=2000) as sig:
        qtbot.keyClicks(edit.line_edit, "x +")
    assert sig.args == [False]
    assert edit.error_label.isVisible()
    assert edit.error_label.text() == "x +\n   ^ formula ends too early after '+' at column 4; expected a number, x, y or '('"
    assert not edit.apply_button.isEnabled()
    with qtbot.assertNotEmitted(edit.formulaAccepted):
        qtbot.keyClick(edit.line_edit, Qt.Key.Key_Return)

    with qtbot.waitSignal(edit.validityChanged, timeout=2000) as sig:
        qtbot.keyClicks(edit.line_edit, " y^2")
    assert sig.args == [True]
    assert not edit.error_label.isVisible() and edit.error_label.text() == ""
    assert edit.apply_button.isEnabled()
    with qtbot.waitSignal(edit.formulaAccepted, timeout=2000) as accepted:
        qtbot.keyClick(edit.line_edit, Qt.Key.Key_Return)
    assert accepted.args == ["x + y^2"]
    assert edit.recent()[0] == "x + y^2"
    np.testing.assert_allclose(edit.surface().value(np.array([[1.0, 2.0]])), [5.0])


def test_last_valid_surface_is_kept_while_the_text_is_invalid(edit, qtbot):
    edit.set_formula("x^2 + y^2")
    kept = edit.surface()
    assert kept is not None and kept.name == "x^2 + y^2"
    with qtbot.waitSignal(edit.validityChanged, timeout=2000):
        qtbot.keyClicks(edit.line_edit, " + z")
    assert "unknown name 'z' at column 13" in edit.error_label.text()
    assert edit.error_label.text().splitlines()[1].index("^") == 12
    assert edit.surface() is kept


def test_apply_button_emits_and_validation_is_debounced(edit, qtbot):
    signals = []
    edit.validityChanged.connect(signals.append)
    qtbot.keyClicks(edit.line_edit, "sin(x)*cos(y)")
    assert signals == []  # nothing yet: 13 keystrokes, one check after the pause
    qtbot.waitUntil(lambda: signals == [True], timeout=2000)
    with qtbot.waitSignal(edit.formulaAccepted, timeout=2000) as accepted:
        qtbot.mouseClick(edit.apply_button, Qt.MouseButton.LeftButton)
    assert accepted.args == ["sin(x)*cos(y)"]


def test_recent_formulas_and_examples_are_offered_and_applied(edit, qtbot):
    edit.set_recent(["sin(x)", "  x^2 ", "sin(x)", ""])
    assert edit.recent() == ["sin(x)", "x^2"]
    assert edit.choices()[:2] == ["sin(x)", "x^2"]
    assert set(EXAMPLES) <= set(edit.choices())
    texts = [a.text() for a in edit.history_menu.actions() if not a.isSeparator()]
    assert texts[:2] == ["sin(x)", "x^2"]
    assert edit.line_edit.completer().model().stringList() == edit.choices()
    pick = next(a for a in edit.history_menu.actions() if a.text() == EXAMPLES[1])
    with qtbot.waitSignal(edit.formulaAccepted, timeout=2000) as accepted:
        pick.trigger()
    assert accepted.args == [EXAMPLES[1]]
    assert edit.text() == EXAMPLES[1]
    assert edit.recent()[0] == EXAMPLES[1]


def test_hostile_text_is_refused_in_the_widget(edit, qtbot):
    edit.set_formula("__import__('os').system('true')")
    assert not edit.is_valid()
    assert "character \"'\" is not allowed at column 12" in edit.error_label.text()
    edit.set_formula("(" * 5000)
    assert not edit.is_valid() and "formula too long" in edit.error_label.text()


def test_bounds_are_applied_to_the_surface(edit):
    edit.set_bounds((0.0, 1.0, -1.0, 2.0))
    edit.set_formula("x*y")
    assert edit.surface().bounds == (0.0, 1.0, -1.0, 2.0)


def test_caret_lines_clip_long_formulas_around_the_column():
    text = "x + " * 40 + "z"
    out = caret_lines(text, len(text), "unknown name 'z'")
    shown, caret = out.split("\n")
    assert shown.startswith("…") and shown.endswith("z")
    assert shown[caret.index("^")] == "z"
    assert caret_lines("x +", 4, "m") == "x +\n   ^ m"
