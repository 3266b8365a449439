"""Finding a compiled kernel on disk is cheap: its name comes from the source of the rules it is made
of (read without tokenizing), and a map of any size uses a kernel cached as a shared library without
loading numba."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys

import pytest

from landscape_gui.core import engine, fastpath, optimizers, surfaces
from landscape_gui.core.basins import basin_map
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _kernel_functions():
    fns = [engine.converged, engine.finite_step, engine.far_outside, *optimizers.KERNEL_HELPERS,
           *getattr(surfaces, "KERNEL_HELPERS", ())]
    for entry in surfaces.surface_entries():
        if not entry.name.startswith("nn_"):
            point = entry.factory().point
            if point is not None:
                fns.append(point)
    for opt in optimizers.optimizers().values():
        rule = fastpath.rule_of(opt)
        if rule is not None:
            fns.append(rule.step)
    return fns


def test_kernel_names_hash_exactly_the_source_of_each_rule():
    """The text a kernel's name is made from is each function's own source, as inspect reads it."""
    fns = _kernel_functions()
    assert len(fns) > 30
    for fn in fns:
        assert fastpath._source(fn) == inspect.getsource(fn), fn.__qualname__


def test_the_source_text_follows_an_edit_of_the_function(tmp_path, monkeypatch):
    import importlib

    mod = tmp_path / "rulemod.py"
    mod.write_text("def rule(p, g, lr):\n    return p - lr * g\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import rulemod

    try:
        assert fastpath._source(rulemod.rule) == "def rule(p, g, lr):\n    return p - lr * g\n"
        mod.write_text("# a comment above moves the function\n\ndef rule(p, g, lr):\n    return (p\n            - 2 * lr * g)\n")
        importlib.reload(rulemod)
        assert fastpath._source(rulemod.rule) == "def rule(p, g, lr):\n    return (p\n            - 2 * lr * g)\n"
        with pytest.raises(TypeError):
            fastpath._source(len)
    finally:
        sys.modules.pop("rulemod", None)


def test_a_small_map_uses_a_cached_kernel_without_loading_numba():
    """Below fastpath.SMALL starts the engine is preferred to loading numba, but a kernel already
    cached as a shared library loads without numba: even a 2×2 map then runs compiled."""
    if shutil.which("cc") is None or shutil.which("nm") is None:
        pytest.skip("no C compiler: no shared library, the numba dispatcher serves instead")
    fastpath.warm(pairs=[(get_surface("booth"), get_optimizer("sgd"))])
    code = (
        "import sys\n"
        "from landscape_gui.core.basins import basin_map\n"
        "from landscape_gui.core.surfaces import get_surface\n"
        "b = basin_map(get_surface('booth'), 'sgd', {}, resolution=2, max_steps=200, fused='auto')\n"
        "assert b.fused, 'not compiled'\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "print(b.labels.tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ref = basin_map(get_surface("booth"), "sgd", {}, resolution=2, max_steps=200, fused=False)
    assert out.stdout.strip() == str(ref.labels.tolist())
