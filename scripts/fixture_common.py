"""What the fixture scripts share: the reference library check, the fixture folder and its atomic
writers, and the torch side of the reference runs (surfaces, starts, optimizer classes and presets).

The scripts (``make_torch_fixtures.py``, ``make_schedule_fixtures.py``, ``make_pca_fixtures.py``)
run once, from any folder, with the Python of a scratch environment that has the reference library
(torch or scikit-learn, never dependencies of this project); this checkout's ``landscape_gui`` is
imported from the checkout itself. Each writes one file under ``tests/data`` atomically (a temporary
file beside it, then ``os.replace``), so a failed run leaves the committed fixture as it was.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
"""The checkout the scripts belong to."""
DATA = ROOT / "tests" / "data"
"""Where the fixtures go."""


def require(module: str, why: str, package: str | None = None) -> ModuleType:
    """Import the reference library ``module`` (installed as ``package``), or stop (exit status 2)
    with one line saying how to run the script."""
    try:
        return importlib.import_module(module)
    except ImportError:
        script = Path(sys.argv[0]).name or "this script"
        package = package or module
        print(f"{script} needs {package} ({why}): run it with the Python of a scratch virtual environment "
              f"that has {package}, never a dependency of landscape-gui (this Python is {sys.executable})",
              file=sys.stderr)
        raise SystemExit(2) from None


def use_project() -> None:
    """Import ``landscape_gui`` from this checkout (no ``PYTHONPATH=.`` needed, and never another copy
    installed in the reference environment)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def require_torch() -> ModuleType:
    """torch, with float64 as its default dtype (torch keeps ``step`` and NAdam's ``mu_product`` in
    the default dtype, so the references are float64 throughout)."""
    torch = require("torch", "the reference optimizers and schedulers")
    torch.set_default_dtype(torch.float64)
    return torch


def _write(name: str, write: Callable[[IO[bytes]], None]) -> Path:
    target = DATA / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return target


def write_json(name: str, data: Any) -> tuple[Path, int]:
    """Write ``data`` as compact JSON and a newline to ``tests/data/name``; returns the path and the
    length of the JSON text."""
    text = json.dumps(data, separators=(",", ":"))
    return _write(name, lambda fh: fh.write((text + "\n").encode())), len(text)


def write_npz(name: str, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` to ``tests/data/name``."""
    import numpy as np

    return _write(name, lambda fh: np.savez_compressed(fh, **arrays))


# ------------------------------------------------------------------------------------------ torch side
# Surfaces written in torch (the same formulas as this project's catalogue), summed over the runs so
# that one backward pass gives every run's gradient.


def himmelblau(p: Any) -> Any:
    x, y = p[:, 0], p[:, 1]
    return ((x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2).sum()


def rosenbrock(p: Any) -> Any:
    x, y = p[:, 0], p[:, 1]
    return ((1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2).sum()


SURFACES = {"himmelblau": himmelblau, "rosenbrock": rosenbrock}
STARTS = {
    "himmelblau": [[-4.0, 4.5], [0.5, -1.5], [4.0, 4.0], [-1.0, -4.0]],
    "rosenbrock": [[-1.5, 2.0], [0.0, 0.0], [1.5, -0.5]],
    # near Himmelblau's local maximum (-0.2708, -0.9230), for maximize=True
    "climb": [[-0.5, -1.0], [0.0, -0.5], [-0.3, -1.3]],
}

PRESETS = {"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9, "nesterov": True}}
"""Registered names that preset torch arguments (their defaults differ from torch's on purpose)."""


def torch_classes(torch: ModuleType) -> dict[str, type]:
    """The torch.optim class behind each of this project's optimizers."""
    o = torch.optim
    return {
        "sgd": o.SGD, "momentum": o.SGD, "nesterov": o.SGD, "adagrad": o.Adagrad, "rmsprop": o.RMSprop,
        "adam": o.Adam, "adamw": o.AdamW, "nadam": o.NAdam, "radam": o.RAdam, "adamax": o.Adamax,
        "adadelta": o.Adadelta, "asgd": o.ASGD, "rprop": o.Rprop,
    }
