"""Basin maps: labels, fractions, comparison, files, fast path."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from landscape_gui.core import engine, fastpath
from landscape_gui.core.basins import (
    CSV_COLUMNS,
    basin_csv_text,
    basin_map,
    cell_centres,
    compare_basins,
    terminal_progress,
    write_basin_outputs,
)
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.optimizers import Hyperparameter, Optimizer, get_optimizer, optimizer_names
from landscape_gui.core.surfaces import get_surface, surface_names

HIMMELBLAU_MINIMA = np.array([[m.x, m.y] for m in get_surface("himmelblau").minima])


def _adam_init(p, hp):
    return {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}


def _adam_update(params, grads, state, hp, step):
    """torch's _single_tensor_adam without amsgrad (lerp for the first moment)."""
    g = -grads if hp["maximize"] else grads
    if hp["weight_decay"] != 0:
        g = g + hp["weight_decay"] * params
    m, v = state["exp_avg"], state["exp_avg_sq"]
    b1, b2 = hp["beta1"], hp["beta2"]
    m += (1.0 - b1) * (g - m)
    v *= b2
    v += (1.0 - b2) * g * g
    denom = np.sqrt(v) / (1 - b2**step) ** 0.5 + hp["eps"]
    return params + -(hp["lr"] / (1 - b1**step)) * (m / denom), state


LOCAL_ADAM = Optimizer(
    "adam", "Adam (test copy)",
    (Hyperparameter("lr", 0.001, "lr", low=0.0, low_open=True), Hyperparameter("beta1", 0.9, "b1", 0.0, 1.0),
     Hyperparameter("beta2", 0.999, "b2", 0.0, 1.0), Hyperparameter("eps", 1e-8, "eps", 0.0),
     Hyperparameter("weight_decay", 0.0, "wd", 0.0), Hyperparameter("maximize", False, "maximize")),
    _adam_init, _adam_update,
)
ADAM = get_optimizer("adam") if "adam" in optimizer_names() else LOCAL_ADAM


def test_cells_are_labelled_like_independent_runs_to_the_nearest_minimum():
    surface = get_surface("himmelblau")
    bmap = basin_map(surface, "sgd", {"lr": 0.01}, resolution=9, max_steps=3000, tol=1e-6, fused=False)
    assert bmap.labels.shape == (9, 9) and bmap.labels.dtype == np.int32
    xs, ys = cell_centres(surface.bounds, 9)
    assert xs[0] == pytest.approx(-5 + 10 / 18) and ys[-1] == pytest.approx(5 - 10 / 18)
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            (run,) = engine.run_many(surface, "sgd", [[x, y]], {"lr": 0.01}, max_steps=3000, tol=1e-6)
            label = int(bmap.labels[i, j])
            if run.status != "converged":
                assert label == -1
                continue
            nearest = HIMMELBLAU_MINIMA[np.argmin(np.hypot(*(HIMMELBLAU_MINIMA - run.end).T))]
            c = bmap.table.get(label)
            assert math.hypot(c.x - nearest[0], c.y - nearest[1]) < 1e-9, (i, j)


def test_fractions_sum_to_the_labelled_share_and_count_cells():
    bmap = basin_map(get_surface("himmelblau"), "momentum", {"lr": 0.01}, resolution=24, max_steps=400, fused=False)
    fr = bmap.fractions()
    assert sum(fr.values()) == pytest.approx(bmap.labelled_share())
    assert np.count_nonzero(bmap.labels == -1) > 0  # some momentum runs fly off or are still moving
    for ident, share in fr.items():
        assert share == np.count_nonzero(bmap.labels == ident) / 24**2
    assert set(fr) == {c.id for c in bmap.points()}


def test_compare_two_optimizers_marks_the_cells_that_end_elsewhere():
    surface = get_surface("himmelblau")
    table = MinimaTable(surface)
    a = basin_map(surface, "sgd", {"lr": 0.01}, resolution=20, table=table, fused=False)
    b = basin_map(surface, "momentum", {"lr": 0.01}, resolution=20, table=table, fused=False)
    mask, share = compare_basins(a, b)
    assert mask.shape == (20, 20)
    assert np.array_equal(mask, a.labels != b.labels)
    assert 0 < share < 1 and share == mask.mean()
    # Maps built with their own tables are matched by location: same answer.
    b2 = basin_map(surface, "momentum", {"lr": 0.01}, resolution=20, fused=False)
    mask2, share2 = compare_basins(a, b2)
    assert np.array_equal(mask2, mask) and share2 == share
    assert compare_basins(a, a)[1] == 0.0
    with pytest.raises(LandscapeError):
        compare_basins(a, basin_map(surface, "sgd", {"lr": 0.01}, resolution=10, fused=False))


def test_bad_resolution_is_a_user_error():
    s = get_surface("himmelblau")
    for bad in (0, 1, 1025, 2.5, "many"):
        with pytest.raises(LandscapeError, match="resolution"):
            basin_map(s, "sgd", resolution=bad)


def test_progress_rises_to_one_and_cancel_stops():
    s = get_surface("himmelblau")
    seen: list[float] = []
    basin_map(s, "sgd", {"lr": 0.01}, resolution=16, progress=seen.append, fused=False)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(engine.Cancelled):
        basin_map(s, "sgd", {"lr": 0.01}, resolution=16, should_cancel=lambda: True, fused=False)


def test_write_outputs_npy_and_csv(tmp_path):
    surface = get_surface("himmelblau")
    bmap = basin_map(surface, "sgd", {"lr": 0.01}, resolution=16, fused=False)
    prefix = str(tmp_path / "hb")
    paths = write_basin_outputs(prefix, bmap, surface)
    assert paths == [prefix + ".npy", prefix + ".csv"]
    labels = np.load(prefix + ".npy")
    assert labels.dtype == np.int32 and np.array_equal(labels, bmap.labels)
    with open(prefix + ".csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 4 and {r["kind"] for r in rows} == {"minimum"}
    assert sum(float(r["fraction"]) for r in rows) == pytest.approx(bmap.labelled_share())
    for r in rows:
        assert float(r["fraction"]) == np.count_nonzero(labels == int(r["minimum"])) / labels.size
        assert repr(float(r["x"])) == r["x"]  # shortest round-trip repr
    assert basin_csv_text(bmap) == open(prefix + ".csv").read()
    with pytest.raises(LandscapeError, match="does not exist"):
        write_basin_outputs(str(tmp_path / "missing" / "hb"), bmap, surface)


CASES = [
    (ADAM, {"lr": 0.05}, 1000),
    ("sgd", {"lr": 0.01}, 300),
    ("momentum", {"lr": 0.02}, 300),  # diverging and max_steps runs too
    ("nesterov", {"lr": 0.002, "weight_decay": 0.1}, 200),
]
if "adamw" in optimizer_names():
    CASES += [("adamw", {"lr": 0.05, "weight_decay": 0.1}, 300), (ADAM, {"lr": 0.2, "weight_decay": 0.01}, 300)]


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no fused path")
@pytest.mark.parametrize("surface_name", ["himmelblau", "rosenbrock"])
@pytest.mark.parametrize("opt, hp, max_steps", CASES)
def test_fused_path_gives_the_engines_labels(surface_name, opt, hp, max_steps):
    surface = get_surface(surface_name)
    table = MinimaTable(surface)
    slow = basin_map(surface, opt, hp, resolution=32, max_steps=max_steps, table=table, fused=False)
    fast = basin_map(surface, opt, hp, resolution=32, max_steps=max_steps, table=table, fused=True)
    assert fast.fused and not slow.fused
    assert np.array_equal(fast.status, slow.status)
    assert np.array_equal(fast.labels, slow.labels)


def test_fused_runner_is_offered_only_for_kernels_it_has():
    surface = get_surface("himmelblau")
    ams = Optimizer("adam", "", LOCAL_ADAM.hyperparameters + (Hyperparameter("amsgrad", False, ""),), _adam_init,
                    _adam_update)
    assert fastpath.fused_runner(surface, ams, ams.resolve({"amsgrad": True})) is None
    other = Optimizer("mine", "", LOCAL_ADAM.hyperparameters, _adam_init, _adam_update)
    assert fastpath.fused_runner(surface, other, other.resolve()) is None


@pytest.mark.parametrize("name", surface_names())
def test_every_catalogue_surface_gets_a_consistent_small_basin_map(name):
    surface = get_surface(name)
    bmap = basin_map(surface, "sgd", {"lr": 1e-3}, resolution=8, max_steps=300, fused=False)
    ids = {c.id for c in bmap.table.points}
    assert set(np.unique(bmap.labels)) <= ids | {-1}
    # A converged cell's critical point has a (near) zero gradient.
    for c in bmap.points():
        g = surface.grad(np.array([[c.x, c.y]]))[0]
        assert np.hypot(*g) <= 1e-5
    assert sum(bmap.fractions().values()) == pytest.approx(bmap.labelled_share())


def test_terminal_progress_prints_only_on_a_terminal():
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert terminal_progress(io.StringIO()) is None
    tty = Tty()
    report = terminal_progress(tty, "basins")
    for f in (0.0, 0.004, 0.5, 1.0):
        report(f)
    assert tty.getvalue() == "\rbasins:   0 %\rbasins:  50 %\rbasins: 100 %\n"


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no fused path")
@pytest.mark.parametrize("opt, hp, max_steps", CASES)
def test_fused_end_points_equal_the_engines_bit_for_bit(opt, hp, max_steps):
    surface = get_surface("himmelblau")
    o = get_optimizer(opt) if isinstance(opt, str) else opt
    xs, ys = cell_centres(surface.bounds, 24)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    ref = engine.run(surface, o, starts, hp, record=False, max_steps=max_steps)
    final, codes = fastpath.fused_runner(surface, o, o.resolve(hp))(starts, surface.bounds, max_steps, 1e-6)
    assert np.array_equal(codes, ref.status_codes)
    assert np.array_equal(final, ref.final_positions)


def test_a_map_made_on_a_copied_table_is_rebased_onto_the_grown_original():
    surface = get_surface("himmelblau")
    gui_table = MinimaTable(surface)
    gui_table.add([HIMMELBLAU_MINIMA[1] + 1e-8])  # id 1, before the worker starts
    worker_copy = gui_table.copy()
    bmap = basin_map(surface, "sgd", {"lr": 0.01}, resolution=12, table=worker_copy, fused=False)
    # Meanwhile the GUI labels a run into another minimum: it takes id 2 in the original table.
    gui_table.add([HIMMELBLAU_MINIMA[3] + 1e-8])
    rebased = bmap.rebased(gui_table)
    assert rebased.table is gui_table and len(gui_table) == 4
    for i, j in np.ndindex(12, 12):
        a, b = bmap.table.get(int(bmap.labels[i, j])), gui_table.get(int(rebased.labels[i, j]))
        assert (a.x, a.y) == pytest.approx((b.x, b.y), abs=1e-9)
    assert gui_table.get(1).x == pytest.approx(HIMMELBLAU_MINIMA[1][0])
    assert gui_table.get(2).x == pytest.approx(HIMMELBLAU_MINIMA[3][0])
    assert sorted(rebased.fractions().values()) == sorted(bmap.fractions().values())

