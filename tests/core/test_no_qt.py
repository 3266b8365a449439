"""landscape_gui.core must never import Qt, pyqtgraph or OpenGL (the design's one hard rule)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import landscape_gui.core

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, pkgutil, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6", "OpenGL", "PyQt5", "PyQt6"):
            raise ImportError(f"core imported {name}")
        return None

sys.meta_path.insert(0, Block())
import landscape_gui.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "landscape_gui.core.")]
for n in names:
    importlib.import_module(n)
from landscape_gui.core import surfaces
surfaces.surface_names()  # registers lazily-loaded catalogues too
bad = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6", "OpenGL")]
assert not bad, bad
print(len(names))
"""


def test_every_core_module_imports_without_qt():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    expected = len(list(pkgutil.walk_packages(landscape_gui.core.__path__, "landscape_gui.core.")))
    assert int(out.stdout.strip()) == expected >= 5


def test_no_core_source_imports_qt_even_lazily():
    """A lazy import inside a function would escape the import probe above; read the sources."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|pyqtgraph|shiboken6|OpenGL|landscape_gui\.qt|landscape_gui\.basin_image)\b", re.M)
    core = ROOT / "landscape_gui" / "core"
    offenders = [str(p.relative_to(ROOT)) for p in core.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
