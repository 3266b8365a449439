"""Third-party optimizers: entry points in the group ``landscape_gui.optimizers``.

A fake installed distribution (tests/plugin_fixture.py) is put on ``sys.path``; the registry must
list its optimizer after the built-ins, the engine must run it, and a broken plugin must be reported
without breaking anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core import optimizers as optmod
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import get_surface
from tests.plugin_fixture import BROKEN_NAME, PLUGIN_NAME, make_plugin_dir


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_plugin_dir(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(optmod, "_PLUGINS", None)
    monkeypatch.setattr(optmod, "_PLUGIN_ERRORS", [])
    yield root
    for mod in ("myplug", "brokenplug"):
        sys.modules.pop(mod, None)


def test_installed_plugin_is_listed_after_the_builtins(installed: Path) -> None:
    names = optmod.optimizer_names()
    assert PLUGIN_NAME in names
    assert names.index(PLUGIN_NAME) > names.index("adam")
    opt = optmod.get_optimizer(PLUGIN_NAME)
    assert opt.description.startswith("sign descent")
    assert opt.resolve({"lr": "0.1"}) == {"lr": 0.1}


def test_engine_runs_the_plugin(installed: Path) -> None:
    runs = engine.run_many(get_surface("himmelblau"), PLUGIN_NAME, [[0.0, 0.0]], {"lr": 0.25}, max_steps=30)
    run = runs[0]
    assert run.optimizer == PLUGIN_NAME and run.params == {"lr": 0.25}
    steps = np.abs(np.diff(run.positions, axis=0))
    np.testing.assert_allclose(steps, 0.25)  # sign descent: every step moves 0.25 along each axis
    assert run.losses[-1] < run.losses[0]


def test_broken_plugin_is_reported_and_the_rest_still_works(installed: Path) -> None:
    errors = optmod.plugin_errors()
    assert len(errors) == 1
    assert BROKEN_NAME in errors[0] and "not installed" in errors[0]
    assert PLUGIN_NAME in optmod.optimizer_names() and "sgd" in optmod.optimizer_names()
    with pytest.raises(LandscapeError, match="unknown optimizer"):
        optmod.get_optimizer(BROKEN_NAME)


def test_plugin_that_is_not_an_optimizer_or_clashes_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_plugin_dir(tmp_path / "site", broken=False)
    (root / "oddplug.py").write_text(
        "from myplug import OPTIMIZER\nimport dataclasses\n"
        "NOT_ONE = 42\nCLASH = dataclasses.replace(OPTIMIZER, name='adam')\n"
        "def make():\n    return dataclasses.replace(OPTIMIZER, name='signsgd2')\n"
    )
    info = root / "oddplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oddplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[landscape_gui.optimizers]\nnumber = oddplug:NOT_ONE\nclash = oddplug:CLASH\nfactory = oddplug:make\n"
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(optmod, "_PLUGINS", None)
    monkeypatch.setattr(optmod, "_PLUGIN_ERRORS", [])
    try:
        names = optmod.optimizer_names()
        errors = " | ".join(optmod.plugin_errors())
        assert "signsgd2" in names  # a zero-argument factory is accepted
        assert "'number'" in errors and "not an Optimizer" in errors
        assert "'clash'" in errors and "already taken" in errors
        assert optmod.get_optimizer("adam").reference.startswith("torch.optim.Adam")
    finally:
        for mod in ("myplug", "oddplug"):
            sys.modules.pop(mod, None)


def test_no_plugins_installed_means_no_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optmod, "_PLUGINS", None)
    monkeypatch.setattr(optmod, "_PLUGIN_ERRORS", [])
    assert optmod.plugin_errors() == []
    assert set(optmod._BUILTINS) <= set(optmod.optimizer_names())
