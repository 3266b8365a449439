"""The command line starts at once: what the quick commands load, and the installed-plugin list kept
between runs. Each command runs in a fresh interpreter that reports the modules it ended up with
(start-up time itself is measured by benchmarks/bench_cli.py, never asserted)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import plugins
from tests.plugin_fixture import PLUGIN_NAME, PLUGINS_ENV, add_distribution, allow, make_plugin_dir

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("numba", "llvmlite", "scipy", "sympy", "PySide6", "shiboken6", "pyqtgraph", "OpenGL", "matplotlib",
         "dask", "distributed", "optuna", "tqdm", "torch")

PROBE = (
    "import sys\n"
    "from landscape_gui.cli import main\n"
    "try:\n"
    "    rc = main(sys.argv[2:])\n"
    "except SystemExit as exc:\n"
    "    rc = exc.code\n"
    "mods = sorted(sys.modules)\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    fh.write(chr(10).join(mods))\n"
    "sys.exit(rc)\n"
)


def loaded_by(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """``(top-level packages imported, stdout)`` of ``landscape-gui ARGS`` run in a fresh process."""
    report = tmp_path / "modules.txt"
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), LANDSCAPE_GUI_CACHE_DIR=str(tmp_path / "cache" / "kernels"))
    full_env.update(env or {})
    res = subprocess.run([sys.executable, "-c", PROBE, str(report), *args], cwd=tmp_path, env=full_env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    mods = set(report.read_text().split("\n"))
    return mods | {m.split(".")[0] for m in mods}, res.stdout


def test_version_needs_neither_numpy_nor_the_plugin_list(tmp_path):
    mods, out = loaded_by(tmp_path, "--version")
    assert out.startswith("landscape-gui ")
    assert "numpy" not in mods and "importlib.metadata" not in mods
    assert not mods & set(HEAVY)


@pytest.mark.parametrize("what", ["optimizers", "surfaces", "schedules"])
def test_list_loads_nothing_heavy(tmp_path, what):
    mods, out = loaded_by(tmp_path, "list", what)
    assert len(out.splitlines()) > 5
    assert not mods & set(HEAVY), mods & set(HEAVY)
    assert "PIL" not in mods


def test_a_small_basin_map_loads_no_compiler_and_no_qt(tmp_path):
    """With no compiled kernel cached (a fresh cache folder), a 2×2 map runs on the engine rather than
    loading numba (and compiling for seconds) for four starts; the PNG is drawn without Qt."""
    mods, _ = loaded_by(tmp_path, "basins", "--surface", "himmelblau", "--optimizer", "adam", "--resolution", "2",
                        "-o", str(tmp_path / "b"))
    assert not mods & set(HEAVY), mods & set(HEAVY)
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from landscape_gui.core.basins import basin_map
    from landscape_gui.core.surfaces import get_surface

    ref = basin_map(get_surface("himmelblau"), "adam", {}, resolution=2, fused=False)
    assert np.array_equal(np.load(tmp_path / "b.npy"), ref.labels)


def test_a_known_set_of_installed_packages_is_not_scanned_again(tmp_path):
    """The second `list optimizers` over the same installed distributions takes the plugin list from the
    cache and does not import importlib.metadata; it still lists the same optimizers."""
    env = {PLUGINS_ENV: "some-plugin-that-is-not-installed"}  # look for plugins, load none
    first, out1 = loaded_by(tmp_path, "list", "optimizers", env=env)
    again, out2 = loaded_by(tmp_path, "list", "optimizers", env=env)
    assert out1 == out2
    assert "importlib.metadata" in first, "the first listing reads the installed metadata"
    assert "importlib.metadata" not in again


# --------------------------------------------------------------------------------------------------
# The entry-point list follows what is installed


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_plugin_dir(tmp_path / "site", broken=False)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("LANDSCAPE_GUI_CACHE_DIR", str(tmp_path / "cache" / "kernels"))
    yield root
    sys.modules.pop("myplug", None)


def _truth(group: str) -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in metadata.entry_points(group=group)]


def test_entry_points_equal_importlib_metadata_and_follow_installs(site: Path, tmp_path: Path) -> None:
    group = "landscape_gui.optimizers"
    listed = plugins.entry_points(group)
    assert (PLUGIN_NAME, "myplug:OPTIMIZER") in listed and listed == _truth(group)
    assert (tmp_path / "cache" / plugins.CACHE_FILE).exists()
    assert plugins.entry_points(group) == listed, "read back from the cache"
    assert plugins.entry_points("console_scripts") == _truth("console_scripts"), "another group, same file"

    add_distribution(site, "newplug", "", "newopt = newplug:OPTIMIZER")  # pip install newplug
    assert ("newopt", "newplug:OPTIMIZER") in plugins.entry_points(group)

    info = site / "myplug-1.0.dist-info" / "entry_points.txt"  # a new version, same dist-info name
    info.write_text("[landscape_gui.optimizers]\nsignsgd = myplug:OTHER_NAME\n")
    assert (PLUGIN_NAME, "myplug:OTHER_NAME") in plugins.entry_points(group)

    shutil.rmtree(site / "newplug-1.0.dist-info")  # pip uninstall newplug
    assert plugins.entry_points(group) == _truth(group)
    assert "newopt" not in dict(plugins.entry_points(group))


def test_a_damaged_cache_file_is_listed_afresh(site: Path, tmp_path: Path) -> None:
    group = "landscape_gui.optimizers"
    plugins.entry_points(group)
    cache = tmp_path / "cache" / plugins.CACHE_FILE
    cache.write_text("landscape-gui entry points 1\nnot a line of ours\n")
    assert plugins.entry_points(group) == _truth(group)
    cache.write_bytes(b"\xff\xfe garbage")
    assert plugins.entry_points(group) == _truth(group)


def test_an_installed_plugin_appears_in_list_optimizers_after_the_list_was_cached(tmp_path):
    """`pip install` of a plugin after the command line has cached the plugin list: it shows up."""
    site = tmp_path / "site"
    site.mkdir()
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{site}", **allow(PLUGIN_NAME)}
    _, before = loaded_by(tmp_path, "list", "optimizers", env=env)
    assert PLUGIN_NAME not in before.split()
    make_plugin_dir(site, broken=False)
    _, after = loaded_by(tmp_path, "list", "optimizers", env=env)
    assert PLUGIN_NAME in after.split()


def test_an_import_hook_that_lists_distributions_of_its_own_turns_the_cache_off(site, tmp_path, monkeypatch):
    class Finder:
        def find_spec(self, *args):
            return None

        def find_distributions(self, *args, **kwargs):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert plugins.distribution_key() is None
    assert plugins.entry_points("landscape_gui.optimizers") == _truth("landscape_gui.optimizers")
    assert not (tmp_path / "cache" / plugins.CACHE_FILE).exists()
