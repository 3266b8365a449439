"""The fixture scripts under scripts/ (run by hand, with torch or scikit-learn, never dependencies):
run with a Python that lacks the reference library they say so in one line and leave the committed
fixtures alone; their shared writer writes what the tests read, atomically."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {"make_torch_fixtures.py": ("torch", "torch", "torch_trajectories.json"),
           "make_schedule_fixtures.py": ("torch", "torch", "torch_schedules.json"),
           "make_pca_fixtures.py": ("sklearn", "scikit-learn", "pca_sklearn.npz")}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_without_the_reference_library_a_script_says_so_and_writes_nothing(script, tmp_path):
    module, package, fixture = SCRIPTS[script]
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    target = ROOT / "tests" / "data" / fixture
    before = target.read_bytes()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script} needs {package} ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def common(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import fixture_common

    monkeypatch.setattr(fixture_common, "DATA", tmp_path)
    return fixture_common


def test_writers_give_compact_json_and_npz_atomically(common, tmp_path):
    path, size = common.write_json("x.json", {"a": [1.5, 2], "b": "c"})
    assert path == tmp_path / "x.json"
    assert path.read_bytes() == b'{"a":[1.5,2],"b":"c"}\n' and size == len('{"a":[1.5,2],"b":"c"}')
    assert path.stat().st_mode & 0o777 == 0o644
    npz = common.write_npz("y.npz", {"k/x": np.arange(3.0)})
    with np.load(npz) as f:
        assert np.array_equal(f["k/x"], [0.0, 1.0, 2.0])

    class Unwritable:
        pass

    with pytest.raises(TypeError):
        common.write_json("x.json", {"bad": Unwritable()})
    assert json.loads(path.read_text()) == {"a": [1.5, 2], "b": "c"}  # the old file stays whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "y.npz"]  # no temporary file left


def test_torch_surfaces_are_the_catalogues(common):
    from landscape_gui.core.surfaces import get_surface

    p = np.array(common.STARTS["himmelblau"] + common.STARTS["rosenbrock"] + common.STARTS["climb"])
    for name, f in common.SURFACES.items():
        ours = get_surface(name)
        for row in p:
            assert f(row[None, :]) == pytest.approx(float(ours.value(row[None, :])[0]), rel=1e-15)
