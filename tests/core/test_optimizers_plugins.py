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
from tests.plugin_fixture import BROKEN_NAME, PLUGIN_NAME, PLUGINS_ENV, add_distribution, make_plugin_dir


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_plugin_dir(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv(PLUGINS_ENV, f"{PLUGIN_NAME},{BROKEN_NAME}")
    monkeypatch.setattr(optmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh
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
    with pytest.raises(LandscapeError, match="plugin that failed to load: ImportError: brokenplug needs"):
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
    monkeypatch.setenv(PLUGINS_ENV, f"{PLUGIN_NAME},number,clash,factory")
    monkeypatch.setattr(optmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh
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
    monkeypatch.setattr(optmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh
    assert optmod.plugin_errors() == []
    assert set(optmod._BUILTINS) <= set(optmod.optimizer_names())


EXIT_SOURCE = "raise SystemExit(3)\n"

def plugin_source(name: str, lr: float) -> str:
    """A small plugin (plain gradient descent that fails at step 3) named ``name`` with default ``lr``."""
    return PLUGIN_SOURCE_TEMPLATE.replace("NAME", name).replace("LR", repr(lr))


PLUGIN_SOURCE_TEMPLATE = '''\
import numpy as np
from landscape_gui.core.optimizers import Hyperparameter, Optimizer

def init(params, hp):
    return {}

def update(params, grads, state, hp, step):
    if step == 3:
        raise ZeroDivisionError("the plugin divided by zero")
    return params - hp["lr"] * grads, state

OPTIMIZER = Optimizer(
    name="NAME", description="a plugin for tests",
    hyperparameters=(Hyperparameter("lr", LR, "step length", low=0.0, low_open=True),),
    init=init, update=update)
'''


def _install(monkeypatch: pytest.MonkeyPatch, root: Path, *names: str) -> None:
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv(PLUGINS_ENV, ",".join(names))
    monkeypatch.setattr(optmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh


def test_a_plugin_that_exits_while_loading_is_reported_and_the_rest_works(tmp_path, monkeypatch):
    root = make_plugin_dir(tmp_path / "site", broken=False)
    add_distribution(root, "exitplug", EXIT_SOURCE, "exitplug = exitplug:OPTIMIZER")
    _install(monkeypatch, root, PLUGIN_NAME, "exitplug")
    try:
        names = optmod.optimizer_names()  # must not raise SystemExit
        assert "adam" in names and PLUGIN_NAME in names and "exitplug" not in names
        (msg,) = optmod.plugin_errors()
        assert "'exitplug'" in msg and "exit(3)" in msg
        assert optmod.plugin_errors() == [msg], "reported once, not once per call"
        with pytest.raises(LandscapeError, match="'exitplug' is an installed plugin that failed to load: it called exit"):
            optmod.get_optimizer("exitplug")
    finally:
        for mod in ("myplug", "exitplug"):
            sys.modules.pop(mod, None)


def test_a_plugin_whose_default_is_out_of_its_range_is_refused(tmp_path, monkeypatch):
    root = add_distribution(tmp_path / "site", "lowplug", plugin_source("lowplug", -1.0),
                            "lowplug = lowplug:OPTIMIZER")
    _install(monkeypatch, root, "lowplug")
    try:
        assert "lowplug" not in optmod.optimizer_names()
        (msg,) = optmod.plugin_errors()
        assert "'lowplug' failed to load" in msg and "default out of range" in msg and "lr must be in (0, inf)" in msg
    finally:
        sys.modules.pop("lowplug", None)


def test_a_plugin_failing_while_stepping_is_named_in_the_error(tmp_path, monkeypatch):
    root = add_distribution(tmp_path / "site", "zeroplug", plugin_source("zeroplug", 0.1),
                            "zeroplug = zeroplug:OPTIMIZER")
    _install(monkeypatch, root, "zeroplug")
    try:
        with pytest.raises(optmod.PluginError) as err:
            engine.run_many(get_surface("booth"), "zeroplug", [[0.0, 0.0]], max_steps=10)
        assert isinstance(err.value, LandscapeError) and err.value.plugin == "zeroplug"
        assert "'zeroplug'" in str(err.value) and "step 3" in str(err.value) and "divided by zero" in str(err.value)
    finally:
        sys.modules.pop("zeroplug", None)


def test_a_plugin_returning_the_wrong_shape_is_named(tmp_path, monkeypatch):
    source = plugin_source("shapeplug", 0.1).replace(
        "return params - hp[\"lr\"] * grads, state", "return params[:, :1], state")
    root = add_distribution(tmp_path / "site", "shapeplug", source, "shapeplug = shapeplug:OPTIMIZER")
    _install(monkeypatch, root, "shapeplug")
    try:
        with pytest.raises(optmod.PluginError, match="'shapeplug': update returned params of shape"):
            engine.run_many(get_surface("booth"), "shapeplug", [[0.0, 0.0], [1.0, 1.0]], max_steps=10)
    finally:
        sys.modules.pop("shapeplug", None)


def test_the_suite_loads_no_installed_plugins_unless_a_test_allows_them(tmp_path, monkeypatch):
    root = make_plugin_dir(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(optmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh
    try:
        assert optmod.optimizer_names() == optmod.builtin_optimizer_names()
        assert optmod.plugin_errors() == []
    finally:
        sys.modules.pop("myplug", None)
