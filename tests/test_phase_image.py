"""The phase diagram PNG: drawn without Qt for 1, 2 and more varied hyperparameters, in the minima's colours."""

from __future__ import annotations

import io

import numpy as np
import pytest

from landscape_gui.basin_image import minimum_rgb
from landscape_gui.core.sweep import _merge, compute_shard, label_cell, make_spec, shard_task
from landscape_gui.phase_image import MAX_PANELS, render_phase_figure, render_phase_png

mpimg = pytest.importorskip("matplotlib.image")


def computed_here(spec):
    """A sweep's result computed in this process (no cluster): the same shards, labels and merge."""
    maps = {}
    for cell in range(spec.n_cells):
        rows = np.concatenate([compute_shard(shard_task(spec, cell, s)) for s in range(spec.shards_per_cell)])
        maps[cell] = label_cell(spec, cell, rows)
    return _merge(spec, maps, maps[0].table.surface)


def pixels(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(png), format="png")
    return np.round(img[..., :3] * 255).astype(int).reshape(-1, 3)


def has_colour(px: np.ndarray, rgb) -> bool:
    return bool((np.abs(px - np.array(rgb)).max(axis=1) <= 2).any())


@pytest.mark.parametrize(
    "vary",
    [
        {"lr": [0.005, 0.05, 0.2]},
        {"lr": [0.005, 0.05], "momentum": [0.0, 0.9]},
        {"lr": [0.005, 0.05], "momentum": [0.0, 0.9], "dampening": [0.0, 0.5]},
    ],
)
def test_the_dominant_minima_are_drawn_in_their_colours(vary):
    spec = make_spec("saddle", "momentum", vary, resolution=8, max_steps=200)
    result = computed_here(spec)
    dominant = {int(d) for d in result.dominant().reshape(-1) if d >= 0}
    assert dominant, "the example must settle somewhere"
    px = pixels(render_phase_png(result))
    for ident in dominant:
        assert has_colour(px, minimum_rgb(ident)), f"minimum {ident} not drawn"


def test_many_panels_are_capped_and_said_so():
    spec = make_spec("saddle", "momentum", {"lr": [0.05], "momentum": [0.0], "dampening": list(np.linspace(0, 0.9, 40))},
                     resolution=4, max_steps=30)
    fig = render_phase_figure(computed_here(spec))
    assert len(fig.axes) == MAX_PANELS
    assert any(f"first {MAX_PANELS} of 40 panels" in t.get_text() for t in fig.texts)
