"""The compiled path runs the engine's own rules: same end points, same stop decisions.

Kernels are generated from each surface's ``point`` function and each optimizer's update rule, the
very functions the numpy engine runs. Where a surface uses only arithmetic and sqrt the two paths agree
bit for bit; where it uses sin, cos or exp the kernel computes them with the vectorisable functions of
:mod:`landscape_gui.core.kernelmath` (numpy's differ from them by one unit in the last place now and
then): every point value agrees to a few ulps and the basin labels agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core import engine, fastpath
from landscape_gui.core.basins import basin_map, cell_centres
from landscape_gui.core.minima import MinimaTable
from landscape_gui.core.optimizers import (
    Optimizer,
    get_optimizer,
    optimizer_names,
    rule_update,
)
from landscape_gui.core.surfaces import get_surface, surface_names
from tests.core.optimizer_cases import CASES

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="numba not installed: no compiled path")

CATALOGUE = [n for n in surface_names() if not n.startswith("nn_")]
KERNEL_MATH = {"ackley", "muller_brown", "peaks", "easom", "rastrigin", "mccormick", "levy13", "griewank"}
"""Surfaces whose point function calls sin, cos or exp: one ulp apart between numpy and the kernel's
:mod:`landscape_gui.core.kernelmath`."""


def test_the_surfaces_that_call_sin_cos_or_exp_get_the_vectorisable_ones():
    adam = get_optimizer("adam")
    hp = adam.resolve({})
    uses = {n for n in CATALOGUE if fastpath._Spec(get_surface(n), adam, hp).kernel_math}
    assert uses == KERNEL_MATH
    assert not fastpath._Spec(get_surface("rastrigin"), adam, hp, kernel_math=False).kernel_math


def test_bounds_beyond_the_kernel_maths_range_run_the_c_librarys_functions_like_the_engine():
    """Far from 0 the kernel's sin loses accuracy (beyond kernelmath.TRIG_LIMIT): maps there use the
    C library's, bit for bit the engine's."""
    surface = get_surface("rastrigin")
    sgd = get_optimizer("sgd")
    b = (3000.0, 3010.0, -5.0, 5.0)
    assert max(map(abs, b)) > fastpath.KERNEL_MATH_BOUND
    xs, ys = cell_centres(b, 12)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    ref = engine.run(surface, sgd, starts, {"lr": 0.001}, bounds=b, record=False, max_steps=200)
    runner = fastpath.fused_runner(surface, sgd, sgd.resolve({"lr": 0.001}))
    final, codes = runner(starts, b, 200, 1e-6)
    assert np.array_equal(codes, ref.status_codes) and np.array_equal(final, ref.final_positions)


def _grid(surface, r):
    xs, ys = cell_centres(surface.bounds, r)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_surface_has_one_point_function(name):
    surface = get_surface(name)
    assert surface.point is not None
    p = _grid(surface, 7)
    f, g = surface.value_and_grad(p)
    fp, gxp, gyp = surface.point(p[:, 0], p[:, 1])
    assert np.array_equal(f, fp) and np.array_equal(g[:, 0], gxp) and np.array_equal(g[:, 1], gyp)
    assert np.array_equal(surface.value(p), f)


def _compiled_point(surface):
    import numba

    fastpath._register_helpers()
    point = fastpath._kernel_math(surface.point) if surface.name in KERNEL_MATH else surface.point
    return numba.njit(error_model="numpy")(point)


@pytest.mark.parametrize("name", CATALOGUE)
def test_compiled_point_values_equal_the_engines(name):
    surface = get_surface(name)
    p = _grid(surface, 23) * 1.01 + 0.003
    fn = _compiled_point(surface)
    ref = surface.point(p[:, 0], p[:, 1])
    got = [np.array([fn(x, y)[k] for x, y in p]) for k in range(3)]
    for r, c in zip(ref, got):
        if name in KERNEL_MATH:
            scale = np.maximum(np.abs(r), np.abs(c))
            # each exp term is within 1 ulp; sums of a few terms stay within a few ulps of their size
            assert np.all(np.abs(r - c) <= 8 * np.spacing(scale) + 1e-14 * np.max(np.abs(r)))
        else:
            assert np.array_equal(r, c)


@pytest.mark.parametrize("opt_name, hp", CASES)
def test_every_built_in_optimizer_runs_compiled_bit_for_bit(opt_name, hp):
    assert {name for name, _ in CASES} == set(optimizer_names()) & {name for name, _ in CASES}
    surface = get_surface("himmelblau")
    opt = get_optimizer(opt_name)
    starts = _grid(surface, 16)
    ref = engine.run(surface, opt, starts, hp, record=False, max_steps=150)
    runner = fastpath.fused_runner(surface, opt, opt.resolve(hp))
    assert runner is not None
    final, codes = runner(starts, surface.bounds, 150, 1e-6)
    assert np.array_equal(codes, ref.status_codes)
    assert np.array_equal(final, ref.final_positions)


def test_the_case_list_covers_every_built_in():
    from landscape_gui.core.optimizers import optimizers

    built_in = {o.name for o in optimizers().values() if fastpath.rule_of(o) is not None}
    assert built_in == {name for name, _ in CASES}


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_surface_maps_compiled_like_the_engine(name):
    surface = get_surface(name)
    table = MinimaTable(surface)
    slow = basin_map(surface, "adam", {"lr": 0.05}, resolution=24, max_steps=300, table=table, fused=False)
    fast = basin_map(surface, "adam", {"lr": 0.05}, resolution=24, max_steps=300, table=table, fused=True)
    assert fast.fused and not slow.fused
    if name in KERNEL_MATH:
        assert np.mean(fast.labels == slow.labels) >= 0.99
    else:
        assert np.array_equal(fast.status, slow.status) and np.array_equal(fast.labels, slow.labels)


def _schedule_for(name, opt):
    """Schedule ``name`` with settings that make it change within 150 steps (cycling momentum only
    where the optimizer has one)."""
    from landscape_gui.core.errors import LandscapeError
    from landscape_gui.core.schedules import make_schedule

    settings = {"multistep": {"milestones": "40,90"}, "cyclic": {"step_size_up": 30},
                "step": {"step_size": 40, "gamma": 0.5}}.get(name, {})
    setting = make_schedule(name, settings)
    try:
        setting.scheduled_names(opt)
    except LandscapeError:
        setting = make_schedule(name, {**settings, "cycle_momentum": False})
    return setting


@pytest.mark.parametrize("schedule_name", __import__("landscape_gui.core.schedules", fromlist=["x"]).schedule_names())
def test_every_built_in_optimizer_runs_compiled_bit_for_bit_under_every_schedule(schedule_name):
    surface = get_surface("himmelblau")
    starts = _grid(surface, 12)
    for opt_name, hp in CASES:
        opt = get_optimizer(opt_name)
        setting = _schedule_for(schedule_name, opt)
        ref = engine.run(surface, opt, starts, hp, record=False, max_steps=150, schedule=setting)
        runner = fastpath.fused_runner(surface, opt, opt.resolve(hp), schedule=setting)
        assert runner is not None
        final, codes = runner(starts, surface.bounds, 150, 1e-6)
        assert np.array_equal(codes, ref.status_codes), opt_name
        assert np.array_equal(final, ref.final_positions), opt_name
        if opt_name != "rprop":  # as in torch, Rprop's lr is only its initial step size
            # the schedule changed something: the plain run ends elsewhere
            plain, _ = fastpath.fused_runner(surface, opt, opt.resolve(hp))(starts, surface.bounds, 150, 1e-6)
            assert not np.array_equal(plain, final), opt_name


NOISE_CASES = [
    ("sgd", {"lr": 0.01}),
    ("momentum", {"lr": 0.01, "dampening": 0.3, "weight_decay": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("adam", {"lr": 0.05, "amsgrad": True}),
]


@pytest.mark.parametrize("opt_name, hp", NOISE_CASES)
def test_noisy_runs_are_compiled_with_the_engines_draws(opt_name, hp, monkeypatch):
    from landscape_gui.core.noise import GradientNoise

    # small chunks: ids must continue across chunks (and threads) as in the engine
    monkeypatch.setattr(fastpath, "CHUNK", 70)
    surface = get_surface("himmelblau")
    opt = get_optimizer(opt_name)
    starts = _grid(surface, 16)
    ends = []
    for seed, scale, first_id in ((0, 2.0, 1), (7, 0.5, 1), (2**64 - 1, 3.0, 2**32 - 40)):
        noise = GradientNoise(scale, seed)
        ref = engine.run(surface, opt, starts, hp, record=False, max_steps=150, noise=noise, first_id=first_id)
        runner = fastpath.fused_runner(surface, opt, opt.resolve(hp), noise=noise)
        assert runner is not None
        final, codes = runner(starts, surface.bounds, 150, 1e-6, first_id=first_id)
        assert np.array_equal(codes, ref.status_codes)
        assert np.array_equal(final, ref.final_positions)
        ends.append(final)
    assert not np.array_equal(ends[0], ends[1])  # the seed matters
    assert fastpath.fused_runner(surface, opt, opt.resolve(hp), noise=GradientNoise(0.0, 1, batch_size=3)) is None


def test_noisy_and_scheduled_basin_maps_are_compiled_and_label_like_the_engine():
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.schedules import make_schedule

    surface = get_surface("himmelblau")
    table = MinimaTable(surface)
    cosine = make_schedule("warmup_cosine", {"warmup_steps": 20})
    for seed in (1, 2, 3):
        kw = dict(resolution=20, max_steps=200, table=table, noise=GradientNoise(4.0, seed))
        slow = basin_map(surface, "sgd", {"lr": 0.01}, fused=False, **kw)
        fast = basin_map(surface, "sgd", {"lr": 0.01}, fused=True, **kw)
        assert fast.fused and not slow.fused
        assert np.array_equal(fast.status, slow.status) and np.array_equal(fast.labels, slow.labels)
    kw = dict(resolution=20, max_steps=200, table=table, schedule=cosine, noise=GradientNoise(1.0, 9))
    slow = basin_map(surface, "adam", {"lr": 0.1}, fused=False, **kw)
    fast = basin_map(surface, "adam", {"lr": 0.1}, fused=True, **kw)
    assert fast.fused and np.array_equal(fast.labels, slow.labels) and np.array_equal(fast.status, slow.status)
    assert fast.params == slow.params and fast.params["schedule"]["name"] == "warmup_cosine"


def test_a_probability_map_is_the_same_compiled_or_not(monkeypatch):
    from landscape_gui.core import basins
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.stochastic import probability_map

    surface = get_surface("himmelblau")
    args = (surface, "sgd", GradientNoise(3.0, 5), 3, {"lr": 0.01})
    real = basins.end_points
    used = []

    def spy(*a, **k):
        out = real(*a, **k)
        used.append(out[2])
        return out

    monkeypatch.setattr(basins, "end_points", spy)  # the quench's calls
    monkeypatch.setattr("landscape_gui.core.stochastic.end_points", spy)  # the noisy runs'
    fast = probability_map(*args, resolution=12, max_steps=150, table=MinimaTable(surface))
    assert used == [True] * 6  # per sample: the noisy runs, then their quench
    used.clear()
    slow = probability_map(*args, resolution=12, max_steps=150, table=MinimaTable(surface), fused=False)
    assert used == [False] * 6
    assert np.array_equal(fast.ids, slow.ids) and np.array_equal(fast.probabilities, slow.probabilities)
    assert np.array_equal(fast.entropy, slow.entropy)


QUENCH_CASES = [
    ("himmelblau", "sgd", {"lr": 0.01}, 3.0),
    ("six_hump_camel", "momentum", {"lr": 0.01, "momentum": 0.8}, 1.0),
    ("styblinski_tang", "adam", {"lr": 0.05}, 2.0),
    ("muller_brown", "rmsprop", {"lr": 0.002}, 20.0),  # exp: end points a few ulps apart, labels equal
]


@pytest.mark.parametrize("surface_name, opt_name, hp, scale", QUENCH_CASES)
def test_noisy_maps_quench_compiled_and_label_like_the_engine(surface_name, opt_name, hp, scale, monkeypatch):
    """The noiseless quench that labels each noisy end point runs compiled too: with ``fused`` on,
    the engine is never called, and the labels and probabilities equal the engine-only ones."""
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.stochastic import probability_map

    surface = get_surface(surface_name)
    table = MinimaTable(surface)
    slow_maps, slow_probs = [], []
    for seed in (0, 11):
        kw = dict(resolution=14, max_steps=120, table=table, noise=GradientNoise(scale, seed))
        slow_maps.append(basin_map(surface, opt_name, hp, fused=False, **kw))
        slow_probs.append(probability_map(surface, opt_name, GradientNoise(scale, seed), 2, hp, resolution=10,
                                          max_steps=120, table=table, fused=False))
    assert not slow_maps[0].fused
    # the quench settles what the noisy runs left unsettled: most cells are labelled
    assert slow_maps[0].labelled_share() > 0.5

    def no_engine(*a, **k):
        raise AssertionError("the numpy engine ran although a compiled path exists")

    monkeypatch.setattr(engine, "run", no_engine)
    for seed, slow, slow_p in zip((0, 11), slow_maps, slow_probs):
        kw = dict(resolution=14, max_steps=120, table=table, noise=GradientNoise(scale, seed))
        fast = basin_map(surface, opt_name, hp, fused=True, **kw)
        assert fast.fused
        assert np.array_equal(fast.labels, slow.labels) and np.array_equal(fast.status, slow.status)
        fast_p = probability_map(surface, opt_name, GradientNoise(scale, seed), 2, hp, resolution=10,
                                 max_steps=120, table=table, fused=True)
        assert np.array_equal(fast_p.ids, slow_p.ids)
        assert np.array_equal(fast_p.probabilities, slow_p.probabilities)
        assert np.array_equal(fast_p.nowhere, slow_p.nowhere) and np.array_equal(fast_p.entropy, slow_p.entropy)
    assert not np.array_equal(slow_maps[0].labels, slow_maps[1].labels) or surface_name == "six_hump_camel"


def test_a_plugin_rule_is_compiled_and_a_plain_update_is_not():
    sgd = get_optimizer("sgd")

    def plain(params, grads, state, hp, step):
        return params - hp["lr"] * grads, state

    surface = get_surface("booth")
    assert fastpath.fused_runner(surface, Optimizer("plain", "", sgd.hyperparameters, sgd.init, plain), sgd.resolve()) \
        is None
    from landscape_gui.core.optimizers import SGD_RULE

    mine = Optimizer("mine", "", sgd.hyperparameters, sgd.init, rule_update(SGD_RULE))
    assert fastpath.fused_runner(surface, mine, mine.resolve()) is not None


def test_every_catalogue_network_is_compiled_and_networks_beyond_the_cache_limits_fall_back():
    """Network surfaces up to the kernel's cache limits are compiled, softmax outputs and the
    2-16-16-1 slices included (tests/core/test_nn_kernel.py checks their values); a 2-32-32-1 slice
    runs on the engine."""
    from landscape_gui.core.nn.catalogue import CATALOGUE as NETWORKS
    from landscape_gui.core.nn.slices import nn_surface_from_spec

    adam = get_optimizer("adam")
    for name in ("nn_blobs_rotation_cce", "nn_moons_mlp_bce"):
        assert fastpath.fused_runner(get_surface(name), adam, adam.resolve()) is not None
    assert all(get_surface(name).point_source() is not None for name in NETWORKS)
    wide = nn_surface_from_spec("nn:dataset=moons;n=50;model=mlp;hidden=32,32;loss=bce;centre=initial")
    assert fastpath.fused_runner(wide, adam, adam.resolve()) is None


def test_small_maps_skip_the_compiler_only_when_asked_and_numba_is_not_loaded():
    surface = get_surface("himmelblau")
    adam = get_optimizer("adam")
    assert fastpath.fused_runner(surface, adam, adam.resolve(), None) is not None
    assert fastpath.fused_runner(surface, adam, adam.resolve(), 10**6) is not None


def test_cancel_and_progress_between_chunks():
    surface = get_surface("himmelblau")
    adam = get_optimizer("adam")
    runner = fastpath.fused_runner(surface, adam, adam.resolve({"lr": 0.05}))
    starts = np.random.default_rng(1).uniform(-5, 5, size=(3 * fastpath.CHUNK, 2))
    seen: list[float] = []
    runner(starts, surface.bounds, 50, 1e-6, seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(engine.Cancelled):
        runner(starts, surface.bounds, 50, 1e-6, None, lambda: True)


def test_warm_readies_the_given_pairs_and_reports_progress():
    surface = get_surface("booth")
    seen: list[float] = []
    n = fastpath.warm(seen.append, pairs=[(surface, get_optimizer("sgd")), (surface, get_optimizer("adam"))])
    assert n == 2 and seen == [0.5, 1.0]
    assert not fastpath.needs_compile(surface, get_optimizer("adam"))
    assert fastpath.warm(pairs=[(surface, get_optimizer("sgd"))], should_cancel=lambda: True) == 0
    from landscape_gui.core.noise import GradientNoise

    assert fastpath.warm(pairs=[(surface, get_optimizer("sgd"))], noisy=True) == 1
    assert not fastpath.needs_compile(surface, get_optimizer("sgd"), noise=GradientNoise(0.3, 9))


def test_warm_covers_every_catalogue_surface_and_every_rule():
    pairs = fastpath.warm_pairs()
    assert {s.name for s, _ in pairs} == set(CATALOGUE)
    rules = {fastpath.rule_of(o).step for _, o in pairs}
    assert len(pairs) == len(CATALOGUE) * len(rules)


def test_a_typed_formula_is_compiled_from_its_expression_tree():
    from landscape_gui.core.formula import formula_surface

    typed = formula_surface("(x^2 + y - 11)^2 + (x + y^2 - 7)^2")
    source = typed.point_source()
    assert source is not None and "def point_fn(x, y):" in source
    adam = get_optimizer("adam")
    starts = _grid(typed, 24)
    ref = engine.run(typed, adam, starts, {"lr": 0.05}, record=False, max_steps=300)
    runner = fastpath.fused_runner(typed, adam, adam.resolve({"lr": 0.05}))
    assert runner is not None
    final, codes = runner(starts, typed.bounds, 300, 1e-6)
    assert np.array_equal(codes, ref.status_codes) and np.array_equal(final, ref.final_positions)
    # ... and ends where the catalogue's Himmelblau ends
    catalogue = engine.run(get_surface("himmelblau"), adam, starts, {"lr": 0.05}, record=False, max_steps=300)
    assert np.allclose(final, catalogue.final_positions, atol=1e-5)


@pytest.mark.parametrize("text", ["log(x) + y^2", "max(abs(x), 2*abs(y)) + 0.1*sign(x)*cbrt(y)",
                                  "atan2(y, x + 6) + exp(-(x^2 + y^2)) + 0.05*hypot(x, y)^2", "1", "x"])
def test_formulas_with_holes_kinks_and_constants_run_compiled_like_the_engine(text):
    from landscape_gui.core.formula import formula_surface

    typed = formula_surface(text)
    table = MinimaTable(typed)
    slow = basin_map(typed, "sgd", {"lr": 0.05}, resolution=20, max_steps=200, table=table, fused=False)
    fast = basin_map(typed, "sgd", {"lr": 0.05}, resolution=20, max_steps=200, table=table, fused=True)
    assert fast.fused
    assert np.mean(fast.status == slow.status) >= 0.98 and np.mean(fast.labels == slow.labels) >= 0.98
    if text.startswith("log"):  # where the loss is undefined the start itself is diverged, on both paths
        left = fast.xs <= 0
        assert np.all(fast.status[left] == 1) and np.all(slow.status[left] == 1)


@pytest.mark.parametrize("opt_name, hp", CASES)
def test_the_engines_column_lane_gives_the_recorded_runs_end_points(opt_name, hp):
    """record=False runs rules on contiguous columns; record=True on (n, 2) arrays: the same bits."""
    surface = get_surface("rosenbrock")
    starts = _grid(surface, 9)
    lean = engine.run(surface, opt_name, starts, hp, record=False, max_steps=120)
    full = engine.run(surface, opt_name, starts, hp, record=True, max_steps=120)
    assert np.array_equal(lean.status_codes, full.status_codes) and np.array_equal(lean.steps, full.steps)
    assert np.array_equal(lean.final_positions, full.final_positions)
    assert np.array_equal(lean.final_losses, full.final_losses, equal_nan=True)
    assert np.array_equal(lean.final_grads, full.final_grads, equal_nan=True)


@pytest.mark.parametrize("opt_name, hp", NOISE_CASES)
def test_the_column_lane_takes_schedules_and_noise_like_the_recorded_runs(opt_name, hp):
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.schedules import make_schedule

    surface = get_surface("rosenbrock")
    starts = _grid(surface, 9)
    opt = get_optimizer(opt_name)
    for kw in ({"schedule": _schedule_for("onecycle", opt)}, {"noise": GradientNoise(2.0, 3)},
               {"noise": GradientNoise(0.5, 4), "schedule": make_schedule("exponential", {"gamma": 0.99})}):
        lean = engine.run(surface, opt, starts, hp, record=False, max_steps=120, first_id=5, **kw)
        full = engine.run(surface, opt, starts, hp, record=True, max_steps=120, first_id=5, **kw)
        assert np.array_equal(lean.status_codes, full.status_codes) and np.array_equal(lean.steps, full.steps)
        assert np.array_equal(lean.final_positions, full.final_positions)
        assert np.array_equal(lean.final_grads, full.final_grads, equal_nan=True)


def test_a_cached_kernel_runs_in_a_new_process_without_loading_numba(tmp_path):
    """The first map builds a shared library beside the generated source; later processes call it
    directly (no numba import, no compiler start-up)."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("cc") is None or shutil.which("nm") is None:
        pytest.skip("no C compiler: the numba dispatcher and its own cache serve instead")
    surface, sgd = get_surface("booth"), get_optimizer("sgd")
    fastpath.warm(pairs=[(surface, sgd)])
    code = (
        "import sys\n"
        "from landscape_gui.core.basins import basin_map\n"
        "from landscape_gui.core.surfaces import get_surface\n"
        "b = basin_map(get_surface('booth'), 'sgd', {}, resolution=64, max_steps=200, fused='auto')\n"
        "assert b.fused, 'not compiled'\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "print(b.labelled_share())\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ref = basin_map(surface, "sgd", {}, resolution=64, max_steps=200, fused=False)
    assert float(out.stdout.strip()) == ref.labelled_share() > 0


def test_the_command_line_says_when_it_compiles_and_only_then(tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, LANDSCAPE_GUI_CACHE_DIR=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "landscape_gui", "basins", "--surface", "matyas", "--optimizer", "adagrad",
            "--resolution", "48", "--max-steps", "50", "-o", str(tmp_path / "m")]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == "compiling (first run only)"
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "compiling" not in again.stderr
    assert np.array_equal(np.load(tmp_path / "m.npy"), basin_map(
        get_surface("matyas"), "adagrad", {}, resolution=48, max_steps=50, fused=False).labels)


@pytest.mark.parametrize("args", [
    ["--surface", "nn_line_affine_mse", "--optimizer", "sgd", "--resolution", "48", "--max-steps", "20"],
    # a probability map runs compiled at any size: its noisy kernel and its quench's plain one
    ["--surface", "matyas", "--optimizer", "sgd", "--noise", "0.3", "--samples", "2", "--resolution", "8",
     "--max-steps", "20"],
], ids=["network surface", "gradient noise"])
def test_the_command_line_says_when_it_compiles_network_and_noisy_kernels(tmp_path, args):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, LANDSCAPE_GUI_CACHE_DIR=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "landscape_gui", "basins", *args, "-o", str(tmp_path / "m")]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == "compiling (first run only)"
    assert len(list((tmp_path / "cache").glob("lgk_*.py"))) == (2 if "--noise" in args else 1)
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr
    assert "compiling" not in again.stderr


def test_small_maps_are_split_so_that_every_thread_has_work(monkeypatch):
    """A map of fewer starts than threads × CHUNK is cut into smaller chunks (at least four per
    thread), and the runs end exactly where one chunk per start would leave them."""
    assert fastpath.chunk_size(4096, 2) == 512 and fastpath.chunk_size(65536, 2) == fastpath.CHUNK
    assert fastpath.chunk_size(4096, 1) == fastpath.CHUNK and fastpath.chunk_size(10, 2) == 64
    surface = get_surface("himmelblau")
    adam = get_optimizer("adam")
    runner = fastpath.fused_runner(surface, adam, adam.resolve({"lr": 0.05}))
    starts = _grid(surface, 40)
    threads = []
    real_chunk = fastpath.chunk_size

    def spy(n, t):
        threads.append(t)
        return real_chunk(n, 2)

    calls: list[int] = []
    real_load = fastpath._load

    def counting_load(spec):
        kernel = real_load(spec)

        def counted(p0, *args):
            calls.append(len(p0))
            return kernel(p0, *args)

        return counted

    monkeypatch.setattr(fastpath, "_load", counting_load)
    monkeypatch.setattr(fastpath, "chunk_size", spy)
    monkeypatch.setattr(fastpath, "_threads", lambda: 2)
    split = runner(starts, surface.bounds, 200, 1e-6)
    assert threads == [2] and sorted(calls) == [200] * 8  # 1,600 starts: four chunks per thread
    monkeypatch.setattr(fastpath, "chunk_size", lambda n, t: n)
    whole = runner(starts, surface.bounds, 200, 1e-6)
    assert calls[8:] == [1600]
    assert np.array_equal(split[0], whole[0]) and np.array_equal(split[1], whole[1])
