"""``landscape_gui.api``: the documented examples run, nothing imports Qt, every function is annotated."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from landscape_gui import api

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


# The page's blocks run as one script in a fresh interpreter, as a reader would run them: not in the
# test process, whose Qt, threads and earlier clusters a reader's script does not have. ``-c`` (no
# script file) so that the worker processes Dask spawns do not run the page again.
DRIVER = r"""
import sys
blocks = sys.argv[1:]
namespace = {"__name__": "__main__"}
for k, code in enumerate(blocks):
    try:
        exec(compile(code, f"docs/api.md block {k + 1}", "exec"), namespace)
    except Exception as exc:
        sys.exit(f"docs/api.md block {k + 1} failed: {type(exc).__name__}: {exc}")
"""


def test_the_api_page_examples_run(tmp_path):
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    res = subprocess.run([sys.executable, "-c", DRIVER, *blocks], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout
    # What the page says the examples print.
    assert "[  0. 170.]" in out
    assert "lr must be in (0, inf), got -1" in out
    assert "(48, 48) int32" in out
    assert "0 computed, 4 reused" in out and "cancelled" not in out.split("ETA")[-1].split("\n")[0]
    assert "['lr', 'momentum', 'minimum', 'x', 'y', 'loss', 'kind', 'fraction']" in out


PROBE = r"""
import sys, tempfile

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "OpenGL", "PyQt5", "PyQt6"):
            raise ImportError(f"the API imported {name}")
        return None

sys.meta_path.insert(0, Block())
from landscape_gui import api
from distributed import Client, LocalCluster

api.basins("himmelblau", "adam", {"lr": 0.1}, resolution=8, max_steps=50)
api.run("saddle", "sgd", [(0.5, 0.5)], max_steps=20)
with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
    out = tempfile.mkdtemp() + "/sweep"
    api.sweep("saddle", "sgd", {"lr": [0.05, 0.1], "momentum": [0.0, 0.5]}, resolution=6, max_steps=40,
              client=client, output=out)  # writes phase.png too
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "OpenGL"))
print("qt:", bad)
"""


def test_the_api_never_imports_qt():
    res = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "qt: []" in res.stdout


def test_every_public_function_is_annotated_and_documented():
    for name in api.__all__:
        obj = getattr(api, name)
        if not inspect.isfunction(obj) or obj.__module__ != api.__name__:
            continue
        sig = inspect.signature(obj)
        missing = [p for p, v in sig.parameters.items() if v.annotation is inspect.Parameter.empty]
        assert not missing, f"api.{name}: {missing} not annotated"
        assert sig.return_annotation is not inspect.Signature.empty, f"api.{name}: no return annotation"
        assert obj.__doc__ and len(obj.__doc__) > 40, f"api.{name}: no docstring"


def test_bad_input_is_a_landscape_error():
    with pytest.raises(api.LandscapeError, match="unknown surface"):
        api.surface("no_such_surface")
    with pytest.raises(api.LandscapeError, match="exactly one"):
        api.surface("himmelblau", formula="x**2")
    with pytest.raises(api.LandscapeError, match="resolution"):
        api.basins("himmelblau", "adam", resolution=1)
