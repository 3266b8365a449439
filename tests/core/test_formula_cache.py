"""A formula compiled once is rebuilt later from its printed functions, without sympy."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from landscape_gui.core.formula import formula_surface
from landscape_gui.core.formula_functions import cached_formula_surface


def test_a_compiled_formula_comes_back_from_the_cache_with_the_same_values(tmp_path, monkeypatch):
    import landscape_gui.core.formula as formula

    monkeypatch.setenv("LANDSCAPE_GUI_CACHE_DIR", str(tmp_path / "kernels"))
    monkeypatch.setattr(formula, "_REMEMBERED", set())
    text = "max(abs(x), 2*abs(y)) + log(1 + x^2) * sin(y) + 0.1*sign(x)*cbrt(y)"
    assert cached_formula_surface(text, (-5, 5, -5, 5)) is None
    typed = formula_surface(text)
    again = cached_formula_surface(text, (-5, 5, -5, 5))
    assert again is not None and again.name == typed.name and again.smooth == typed.smooth is False
    p = np.random.default_rng(3).uniform(-4, 4, size=(500, 2))
    f1, g1 = typed.value_and_grad(p)
    f2, g2 = again.value_and_grad(p)
    assert np.array_equal(f1, f2) and np.array_equal(g1, g2)
    assert np.array_equal(typed.hessian(p), again.hessian(p), equal_nan=True)
    assert again.point_source() == typed.point_source()
    assert cached_formula_surface(text + " + 1", (-5, 5, -5, 5)) is None


def test_the_command_line_reuses_a_formula_without_importing_sympy(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, LANDSCAPE_GUI_CACHE_DIR=str(tmp_path / "kernels"))
    code = (
        "import sys\n"
        "from landscape_gui.cli import main\n"
        f"rc = main(['run', '--formula', 'x^2 + 3*y^2', '--optimizer', 'sgd', '--start=1,1', '-o', "
        f"{str(tmp_path / 'r.csv')!r}])\n"
        "print(rc, 'sympy' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert first.stdout.split() == ["0", "True"], first.stderr
    rows = (tmp_path / "r.csv").read_text()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert second.stdout.split() == ["0", "False"], second.stderr
    assert (tmp_path / "r.csv").read_text() == rows
