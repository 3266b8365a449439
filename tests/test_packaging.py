"""The wheel carries resources/ inside the package, and the code finds them at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from landscape_gui import resources_path

ROOT = Path(__file__).resolve().parents[1]


def test_resources_found_in_a_checkout():
    assert (resources_path() / "icons" / "landscape-gui.svg").is_file()


def test_wheel_ships_resources_and_the_command(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("landscape_gui-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "landscape_gui/resources/icons/landscape-gui.svg" in names
    assert "landscape_gui/core/engine.py" in names and "landscape_gui/qt/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)
    assert "landscape-gui = landscape_gui.cli:main" in entry_points
