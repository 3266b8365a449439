"""Build fake installed distributions that register optimizer plugins, for tests.

``make_plugin_dir(root)`` writes, under ``root``, what ``pip install`` would leave in site-packages
for two tiny distributions:

* ``myplug`` 1.0: module ``myplug.py`` with :data:`PLUGIN_SOURCE` (optimizer ``signsgd``), and
  ``myplug-1.0.dist-info/{METADATA,entry_points.txt}`` declaring it in the group
  ``landscape_gui.optimizers``;
* ``brokenplug`` 1.0 (unless ``broken=False``): an entry point whose module raises on import.

Put ``root`` on ``sys.path`` (``monkeypatch.syspath_prepend``) or on ``PYTHONPATH`` of a subprocess
(e.g. ``landscape-gui list optimizers``) and the plugins are "installed".
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_NAME = "signsgd"
"""The optimizer name the good plugin registers."""

BROKEN_NAME = "brokenplug"
"""The entry-point name of the broken plugin."""

PLUGIN_SOURCE = '''\
import numpy as np
from landscape_gui.core.optimizers import Hyperparameter, Optimizer


def init(params, hp):
    return {}


def update(params, grads, state, hp, step):
    return params - hp["lr"] * np.sign(grads), state


OPTIMIZER = Optimizer(
    name="signsgd",
    description="sign descent: a fixed-length step against the sign of each gradient component",
    hyperparameters=(Hyperparameter("lr", 0.05, "step length per axis", low=0.0, low_open=True),),
    init=init,
    update=update,
)
'''

BROKEN_SOURCE = 'raise ImportError("brokenplug needs a library that is not installed")\n'


PLUGINS_ENV = "LANDSCAPE_GUI_PLUGINS"
"""The suite loads no installed plugins (tests/conftest.py); tests allow their fake ones by name."""


def allow(*entry_points: str) -> dict[str, str]:
    """Environment entries that let exactly these entry-point names load (for subprocesses too)."""
    return {PLUGINS_ENV: ",".join(entry_points)}


def add_distribution(root: Path, name: str, source: str, entry_point: str) -> Path:
    """One more fake distribution ``name`` in ``root`` whose module is ``source``."""
    root.mkdir(parents=True, exist_ok=True)
    _distribution(root, name, source, entry_point)
    return root


def _distribution(root: Path, name: str, source: str, entry_point: str) -> None:
    (root / f"{name}.py").write_text(source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[landscape_gui.optimizers]\n{entry_point}\n")


def make_plugin_dir(root: Path, *, broken: bool = True) -> Path:
    """Write the fake distributions into ``root`` (created if needed) and return it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _distribution(root, "myplug", PLUGIN_SOURCE, f"{PLUGIN_NAME} = myplug:OPTIMIZER")
    if broken:
        _distribution(root, "brokenplug", BROKEN_SOURCE, f"{BROKEN_NAME} = brokenplug:OPTIMIZER")
    return root
