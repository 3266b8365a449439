"""Third-party schedules: entry points in the group ``landscape_gui.schedules``."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core import schedules as schedmod
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface

SOURCE = textwrap.dedent('''\
    from landscape_gui.core.optimizers import Hyperparameter
    from landscape_gui.core.schedules import Schedule


    class InverseSqrt:
        """lr / sqrt(max(t, warmup) / warmup): the Transformer's decay (Vaswani et al. 2017)."""

        def __init__(self, group, warmup):
            self.group, self.warmup, self.t, self.base = group, warmup, 1, group["lr"]

        def step(self):
            self.t += 1
            self.group["lr"] = self.base / (max(self.t, self.warmup) / self.warmup) ** 0.5


    SCHEDULE = Schedule(
        "inverse_sqrt", "lr / sqrt(step / warmup) after warmup steps",
        (Hyperparameter("warmup", 10, "steps at the full learning rate", low=1),),
        lambda group, settings, max_steps: InverseSqrt(group, settings["warmup"]),
        "Vaswani et al. 2017",
    )
''')


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "site"
    root.mkdir()
    (root / "schedplug.py").write_text(SOURCE)
    for dist, module, attr in (("schedplug", "schedplug", "SCHEDULE"), ("badsched", "no_such_module", "X")):
        info = root / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[landscape_gui.schedules]\n{dist} = {module}:{attr}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("LANDSCAPE_GUI_PLUGINS", "schedplug,badsched")  # the suite allows none by default
    monkeypatch.setattr(schedmod.REGISTRY, "_loaded", None)  # list the installed plugins afresh
    yield root
    sys.modules.pop("schedplug", None)


def test_a_plugin_schedule_is_listed_and_drives_runs(installed: Path) -> None:
    names = schedmod.schedule_names()
    assert names.index("inverse_sqrt") > names.index("warmup_cosine")
    setting = schedmod.make_schedule("inverse_sqrt", {"warmup": "4"})
    opt = get_optimizer("sgd")
    lrs = setting.table(opt, opt.resolve({"lr": 0.1}), 9)["lr"]
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1, 0.1, 0.1 / 1.25 ** 0.5, 0.1 / 1.5 ** 0.5, 0.1 / 1.75 ** 0.5,
                                     0.1 / 2 ** 0.5, 0.1 / 2.25 ** 0.5])
    run = engine.run(get_surface("himmelblau"), "sgd", [[1, 1]], max_steps=5, schedule=setting).runs[0]
    assert run.params["schedule"] == {"name": "inverse_sqrt", "warmup": 4}


def test_a_broken_plugin_is_reported_and_the_rest_still_works(installed: Path) -> None:
    errors = schedmod.plugin_errors()
    assert len(errors) == 1 and "badsched" in errors[0] and "failed to load" in errors[0]
    assert "cosine" in schedmod.schedule_names()
    with pytest.raises(LandscapeError, match="unknown schedule 'badsched'"):
        schedmod.get_schedule("badsched")
