"""The start-up warm-up's stages: what they compile, and that a finished stage is not redone."""

from __future__ import annotations

import pytest

from landscape_gui.core import fastpath, warming
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.surfaces import get_surface, surface_entries

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: nothing to warm")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "kernels"
    monkeypatch.setenv("LANDSCAPE_GUI_CACHE_DIR", str(folder))
    return folder


def test_the_stages_come_after_the_catalogue_pairs_networks_then_noise():
    assert [s.name for s in warming.STAGES] == ["catalogue", "networks", "noisy"]
    assert [s.noisy for s in warming.STAGES] == [False, False, True]
    assert all("first run only" in s.label for s in warming.STAGES)


def test_a_stage_compiles_its_pairs_in_a_child_process_and_is_skipped_once_stamped(cache):
    stage = warming.Stage("test", "Compiling test kernels", noisy=True,
                          pairs=(("booth", "sgd"), ("booth", "adam"), ("nn_line_affine_mse", "sgd")))
    assert warming.pending([stage]) == [stage]
    seen: list[float] = []
    assert warming.run(stage, seen.append) == 3
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert len(list(cache.glob("lgk_*.py"))) == 3  # compiled into the cache by the child
    assert warming.stamp_path(stage).exists() and warming.pending([stage]) == []
    booth, sgd = get_surface("booth"), get_optimizer("sgd")
    assert (cache / f"{fastpath._Spec(booth, sgd, sgd.resolve(), noisy=True).name}.py").exists()


def test_a_cancelled_stage_leaves_no_stamp(cache):
    stage = warming.Stage("test", "Compiling test kernels", pairs=(("booth", "sgd"),))
    assert warming.run(stage, should_cancel=lambda: True) == 0
    assert warming.pending([stage]) == [stage]
    assert not list(cache.glob("warmed-*")) and not list(cache.glob("lgk_*"))


def test_the_network_stage_covers_every_catalogue_network_with_every_rule_adam_first():
    pairs = fastpath.warm_pairs(networks=True)
    names = {s.name for s, _ in pairs}
    assert names == {e.name for e in surface_entries() if e.name.startswith("nn_")}
    rules = {fastpath.rule_of(o).step for _, o in pairs}
    assert len(pairs) == len(names) * len(rules)
    assert {o.name for _, o in pairs[: len(names)]} == {"adam"}
    assert fastpath.warm_pairs(networks=True, should_cancel=lambda: True) == []
